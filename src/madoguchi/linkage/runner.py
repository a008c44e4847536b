"""Build a linkage batch: the file, its manifest, and the exactly-once marks.

Two phases:

1. **Write** (no transaction, so progress is visible): every case of the layout's procedure
   in one of the layout's statuses that has no `ExportMark` for this layout, oldest first,
   is written to a temporary file, record by record (memory stays flat). A record with a
   value that cannot be written (not encodable in CP932, wider than its byte width, a code
   missing from the conversion table ...) is left out and reported with 受付番号, column
   and reason. With ``on_error = refuse_batch`` any such record refuses the whole batch:
   no file, nothing marked.
2. **Finalise** (one transaction): one `ExportMark` per written case (unique per layout and
   case), one ``linked`` event per case, the file and the manifest into storage (and the
   drop folder), the batch marked done. If another batch running at the same time already
   marked one of the cases, the unique constraint refuses the insert, the transaction rolls
   back and this batch fails without marking anything — a case never goes out twice in one
   layout. A failure of any kind marks nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from madoguchi.applications import lifecycle
from madoguchi.applications.models import Application
from madoguchi.core import csvfile
from madoguchi.exports.columns import export_value

from . import formatting as fmt
from .models import Batch, ExportMark, Layout

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 200
REPORT_LIMIT = 5000
MANIFEST_VERSION = 1

CONFLICT_MESSAGE = gettext_noop(
    "同時に実行された別の作成が同じ申請を出力したため、このファイルは作成しませんでした"
    "（どの申請にも出力済みの印は付けていません）。もう一度実行してください。"
)
FAILED_MESSAGE = gettext_noop(
    "ファイルを作成できませんでした（どの申請にも出力済みの印は付けていません）。"
)
REFUSED_MESSAGE = gettext_noop(
    "出力できない値がある申請が%(count)d件あったため、ファイルを作成しませんでした"
    "（どの申請にも出力済みの印は付けていません）。"
)


def drop_dir() -> Path:
    configured = getattr(settings, "LINKAGE_DROP_DIR", None)
    if configured:
        return Path(configured)
    return Path(getattr(settings, "VAR_DIR", Path.cwd() / "var")) / "linkage"


def candidates(layout: Layout):
    """Cases this layout has not yet taken, oldest first."""
    return (
        Application.objects.submitted()
        .filter(
            municipality_id=layout.municipality_id,
            procedure_id=layout.procedure_id,
            status__in=layout.statuses or [],
        )
        .exclude(linkage_marks__layout=layout)
        .order_by("submitted_at", "pk")
    )


# ------------------------------------------------------------------------------- records


class RecordWriter:
    """Turns a case into the bytes of one record (or the reasons it cannot be written)."""

    def __init__(self, layout: Layout):
        self.layout = layout
        self.specs = [fmt.ColumnSpec.from_dict(c) for c in layout.columns]
        self.fixed = layout.is_fixed
        self.encoding = layout.encoding
        self.eol = fmt.LINE_ENDINGS.get(layout.line_ending, b"\r\n")
        self._forms: dict[int, object] = {}

    def header(self) -> bytes:
        if self.fixed or not self.layout.header_row:
            return b""
        return self._csv_record([s.header for s in self.specs])

    def _csv_record(self, texts: list[str]) -> bytes:
        # The project's one CSV writer: quoting and formula neutralising; every cell was
        # checked to be encodable (and within its width, the neutralising ' included).
        line = csvfile.format_row(texts, self.eol.decode("ascii"))
        return fmt.encode(line, self.encoding)

    def _form(self, application: Application):
        version_id = application.form_version_id
        if version_id not in self._forms:
            try:
                self._forms[version_id] = application.form_version.form
            except Exception:  # a version whose definition cannot be parsed
                self._forms[version_id] = None
        return self._forms[version_id]

    def _raw(self, spec: fmt.ColumnSpec, application: Application):
        """(raw value, field or None)."""
        source = spec.source
        if source.startswith(fmt.CONST_PREFIX):
            return source[len(fmt.CONST_PREFIX) :], None
        if source == "receipt_number":
            return application.receipt_number or "", None
        if source == "submitted_at":
            value = application.submitted_at
            return (timezone.localtime(value) if value else None), None
        if source == "status":
            return application.status, None
        if source == "channel":
            return application.channel, None
        if source == "applicant_name":
            return application.applicant_name, None
        if source == "applicant_kana":
            return application.applicant_name_kana, None
        if source == "atena_number":
            return "", None  # 宛名番号: not stored yet (identity issue)
        form = self._form(application)
        answers = application.answers or {}
        parts = source.split(".")
        if len(parts) == 3:
            items = answers.get(parts[0])
            index = int(parts[1]) - 1
            if not isinstance(items, list) or index >= len(items) or index < 0:
                return None, None
            item = items[index] if isinstance(items[index], dict) else {}
            return item.get(parts[2]), (form.field(parts[2]) if form else None)
        return answers.get(source), (form.field(source) if form else None)

    def text(self, spec: fmt.ColumnSpec, application: Application) -> str:
        raw, f = self._raw(spec, application)
        if spec.date:
            text = fmt.format_date(raw, spec.date)
        elif spec.map:
            text = fmt.apply_map(raw, spec.map)
        elif raw is None:
            text = ""
        elif hasattr(raw, "strftime"):
            text = raw.strftime("%Y-%m-%d %H:%M:%S")
        elif f is not None:
            text = export_value(f, raw)
        elif isinstance(raw, bool):
            text = "1" if raw else "0"
        else:
            text = str(raw)
        return fmt.one_line(text) if self.fixed else text

    def record(self, application: Application) -> tuple[bytes | None, list[tuple[str, str]]]:
        cells: list[bytes] = []
        texts: list[str] = []
        errors: list[tuple[str, str]] = []
        for spec in self.specs:
            text = self.text(spec, application)
            if not self.fixed:
                text = csvfile.neutralise(text)
            try:
                data = fmt.fit(
                    text,
                    encoding=self.encoding,
                    width=spec.width,
                    align=spec.align,
                    pad=spec.pad,
                    fixed=self.fixed,
                )
            except fmt.CellError as exc:
                errors.append((spec.header, exc.reason))
                continue
            cells.append(data)
            texts.append(text)
        if errors:
            return None, errors
        if self.fixed:
            return b"".join(cells) + self.eol, []
        return self._csv_record(texts), []


# ------------------------------------------------------------------------------- the batch


@dataclass
class Written:
    path: str
    sha256: str
    size: int
    ids: list[int] = field(default_factory=list)
    receipt_numbers: list[str] = field(default_factory=list)
    report: list[dict] = field(default_factory=list)
    skipped: int = 0
    total: int = 0


def write(batch: Batch) -> Written:
    """Phase 1: the records into a temporary file (the caller removes it)."""
    layout = batch.layout
    writer = RecordWriter(layout)
    qs = candidates(layout).select_related("form_version")
    total = qs.count()
    Batch.objects.filter(pk=batch.pk).update(total=total)
    digest = hashlib.sha256()
    handle, path = tempfile.mkstemp(prefix="linkage-", suffix=f".{layout.extension}")
    written = Written(path=path, sha256="", size=0, total=total)
    with os.fdopen(handle, "wb") as out:

        def put(data: bytes) -> None:
            out.write(data)
            digest.update(data)
            written.size += len(data)

        put(writer.header())
        for done, application in enumerate(qs.iterator(chunk_size=500), start=1):
            data, errors = writer.record(application)
            if errors:
                written.skipped += 1
                for column, reason in errors:
                    if len(written.report) < REPORT_LIMIT:
                        written.report.append(
                            {
                                "receipt_number": application.receipt_number,
                                "column": column,
                                "reason": reason,
                            }
                        )
            else:
                put(data)
                written.ids.append(application.pk)
                written.receipt_numbers.append(application.receipt_number)
            if done % PROGRESS_EVERY == 0:
                Batch.objects.filter(pk=batch.pk).update(done=done)
    written.sha256 = digest.hexdigest()
    return written


def file_name(batch: Batch) -> str:
    stamp = timezone.localtime(batch.created_at).strftime("%Y%m%d%H%M%S")
    return f"{batch.layout.procedure.slug}-{batch.layout_id}-{batch.pk}-{stamp}.{batch.layout.extension}"


def build_manifest(batch: Batch, written: Written, name: str) -> dict:
    layout = batch.layout
    return {
        "manifest_version": MANIFEST_VERSION,
        "batch": batch.pk,
        "created_at": timezone.localtime().isoformat(timespec="seconds"),
        "municipality": layout.municipality.lg_code,
        "procedure": layout.procedure.slug,
        "layout": {
            "id": layout.pk,
            "name": layout.name,
            "format": layout.format,
            "encoding": layout.encoding,
            "line_ending": layout.line_ending,
            "header_row": bool(layout.header_row and not layout.is_fixed),
            "columns": layout.columns,
            "statuses": layout.statuses,
        },
        "file": name,
        "bytes": written.size,
        "sha256": written.sha256,
        "counts": {
            "candidates": written.total,
            "records": len(written.ids),
            "skipped": written.skipped,
        },
        "receipt_numbers": written.receipt_numbers,
        "skipped": written.report,
    }


def _drop(name: str, data_path: str, manifest_bytes: bytes, municipality_code: str) -> list[Path]:
    """Put the file, then its manifest, into the drop folder (each written to a temporary name
    and renamed, so a reader never sees half a file; the manifest comes last and says the
    file is complete)."""
    folder = drop_dir() / municipality_code
    folder.mkdir(parents=True, exist_ok=True)
    placed: list[Path] = []
    target = folder / name
    tmp = folder / f".{name}.part"
    with open(data_path, "rb") as src, open(tmp, "wb") as dst:
        for chunk in iter(lambda: src.read(1 << 16), b""):
            dst.write(chunk)
    os.replace(tmp, target)
    placed.append(target)
    manifest_target = folder / f"{name}.manifest.json"
    tmp = folder / f".{name}.manifest.json.part"
    tmp.write_bytes(manifest_bytes)
    os.replace(tmp, manifest_target)
    placed.append(manifest_target)
    return placed


def finalise(batch: Batch, written: Written) -> None:
    """Phase 2: the file and its manifest stored, then marks, events, the drop into the
    folder and the batch's figures in one transaction. Storage first and outside the
    transaction: it is S3 in production, and the transaction holds the new marks (their
    unique index) and the cases' rows locked against withdrawal and retention while it
    lasts. The drop stays inside, after the marks: the core system must never find a file
    whose marks failed (a concurrent batch that took the same case). Whatever was stored or
    dropped is deleted again if the transaction does not commit."""
    layout = batch.layout
    name = file_name(batch)
    manifest = build_manifest(batch, written, name)
    manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
    stored: list = []
    placed: list[Path] = []
    try:
        with open(written.path, "rb") as source:
            batch.file.save(name, File(source), save=False)
        stored.append(batch.file.name)
        batch.manifest_file.save(f"{name}.manifest.json", ContentFile(manifest_bytes), save=False)
        stored.append(batch.manifest_file.name)
        with transaction.atomic():
            ExportMark.objects.bulk_create(
                [
                    ExportMark(
                        municipality_id=layout.municipality_id,
                        layout=layout,
                        application_id=pk,
                        batch=batch,
                    )
                    for pk in written.ids
                ],
                batch_size=1000,
            )
            actor = (
                lifecycle.Actor.staff(batch.requested_by)
                if batch.requested_by_id
                else lifecycle.Actor.system()
            )
            for start in range(0, len(written.ids), 500):
                chunk = written.ids[start : start + 500]
                for application in Application.objects.filter(pk__in=chunk):
                    lifecycle.record(
                        lifecycle.linked_event(application, actor, layout=layout.pk, batch=batch.pk)
                    )
            if layout.destination == Layout.Destination.FOLDER:
                placed = _drop(name, written.path, manifest_bytes, layout.municipality.lg_code)
                batch.dropped_to = str(placed[0])
            batch.manifest = manifest
            batch.report = written.report
            batch.sha256 = written.sha256
            batch.exported = len(written.ids)
            batch.skipped = written.skipped
            batch.total = written.total
            batch.done = written.total
            batch.state = Batch.State.DONE
            batch.finished_at = timezone.now()
            batch.save()
    except BaseException:
        for name_ in stored:
            try:
                batch.file.storage.delete(name_)
            except Exception:  # the original error is the one to raise
                logger.exception("linkage: could not delete %s after a failed batch", name_)
        for path in placed:
            path.unlink(missing_ok=True)
        batch.file = ""
        batch.manifest_file = ""
        batch.dropped_to = ""
        raise


def _fail(batch_id: int, message: str, *, report: list | None = None, state=Batch.State.FAILED):
    fields = {"state": state, "error": message, "finished_at": timezone.now()}
    if report is not None:
        fields["report"] = report
    Batch.objects.filter(pk=batch_id).update(**fields)


def run(batch_id: int) -> Batch | None:
    """Run a QUEUED batch (a second delivery of the same task does nothing)."""
    if not Batch.objects.filter(pk=batch_id, state=Batch.State.QUEUED).update(
        state=Batch.State.RUNNING
    ):
        return None
    batch = Batch.objects.select_related(
        "layout", "layout__procedure", "layout__municipality", "requested_by"
    ).get(pk=batch_id)
    written = None
    try:
        written = write(batch)
        batch.refresh_from_db(fields=["total"])
        if written.report and batch.layout.on_error == Layout.OnError.REFUSE_BATCH:
            Batch.objects.filter(pk=batch_id).update(
                skipped=written.skipped, done=written.total, exported=0
            )
            _fail(
                batch_id,
                _(REFUSED_MESSAGE) % {"count": written.skipped},
                report=written.report,
                state=Batch.State.REFUSED,
            )
        else:
            finalise(batch, written)
    except IntegrityError:
        _fail(batch_id, _(CONFLICT_MESSAGE))
    except Exception as exc:
        # Type and frames only: the message may quote a resident's data.
        logger.error("linkage batch %s failed: %s", batch_id, type(exc).__name__, exc_info=False)
        _fail(batch_id, _(FAILED_MESSAGE))
    finally:
        if written is not None:
            Path(written.path).unlink(missing_ok=True)
    return Batch.objects.get(pk=batch_id)


def create_batch(layout: Layout, *, trigger: str, user=None) -> Batch:
    return Batch.objects.create(
        municipality_id=layout.municipality_id, layout=layout, trigger=trigger, requested_by=user
    )


def start(layout: Layout, *, trigger: str = Batch.Trigger.MANUAL, user=None) -> Batch:
    """Create a batch and run it in the background (after commit)."""
    from madoguchi.core.jobs import dispatch

    from .tasks import run_batch

    batch = create_batch(layout, trigger=trigger, user=user)
    dispatch(run_batch, batch.pk)
    return batch


def run_scheduled(now=None) -> list[int]:
    """Start the batches of the layouts scheduled for this hour that did not run today."""
    now = timezone.localtime(now)
    started: list[int] = []
    for layout in Layout.objects.filter(is_active=True, schedule_hour=now.hour):
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        if layout.batches.filter(trigger=Batch.Trigger.SCHEDULE, created_at__gte=today).exists():
            continue
        started.append(start(layout, trigger=Batch.Trigger.SCHEDULE).pk)
    return started
