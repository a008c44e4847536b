"""Resident-registry extract (住民記録の抽出): import and candidates for identification.

`import_registry` replaces the municipality's extract with a CSV file, all or nothing (layout
in docs/serial-links.md). `candidates(municipality, basic_four)` lists the residents that may
be the holder of a certificate whose serial is not linked, with a score and the reasons, for
a member of staff to confirm. Names and addresses are compared with the keys of
`madoguchi.jp.itaiji` (width, kana, spaces, 異体字); the machine never decides."""

import datetime
import unicodedata
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from madoguchi.jp.itaiji import address_key, name_key
from madoguchi.jp.kana import search_key
from madoguchi.tenants.models import Municipality

from ._imports import FileRefused, LineError, column_count_error, parse_csv, parse_date, sha256
from .batches import ImportReport, normalize_atena, refuse
from .models import IdentityImportBatch, ResidentRecord

COLUMNS = {
    "atena": ("宛名番号", "atena_number"),
    "name": ("氏名", "name"),
    "kana": ("フリガナ", "kana"),
    "birth_date": ("生年月日", "birth_date"),
    "sex": ("性別", "sex"),
    "address": ("住所", "address"),
}
REQUIRED = {"atena", "name", "birth_date", "address"}
_SEX = {
    "1": "1",
    "男": "1",
    "男性": "1",
    "m": "1",
    "male": "1",
    "2": "2",
    "女": "2",
    "女性": "2",
    "f": "2",
    "female": "2",
    "": "",
}
SEX_LABELS = {"1": "男", "2": "女"}
CHUNK = 1000

# Scores: each part of the 基本4情報 that agrees adds to it; candidates below MIN_SCORE are
# not shown (at least the name, or the birth date and the address, must agree).
SCORE_NAME = 40
SCORE_BIRTH_DATE = 30
SCORE_ADDRESS = 25
SCORE_ADDRESS_PREFIX = 15
SCORE_KANA = 10
SCORE_SEX = 5
MIN_SCORE = 40
MAX_CANDIDATES = 10


def sex_code(value: str) -> str:
    """ "1" (男), "2" (女) or "" from the codes and words registries and certificates use."""
    text = unicodedata.normalize("NFKC", value or "").strip().lower()
    if text in _SEX:
        return _SEX[text]
    if text in {"3", "9"}:
        return ""
    raise ValueError(
        _("性別「%(value)s」は使えません（1・2・男・女のどれかです）。") % {"value": value}
    )


@dataclass
class BasicFourView:
    """基本4情報 as stored in `Application.identity["basic_four"]` (JSON)."""

    name: str = ""
    name_alt: str = ""
    sex: str = ""
    birth_date: datetime.date | None = None
    birth_date_raw: str = ""
    address: str = ""
    address_alt: str = ""
    # Why the certificate's 代替文字 flags could not be read ("" when they could).
    name_alt_error: str = ""
    address_alt_error: str = ""

    @property
    def sex_label(self) -> str:
        try:
            return SEX_LABELS.get(sex_code(self.sex), self.sex)
        except ValueError:
            return self.sex


def basic_four_from_dict(data) -> BasicFourView | None:
    if not isinstance(data, dict) or not data:
        return None
    birth = data.get("birth_date")
    birth_date = None
    if isinstance(birth, datetime.date):
        birth_date = birth
    elif isinstance(birth, str) and birth:
        try:
            birth_date = datetime.date.fromisoformat(birth)
        except ValueError:
            birth_date = None
    raw = str(data.get("birth_date_raw") or "")
    if birth_date is None and len(raw) >= 8 and raw[-8:].isdigit():
        try:
            birth_date = datetime.date(int(raw[-8:-4]), int(raw[-4:-2]), int(raw[-2:]))
        except ValueError:
            birth_date = None
    return BasicFourView(
        name=str(data.get("name") or ""),
        name_alt=str(data.get("name_alt") or ""),
        sex=str(data.get("sex") or ""),
        birth_date=birth_date,
        birth_date_raw=raw,
        address=str(data.get("address") or ""),
        address_alt=str(data.get("address_alt") or ""),
        name_alt_error=str(data.get("name_alt_error") or ""),
        address_alt_error=str(data.get("address_alt_error") or ""),
    )


# ── import ──────────────────────────────────────────────────────────────────────────────


def _parse_row(row: dict[str, str], column_count: int) -> ResidentRecord:
    error = column_count_error(row, column_count)
    if error:
        raise ValueError([error])
    problems: list[str] = []
    atena = unicodedata.normalize("NFKC", row.get("atena", "")).strip()
    try:
        atena = normalize_atena(atena)
    except ValueError as exc:
        problems.append(str(exc))
    name = unicodedata.normalize("NFC", row.get("name", "")).strip()
    if not name:
        problems.append(_("氏名がありません。"))
    address = unicodedata.normalize("NFC", row.get("address", "")).strip()
    if not address:
        problems.append(_("住所がありません。"))
    kana = unicodedata.normalize("NFC", row.get("kana", "")).strip()
    birth_date = None
    try:
        birth_date = parse_date(row.get("birth_date", ""), _("生年月日"))
    except ValueError as exc:
        problems.append(str(exc))
    sex = ""
    try:
        sex = sex_code(row.get("sex", ""))
    except ValueError as exc:
        problems.append(str(exc))
    if len(name) > 200 or len(kana) > 200 or len(address) > 300:
        problems.append(_("氏名・フリガナは200文字、住所は300文字までです。"))
    if problems:
        raise ValueError(problems)
    return ResidentRecord(
        atena_number=atena,
        name=name,
        kana=kana,
        birth_date=birth_date,
        sex=sex,
        address=address,
        name_key=name_key(name)[:200],
        kana_key=search_key(kana)[:200],
        address_key=address_key(address)[:300],
    )


def import_registry(
    municipality: Municipality,
    content: bytes,
    *,
    file_name: str = "",
    user=None,
    encoding: str | None = None,
):
    """Replace the municipality's registry extract with the file, all or nothing."""
    batch = IdentityImportBatch(
        municipality=municipality,
        kind=IdentityImportBatch.Kind.RESIDENT_REGISTRY,
        file_name=(file_name or "")[-255:],
        sha256=sha256(content),
        imported_by=user,
    )
    try:
        parsed = parse_csv(content, columns=COLUMNS, required=REQUIRED, encoding=encoding)
    except FileRefused as exc:
        return refuse(batch, content, [LineError(0, exc.message)])
    batch.encoding = parsed.encoding
    batch.line_count = len(parsed.rows)
    records: list[ResidentRecord] = []
    errors: list[LineError] = []
    seen: dict[str, int] = {}
    for number, row in parsed.rows:
        try:
            record = _parse_row(row, parsed.column_count)
        except ValueError as exc:
            errors.extend(LineError(number, message) for message in exc.args[0])
            continue
        if record.atena_number in seen:
            errors.append(
                LineError(
                    number,
                    _("宛名番号 %(atena)s は %(first)d行目と重複しています。")
                    % {"atena": record.atena_number, "first": seen[record.atena_number]},
                )
            )
            continue
        seen[record.atena_number] = number
        records.append(record)
    if errors:
        return refuse(batch, content, errors)
    with transaction.atomic():
        # As serial_links._lock: imports exclude each other, references to the row do not wait.
        Municipality.objects.select_for_update(no_key=True).filter(pk=municipality.pk).exists()
        batch.result = IdentityImportBatch.Result.APPLIED
        batch.applied_count = len(records)
        batch.save()
        previous = ResidentRecord.objects.filter(municipality=municipality)
        batch.invalidated_count = previous.count()
        previous.delete()
        for record in records:
            record.municipality = municipality
            record.imported_in = batch
        ResidentRecord.objects.bulk_create(records, batch_size=CHUNK)
        batch.save()
    return ImportReport(batch=batch)


# ── candidates ──────────────────────────────────────────────────────────────────────────


@dataclass
class Candidate:
    atena_number: str
    name: str
    birth_date: datetime.date | None
    address: str
    score: int
    matched: list[str] = field(default_factory=list)
    kana: str = ""
    sex: str = ""


def _name_reason(record: ResidentRecord, written: list[str]) -> str | None:
    keys = {name_key(n) for n in written if n}
    if record.name_key not in keys:
        return None
    plain = {
        unicodedata.normalize("NFKC", n).replace(" ", "").replace("\u3000", "") for n in written
    }
    as_written = unicodedata.normalize("NFKC", record.name).replace(" ", "").replace("\u3000", "")
    if as_written in plain:
        return _("氏名が一致")
    return _("氏名が一致（異体字・文字幅の違いを同一視）")


def _address_score(record: ResidentRecord, addresses: list[str]) -> tuple[int, str | None]:
    best: tuple[int, str | None] = (0, None)
    for written in addresses:
        key = address_key(written)
        if not key:
            continue
        if key == record.address_key:
            return SCORE_ADDRESS, _("住所が一致")
        if record.address_key.startswith(key) or key.startswith(record.address_key):
            best = (SCORE_ADDRESS_PREFIX, _("住所が前方一致（方書・建物名などの有無の違い）"))
    return best


def score(record: ResidentRecord, basic_four, *, kana: str = "") -> Candidate:
    names = [getattr(basic_four, "name", ""), getattr(basic_four, "name_alt", "")]
    addresses = [getattr(basic_four, "address", ""), getattr(basic_four, "address_alt", "")]
    total = 0
    matched: list[str] = []
    reason = _name_reason(record, names)
    if reason:
        total += SCORE_NAME
        matched.append(reason)
    if kana and record.kana_key and search_key(kana) == record.kana_key:
        total += SCORE_KANA
        matched.append(_("フリガナが一致"))
    birth_date = getattr(basic_four, "birth_date", None)
    if birth_date is not None and record.birth_date == birth_date:
        total += SCORE_BIRTH_DATE
        matched.append(_("生年月日が一致"))
    points, reason = _address_score(record, addresses)
    if reason:
        total += points
        matched.append(reason)
    try:
        sex = sex_code(getattr(basic_four, "sex", "") or "")
    except ValueError:
        sex = ""
    if sex and record.sex == sex:
        total += SCORE_SEX
        matched.append(_("性別が一致"))
    return Candidate(
        atena_number=record.atena_number,
        name=record.name,
        birth_date=record.birth_date,
        address=record.address,
        score=total,
        matched=matched,
        kana=record.kana,
        sex=record.sex,
    )


def candidates(
    municipality: Municipality, basic_four, *, kana: str = "", limit: int = MAX_CANDIDATES
) -> list[Candidate]:
    """Residents of the extract who may be the person of `basic_four` (any object with
    name, name_alt, sex, birth_date, address, address_alt), best first. Only rows whose
    name (after normalisation), reading (`kana`, e.g. the applicant's フリガナ) or birth
    date agree are read from the database; each is scored on every part."""
    names = {
        name_key(n)
        for n in (getattr(basic_four, "name", ""), getattr(basic_four, "name_alt", ""))
        if n
    }
    names.discard("")
    query = Q(name_key__in=names) if names else Q(pk__in=[])
    birth_date = getattr(basic_four, "birth_date", None)
    if birth_date is not None:
        query |= Q(birth_date=birth_date)
    if kana and search_key(kana):
        query |= Q(kana_key=search_key(kana))
    rows = ResidentRecord.objects.filter(municipality=municipality).filter(query)[:500]
    found = [score(record, basic_four, kana=kana) for record in rows]
    found = [c for c in found if c.score >= MIN_SCORE]
    found.sort(key=lambda c: (-c.score, c.atena_number))
    return found[:limit]
