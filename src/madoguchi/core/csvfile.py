"""The one CSV writer of madoguchi: exports, the KPI and open-data downloads, the 閲覧ログ
download, file linkage (CSV layouts) and the linkage result report all write through it.

- RFC 4180: comma, CRLF (LF for linkage layouts that ask for it), a field quoted only when it holds a comma, a double quote,
  CR or LF (Python's csv module, QUOTE_MINIMAL).
- Encodings: "utf-8", "utf-8-sig" (BOM once at the start: Excel opens it as UTF-8) and
  "cp932", written by the project's one CP932 encoder (`madoguchi.jp.cp932`: the bytes Windows
  and Java MS932 write). Rows are encoded in blocks, not one by one.
- Formula injection (a resident or a peer controls what a cell says; a spreadsheet opening the
  file must show it, not run it): a cell is written with a leading ' when, after any leading
  half-width or full-width spaces, it starts with = + - @ or their full-width forms ＝ ＋ － ＠
  (Excel in Japanese converts full-width operators typed at the start of a cell), or when it
  starts with a tab or CR (both end a cell for some importers and let the next character
  start a formula). A plain number (-12, +3.5) is left as it is: it is a value, not a formula.
  This follows OWASP's "CSV Injection" advice (prefix the cell with a single quote). Files read
  by machines (linkage) get the same rule: a core system that needs "-" or "@" at the start of
  a value reads it after removing one leading '.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from madoguchi.jp import cp932

ENCODINGS = ("utf-8", "utf-8-sig", "cp932")
_FORMULA_START = frozenset("=+-@\t\r＝＋－＠")
_SPACES = " \u3000"
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
# A cell that may need `neutralise`, in lines joined with "," and CRLF: after a comma, after
# a line end or at the start (a pattern starting with a literal is searched at C speed from
# comma to comma). CR is left out: a cell holding CR is found by counting the line ends.
_MAYBE_FORMULA_AFTER_COMMA = re.compile(",[ \u3000]*[=+\\-@\t＝＋－＠]")
_MAYBE_FORMULA_AFTER_LF = re.compile("\n[ \u3000]*[=+\\-@\t＝＋－＠]")
_MAYBE_FORMULA_FIRST = re.compile("[ \u3000]*[=+\\-@\t＝＋－＠]")


def _plain_lines(text: str, rows) -> bool:
    """Whether `text`, the cells of `rows` joined with "," and the rows with CRLF, is already
    their CSV: no cell holds a comma, a double quote, CR or LF (the csv module would quote
    it: the number of commas and line ends tells), none may need `neutralise`, and no row
    is a lone empty cell (the csv module writes it as "")."""
    commas = 0
    for row in rows:
        if len(row) < 2:
            return False
        commas += len(row) - 1
    return (
        text.count(",") == commas
        and text.count("\n") == len(rows) - 1
        and text.count("\r") == len(rows) - 1
        and '"' not in text
        and _MAYBE_FORMULA_FIRST.match(text) is None
        and _MAYBE_FORMULA_AFTER_COMMA.search(text) is None
        and _MAYBE_FORMULA_AFTER_LF.search(text) is None
    )


# Rows written by one call of the csv module in `write_rows`.
ROWS_PER_BLOCK = 1000
# Encoded and written once this many characters are waiting.
BLOCK_CHARS = 1 << 16


def neutralise(value: str) -> str:
    """`value` as a spreadsheet must show it (see the module's rule)."""
    if not value:
        return value
    first = value[0]
    if first in _SPACES:
        stripped = value.lstrip(_SPACES)
        if not stripped:
            return value
        first = stripped[0]
    if first in _FORMULA_START and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def encode(text: str, encoding: str, errors: str = "strict") -> bytes:
    """`text` in one of ENCODINGS (no BOM). CP932 through the project's encoder."""
    if encoding == "cp932":
        return cp932.encode(text, errors=errors)
    if encoding in ("utf-8", "utf-8-sig"):
        return text.encode("utf-8")
    raise ValueError(f"unsupported CSV encoding: {encoding}")


class CsvWriter:
    """Rows of text cells to the binary file `raw`; memory stays flat (a block of at most
    BLOCK_CHARS characters is kept). Call `close()` to write the last block."""

    def __init__(
        self,
        raw: BinaryIO,
        encoding: str = "utf-8-sig",
        *,
        errors: str = "strict",
    ):
        if encoding not in ENCODINGS:
            raise ValueError(f"unsupported CSV encoding: {encoding}")
        self._raw = raw
        self._encoding = encoding
        self._errors = errors
        self._buffer = io.StringIO()
        self._csv = csv.writer(self._buffer, lineterminator="\r\n")
        if encoding == "utf-8-sig":
            raw.write(b"\xef\xbb\xbf")

    def write_row(self, cells: Iterable[str]) -> None:
        self._csv.writerow([neutralise(c) for c in cells])
        if self._buffer.tell() >= BLOCK_CHARS:
            self.flush()

    writerow = write_row

    def write_rows(self, rows: Iterable[Iterable[str]]) -> None:
        """Many rows at once, the same bytes as `write_row` one by one: the cells that need
        `neutralise` are found by one search per block of rows, and the csv module writes
        the block in one call."""
        block: list[list[str]] = []
        for row in rows:
            block.append(row if row.__class__ is list else list(row))
            if len(block) >= ROWS_PER_BLOCK:
                self._write_block(block)
                block = []
        if block:
            self._write_block(block)

    def _write_block(self, rows: list[list[str]]) -> None:
        try:
            lines = list(map(",".join, rows))
        except TypeError:  # a cell that is not text: the csv module, cell by cell
            lines = None
        if lines is not None:
            text = "\r\n".join(lines)
            if _plain_lines(text, rows):
                self._buffer.write(text)
                self._buffer.write("\r\n")
            else:
                for line, row in zip(lines, rows, strict=True):
                    if _plain_lines(line, (row,)):
                        self._buffer.write(line)
                        self._buffer.write("\r\n")
                    else:
                        self._csv.writerow([neutralise(c) for c in row])
        else:
            self._csv.writerows([[neutralise(c) for c in row] for row in rows])
        if self._buffer.tell() >= BLOCK_CHARS:
            self.flush()

    def flush(self) -> None:
        text = self._buffer.getvalue()
        if text:
            self._raw.write(encode(text, self._encoding, self._errors))
        self._buffer.seek(0)
        self._buffer.truncate()

    def close(self) -> None:
        self.flush()


def format_row(cells: Iterable[str], line_ending: str = "\r\n") -> str:
    """One record as text (neutralised and quoted), for writers that check bytes per record.
    A cell holding CR or LF is quoted whatever the line ending (Python's csv module quotes
    only the characters of its own line terminator, so it always writes CRLF here)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([neutralise(c) for c in cells])
    line = buffer.getvalue()
    return line if line_ending == "\r\n" else line[:-2] + line_ending


class _Chunks:
    def __init__(self):
        self.raw = io.BytesIO()

    def take(self) -> bytes:
        data = self.raw.getvalue()
        self.raw.seek(0)
        self.raw.truncate()
        return data


def stream(rows: Iterable[Iterable[str]], encoding: str = "utf-8-sig") -> Iterator[bytes]:
    """The CSV of `rows` as blocks of bytes, for a streaming HTTP response."""
    chunks = _Chunks()
    writer = CsvWriter(chunks.raw, encoding)
    for row in rows:
        writer.write_row(row)
        if chunks.raw.tell():
            yield chunks.take()
    writer.close()
    last = chunks.take()
    if last:
        yield last
