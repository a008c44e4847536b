"""File writers for exports. Rows are written to a file on disk as they come, so memory does
not grow with the number of rows.

- CSV: the project's one CSV writer (`madoguchi.core.csvfile`: RFC 4180, UTF-8 with BOM or
  CP932 as Windows writes it, formula cells neutralised). The caller makes every cell
  encodable first (see `encoding.to_cp932`) so that nothing is lost silently.
- XLSX: openpyxl in write-only mode (rows are streamed to the worksheet XML). Every cell is
  written as a string cell, which a spreadsheet never evaluates, so the value is kept as is.
"""

from __future__ import annotations

from typing import BinaryIO, Protocol

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from madoguchi.core.csvfile import CsvWriter, neutralise

# The names other modules import.
CsvRowWriter = CsvWriter
neutralise_formula = neutralise


class RowWriter(Protocol):
    def write_row(self, cells: list[str]) -> None: ...

    def write_rows(self, rows: list[list[str]]) -> None: ...

    def close(self) -> None: ...


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

    def write_rows(self, rows: list[list[str]]) -> None:
        for cells in rows:
            self.write_row(cells)

    def close(self) -> None:
        self._book.save(self._raw)


def open_writer(raw: BinaryIO, file_format: str, encoding: str) -> RowWriter:
    if file_format == "xlsx":
        return XlsxRowWriter(raw)
    return CsvWriter(raw, encoding)
