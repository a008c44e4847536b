"""Pull every new application of one municipality (or all) from マイナポータル.

Each pull asks for the applications received in the last `lookback_days` and fetches only
the 受付番号 that are neither a case nor an open quarantine entry yet: a missed or failed
pull is simply caught up by the next one (no cursor to get wrong). The packages are fetched
and imported in batches (`intake.import_batch`); the 受付 status messages of the new cases
are handed to the outbox worker once, after the last batch.
"""

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from madoguchi.applications.models import Application, Channel
from madoguchi.channels.models import (
    MissingSecretError,
    MynaportalConnection,
    PullRun,
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

    @property
    def handled(self) -> int:
        return self.imported + self.duplicates + self.quarantined + self.failed

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


# progress(new packages found, of them processed, the result so far)
Progress = Callable[[int, int, PullResult], None]


# Marked for translation here, translated when a pull gives up (in the language active then).
BUSY_MESSAGE = gettext_noop("別の取得が実行中のため、今回は取得しませんでした。")


def pull(
    connection: MynaportalConnection,
    *,
    client: MynaportalClient | None = None,
    progress: Progress | None = None,
    wait: float = 0.0,
) -> PullResult:
    """Pull one connection. One pull per connection at a time across every worker (a lock
    that dies with its process): a second one waits `wait` seconds, then gives up."""
    from madoguchi.ops.locks import single_flight

    with single_flight(f"mynaportal-pull:{connection.pk}", wait=wait) as acquired:
        if not acquired:
            result = PullResult()
            result.errors.append(_(BUSY_MESSAGE))
            return result
        result = _pull(connection, client=client, progress=progress)
    from madoguchi.ops import metrics

    metrics.count_pull(result)
    return result


def _pull(
    connection: MynaportalConnection,
    *,
    client: MynaportalClient | None,
    progress: Progress | None,
) -> PullResult:
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
    pending = [s for s in summaries if s.receipt_number not in done]
    result.duplicates += len(summaries) - len(pending)
    message_ids: list[int] = []
    if progress is not None:
        progress(len(pending), 0, result)
    if pending:
        before = result.handled
        batches = _fetch_batches(client, pending, result)
        for _batch, outcomes in intake.import_batches(
            municipality, batches, message_ids=message_ids
        ):
            _count(outcomes, result)
            if progress is not None:
                # Fetch failures count as soon as they happen (the next batch is fetched
                # while this one is written), hence the cap.
                progress(len(pending), min(len(pending), result.handled - before), result)
    # The 受付 statuses of every new case, to the outbox worker in one hand-off (after
    # commit: a caller may have wrapped the pull in a transaction).
    transaction.on_commit(lambda: delivery.hand_off(message_ids))
    _record(connection, result)
    return result


def _fetch_batches(client: MynaportalClient, summaries: list, result: PullResult):
    """Fetch the packages, yielding batches of (受付番号, package, 受付日時) for the intake.
    The reception time is the one マイナポータル reports for the application (its detail,
    else the listing); the signature is judged at it, never at the signer's own time."""
    batch: list[tuple[str, bytes, datetime.datetime | None]] = []
    size = 0
    for summary in summaries:
        reference = summary.receipt_number
        try:
            data = client.get_application(reference)
        except MynaportalError as exc:
            result.failed += 1
            result.errors.append(str(exc))
            continue
        received_at = data.get("received_at") or summary.received_at
        batch.append((reference, data["package"], received_at))
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


# ----------------------------------------------------------------------------- from the page


STALE_AFTER = datetime.timedelta(minutes=30)
RUN_WAIT_SECONDS = 600.0


@transaction.atomic
def start_pull(connection: MynaportalConnection, *, user) -> tuple[PullRun, bool]:
    """Start a background pull of this connection for a member of staff, unless one is
    already queued or running (then that one, and False). A run left 取得中 by a process
    that stopped (the embedded default's thread dies with it) is closed as failed after
    `STALE_AFTER`, so the button never stays blocked."""
    from madoguchi.core.jobs import dispatch

    from .tasks import run_pull_task

    open_runs = PullRun.objects.select_for_update().filter(
        connection=connection, state__in=[PullRun.State.QUEUED, PullRun.State.RUNNING]
    )
    open_runs.filter(created_at__lt=timezone.now() - STALE_AFTER).update(
        state=PullRun.State.FAILED,
        summary=_("中断されました（サーバーの再起動など）。もう一度取得してください。"),
        finished_at=timezone.now(),
    )
    running = open_runs.first()
    if running is not None:
        return running, False
    run = PullRun.objects.create(
        municipality_id=connection.municipality_id, connection=connection, requested_by=user
    )
    dispatch(run_pull_task, run.pk)
    return run, True


def run_pull(run_id: int) -> str:
    """The background part of `start_pull`. Safe to run twice (a redelivered task): a
    finished run is left as it is, an interrupted one pulls again (pulls are idempotent)."""
    run = PullRun.objects.select_related("connection__municipality").get(pk=run_id)
    if run.state in (PullRun.State.DONE, PullRun.State.FAILED):
        return run.summary
    runs = PullRun.objects.filter(pk=run_id)
    runs.update(state=PullRun.State.RUNNING)

    def progress(total: int, done: int, result: PullResult) -> None:
        runs.update(total=total, done=done, **_counts(result))

    try:
        # A scheduled pull of the same connection may be running: wait for it to finish.
        result = pull(run.connection, progress=progress, wait=RUN_WAIT_SECONDS)
    except Exception as exc:
        logger.error("mynaportal: pull run %s failed: %s", run_id, type(exc).__name__)
        summary = _("取得に失敗しました（%(error)s）。もう一度取得してください。") % {
            "error": type(exc).__name__
        }
        runs.update(state=PullRun.State.FAILED, summary=summary, finished_at=timezone.now())
        return summary
    # Failed: nothing came of it (no list, no password, every package failed); a run with
    # some failures among its packages is done, its summary says how many failed.
    nothing = not (result.imported or result.quarantined or result.duplicates)
    state = PullRun.State.FAILED if result.failed and nothing else PullRun.State.DONE
    summary = result.summary()
    runs.update(state=state, summary=summary, finished_at=timezone.now(), **_counts(result))
    return summary


def _counts(result: PullResult) -> dict[str, int]:
    return {
        "imported": result.imported,
        "duplicates": result.duplicates,
        "quarantined": result.quarantined,
        "failed": result.failed,
    }
