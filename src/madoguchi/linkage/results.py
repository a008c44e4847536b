"""Result files from a core system (方式4 back-channel): 受付番号, 処理状況, optional メッセージ.

Each line is applied on its own, all or nothing, through `applications.staff_actions.
change_status` with the member of staff who uploaded the file as the actor: the same
workflow rules (要再申請 and 却下 need a message), the same optimistic lock, the same
event and the same outbox mail to the applicant as a change made on the staff screen.
(A file uploaded through the back office has a person behind it, not an API client: that
person is the actor, accountable for it, and their rights — `applications.permissions.can_handle` — are
checked on every line.)

A bad line is reported with its line number, 受付番号 and the exact reason, and never stops
the other lines. A file that cannot be read at all (wrong encoding) applies nothing.
"""

from __future__ import annotations

import csv
import io
import logging

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from madoguchi.applications import staff_actions, workflow
from madoguchi.applications.models import Application

from .models import ResultImport

logger = logging.getLogger(__name__)

MAX_LINES = 50_000
PROGRESS_EVERY = 50
HEADER_NAMES = {"受付番号", "receipt_number"}

UNREADABLE = gettext_noop(
    "文字コードを判定できませんでした。UTF-8かShift_JIS（CP932）で保存したファイルを取り込んでください。"
)
WRONG_ENCODING = gettext_noop(
    "ファイルを%(encoding)sとして読めませんでした（%(line)d行目）。文字コードを確かめてください。"
)
TOO_MANY_LINES = gettext_noop("行が多すぎます。%(max)d行までに分けて取り込んでください。")

# Status as written in a result file: the code or the Japanese label.
STATUS_BY_TEXT = {
    **{code: code for code in workflow.STATUSES},
    **{label: code for code, label in workflow.LABELS.items()},
}


def decode(data: bytes, encoding: str) -> tuple[str, str]:
    """(text, encoding used); ValueError with a sentence for the screen."""
    if encoding in ("", ResultImport.Encoding.AUTO):
        if data.startswith(b"\xef\xbb\xbf"):
            encoding = "utf-8"
        else:
            for candidate in ("utf-8", "cp932"):
                try:
                    return data.decode(candidate), candidate
                except UnicodeDecodeError:
                    continue
            raise ValueError(_(UNREADABLE))
    try:
        text = data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        label = "UTF-8" if encoding == "utf-8" else "Shift_JIS（CP932）"
        raise ValueError(_(WRONG_ENCODING) % {"encoding": label, "line": line}) from None
    return text, encoding


def parse_status(text: str) -> str | None:
    return STATUS_BY_TEXT.get(text.strip())


def rows(text: str):
    """(line number, cells) of every non-blank line, the header line (受付番号, ...) skipped."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    first = True
    for cells in reader:
        number = reader.line_num
        if first:
            first = False
            if cells and cells[0].strip() in HEADER_NAMES:
                continue
        if not any(c.strip() for c in cells):
            continue
        yield number, cells


def apply_line(layout, user, cells: list[str]) -> tuple[bool, str, str, str]:
    """(ok, 受付番号, status as written, result sentence) for one line."""
    receipt = cells[0].strip() if cells else ""
    status_text = cells[1].strip() if len(cells) > 1 else ""
    message = cells[2] if len(cells) > 2 else ""
    if len(cells) > 3 and any(c.strip() for c in cells[3:]):
        return (
            False,
            receipt,
            status_text,
            _("列が多すぎます。受付番号・処理状況・メッセージの3列までにしてください。"),
        )
    if not receipt:
        return False, receipt, status_text, _("受付番号がありません。")
    if not status_text:
        return False, receipt, status_text, _("処理状況がありません。")
    to_status = parse_status(status_text)
    if to_status is None:
        return (
            False,
            receipt,
            status_text,
            _("「%(status)s」という処理状況はありません。") % {"status": status_text}
            + _(
                "処理中・完了・却下・要再申請のいずれか（またはin_progressなどのコード）を書いてください。"
            ),
        )
    application = (
        Application.objects.submitted()
        .filter(
            municipality_id=layout.municipality_id,
            procedure_id=layout.procedure_id,
            receipt_number=receipt,
        )
        .first()
    )
    if application is None:
        return (
            False,
            receipt,
            status_text,
            _("受付番号「%(receipt)s」の申請はこの手続にありません。") % {"receipt": receipt},
        )
    from_status = application.status
    try:
        staff_actions.change_status(
            application,
            to_status,
            user=user,
            message=message,
            expected_version=application.lock_version,
        )
    except staff_actions.ERRORS as exc:
        return False, receipt, status_text, exc.message
    return (
        True,
        receipt,
        status_text,
        _("「%(from)s」から「%(to)s」に変更しました。")
        % {"from": _(workflow.label(from_status)), "to": _(workflow.label(to_status))},
    )


def run(import_id: int) -> ResultImport | None:
    """Apply a QUEUED import (a second delivery of the same task does nothing)."""
    if not ResultImport.objects.filter(pk=import_id, state=ResultImport.State.QUEUED).update(
        state=ResultImport.State.RUNNING
    ):
        return None
    job = ResultImport.objects.select_related("layout", "uploaded_by").get(pk=import_id)
    try:
        with job.file.open("rb") as handle:
            data = handle.read()
        try:
            text, used = decode(data, job.encoding)
        except ValueError as exc:
            job.state = ResultImport.State.FAILED
            job.error = str(exc)
            job.finished_at = timezone.now()
            job.save(update_fields=["state", "error", "finished_at"])
            return job
        lines = list(rows(text))
        if len(lines) > MAX_LINES:
            job.state = ResultImport.State.FAILED
            job.error = _(TOO_MANY_LINES) % {"max": MAX_LINES}
            job.finished_at = timezone.now()
            job.save(update_fields=["state", "error", "finished_at"])
            return job
        ResultImport.objects.filter(pk=job.pk).update(total=len(lines), detected_encoding=used)
        report: list[dict] = []
        applied = failed = 0
        for done, (number, cells) in enumerate(lines, start=1):
            try:
                ok, receipt, status_text, result = apply_line(job.layout, job.uploaded_by, cells)
            except Exception as exc:  # one line's unexpected failure never stops the others
                logger.error("result import %s line %s: %s", job.pk, number, type(exc).__name__)
                ok, receipt, status_text = False, (cells[0].strip() if cells else ""), ""
                result = _("この行を反映できませんでした（システムの誤り）。")
            applied += ok
            failed += not ok
            report.append(
                {
                    "line": number,
                    "receipt_number": receipt,
                    "status": status_text,
                    "ok": ok,
                    "result": result,
                }
            )
            if done % PROGRESS_EVERY == 0:
                ResultImport.objects.filter(pk=job.pk).update(
                    done=done, applied=applied, failed=failed, report=report
                )
        ResultImport.objects.filter(pk=job.pk).update(
            state=ResultImport.State.DONE,
            total=len(lines),
            done=len(lines),
            applied=applied,
            failed=failed,
            report=report,
            finished_at=timezone.now(),
        )
    except Exception as exc:
        logger.error("result import %s failed: %s", import_id, type(exc).__name__)
        ResultImport.objects.filter(pk=import_id).update(
            state=ResultImport.State.FAILED,
            error=_(
                "取り込みの途中でシステムの誤りが起きました。反映済みの行は一覧で確認してください。"
            ),
            finished_at=timezone.now(),
        )
    return ResultImport.objects.get(pk=import_id)


def report_csv(job: ResultImport) -> bytes:
    """The per-line report as CSV (UTF-8 with BOM, opens in Excel)."""
    from madoguchi.core.csvfile import CsvWriter

    raw = io.BytesIO()
    writer = CsvWriter(raw, "utf-8-sig")
    writer.write_row([_("行"), _("受付番号"), _("処理状況"), _("結果"), _("内容")])
    for entry in job.report:
        writer.write_row(
            [
                str(entry.get("line", "")),
                entry.get("receipt_number", ""),
                entry.get("status", ""),
                _("反映") if entry.get("ok") else _("エラー"),
                entry.get("result", ""),
            ]
        )
    writer.close()
    return raw.getvalue()
