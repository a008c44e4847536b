"""Build an export file for an ExportJob (runs in the background: see `tasks.run_export`).

Scope: exactly the rows of the inbox the export was started from — `applications.inbox.
inbox_queryset(user, department, filter)` for the *requesting* user, computed again in the
job from the stored filter — intersected with `applications.permissions.visible_condition`
and the job's municipality. Whatever the stored filter says (it comes from a URL), a member
of staff never gets a row outside their own permissions.

One pass over the database, memory flat: the rows are read once (on PostgreSQL from a
server-side cursor, `BATCH` rows per fetch, the answers as JSON text and the number of items
of each repeat group computed by the database: see `_in_sql`) and spooled to a local
temporary file in blocks (marshal), counting them and the largest number of items of each
repeat group (how many columns to open) as they come. A second pass over the spool — local
disk, not the database — turns them into cells with the field columns compiled once for the
export (`columns.compile_row`) and writes them in blocks of `BATCH` rows to a temporary file
(one search per block for characters CP932 cannot hold, the block encoded at once), which is
then saved to the default storage. (The count and the repeat sizes used to be a first
aggregate over the same rows: a second scan of most of the table, since an export's rows are
spread over it.) Progress: `done_rows` counts the rows read while the total is still unknown
(`total_rows` 0), then, with the total known, the rows written, with every block.
"""

from __future__ import annotations

import json
import logging
import marshal
import tempfile
import traceback
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import accumulate
from operator import itemgetter

from django.conf import settings
from django.core.files import File
from django.db import connection, transaction
from django.db.models import (
    CharField,
    DateTimeField,
    F,
    Func,
    IntegerField,
    QuerySet,
    TextField,
    Value,
)
from django.db.models.functions import Cast
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from madoguchi.applications.models import Application, Channel, Status
from madoguchi.applications.permissions import visible_condition
from madoguchi.catalog.models import Procedure
from madoguchi.jp import cp932
from madoguchi.tenants.models import Department

from . import columns as cols
from .encoding import to_cp932
from .models import ExportJob
from .writers import open_writer

logger = logging.getLogger(__name__)
_UNENCODABLE = cp932.unencodable_pattern

BATCH = 2000
# At most this many unencodable-character entries are kept in the job report; the rest are
# counted in a final {"omitted": n} entry.
REPORT_LIMIT = 5000
# Parameters of the inbox URL that are not filters.
NON_FILTER_PARAMS = {"cursor", "page", "department", "format", "encoding", "form_version"}

ROW_FIELDS = (
    "receipt_number",
    "submitted_at",
    "status",
    "channel",
    "applicant_name",
    "procedure_id",
)


def filters_from_query(query: QueryDict) -> dict[str, list[str]]:
    """The inbox filter parameters of a URL, as stored on the job ({name: [values]})."""
    return {
        key: [v for v in query.getlist(key) if v != ""]
        for key in query
        if key not in NON_FILTER_PARAMS and any(v != "" for v in query.getlist(key))
    }


def job_department_id(job: ExportJob):
    """The department of the inbox the export was started from, as stored (None for none)."""
    department_id = job.filters.get("department")
    if department_id in (None, "", []):
        return None
    if isinstance(department_id, list):
        department_id = department_id[0]
    return department_id


def job_department(job: ExportJob) -> Department | None:
    department_id = job_department_id(job)
    if department_id is None:
        return None
    return Department.objects.filter(pk=department_id, municipality=job.municipality).first()


def export_queryset(job: ExportJob) -> QuerySet:
    """The applications of this export, in the inbox order."""
    from madoguchi.applications.inbox import InboxFilter, inbox_queryset

    user = job.requested_by
    department = job_department(job)
    if job.filters.get("department") and department is None:
        return Application.objects.none()
    query = {k: v for k, v in job.filters.items() if k not in NON_FILTER_PARAMS}
    inbox_filter = InboxFilter.from_query(query)
    qs = inbox_queryset(user, department, inbox_filter).filter(municipality=job.municipality)
    # Defence in depth: the permission module has the last word on what the user may see.
    # Its condition is added to the same query as it is (no join, so no DISTINCT and no
    # semi-join over a second copy of the rows).
    qs = qs.filter(visible_condition(user, department=department))
    if job.procedure_id:
        qs = qs.filter(procedure_id=job.procedure_id)
    if job.form_version_id:
        qs = qs.filter(form_version_id=job.form_version_id)
    return qs


@dataclass
class Report:
    entries: list[dict] = field(default_factory=list)
    omitted: int = 0
    _seen: set = field(default_factory=set)

    def add(self, receipt_number: str, header: str, character: str) -> None:
        key = (receipt_number, header, character)
        if key in self._seen:
            return
        self._seen.add(key)
        if len(self.entries) >= REPORT_LIMIT:
            self.omitted += 1
            return
        self.entries.append(
            {
                "receipt_number": receipt_number,
                "field": header,
                "character": character,
                "code": f"U+{ord(character):04X}",
            }
        )

    def as_json(self) -> list[dict]:
        if self.omitted:
            return [*self.entries, {"omitted": self.omitted}]
        return list(self.entries)


def _cp932_row(cells: list[str], headers: list[str], receipt_number: str, report: Report):
    """The cells with each character CP932 cannot hold replaced by 〓 and reported. (The
    writer's encoder maps the JIS X 0208 equivalents such as 〜 itself.)"""
    line = "\x1f".join(cells)
    if line.isascii() or _UNENCODABLE().search(line) is None:
        return cells
    fixed = []
    for header, cell in zip(headers, cells, strict=True):
        text, missing = to_cp932(cell)
        for item in missing:
            report.add(receipt_number, header, item.character)
        fixed.append(text)
    return fixed


def _cp932_rows(rows: list[list[str]], headers: list[str], report: Report) -> list[list[str]]:
    """`_cp932_row` for a block of rows: one search over the whole block finds the rows that
    hold a character CP932 cannot hold (the 受付番号 is the first cell)."""
    lines = list(map("\x1f".join, rows))
    text = "\x1e".join(lines)
    if text.isascii():
        return rows
    found = [m.start() for m in _UNENCODABLE().finditer(text)]
    if not found:
        return rows
    # Where each row's line ends in `text` (the separator included).
    ends = list(accumulate(len(line) + 1 for line in lines))
    for index in sorted({bisect_right(ends, position) for position in found}):
        row = rows[index]
        rows[index] = _cp932_row(row, headers, row[0], report)
    return rows


def _department_names(municipality_id: int) -> dict[int, str]:
    through = Procedure.departments.through
    names: dict[int, list[str]] = defaultdict(list)
    rows = (
        through.objects.filter(procedure__municipality_id=municipality_id)
        .order_by("department__code")
        .values_list("procedure_id", "department__name")
    )
    for procedure_id, name in rows:
        names[procedure_id].append(name)
    return {pk: "・".join(v) for pk, v in names.items()}


def _spool(
    qs: QuerySet, fields: tuple[str, ...], repeats: list[str], spool, job_id: int, sql: bool
):
    """Read the rows of `qs` once, writing them to `spool` in marshal blocks; returns their
    number and the largest number of items of each repeat group among them.

    On PostgreSQL (`sql`, see `_in_sql`) the database writes every value as the file needs
    it: the 受付日時 as local text, the answers as their JSON text (decoded when the row is
    written: decoding them here and marshalling the objects cost 2 s of CPU for 100,000 rows)
    and the number of items of each repeat group as trailing columns; the rows are fetched
    in blocks of `BATCH` from a server-side cursor and spooled as they come, no Python per
    row. Elsewhere the answers come decoded (last field) and the 受付日時 as a datetime."""
    counts = dict.fromkeys(repeats, 0)
    total = 0
    for block in _blocks(qs, fields, sql):
        if sql:
            for index, key in enumerate(repeats, start=len(fields) - len(repeats)):
                n = max(map(itemgetter(index), block))
                if n > counts[key]:
                    counts[key] = n
        else:
            block = _python_rows(block, repeats, counts)
        _dump_block(block, spool)
        total += len(block)
        _progress(job_id, done_rows=total)
    spool.seek(0)
    return total, counts


def _blocks(qs: QuerySet, fields: tuple[str, ...], sql: bool):
    """The rows of `qs.values_list(*fields)` in lists of at most `BATCH`. With `sql` the
    values need no conversion in Python: the query runs on a server-side cursor of its own,
    fetched `BATCH` rows at a time."""
    rows = qs.values_list(*fields)
    if sql:
        query, params = rows.query.sql_with_params()
        with connection.chunked_cursor() as cursor:
            cursor.execute(query, params)
            while block := cursor.fetchmany(BATCH):
                yield block
        return
    block = []
    for row in rows.iterator(chunk_size=BATCH):
        block.append(row)
        if len(block) == BATCH:
            yield block
            block = []
    if block:
        yield block


def _python_rows(block: list[tuple], repeats: list[str], counts: dict[str, int]) -> list[tuple]:
    """Rows read without `_in_sql`: the repeat counts learnt from the decoded answers, the
    受付日時 written as local text."""
    zone = timezone.get_current_timezone()
    rows = []
    for row in block:
        if repeats:
            answers = row[-1] if row[-1].__class__ is dict else {}
            for key in repeats:
                n = cols.repeat_count(answers.get(key))
                if n > counts[key]:
                    counts[key] = n
        submitted_at = row[1]
        # (isoformat is several times faster than strftime; same text)
        text = submitted_at.astimezone(zone).isoformat(" ", "seconds")[:19] if submitted_at else ""
        rows.append((row[0], text, *row[2:]))
    return rows


def _dump_block(block: list[tuple], spool) -> None:
    # Length-prefixed bytes: marshal.load on a file reads it in small pieces, ten times
    # slower than marshal.loads on the block's bytes read at once.
    data = marshal.dumps(block)
    spool.write(len(data).to_bytes(8, "big"))
    spool.write(data)


def _spooled_blocks(spool):
    """The blocks of rows written by `_spool`, in order."""
    while header := spool.read(8):
        yield marshal.loads(spool.read(int.from_bytes(header, "big")))


def _form_for(job: ExportJob):
    if job.form_version_id:
        return job.form_version.form
    if job.procedure_id and job.procedure.current_version_id:
        return job.procedure.current_version.form
    return None


def build(job: ExportJob, raw) -> Report:
    """Write the export of `job` to the binary file `raw`; returns the encoding report."""
    qs = export_queryset(job)
    form = _form_for(job)
    repeats = [f.key for f in cols.repeat_fields(form)] if form is not None else []
    fields = ROW_FIELDS + (("answers",) if form is not None else ())
    qs, fields, sql = _in_sql(qs, fields, repeats)
    with tempfile.TemporaryFile() as spool:
        # The one pass over the database: the rows, their count and the repeat columns.
        total, counts = _spool(qs, fields, repeats, spool, job.pk, sql)
        job.total_rows = total
        ExportJob.objects.filter(pk=job.pk).update(total_rows=total, done_rows=0)
        return _write(job, raw, form, counts, _spooled_blocks(spool), answers_text=sql)


def _write(job: ExportJob, raw, form, counts, blocks, *, answers_text: bool = False) -> Report:
    """Write the header and the `blocks` of rows (as read by `_spool`) to `raw`. With
    `answers_text` the answers are JSON text, decoded here."""
    field_headers: list[str] = []
    field_cells = None
    if form is not None:
        # The field columns compiled once for this form and these repeat counts.
        field_headers, field_cells = cols.compile_row(form, counts)

    headers = cols.fixed_headers() + field_headers
    status = {value: str(label) for value, label in Status.choices}.get
    channel = {value: str(label) for value, label in Channel.choices}.get
    department = _department_names(job.municipality_id).get
    cp932 = job.format == ExportJob.Format.CSV and job.encoding == ExportJob.Encoding.CP932
    report = Report()

    writer = open_writer(raw, job.format, job.encoding)
    writer.write_row(_cp932_row(headers, headers, "", report) if cp932 else headers)
    done = 0
    # Written block by block (the progress is written with each block). Each row's answers
    # are decoded and turned into cells at once: decoding a whole block first kept 2,000
    # decoded answers alive, which the garbage collector then walked again and again.
    loads = json.loads
    for rows in blocks:
        block = [
            [
                r[0] or "",
                r[1] or "",
                status(r[2], r[2]),
                channel(r[3], r[3]),
                r[4] or "",
                department(r[5], ""),
            ]
            for r in rows
        ]
        if field_cells is not None:
            for cells, row in zip(block, rows, strict=True):
                answers = row[6]
                if answers_text and answers is not None:
                    answers = loads(answers)
                cells += field_cells(answers)
        writer.write_rows(_cp932_rows(block, headers, report) if cp932 else block)
        done += len(block)
        if done < job.total_rows:
            _progress(job.pk, done_rows=done)
    writer.close()
    job.done_rows = done
    return report


def _progress(job_id: int, **values) -> None:
    """Write the progress of job `job_id`. On PostgreSQL without waiting for the WAL to reach
    the disk (synchronous_commit off for this transaction only): a progress figure lost in a
    crash is harmless, and a commit waiting for each of the 100 figures of a 100,000-row
    export cost 5 ms each, more when other writers keep the disk busy."""
    if connection.vendor != "postgresql":
        ExportJob.objects.filter(pk=job_id).update(**values)
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        ExportJob.objects.filter(pk=job_id).update(**values)


class _RepeatLength(Func):
    """PostgreSQL: the number of items of answers[key] when it is a list, else 0 (as
    `columns.repeat_count` of the decoded value)."""

    output_field = IntegerField()

    def __init__(self, key: str):
        super().__init__(F("answers"))
        self.key = key

    def as_sql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        item = f"({column} -> %s)"
        sql = f"CASE WHEN jsonb_typeof({item}) = 'array' THEN jsonb_array_length({item}) ELSE 0 END"
        return sql, (*params, self.key, *params, self.key)


def _in_sql(qs: QuerySet, fields: tuple[str, ...], repeats: list[str]):
    """On PostgreSQL the database writes the values as the export reads them: the 受付日時
    as text in the current time zone ("YYYY-MM-DD HH:MM:SS", the seconds truncated as
    isoformat does) instead of a datetime parsed, converted and formatted row by row; the
    answers as their JSON text; and, after them, the number of items of each of `repeats`.
    Returns the queryset, the fields to read and whether it is so."""
    if connection.vendor != "postgresql":
        return qs, fields, False
    local = Func(
        Func(
            Value(timezone.get_current_timezone_name()),
            F("submitted_at"),
            function="timezone",
            output_field=DateTimeField(),
        ),
        Value("YYYY-MM-DD HH24:MI:SS"),
        function="to_char",
        output_field=CharField(),
    )
    names = {"submitted_at": "submitted_local", "answers": "answers_text"}
    qs = qs.annotate(submitted_local=local)
    if "answers" in fields:
        qs = qs.annotate(answers_text=Cast("answers", TextField()))
        lengths = {f"repeat_{i}": _RepeatLength(key) for i, key in enumerate(repeats)}
        qs = qs.annotate(**lengths)
        fields = (*fields, *lengths)
    return qs, tuple(names.get(f, f) for f in fields), True


def file_extension(job: ExportJob) -> str:
    return "xlsx" if job.format == ExportJob.Format.XLSX else "csv"


def run(job_id: int) -> None:
    """Run the export job `job_id` once: QUEUED → RUNNING → DONE (or FAILED)."""
    claimed = ExportJob.objects.filter(pk=job_id, state=ExportJob.State.QUEUED).update(
        state=ExportJob.State.RUNNING
    )
    if not claimed:
        return  # already run (a task delivered twice) or unknown
    job = ExportJob.objects.select_related(
        "requested_by", "municipality", "procedure__current_version", "form_version__procedure"
    ).get(pk=job_id)
    try:
        with translation.override(settings.LANGUAGE_CODE), tempfile.TemporaryFile() as raw:
            report = build(job, raw)
            raw.seek(0)
            stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
            name = f"{job.municipality_id}/export-{job.pk}-{stamp}.{file_extension(job)}"
            job.file.save(name, File(raw, name=name), save=False)
        job.report = report.as_json()
        job.state = ExportJob.State.DONE
        job.finished_at = timezone.now()
        job.save(
            update_fields=["file", "report", "state", "finished_at", "done_rows", "total_rows"]
        )
    except Exception as exc:
        # No exception message in the log (it may quote a resident's data): type and frames.
        logger.error(
            "export job %s failed: %s\n%s",
            job_id,
            type(exc).__name__,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        if job.file.name:
            # Stored, but the job never recorded it (DONE): no file of residents' data may
            # outlive its job, and nothing else would ever find this one.
            try:
                job.file.storage.delete(job.file.name)
            except Exception:
                logger.error("export job %s: its file could not be deleted", job_id)
        ExportJob.objects.filter(pk=job_id).update(
            state=ExportJob.State.FAILED,
            finished_at=timezone.now(),
            error=_("ファイルを作成できませんでした。もう一度お試しください。"),
        )
