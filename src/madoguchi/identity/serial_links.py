"""番号紐付 (serial links): JPKI certificate serial number → 宛名番号.

- Import of 番号紐付情報 files from the resident-record system, full (`import_full`) and
  differential (`import_diff`); layout and rules in docs/serial-links.md.
- `lookup_atena(municipality, serial, at=...)` through a `SerialLinkSource` adapter chosen by
  `settings.SERIAL_LINK_SOURCE` ("database", the default, or "common_api", the documented
  stub for the 共通機能標準仕様 API, or a dotted path to a subclass).
- `assign_atena_if_known(application)`: intake calls it; a known serial identifies the
  applicant automatically.
- `candidates(...)` (from `registry`) and `confirm_identity(...)`: for an unknown serial,
  staff choose among residents of the registry extract; the machine never decides.

Identification itself (the 宛名番号 on the application and its "identified" event) is
written by `applications.lifecycle.identify`; this module decides who the applicant is.
"""

import datetime
import re
import unicodedata
from abc import ABC, abstractmethod
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from madoguchi.tenants.models import Municipality

from ._imports import (
    FileRefused,
    LineError,
    column_count_error,
    parse_csv,
    parse_date,
    sha256,
)
from .batches import DEC, HEX, SERIAL_NOTATIONS, ImportReport, normalize_atena, refuse
from .jpki import AT_PULLED, alt_flags_problem, alternative_characters
from .models import IdentityImportBatch, ResidentRecord, SerialLink
from .registry import Candidate, basic_four_from_dict, candidates

ATENA_SOURCE_SERIAL_LINK = "serial_link"
ATENA_SOURCE_STAFF = "staff"

ADD, CHANGE, DELETE = "追加", "変更", "削除"
_CHANGE_WORDS = {
    "追加": ADD,
    "add": ADD,
    "変更": CHANGE,
    "change": CHANGE,
    "削除": DELETE,
    "delete": DELETE,
}
# The serial number column says its notation in its heading (「シリアル番号（16進）」); a
# plain 「シリアル番号」 needs the notation as an import option. Never guessed: the same digits
# read as hexadecimal and as decimal are two different certificates.
SERIAL_COLUMNS = {"serial": None, "serial_hex": HEX, "serial_dec": DEC}
COLUMNS = {
    "serial": ("シリアル番号", "serial", "certificate_serial"),
    "serial_hex": ("シリアル番号（16進）", "serial_hex", "certificate_serial_hex"),
    "serial_dec": ("シリアル番号（10進）", "serial_dec", "certificate_serial_dec"),
    "atena": ("宛名番号", "atena_number"),
    "valid_from": ("有効開始日", "valid_from"),
    "valid_until": ("有効終了日", "valid_until"),
    "change": ("異動区分", "change"),
}
_HEX_RE = re.compile("[0-9A-F]+")
_SERIAL_SEPARATORS_RE = re.compile(r"[\s:]+")
MAX_SERIAL = 64
CHUNK = 1000

__all__ = [
    "Candidate",
    "CommonFunctionApiSource",
    "DatabaseSerialLinkSource",
    "ImportReport",
    "SerialLinkSource",
    "assign_atena_if_known",
    "candidates",
    "confirm_identity",
    "get_source",
    "import_diff",
    "import_full",
    "lookup_atena",
    "normalize_serial",
]


# ── values ──────────────────────────────────────────────────────────────────────────────


def normalize_serial(value: str) -> str:
    """Upper-case hex without separators or leading zeros ("00:ab:12" → "AB12").

    A serial number is an integer; files and certificates may write it with leading zeros,
    colons or in lower case. Raises ValueError (Japanese) if it is not hexadecimal."""
    text = unicodedata.normalize("NFKC", value or "")
    text = _SERIAL_SEPARATORS_RE.sub("", text).upper()
    if text.startswith("0X"):
        text = text[2:]
    if not text:
        raise ValueError(_("シリアル番号がありません。"))
    if not _HEX_RE.fullmatch(text):
        raise ValueError(
            _("シリアル番号「%(value)s」は16進数（0〜9、A〜F）ではありません。") % {"value": value}
        )
    text = text.lstrip("0") or "0"
    if len(text) > MAX_SERIAL:
        raise ValueError(_("シリアル番号が長すぎます（%(max)d桁まで）。") % {"max": MAX_SERIAL})
    return text


_DEC_RE = re.compile("[0-9]+")


def serial_from_decimal(value: str) -> str:
    """A serial number written in decimal ("2748") → the stored upper-case hex ("ABC").
    Raises ValueError (Japanese) if it is not a decimal number."""
    text = unicodedata.normalize("NFKC", value or "").strip()
    if not text:
        raise ValueError(_("シリアル番号がありません。"))
    if not _DEC_RE.fullmatch(text):
        raise ValueError(
            _("シリアル番号「%(value)s」は10進数（0〜9）ではありません。") % {"value": value}
        )
    number = int(text)
    if number >= 16**MAX_SERIAL:
        raise ValueError(_("シリアル番号が大きすぎます。"))
    return f"{number:X}"


def serial_in(value: str, notation: str) -> str:
    """A serial number as written in a file of the given notation → stored form."""
    return serial_from_decimal(value) if notation == DEC else normalize_serial(value)


def _as_date(at) -> datetime.date:
    if isinstance(at, datetime.datetime):
        if timezone.is_aware(at):
            return timezone.localdate(at)
        return at.date()
    if isinstance(at, datetime.date):
        return at
    raise TypeError("at must be a date or datetime")


# ── the adapter ─────────────────────────────────────────────────────────────────────────


class SerialLinkSource(ABC):
    """Where 番号紐付情報 come from, for one municipality."""

    name = ""

    def __init__(self, municipality: Municipality) -> None:
        self.municipality = municipality

    @abstractmethod
    def lookup(self, certificate_serial: str, at) -> str | None:
        """The 宛名番号 linked to the serial on the date of `at` (date or datetime), or None."""

    def lookup_many(self, queries: list[tuple[str, object]]) -> list[str | None]:
        """`lookup` for many (serial, at) at once, in order; a source that can answer a
        batch in one request (the database) overrides it. Same answers as `lookup`."""
        memo: dict[tuple[str, object], str | None] = {}
        answers = []
        for serial, at in queries:
            key = (serial, _as_date(at))
            if key not in memo:
                memo[key] = self.lookup(serial, at)
            answers.append(memo[key])
        return answers

    def check_config(self) -> list[str]:
        """What is misconfigured (Japanese sentences); empty when ready."""
        return []


class DatabaseSerialLinkSource(SerialLinkSource):
    """The links imported from files (`import_full` / `import_diff`)."""

    name = "database"

    def lookup(self, certificate_serial: str, at) -> str | None:
        try:
            serial = normalize_serial(certificate_serial)
        except ValueError:
            return None
        day = _as_date(at)
        link = (
            SerialLink.objects.current()
            .filter(municipality=self.municipality, certificate_serial=serial)
            .filter(valid_from__lte=day)
            .exclude(valid_until__lt=day)
            .first()
        )
        return link.atena_number if link else None

    def lookup_many(self, queries: list[tuple[str, object]]) -> list[str | None]:
        # One query for the whole batch (the bulk intake); then the same choice as `lookup`
        # (the first link by primary key valid on the day).
        wanted: list[tuple[str | None, datetime.date]] = []
        for serial, at in queries:
            try:
                wanted.append((normalize_serial(serial), _as_date(at)))
            except ValueError:
                wanted.append((None, _as_date(at)))
        serials = {serial for serial, _day in wanted if serial}
        links: dict[str, list] = {}
        if serials:
            rows = (
                SerialLink.objects.current()
                .filter(municipality=self.municipality, certificate_serial__in=serials)
                .order_by("pk")
                .values_list("certificate_serial", "valid_from", "valid_until", "atena_number")
            )
            for serial, valid_from, valid_until, atena in rows:
                links.setdefault(serial, []).append((valid_from, valid_until, atena))
        answers: list[str | None] = []
        for serial, day in wanted:
            found = None
            for valid_from, valid_until, atena in links.get(serial or "", []):
                if valid_from <= day and (valid_until is None or valid_until >= day):
                    found = atena
                    break
            answers.append(found)
        return answers

    def check_config(self) -> list[str]:
        if not SerialLink.objects.current().filter(municipality=self.municipality).exists():
            return [_("番号紐付情報がまだ取り込まれていません。")]
        return []


class CommonFunctionApiSource(SerialLinkSource):
    """Stub for the 共通機能標準仕様 番号紐付 API (an online lookup that replaces the file).

    Its interface specification is not public in a form this project can follow, so the
    adapter is not implemented: selecting it fails loudly rather than silently finding
    nobody. To implement: subclass SerialLinkSource, call the API in `lookup`, and set
    SERIAL_LINK_SOURCE to the dotted path of the class."""

    name = "common_api"
    MESSAGE = (
        "共通機能標準仕様の番号紐付 API による照会は実装されていません。"
        '設定 SERIAL_LINK_SOURCE を "database"（ファイルで取り込んだ番号紐付情報）にするか、'
        "SerialLinkSource を実装したクラスを指定してください。"
    )

    def lookup(self, certificate_serial: str, at) -> str | None:
        raise NotImplementedError(self.MESSAGE)

    def check_config(self) -> list[str]:
        return [self.MESSAGE]


SOURCES: dict[str, type[SerialLinkSource]] = {
    DatabaseSerialLinkSource.name: DatabaseSerialLinkSource,
    CommonFunctionApiSource.name: CommonFunctionApiSource,
}


def get_source(municipality: Municipality) -> SerialLinkSource:
    configured = getattr(settings, "SERIAL_LINK_SOURCE", "database") or "database"
    cls = SOURCES.get(configured)
    if cls is None:
        try:
            cls = import_string(configured)
        except ImportError as exc:
            raise ImproperlyConfigured(
                f"SERIAL_LINK_SOURCE={configured!r}: use one of {sorted(SOURCES)} "
                "or the dotted path of a SerialLinkSource subclass"
            ) from exc
    return cls(municipality)


def lookup_atena(municipality: Municipality, certificate_serial: str, *, at) -> str | None:
    """The 宛名番号 for a certificate serial on the date of `at`, or None."""
    return get_source(municipality).lookup(certificate_serial, at)


def atena_numbers_for(municipality: Municipality, identities: list[dict]) -> list[str | None]:
    """What `assign_atena_if_known` would find for each identity (None: nothing to assign),
    for a batch of new cases at once (the マイナポータル bulk intake)."""
    queries, positions = [], []
    for index, identity in enumerate(identities):
        serial = identity.get("certificate_serial")
        if serial and identity.get("signature_valid") is not False:
            queries.append((serial, _signed_at(identity)))
            positions.append(index)
    answers: list[str | None] = [None] * len(identities)
    if queries:
        for index, atena in zip(
            positions, get_source(municipality).lookup_many(queries), strict=True
        ):
            answers[index] = atena or None
    return answers


# ── imports ─────────────────────────────────────────────────────────────────────────────


@dataclass
class LinkLine:
    line: int
    change: str
    serial: str
    atena: str
    valid_from: datetime.date
    valid_until: datetime.date | None


def _already_imported(municipality, kind: str, digest: str) -> IdentityImportBatch | None:
    return (
        IdentityImportBatch.objects.filter(municipality=municipality, kind=kind, sha256=digest)
        .exclude(result=IdentityImportBatch.Result.REFUSED)
        .first()
    )


def _duplicate_error(previous: IdentityImportBatch) -> LineError:
    return LineError(
        0,
        _(
            "このファイルは取込番号 %(pk)d（%(at)s）で取り込み済みです。"
            "もう一度取り込む場合は --force を指定してください。"
        )
        % {
            "pk": previous.pk,
            "at": timezone.localtime(previous.created_at).strftime("%Y/%m/%d %H:%M"),
        },
    )


def _parse_line(
    line: int, row: dict[str, str], *, full: bool, column_count: int, notation: str
) -> LinkLine:
    """One data line, or ValueError whose args[0] is a list of Japanese messages."""
    problems: list[str] = []
    error = column_count_error(row, column_count)
    if error:
        raise ValueError([error])
    change_text = unicodedata.normalize("NFKC", row.get("change", "")).strip().lower()
    change = _CHANGE_WORDS.get(change_text)
    if full:
        if change_text == "":
            change = ADD
        elif change == DELETE:
            problems.append(
                _(
                    "全件ファイルに異動区分「削除」の行は置けません（載っていない紐付が無効になります）。"
                )
            )
        elif change is None:
            problems.append(
                _("異動区分「%(value)s」は使えません（追加・変更のどちらかです）。")
                % {"value": row.get("change", "")}
            )
    elif change is None:
        problems.append(
            _("異動区分「%(value)s」は使えません（追加・変更・削除のどれかです）。")
            % {"value": row.get("change", "")}
            if change_text
            else _("異動区分がありません（追加・変更・削除のどれかです）。")
        )
    values: dict = {}
    for key, parse in (
        ("serial", lambda: serial_in(row.get("serial", ""), notation)),
        ("atena", lambda: normalize_atena(row.get("atena", ""))),
        ("valid_from", lambda: parse_date(row.get("valid_from", ""), _("有効開始日"))),
        (
            "valid_until",
            lambda: parse_date(row.get("valid_until", ""), _("有効終了日"), required=False),
        ),
    ):
        try:
            values[key] = parse()
        except ValueError as exc:
            problems.append(str(exc))
    start, end = values.get("valid_from"), values.get("valid_until")
    if start and end and end < start:
        problems.append(
            _("有効終了日（%(end)s）が有効開始日（%(start)s）より前です。")
            % {"end": end.isoformat(), "start": start.isoformat()}
        )
    if problems:
        raise ValueError(problems)
    return LinkLine(line, change, values["serial"], values["atena"], start, end)


def _serial_notation(keys: list[str], option: str | None) -> tuple[str, str]:
    """(notation, the serial column's key) from the heading and the import option; raises
    FileRefused when the file does not say and no option does, or when they disagree."""
    columns = [key for key in keys if key in SERIAL_COLUMNS]
    if not columns:
        raise FileRefused(
            _("1行目：見出し シリアル番号（16進）またはシリアル番号（10進）がありません。")
        )
    if len(columns) > 1:
        raise FileRefused(_("1行目：シリアル番号の列が複数あります。1列だけにしてください。"))
    column = columns[0]
    stated = SERIAL_COLUMNS[column]
    if option and stated and option != stated:
        raise FileRefused(
            _(
                "1行目：見出しのシリアル番号は%(heading)sですが、取込の指定は%(option)sです。"
                "どちらが正しいか確かめてください。"
            )
            % {"heading": SERIAL_NOTATIONS[stated], "option": SERIAL_NOTATIONS[option]}
        )
    notation = stated or option
    if not notation:
        raise FileRefused(
            _(
                "シリアル番号の表記（16進か10進か）が分かりません。見出しを"
                "「シリアル番号（16進）」または「シリアル番号（10進）」にするか、表記を指定して"
                "ください（import_serial_links の --serial-notation hex または dec）。"
                "同じ数字でも16進と10進では別の証明書になるため、推測はしません。"
            )
        )
    return notation, column


def _read(
    content: bytes,
    *,
    full: bool,
    encoding: str | None,
    serial_notation: str | None = None,
):
    if serial_notation not in (None, "", HEX, DEC):
        raise ValueError(f"serial_notation must be {HEX!r} or {DEC!r}")
    required = {"atena", "valid_from"} | (set() if full else {"change"})
    parsed = parse_csv(content, columns=COLUMNS, required=required, encoding=encoding)
    notation, column = _serial_notation(parsed.keys, serial_notation or None)
    lines: list[LinkLine] = []
    errors: list[LineError] = []
    seen: dict[str, int] = {}
    for number, row in parsed.rows:
        if column != "serial" and column in row:
            row = {**row, "serial": row[column]}
        try:
            link = _parse_line(
                number, row, full=full, column_count=parsed.column_count, notation=notation
            )
        except ValueError as exc:
            errors.extend(LineError(number, message) for message in exc.args[0])
            continue
        if link.serial in seen:
            errors.append(
                LineError(
                    number,
                    _("シリアル番号 %(serial)s は %(first)d行目と重複しています。")
                    % {"serial": link.serial, "first": seen[link.serial]},
                )
            )
            continue
        seen[link.serial] = number
        lines.append(link)
    return parsed, notation, lines, errors


def _new_batch(municipality, kind, *, file_name, content, user) -> IdentityImportBatch:
    return IdentityImportBatch(
        municipality=municipality,
        kind=kind,
        file_name=(file_name or "")[-255:],
        sha256=sha256(content),
        imported_by=user,
    )


def _same(link: SerialLink, line: LinkLine) -> bool:
    return (
        link.atena_number == line.atena
        and link.valid_from == line.valid_from
        and link.valid_until == line.valid_until
    )


def _supersede(links, batch, now) -> int:
    pks = [link.pk for link in links]
    return SerialLink.objects.filter(pk__in=pks, superseded_at__isnull=True).update(
        superseded_at=now, superseded_in=batch
    )


def _insert(municipality, line: LinkLine, batch, *, until=None) -> SerialLink:
    return SerialLink.objects.create(
        municipality=municipality,
        certificate_serial=line.serial,
        atena_number=line.atena,
        valid_from=line.valid_from,
        valid_until=until if until is not None else line.valid_until,
        imported_in=batch,
    )


def _lock(municipality) -> None:
    """Serialise imports of one municipality (PostgreSQL row lock; SQLite locks on write).
    FOR NO KEY UPDATE: imports exclude each other, while rows that merely refer to the
    municipality (events, messages of every application) can still be written meanwhile."""
    Municipality.objects.select_for_update(no_key=True).filter(pk=municipality.pk).exists()


def import_full(
    municipality: Municipality,
    content: bytes,
    *,
    file_name: str = "",
    user=None,
    encoding: str | None = None,
    serial_notation: str | None = None,
    force: bool = False,
) -> ImportReport:
    """Replace the municipality's links with the file's, in one transaction.

    All or nothing: one bad line refuses the whole file (every reason listed by line).
    Lines equal to the current link change nothing; a different one supersedes it; a
    current link whose serial is not in the file is superseded (invalid from now on)."""
    batch = _new_batch(
        municipality,
        IdentityImportBatch.Kind.SERIAL_LINKS_FULL,
        file_name=file_name,
        content=content,
        user=user,
    )
    try:
        parsed, notation, lines, errors = _read(
            content, full=True, encoding=encoding, serial_notation=serial_notation
        )
    except FileRefused as exc:
        return refuse(batch, content, [LineError(0, exc.message)])
    batch.encoding = parsed.encoding
    batch.serial_notation = notation
    batch.line_count = len(parsed.rows)
    if not force and (previous := _already_imported(municipality, batch.kind, batch.sha256)):
        return refuse(batch, content, [_duplicate_error(previous)])
    if errors:
        return refuse(batch, content, errors)
    now = timezone.now()
    with transaction.atomic():
        _lock(municipality)
        batch.result = IdentityImportBatch.Result.APPLIED
        batch.save()
        stated: set[int] = set()
        for start in range(0, len(lines), CHUNK):
            chunk = lines[start : start + CHUNK]
            current = {
                link.certificate_serial: link
                for link in SerialLink.objects.current().filter(
                    municipality=municipality,
                    certificate_serial__in=[line.serial for line in chunk],
                )
            }
            replaced = []
            for line in chunk:
                link = current.get(line.serial)
                if link is not None and _same(link, line):
                    stated.add(link.pk)
                    batch.unchanged_count += 1
                    continue
                if link is not None:
                    replaced.append(link)
            _supersede(replaced, batch, now)
            for line in chunk:
                link = current.get(line.serial)
                if link is None or not _same(link, line):
                    stated.add(_insert(municipality, line, batch).pk)
                    batch.applied_count += 1
        missing = [
            pk
            for pk in SerialLink.objects.current()
            .filter(municipality=municipality)
            .values_list("pk", flat=True)
            .iterator(chunk_size=CHUNK)
            if pk not in stated
        ]
        for start in range(0, len(missing), CHUNK):
            batch.invalidated_count += (
                SerialLink.objects.current()
                .filter(pk__in=missing[start : start + CHUNK])
                .update(superseded_at=now, superseded_in=batch)
            )
        batch.save()
    return ImportReport(batch=batch)


def _close_older(municipality, new: SerialLink, batch, now) -> int:
    """A newer certificate of the same person ends the older ones: every current link of the
    same 宛名番号 that started strictly earlier and is still valid on the new link's first day
    now ends the day before it (superseded, re-stated with that end date). Conversely, if the
    new link is itself older than one of the person's links, it ends the day before that one
    starts. Links starting on the same day (signing and authentication certificates issued
    together) are left as they are."""
    closed = 0
    others = (
        SerialLink.objects.current()
        .filter(municipality=municipality, atena_number=new.atena_number)
        .exclude(pk=new.pk)
    )
    for other in others:
        if other.valid_from < new.valid_from:
            older, newer = other, new
        elif other.valid_from > new.valid_from:
            older, newer = new, other
        else:
            continue
        end = newer.valid_from - datetime.timedelta(days=1)
        if older.valid_until is not None and older.valid_until <= end:
            continue
        _supersede([older], batch, now)
        restated = SerialLink.objects.create(
            municipality=municipality,
            certificate_serial=older.certificate_serial,
            atena_number=older.atena_number,
            valid_from=older.valid_from,
            valid_until=end,
            imported_in=batch,
        )
        closed += 1
        if older is new:
            new = restated
    return closed


def _apply_diff_line(municipality, line: LinkLine, batch, now) -> str:
    """Apply one line; returns "applied" or "unchanged"; ValueError (Japanese) refuses it."""
    link = (
        SerialLink.objects.current()
        .filter(municipality=municipality, certificate_serial=line.serial)
        .first()
    )
    if line.change == ADD:
        if link is not None:
            if _same(link, line):
                return "unchanged"
            raise ValueError(
                _(
                    "シリアル番号 %(serial)s の紐付はすでにあります（宛名番号 %(atena)s）。"
                    "内容を変えるときは異動区分を「変更」にしてください。"
                )
                % {"serial": line.serial, "atena": link.atena_number}
            )
    elif line.change == CHANGE:
        if link is None:
            raise ValueError(
                _("シリアル番号 %(serial)s の紐付がないため変更できません。")
                % {"serial": line.serial}
            )
        if _same(link, line):
            return "unchanged"
        _supersede([link], batch, now)
    else:  # DELETE
        if link is None:
            raise ValueError(
                _("シリアル番号 %(serial)s の紐付がないため削除できません。")
                % {"serial": line.serial}
            )
        if link.atena_number != line.atena:
            raise ValueError(
                _(
                    "シリアル番号 %(serial)s の紐付の宛名番号は %(current)s で、"
                    "削除の行の宛名番号 %(given)s と違います。"
                )
                % {"serial": line.serial, "current": link.atena_number, "given": line.atena}
            )
        _supersede([link], batch, now)
        batch.invalidated_count += 1
        return "applied"
    new = _insert(municipality, line, batch)
    batch.closed_count += _close_older(municipality, new, batch, now)
    return "applied"


def import_diff(
    municipality: Municipality,
    content: bytes,
    *,
    file_name: str = "",
    user=None,
    encoding: str | None = None,
    serial_notation: str | None = None,
    force: bool = False,
) -> ImportReport:
    """Apply a differential file line by line, in file order.

    A file that cannot be read (encoding, header) is refused whole. Otherwise each line is
    all-or-nothing on its own: a malformed line or one that contradicts the current links
    is refused with its reason and the others are applied (result "partial")."""
    batch = _new_batch(
        municipality,
        IdentityImportBatch.Kind.SERIAL_LINKS_DIFF,
        file_name=file_name,
        content=content,
        user=user,
    )
    try:
        parsed, notation, lines, errors = _read(
            content, full=False, encoding=encoding, serial_notation=serial_notation
        )
    except FileRefused as exc:
        return refuse(batch, content, [LineError(0, exc.message)])
    batch.encoding = parsed.encoding
    batch.serial_notation = notation
    batch.line_count = len(parsed.rows)
    if not force and (previous := _already_imported(municipality, batch.kind, batch.sha256)):
        return refuse(batch, content, [_duplicate_error(previous)])
    now = timezone.now()
    with transaction.atomic():
        _lock(municipality)
        batch.result = IdentityImportBatch.Result.APPLIED
        batch.save()
        for line in lines:
            try:
                with transaction.atomic():
                    outcome = _apply_diff_line(municipality, line, batch, now)
            except ValueError as exc:
                errors.append(LineError(line.line, str(exc)))
                continue
            if outcome == "applied":
                batch.applied_count += 1
            else:
                batch.unchanged_count += 1
        errors.sort(key=lambda e: e.line)
        batch.errors = [e.as_dict() for e in errors]
        batch.refused_count = len({e.line for e in errors})
        if errors:
            batch.result = IdentityImportBatch.Result.PARTIAL
            if batch.applied_count == 0 and batch.unchanged_count == 0:
                batch.result = IdentityImportBatch.Result.REFUSED
        batch.save()
    if errors:
        batch.quarantined_file.save("quarantine", ContentFile(content), save=True)
    return ImportReport(batch=batch, errors=errors)


# ── applications ────────────────────────────────────────────────────────────────────────


def _signed_at(identity: dict):
    # The time the signature was judged at (マイナポータル's reception time) — never the
    # signer's own SigningTime; "signed_at" is what cases imported before stored.
    for key in ("validated_at", "signed_at", "verified_at"):
        value = identity.get(key)
        if value:
            try:
                parsed = datetime.datetime.fromisoformat(value)
            except (TypeError, ValueError):
                continue
            return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
    return timezone.now()


@transaction.atomic
def assign_atena_if_known(application) -> bool:
    """Identify the applicant from the certificate serial when the serial is linked.

    Does nothing (False) when the application already has a 宛名番号, carries no
    certificate serial, its signature was not valid, or the serial is unknown on the date
    the signature was judged at (`identity["validated_at"]`, マイナポータル's reception time;
    for older applications `signed_at`, else `verified_at`, else now). On success sets the
    宛名番号 with `identity["atena_source"] = "serial_link"` and records an "identified"
    event by the system (`lifecycle.identify`)."""
    from madoguchi.applications import lifecycle

    identity = application.identity or {}
    serial = identity.get("certificate_serial")
    if application.atena_number or not serial or identity.get("signature_valid") is False:
        return False
    atena = lookup_atena(application.municipality, serial, at=_signed_at(identity))
    if not atena:
        return False
    lifecycle.identify(
        application, atena, actor=lifecycle.Actor.system(), source=ATENA_SOURCE_SERIAL_LINK
    )
    return True


def confirm_identity(application, atena_number: str, *, user, expected_version: int | None = None):
    """A member of staff (管理者 or 担当者) confirms the applicant is the resident with
    `atena_number` (which must be in the registry extract): `lifecycle.identify` with
    `identity["atena_source"] = "staff"` (the event keeps the previous value; a screen
    showing `expected_version` that is no longer current is refused). Raises
    `lifecycle.ActionError` subclasses with a Japanese message."""
    from madoguchi.applications import lifecycle
    from madoguchi.applications.models import Status
    from madoguchi.applications.permissions import can_handle

    if not can_handle(user, application):
        raise lifecycle.NotAllowedError(_("この申請を処理する権限がありません。"))
    try:
        atena = normalize_atena(atena_number)
    except ValueError as exc:
        raise lifecycle.ActionError(str(exc)) from exc
    if application.status == Status.DRAFT:
        raise lifecycle.ActionError(_("送信前の申請では申請者を特定できません。"))
    if not ResidentRecord.objects.filter(
        municipality_id=application.municipality_id, atena_number=atena
    ).exists():
        raise lifecycle.ActionError(
            _("住民記録に宛名番号 %(atena)s の住民がいません。候補から選んでください。")
            % {"atena": atena}
        )
    with transaction.atomic():
        return lifecycle.identify(
            application,
            atena,
            actor=lifecycle.Actor.staff(user),
            source=ATENA_SOURCE_STAFF,
            expected_version=expected_version,
            refuse_same=_("この申請者はすでにこの宛名番号で特定されています。"),
        )


def _alternative_characters_text(basic_four, part: str) -> str:
    """Which characters of the certificate's 氏名 or 住所 are 代替文字 (a character the card
    could not hold, replaced by a substitute), in words; "" when there are none. Staff read
    the right character from the 住民記録, so they are told where to look, not the flags.
    Flags that cannot be lined up with the text are said to be unreadable instead."""
    if basic_four is None:
        return ""
    text, flags = getattr(basic_four, part), getattr(basic_four, f"{part}_alt")
    if _alt_unreadable(basic_four, part):
        return _(
            "代替文字の情報を読み取れませんでした（証明書の%(what)s代替文字の使用位置情報が"
            "%(what)sの文字と対応しません）。どの字が代替文字かは分からないため、"
            "%(what)sは住民記録で確認してください。"
        ) % {"what": _("氏名") if part == "name" else _("住所")}
    flagged = alternative_characters(text, flags)
    if not flagged:
        return ""
    places = "、".join(
        _("%(position)s文字目「%(character)s」") % {"position": position, "character": character}
        for position, character in flagged
    )
    return _("%(places)sは代替文字です。正しい字は住民記録で確認してください。") % {
        "places": places
    }


def _alt_unreadable(basic_four, part: str) -> bool:
    """The certificate's 代替文字 flags of 氏名 or 住所 could not be read (at intake, or
    they do not line up with the text as stored)."""
    if basic_four is None:
        return False
    if getattr(basic_four, f"{part}_alt_error", ""):
        return True
    return bool(alt_flags_problem(getattr(basic_four, f"{part}_alt"), getattr(basic_four, part)))


def _aware(value) -> datetime.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if timezone.is_aware(parsed) else None


def review_panel(application, *, can_confirm: bool) -> dict:
    """What the review screen shows about identification (certificate 基本4情報, the
    verification result, the 宛名番号 and, while unidentified, the candidates)."""
    identity = application.identity or {}
    basic_four = basic_four_from_dict(identity.get("basic_four"))
    panel = {
        "has_certificate": bool(identity.get("certificate_serial") or basic_four),
        "certificate_serial": identity.get("certificate_serial", ""),
        "basic_four": basic_four,
        "signature_valid": identity.get("signature_valid"),
        "reason": identity.get("reason", ""),
        "verified_at": identity.get("verified_at", ""),
        "atena_source": identity.get("atena_source", ""),
        "candidates": [],
        "can_confirm": can_confirm,
        "name_alt_text": _alternative_characters_text(basic_four, "name"),
        "address_alt_text": _alternative_characters_text(basic_four, "address"),
        "name_alt_unreadable": _alt_unreadable(basic_four, "name"),
        "address_alt_unreadable": _alt_unreadable(basic_four, "address"),
        # (the unreadable 代替文字 are said beside 氏名 and 住所 instead)
        "warnings": [
            w
            for w in identity.get("warnings") or []
            if isinstance(w, str)
            and w
            not in (
                getattr(basic_four, "name_alt_error", ""),
                getattr(basic_four, "address_alt_error", ""),
            )
        ],
        "validated_at": _aware(identity.get("validated_at")),
        "validated_at_pulled": identity.get("validated_at_source") == AT_PULLED,
        "received_at": _aware(identity.get("received_at")),
    }
    if basic_four is not None and not application.atena_number:
        panel["candidates"] = candidates(
            application.municipality, basic_four, kana=application.applicant_name_kana
        )
        panel["registry_loaded"] = ResidentRecord.objects.filter(
            municipality_id=application.municipality_id
        ).exists()
    return panel
