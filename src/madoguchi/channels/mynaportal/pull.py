"""Pull every new application of one municipality (or all) from マイナポータル.

Each pull asks for the applications received in the last `lookback_days` and fetches only
the 受付番号 that are neither a case nor an open quarantine entry yet: a missed or failed
pull is simply caught up by the next one (no cursor to get wrong).
"""

import datetime
import logging
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.applications.models import Application, Channel
from madoguchi.channels.models import MynaportalConnection, QuarantinedPackage

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
    return MynaportalClient(connection.base_url, connection.login_id, connection.password)


def pull(connection: MynaportalConnection, *, client: MynaportalClient | None = None) -> PullResult:
    municipality = connection.municipality
    client = client or client_for(connection)
    result = PullResult()
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
    trust = None
    for summary in summaries:
        if summary.receipt_number in done:
            result.duplicates += 1
            continue
        try:
            data = client.get_application(summary.receipt_number)
        except MynaportalError as exc:
            result.failed += 1
            result.errors.append(str(exc))
            continue
        if trust is None:
            trust = intake._trust_store()
        try:
            outcome = intake.import_package(
                municipality,
                data["package"],
                source_reference=summary.receipt_number,
                trust=trust,
            )
        except Exception as exc:  # our side failed: nothing kept, the next pull retries
            logger.exception("mynaportal: import of a package failed; left for the next pull")
            result.failed += 1
            result.errors.append(
                _("取り込みに失敗しました（%(error)s）。次回の取得で再試行します。")
                % {"error": type(exc).__name__}
            )
            continue
        if outcome.kind == intake.IMPORTED:
            result.imported += 1
        elif outcome.kind == intake.DUPLICATE:
            result.duplicates += 1
        else:
            result.quarantined += 1
    _record(connection, result)
    return result


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
