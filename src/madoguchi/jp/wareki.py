"""和暦 (Japanese era) conversion, formatting and lenient date parsing.

Eras: 明治 from 1868-10-23, 大正 from 1912-07-30, 昭和 from 1926-12-25, 平成 from 1989-01-08,
令和 from 2019-05-01. Dates before 明治元年10月23日 are rejected. Before 1873 Japan used the
lunisolar calendar; like most administrative systems we treat every date as Gregorian.
The first year of an era is written 元年.
"""

import calendar
import re
from datetime import date
from typing import NamedTuple

from madoguchi.jp import errors
from madoguchi.jp._text import nfkc
from madoguchi.jp.errors import JpValueError


class Era(NamedTuple):
    name: str
    code_letter: str
    start: date


ERAS: list[Era] = [
    Era("明治", "M", date(1868, 10, 23)),
    Era("大正", "T", date(1912, 7, 30)),
    Era("昭和", "S", date(1926, 12, 25)),
    Era("平成", "H", date(1989, 1, 8)),
    Era("令和", "R", date(2019, 5, 1)),
]

_ERA_NAMES = "・".join(era.name for era in ERAS)
UNKNOWN_ERA_MESSAGE = f"元号は{_ERA_NAMES}のいずれかで入力してください。"
BEFORE_MEIJI_MESSAGE = "明治元年10月23日より前の日付は入力できません。"
UNKNOWN_FORMAT_MESSAGE = (
    "日付の形式が正しくありません。"
    "「2024年5月1日」「令和6年5月1日」「2024/5/1」のように入力してください。"
)
EMPTY_MESSAGE = "日付を入力してください。"

_STYLES = ("wareki", "seireki", "both")


def _era_lookup() -> dict[str, Era]:
    table: dict[str, Era] = {}
    for era in ERAS:
        table[era.name] = era
        table[era.name[0]] = era  # 「令」「平」… single-character abbreviations
        table[era.code_letter] = era
        table[era.code_letter.lower()] = era
    return table


_ERA_BY_ALIAS = _era_lookup()


def find_era(era_name: str) -> Era:
    """Return the Era for 「令和」「令」「R」「r」「Ｒ」「㋿」…; raise JpValueError otherwise."""
    key = nfkc(era_name) if isinstance(era_name, str) else ""
    era = _ERA_BY_ALIAS.get(key)
    if era is None:
        raise JpValueError(UNKNOWN_ERA_MESSAGE, errors.ERA)
    return era


def _era_year_text(year: int) -> str:
    return "元" if year == 1 else str(year)


def _wareki_text(era_name: str, year: int, month: int, day: int) -> str:
    return f"{era_name}{_era_year_text(year)}年{month}月{day}日"


def _era_of(d: date) -> Era:
    for era in reversed(ERAS):
        if d >= era.start:
            return era
    raise JpValueError("明治元年10月23日より前の日付は和暦で表せません。", errors.DATE_RANGE)


def _next_era(era: Era) -> Era | None:
    index = ERAS.index(era)
    return ERAS[index + 1] if index + 1 < len(ERAS) else None


def _make_date(year: int, month: int, day: int, label: str) -> date:
    """Build a Gregorian date; `label` is how the year is shown in messages (「令和5年」「2023年」)."""
    if not 1 <= month <= 12 or day < 1 or day > 31:
        raise JpValueError(f"{month}月{day}日は存在しない日付です。", errors.DATE_IMPOSSIBLE)
    if not 1 <= year <= 9999:
        raise JpValueError(f"{label}は入力できる範囲を超えています。", errors.RANGE)
    if day > calendar.monthrange(2000, month)[1]:  # 2000 is a leap year: never a valid day
        raise JpValueError(f"{month}月{day}日は存在しない日付です。", errors.DATE_IMPOSSIBLE)
    if day > calendar.monthrange(year, month)[1]:  # only 2月29日 in a common year gets here
        raise JpValueError(
            f"{label}{month}月{day}日は存在しない日付です（{year}年はうるう年ではありません）。",
            errors.DATE_IMPOSSIBLE,
        )
    return date(year, month, day)


def from_wareki(era_name: str, year: int, month: int, day: int) -> date:
    """Convert an era date to a `date`; year 1 is 元年.

    Raises JpValueError for impossible dates, naming the correct alternative when the date
    belongs to another era (平成31年5月1日 → 令和元年5月1日).
    """
    era = find_era(era_name)
    if year < 1:
        raise JpValueError("和暦の年は1（元年）以上の数字で入力してください。", errors.RANGE)
    label = f"{era.name}{_era_year_text(year)}年"
    d = _make_date(era.start.year + year - 1, month, day, label)
    typed = _wareki_text(era.name, year, month, day)
    if d < era.start:
        if d < ERAS[0].start:
            raise JpValueError(BEFORE_MEIJI_MESSAGE, errors.DATE_RANGE)
        raise JpValueError(
            f"{typed}は存在しません。{format_wareki(d)}と入力してください。",
            errors.DATE_IMPOSSIBLE,
        )
    following = _next_era(era)
    if following is not None and d >= following.start:
        raise JpValueError(
            f"{typed}は存在しません。{format_wareki(d)}と入力してください。",
            errors.DATE_IMPOSSIBLE,
        )
    return d


def from_seireki(year: int, month: int, day: int) -> date:
    """A Gregorian date typed as numbers; raises JpValueError for a day that does not exist
    (`date_impossible`) and for one before 明治元年10月23日 (`date_range`), as `from_wareki`."""
    d = _make_date(year, month, day, f"{year}年")
    if d < ERAS[0].start:
        raise JpValueError(BEFORE_MEIJI_MESSAGE, errors.DATE_RANGE)
    return d


def to_wareki(d: date) -> tuple[str, int, int, int]:
    """(era name, era year, month, day); raises JpValueError before 明治元年10月23日."""
    era = _era_of(d)
    return era.name, d.year - era.start.year + 1, d.month, d.day


def format_wareki(d: date) -> str:
    """「令和元年5月1日」「令和6年12月3日」."""
    return _wareki_text(*to_wareki(d))


def format_seireki(d: date) -> str:
    """「2024年12月3日」."""
    return f"{d.year}年{d.month}月{d.day}日"


def format_date(d: date, style: str = "wareki") -> str:
    """style "wareki" 「令和6年12月3日」, "seireki" 「2024年12月3日」,
    "both" 「令和6年12月3日（2024年12月3日）」."""
    if style == "wareki":
        return format_wareki(d)
    if style == "seireki":
        return format_seireki(d)
    if style == "both":
        return f"{format_wareki(d)}（{format_seireki(d)}）"
    raise ValueError(f"unknown date style {style!r}; expected one of {_STYLES}")


# --- parsing --------------------------------------------------------------------------------

_ERA_ALT = "|".join(sorted((re.escape(alias) for alias in _ERA_BY_ALIAS), key=len, reverse=True))
_SEP = r"[-/.]"
_SEIREKI_SEP_RE = re.compile(rf"(\d{{4}})({_SEP})(\d{{1,2}})\2(\d{{1,2}})")
_SEIREKI_KANJI_RE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?")
_SEIREKI_COMPACT_RE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_WAREKI_KANJI_RE = re.compile(rf"({_ERA_ALT})(元|\d{{1,4}})年(\d{{1,2}})月(\d{{1,2}})日?")
_WAREKI_SEP_RE = re.compile(rf"({_ERA_ALT})(元|\d{{1,4}})({_SEP})(\d{{1,2}})\3(\d{{1,2}})")
# A trailing day of the week such as 「（水）」 or "(Wed)" is ignored.
_WEEKDAY_RE = re.compile(r"[(（](?:[日月火水木金土]|[A-Za-z]{3})(?:曜日?)?[)）]$")
_SPACES_RE = re.compile(r"\s+")
_DASH_RE = re.compile("[\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc]")


def parse_date_text(text: str) -> date:
    """Parse a date typed by a resident.

    Accepts 2024-05-01, 2024/5/1, 2024.5.1, 20240501, 2024年5月1日, 令和6年5月1日, 令和元年5月1日,
    R6.5.1, H31/4/30, 令6.5.1, full-width digits, spaces and a trailing 「（水）」.
    Raises JpValueError with a specific Japanese message.
    """
    value = nfkc(text) if isinstance(text, str) else ""
    value = _SPACES_RE.sub("", value)
    value = _DASH_RE.sub("-", value)
    value = _WEEKDAY_RE.sub("", value)
    if not value:
        raise JpValueError(EMPTY_MESSAGE, errors.REQUIRED)

    for pattern in (_SEIREKI_SEP_RE, _SEIREKI_KANJI_RE, _SEIREKI_COMPACT_RE):
        match = pattern.fullmatch(value)
        if match:
            groups = [g for g in match.groups() if g not in ("-", "/", ".")]
            year, month, day = (int(g) for g in groups)
            return _make_date(year, month, day, f"{year}年")

    for pattern in (_WAREKI_KANJI_RE, _WAREKI_SEP_RE):
        match = pattern.fullmatch(value)
        if match:
            groups = [g for g in match.groups() if g not in ("-", "/", ".")]
            era_alias, year_text, month, day = groups
            year = 1 if year_text == "元" else int(year_text)
            return from_wareki(era_alias, year, int(month), int(day))

    raise JpValueError(UNKNOWN_FORMAT_MESSAGE, errors.DATE_FORMAT)
