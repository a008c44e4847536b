"""保存期間: delete finished applications whose retention period has passed, and abandoned drafts.

This is **the one sanctioned deletion path** for applications. Everywhere else an application
and its 経過 (`ApplicationEvent`, append-only: its `delete()` raises) are kept; here the whole
case goes, by queryset deletes that do not call `Model.delete()`:

- finished applications (完了・却下・取り下げ) whose `finished_at` (or, for older rows without
  it, `updated_at`) plus the procedure's `retention_years` lies in the past are deleted with
  their events, answer revisions, department progress, attachments (rows *and* stored files)
  and the outgoing messages that mention them. An `ApplicationTombstone` keeps, without any
  personal data, the 受付番号, procedure, channel, outcome and dates (statistics, and the
  answer to "was this 受付番号 ever issued"). Access-log rows keep their 受付番号 (their
  foreign key is set to NULL).
- drafts nobody touched for `DRAFT_MAX_AGE_DAYS` days are deleted without a tombstone
  (they were never submitted, so no 受付番号 was issued).

Each application is deleted in its own transaction (a failure leaves the others done, and the
next run picks it up again); stored files are deleted after that transaction commits, so a
rollback never leaves a row pointing at a missing file. Running it twice deletes nothing more:
it is idempotent. Scheduled daily by Celery beat (`madoguchi.celery`); by hand:
`madoguchi apply_retention [--dry-run]`.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import TextIO

from celery import shared_task
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from madoguchi.catalog.models import Procedure

from .models import (
    FINISHED_STATUSES,
    AnswerRevision,
    Application,
    ApplicationEvent,
    ApplicationTombstone,
    Attachment,
    DepartmentProgress,
    Status,
)
from .signals import retention_due

logger = logging.getLogger(__name__)

DRAFT_MAX_AGE_DAYS = 30
# Export files hold personal data in bulk: they are kept for a week, then deleted (the job row
# and its report stay, so the page still says what was exported, by whom and when).
EXPORT_FILE_MAX_AGE_DAYS = 7


@dataclass
class ProcedureCounts:
    procedure_id: int
    name: str
    municipality: str
    retention_years: int
    expired: int = 0  # found expired (in a dry run: would be deleted)
    deleted: int = 0


@dataclass
class RetentionReport:
    dry_run: bool
    now: dt.datetime
    procedures: dict[int, ProcedureCounts] = field(default_factory=dict)
    drafts_expired: int = 0
    drafts_deleted: int = 0
    export_files_expired: int = 0
    files_deleted: int = 0
    failed: int = 0

    @property
    def expired(self) -> int:
        return sum(p.expired for p in self.procedures.values())

    @property
    def deleted(self) -> int:
        return sum(p.deleted for p in self.procedures.values())

    def summary_lines(self) -> list[str]:
        verb = "削除対象" if self.dry_run else "削除"
        lines = []
        for counts in sorted(self.procedures.values(), key=lambda c: c.procedure_id):
            if not counts.expired:
                continue
            number = counts.expired if self.dry_run else counts.deleted
            lines.append(
                f"{counts.municipality} {counts.name}（保存期間{counts.retention_years}年）:"
                f" {verb} {number}件"
            )
        drafts = self.drafts_expired if self.dry_run else self.drafts_deleted
        lines.append(f"申請済みの申請: {verb} {self.expired if self.dry_run else self.deleted}件")
        lines.append(f"{DRAFT_MAX_AGE_DAYS}日以上放置された入力中の申請: {verb} {drafts}件")
        lines.append(
            f"{EXPORT_FILE_MAX_AGE_DAYS}日を過ぎた出力ファイル: {verb} {self.export_files_expired}件"
        )
        if not self.dry_run:
            lines.append(f"削除した添付ファイル: {self.files_deleted}件")
        if self.failed:
            lines.append(f"削除できなかった申請: {self.failed}件（次回の実行で再試行します）")
        if self.dry_run:
            lines.append("（確認のみ。何も削除していません）")
        return lines


def years_before(moment: dt.datetime, years: int) -> dt.datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


def expired_applications(procedure: Procedure, now: dt.datetime):
    cutoff = years_before(now, procedure.retention_years)
    return (
        Application.objects.filter(procedure=procedure, status__in=FINISHED_STATUSES)
        .annotate(retention_from=Coalesce("finished_at", "updated_at"))
        .filter(retention_from__lt=cutoff)
    )


def abandoned_drafts(now: dt.datetime):
    return Application.objects.filter(
        status=Status.DRAFT, updated_at__lt=now - dt.timedelta(days=DRAFT_MAX_AGE_DAYS)
    )


def delete_stored_files(names: list[str]) -> int:
    deleted = 0
    for name in names:
        try:
            default_storage.delete(name)
            deleted += 1
        except Exception:
            # The path holds ids only (attachments/<municipality>/<application>/<uid>).
            logger.warning("retention: could not delete stored file %s", name)
    return deleted


def discard_draft(application: Application) -> bool:
    """Delete a draft that must not be kept (its only content was refused), with its files;
    False when it is no longer a draft."""
    report = RetentionReport(dry_run=False, now=timezone.now())
    return _delete_one(
        application.pk, tombstone=False, still_expired=Q(status=Status.DRAFT), report=report
    )


def _delete_one(pk: int, *, tombstone: bool, still_expired: Q, report: RetentionReport) -> bool:
    """Delete application `pk` (and everything hanging from it) in one transaction."""
    with transaction.atomic():
        application = (
            Application.objects.select_for_update()
            .annotate(retention_from=Coalesce("finished_at", "updated_at"))
            .filter(still_expired, pk=pk)
            .first()
        )
        if application is None:
            return False  # gone already, or changed since it was selected
        files = [
            name
            for name in Attachment.objects.filter(application_id=pk).values_list("file", flat=True)
        ]
        if tombstone and application.receipt_number:
            ApplicationTombstone.objects.get_or_create(
                municipality_id=application.municipality_id,
                receipt_number=application.receipt_number,
                defaults={
                    "procedure_id": application.procedure_id,
                    "channel": application.channel,
                    "outcome": application.status,
                    "submitted_at": application.submitted_at or application.created_at,
                    "finished_at": application.finished_at,
                },
            )
        # Queryset deletes: ApplicationEvent.delete() refuses on purpose (append-only).
        ApplicationEvent.objects.filter(application_id=pk).delete()
        AnswerRevision.objects.filter(application_id=pk).delete()
        DepartmentProgress.objects.filter(application_id=pk).delete()
        Attachment.objects.filter(application_id=pk).delete()
        _delete_outbox(pk)
        Application.objects.filter(pk=pk).delete()

        def delete_files() -> None:
            report.files_deleted += delete_stored_files([f for f in files if f])

        transaction.on_commit(delete_files)
    return True


def _delete_outbox(pk: int) -> None:
    """Outgoing messages about the application carry its personal data (address, name);
    delivered or failed ones go with it. A message still pending is left to be delivered."""
    from madoguchi.outbox.models import OutboxMessage

    OutboxMessage.objects.filter(reference=f"application:{pk}").exclude(
        state=OutboxMessage.State.PENDING
    ).delete()


class _Progress:
    WIDTH = 30

    def __init__(self, stdout: TextIO | None, total: int, label: str):
        self.stdout, self.total, self.label, self.done = stdout, total, label, 0

    def step(self) -> None:
        self.done += 1
        if self.stdout is None or not self.total:
            return
        if self.done == self.total or self.done % max(1, self.total // 100) == 0:
            filled = self.WIDTH * self.done // self.total
            bar = "#" * filled + "." * (self.WIDTH - filled)
            end = "\n" if self.done == self.total else ""
            text = f"\r{self.label} [{bar}] {self.done}/{self.total}{end}"
            try:
                self.stdout.write(text, ending="")  # Django's OutputWrapper
            except TypeError:
                self.stdout.write(text)
            self.stdout.flush()


def apply_retention(
    now: dt.datetime | None = None, *, dry_run: bool = False, stdout: TextIO | None = None
) -> RetentionReport:
    now = now or timezone.now()
    report = RetentionReport(dry_run=dry_run, now=now)
    work: list[tuple[ProcedureCounts, list[int], Q]] = []
    for procedure in Procedure.objects.select_related("municipality").order_by("pk"):
        counts = ProcedureCounts(
            procedure.pk, procedure.name, procedure.municipality.name, procedure.retention_years
        )
        pks = list(expired_applications(procedure, now).values_list("pk", flat=True))
        counts.expired = len(pks)
        report.procedures[procedure.pk] = counts
        cutoff = years_before(now, procedure.retention_years)
        still = Q(status__in=FINISHED_STATUSES, retention_from__lt=cutoff)
        if pks:
            work.append((counts, pks, still))
    draft_pks = list(abandoned_drafts(now).values_list("pk", flat=True))
    report.drafts_expired = len(draft_pks)
    # Files other apps keep for a limited time (the exports' CSV files) go with the same run:
    # each receiver deletes its expired files (or, for a dry run, counts them).
    answers = retention_due.send(sender=RetentionReport, now=now, dry_run=dry_run)
    report.export_files_expired = sum(count for _receiver, count in answers)
    if dry_run:
        return report

    progress = _Progress(stdout, sum(len(p) for _c, p, _q in work) + len(draft_pks), "削除中")
    for counts, pks, still in work:
        for pk in pks:
            try:
                if _delete_one(pk, tombstone=True, still_expired=still, report=report):
                    counts.deleted += 1
            except Exception as exc:
                report.failed += 1
                logger.error("retention: application %s not deleted: %s", pk, type(exc).__name__)
            progress.step()
    draft_cutoff = now - dt.timedelta(days=DRAFT_MAX_AGE_DAYS)
    still_draft = Q(status=Status.DRAFT, updated_at__lt=draft_cutoff)
    for pk in draft_pks:
        try:
            if _delete_one(pk, tombstone=False, still_expired=still_draft, report=report):
                report.drafts_deleted += 1
        except Exception as exc:
            report.failed += 1
            logger.error("retention: draft %s not deleted: %s", pk, type(exc).__name__)
        progress.step()
    logger.info(
        "retention: %s applications and %s drafts deleted, %s files, %s failed",
        report.deleted,
        report.drafts_deleted,
        report.files_deleted,
        report.failed,
    )
    return report


@shared_task(name="madoguchi.applications.apply_retention", ignore_result=True)
def apply_retention_task() -> None:
    """Daily (Celery beat, see `madoguchi.celery`): `apply_retention()` with the current time;
    never twice at once (a second worker given the same tick skips it)."""
    from madoguchi.ops.locks import single_flight

    with single_flight("applications-retention") as acquired:
        if acquired:
            apply_retention()
