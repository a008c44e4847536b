"""One value of a linkage file, from the answer to the bytes (pure Python, no Django).

A column (`ColumnSpec`) says where the value comes from and how it is written:

- ``map``: code conversion ({"male": "1", "female": "2"}, {"yes": "1", "no": "0"}); the key is
  the stored value (a choice's value, ``yes``/``no`` for a yes/no field). A value that is not
  in the table stops the record — a core system must never receive a code it does not know.
- ``date``: ``yyyymmdd`` (20240501), ``iso`` (2024-05-01), ``wareki`` (R060501: era letter
  M/T/S/H/R, 2-digit era year, month, day), ``wareki_digit`` (5060501: era digit 1=明治
  2=大正 3=昭和 4=平成 5=令和, then the same six digits), ``wareki_text`` (令和6年5月1日).
- ``width`` (bytes in the file's encoding): fixed-length records are padded to it; in CSV it is
  a maximum. ``align`` left/right, ``pad`` space / zero / zenkaku (full-width space U+3000,
  2 bytes in CP932; when an odd number of bytes remains, the last one is a half-width space).

Errors are `CellError` with one Japanese sentence: it goes to the batch report and manifest
as it is (it is data about the file, not screen text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

# The project's one CP932 encoder (the bytes Windows and Java MS932 write).
from madoguchi.jp import cp932

FORMATS = ("csv", "fixed")
ENCODINGS = ("utf-8", "cp932")
LINE_ENDINGS = {"crlf": b"\r\n", "lf": b"\n"}
ALIGNS = ("left", "right")
PADS = {"space": " ", "zero": "0", "zenkaku": "\u3000"}
DATE_STYLES = ("yyyymmdd", "iso", "wareki", "wareki_digit", "wareki_text")

# Sources that are not form fields.
FIXED_SOURCES = (
    "receipt_number",
    "submitted_at",
    "status",
    "channel",
    "applicant_name",
    "applicant_kana",
    "atena_number",
)
CONST_PREFIX = "const:"

# (name, letter, digit, first day)
ERAS = (
    ("明治", "M", "1", date(1868, 10, 23)),
    ("大正", "T", "2", date(1912, 7, 30)),
    ("昭和", "S", "3", date(1926, 12, 25)),
    ("平成", "H", "4", date(1989, 1, 8)),
    ("令和", "R", "5", date(2019, 5, 1)),
)

_LINE_BREAKS = re.compile(r"\r\n|\r|\n")


class CellError(Exception):
    """A value that cannot be written; `reason` is one Japanese sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ColumnSpec:
    header: str
    source: str
    width: int | None = None
    align: str = "left"
    pad: str = "space"
    date: str = ""
    map: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict) -> ColumnSpec:
        return cls(
            header=str(data.get("header", "")),
            source=str(data.get("source", "")),
            width=data.get("width") or None,
            align=data.get("align") or "left",
            pad=data.get("pad") or "space",
            date=data.get("date") or "",
            map={str(k): str(v) for k, v in (data.get("map") or {}).items()},
        )

    def to_dict(self) -> dict:
        data: dict = {"header": self.header, "source": self.source}
        if self.width:
            data["width"] = self.width
        if self.align != "left":
            data["align"] = self.align
        if self.pad != "space":
            data["pad"] = self.pad
        if self.date:
            data["date"] = self.date
        if self.map:
            data["map"] = dict(self.map)
        return data


# ------------------------------------------------------------------------------- dates


def era_of(d: date) -> tuple[str, str, str, int]:
    """(name, letter, digit, era year) of a date; CellError before 明治元年10月23日."""
    for name, letter, digit, start in reversed(ERAS):
        if d >= start:
            return name, letter, digit, d.year - start.year + 1
    raise CellError("明治より前の日付は和暦で表せません。")


def as_date(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def format_date(value, style: str) -> str:
    if value in (None, ""):
        return ""
    d = as_date(value)
    if d is None:
        raise CellError(f"「{value}」は日付ではありません。")
    if style == "yyyymmdd":
        return f"{d.year:04d}{d.month:02d}{d.day:02d}"
    if style == "iso":
        return d.isoformat()
    name, letter, digit, year = era_of(d)
    if style == "wareki":
        return f"{letter}{year:02d}{d.month:02d}{d.day:02d}"
    if style == "wareki_digit":
        return f"{digit}{year:02d}{d.month:02d}{d.day:02d}"
    if style == "wareki_text":
        return f"{name}{'元' if year == 1 else year}年{d.month}月{d.day}日"
    raise CellError(f"日付の形式「{style}」はありません。")


# ------------------------------------------------------------------------------- codes


def map_key(value) -> str:
    """The code-table key of a stored value: yes/no for booleans, the text otherwise."""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


def apply_map(value, table: dict[str, str]) -> str:
    if value is None or value == "" or value == []:
        return table.get("", "")
    if isinstance(value, list):
        return ",".join(apply_map(v, table) for v in value)
    key = map_key(value)
    if key not in table:
        raise CellError(f"「{key}」はコード変換表にありません。")
    return table[key]


# ------------------------------------------------------------------------------- bytes


def encode(text: str, encoding: str) -> bytes:
    """`text` in `encoding`; CellError naming every character CP932 cannot represent."""
    if encoding != "cp932":
        return text.encode(encoding)
    try:
        return cp932.encode(text)
    except UnicodeEncodeError:
        pass
    chars = "・".join(f"「{ch}」（U+{ord(ch):04X}）" for ch in cp932.unencodable(text))
    raise CellError(f"{chars}はCP932で表せません。")


def one_line(text: str) -> str:
    """Line breaks inside a value become one half-width space (a record is one line)."""
    return _LINE_BREAKS.sub(" ", text)


def fit(
    text: str,
    *,
    encoding: str,
    width: int | None,
    align: str = "left",
    pad: str = "space",
    fixed: bool,
) -> bytes:
    """The bytes of one cell. Fixed-length: padded to exactly `width` bytes. CSV: `width`, when
    given, is a maximum (no padding)."""
    data = encode(text, encoding)
    if width is None:
        return data
    if len(data) > width:
        raise CellError(f"幅{width}バイトを超えています（{len(data)}バイト）。")
    if not fixed:
        return data
    remaining = width - len(data)
    unit = PADS.get(pad, " ").encode(encoding)
    whole = unit * (remaining // len(unit))
    odd = b" " * (remaining % len(unit))  # a full-width pad cannot fill an odd byte
    if align == "right":
        return odd + whole + data
    return data + whole + odd
