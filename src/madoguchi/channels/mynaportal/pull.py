"""Pull every new application of one municipality (or all) from マイナポータル.

Each pull asks for the applications received in the last `lookback_days` and fetches only
the 受付番号 that are neither a case nor an open quarantine entry yet: a missed or failed
pull is simply caught up by the next one (no cursor to get wrong). The packages are fetched
and imported in batches (`intake.import_batch`); the 受付 status messages of the new cases
are handed to the outbox worker once, after the last batch.
"""

import datetime
import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.applications.models import Application, Channel
from madoguchi.channels.models import (
    MissingSecretError,
    MynaportalConnection,
    QuarantinedPackage,
)
from madoguchi.outbox import delivery

from . import intake
from .client import MynaportalClient, MynaportalError

logger = logging.getLogger(__name__)


@dataclass
class PullResult:
    imported: int = 0
    duplicates: int = 0
    quarantined: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = _("取り込み %(i)s件、重複 %(d)s件、隔離 %(q)s件、失敗 %(f)s件") % {
            "i": self.imported,
            "d": self.duplicates,
            "q": self.quarantined,
            "f": self.failed,
        }
        if self.errors:
            text += " — " + self.errors[0]
        return text[:300]


def client_for(connection: MynaportalConnection) -> MynaportalClient:
    """Raises MissingSecretError when the password is not in the environment."""
    return MynaportalClient(connection.base_url, connection.login_id, connection.password())


def pull(connection: MynaportalConnection, *, client: MynaportalClient | None = None) -> PullResult:
    municipality = connection.municipality
    result = PullResult()
    try:
        client = client or client_for(connection)
    except MissingSecretError as exc:
        result.failed += 1
        result.errors.append(str(exc))
        _record(connection, result)
        return result
    now = timezone.now()
    try:
        summaries = client.list_applications(
            lg_code=municipality.lg_code,
            since=now - datetime.timedelta(days=connection.lookback_days),
        )
    except MynaportalError as exc:
        result.failed += 1
        result.errors.append(str(exc))
        _record(connection, result)
        return result
    references = [s.receipt_number for s in summaries]
    done = set(
        Application.objects.filter(
            municipality=municipality,
            channel=Channel.MYNAPORTAL,
            source_reference__in=references,
        ).values_list("source_reference", flat=True)
    ) | set(
        QuarantinedPackage.objects.filter(
            municipality=municipality, source_reference__in=references
        ).values_list("source_reference", flat=True)
    )
    pending = [s.receipt_number for s in summaries if s.receipt_number not in done]
    result.duplicates += len(summaries) - len(pending)
    message_ids: list[int] = []
    if pending:
        batches = _fetch_batches(client, pending, result)
        for _batch, outcomes in intake.import_batches(
            municipality, batches, message_ids=message_ids
        ):
            _count(outcomes, result)
    # The 受付 statuses of every new case, to the outbox worker in one hand-off (after
    # commit: a caller may have wrapped the pull in a transaction).
    transaction.on_commit(lambda: delivery.hand_off(message_ids))
    _record(connection, result)
    return result


def _fetch_batches(client: MynaportalClient, references: list[str], result: PullResult):
    """Fetch the packages, yielding batches of (受付番号, package) for the intake."""
    batch: list[tuple[str, bytes]] = []
    size = 0
    for reference in references:
        try:
            data = client.get_application(reference)
        except MynaportalError as exc:
            result.failed += 1
            result.errors.append(str(exc))
            continue
        batch.append((reference, data["package"]))
        size += len(data["package"])
        if len(batch) >= intake.BATCH_SIZE or size >= intake.BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _count(outcomes, result: PullResult) -> None:
    for outcome in outcomes:
        if outcome.kind == intake.IMPORTED:
            result.imported += 1
        elif outcome.kind == intake.DUPLICATE:
            result.duplicates += 1
        elif outcome.kind == intake.QUARANTINED:
            result.quarantined += 1
        else:
            result.failed += 1
            result.errors.append(_failure(outcome.error))


def _failure(exc) -> str:
    return _("取り込みに失敗しました（%(error)s）。次回の取得で再試行します。") % {
        "error": type(exc).__name__
    }


def _record(connection: MynaportalConnection, result: PullResult) -> None:
    MynaportalConnection.objects.filter(pk=connection.pk).update(
        last_pulled_at=timezone.now(), last_result=result.summary()
    )


def pull_all() -> dict[str, PullResult]:
    results = {}
    for connection in MynaportalConnection.objects.filter(is_active=True).select_related(
        "municipality"
    ):
        results[connection.municipality.lg_code] = pull(connection)
    return results
