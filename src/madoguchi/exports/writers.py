"""File writers for exports. Rows are written one by one to a file on disk, so memory does not
grow with the number of rows.

- CSV: RFC 4180 (CRLF, fields quoted when needed), UTF-8 with BOM (Excel opens it as UTF-8)
  or CP932. The caller makes every cell encodable first (see `encoding.to_cp932`).
- XLSX: openpyxl in write-only mode (rows are streamed to the worksheet XML).

Formula injection: a cell starting with = + - @ (or a tab / carriage return) that is not a
number is written with a leading ' in CSV, so that a spreadsheet opening the file shows the
text instead of running it as a formula (a resident controls what they type). In XLSX every
cell is written as a string cell, which is never evaluated, so the value is kept as is.
"""

from __future__ import annotations

import csv
import io
import re
from typing import BinaryIO, Protocol

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def neutralise_formula(value: str) -> str:
    if value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


class RowWriter(Protocol):
    def write_row(self, cells: list[str]) -> None: ...

    def close(self) -> None: ...


class CsvRowWriter:
    def __init__(self, raw: BinaryIO, encoding: str):
        # utf-8-sig writes the BOM once, at the start of the stream.
        self._text = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
        self._csv = csv.writer(self._text, lineterminator="\r\n")

    def write_row(self, cells: list[str]) -> None:
        self._csv.writerow([neutralise_formula(c) for c in cells])

    def close(self) -> None:
        self._text.flush()
        self._text.detach()


class XlsxRowWriter:
    def __init__(self, raw: BinaryIO, sheet_title: str = "export"):
        self._raw = raw
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet(title=sheet_title[:31])

    def _cell(self, value: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(self._sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
        cell.data_type = "s"  # never a formula, whatever the text starts with
        return cell

    def write_row(self, cells: list[str]) -> None:
        self._sheet.append([self._cell(c) for c in cells])

    def close(self) -> None:
        self._book.save(self._raw)


def open_writer(raw: BinaryIO, file_format: str, encoding: str) -> RowWriter:
    if file_format == "xlsx":
        return XlsxRowWriter(raw)
    return CsvRowWriter(raw, encoding)
