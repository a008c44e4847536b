"""Reading the CSV files of the resident-record system (internal, shared by the importers).

Files are UTF-8 (with or without BOM) or CP932 (Shift_JIS as written by Windows), detected
automatically: UTF-8 if the bytes decode as UTF-8, otherwise CP932. A file that decodes as
neither is refused as a whole."""

import csv
import datetime
import hashlib
import io
import unicodedata
from dataclasses import dataclass, field

from madoguchi.jp.errors import JpValueError
from madoguchi.jp.wareki import parse_date_text

ENCODINGS = ("utf-8", "cp932")


class FileRefused(Exception):
    """The file as a whole cannot be imported; `message` says why (Japanese)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class LineError:
    line: int  # physical line number in the file (1 = the header); 0 = the file itself
    message: str

    def as_dict(self) -> dict:
        return {"line": self.line, "message": self.message}

    def __str__(self) -> str:
        return f"{self.line}行目：{self.message}" if self.line else self.message


@dataclass
class ParsedFile:
    encoding: str
    sha256: str
    column_count: int = 0
    keys: list[str] = field(default_factory=list)  # the column keys, in file order
    # (line number, {column: value}) for each data line
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def decode(content: bytes, encoding: str | None = None) -> tuple[str, str]:
    """(text, encoding used). `encoding` None or "auto" detects UTF-8 / CP932."""
    if encoding and encoding != "auto":
        name = encoding.lower().replace("_", "-")
        name = {"shift-jis": "cp932", "sjis": "cp932", "utf8": "utf-8"}.get(name, name)
        try:
            return content.decode("utf-8-sig" if name == "utf-8" else name), name
        except (UnicodeDecodeError, LookupError) as exc:
            raise FileRefused(
                f"ファイルを文字コード {encoding} として読めません（{_position(exc)}）。"
            ) from exc
    try:
        return content.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("cp932"), "cp932"
    except UnicodeDecodeError as exc:
        raise FileRefused(
            f"ファイルの文字コードが UTF-8 でも Shift_JIS（CP932）でもありません（{_position(exc)}）。"
        ) from exc


def _position(exc: Exception) -> str:
    start = getattr(exc, "start", None)
    return f"{start + 1}バイト目" if start is not None else str(exc)


def parse_csv(
    content: bytes,
    *,
    columns: dict[str, tuple[str, ...]],
    required: set[str],
    encoding: str | None = None,
) -> ParsedFile:
    """Rows of a CSV file with a header line. `columns`: column key → accepted header
    names; every key in `required` must be present. Raises FileRefused for an undecodable
    file, a missing or unknown header, or a file without data lines."""
    text, used = decode(content, encoding)
    if "\x00" in text:
        raise FileRefused("ファイルに NUL 文字が含まれています。CSV ファイルではないようです。")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise FileRefused("ファイルが空です。") from None
    except csv.Error as exc:
        raise FileRefused(f"1行目：CSV として読めません（{exc}）。") from exc
    names = {alias: key for key, aliases in columns.items() for alias in aliases}
    keys: list[str] = []
    for position, raw in enumerate(header, start=1):
        cell = raw.strip().strip("\ufeff")
        key = names.get(cell) or names.get(cell.lower())
        if key is None:  # 「シリアル番号(16進)」 with half-width brackets, full-width letters
            folded = unicodedata.normalize("NFKC", cell).lower()
            key = next(
                (k for a, k in names.items() if unicodedata.normalize("NFKC", a).lower() == folded),
                None,
            )
        if key is None:
            raise FileRefused(
                f"1行目：見出し「{cell}」（{position}列目）は使えません。"
                f"使える見出しは {'、'.join(a[0] for a in columns.values())} です。"
            )
        if key in keys:
            raise FileRefused(f"1行目：見出し「{cell}」が重複しています。")
        keys.append(key)
    missing = [columns[k][0] for k in columns if k in required and k not in keys]
    if missing:
        raise FileRefused(f"1行目：見出し {'、'.join(missing)} がありません。")
    parsed = ParsedFile(encoding=used, sha256=sha256(content), keys=list(keys))
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(keys):
                parsed.rows.append((line, {"__error__": f"{len(cells)}"}))
                continue
            parsed.rows.append((line, {k: c.strip() for k, c in zip(keys, cells, strict=True)}))
    except csv.Error as exc:
        raise FileRefused(f"{reader.line_num}行目：CSV として読めません（{exc}）。") from exc
    if not parsed.rows:
        raise FileRefused("データの行がありません（見出しの行だけです）。")
    parsed.column_count = len(keys)
    return parsed


def column_count_error(row: dict[str, str], expected: int) -> str | None:
    if "__error__" in row:
        return f"項目の数が {row['__error__']} 個です（{expected} 個のはずです）。"
    return None


def parse_date(value: str, label: str, *, required: bool = True) -> datetime.date | None:
    """A date cell: 2024-04-01, 20240401, 2024/4/1, 令和6年4月1日, R6.4.1 ..."""
    if not value:
        if required:
            raise ValueError(f"{label}がありません。")
        return None
    try:
        return parse_date_text(value)
    except JpValueError as exc:
        raise ValueError(f"{label}「{value}」：{exc.message}") from exc
