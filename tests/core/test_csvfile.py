"""The project's one CSV writer: formula neutralising, RFC 4180 quoting, encodings, blocks."""

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.core import csvfile


@pytest.mark.parametrize(
    "value, written",
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+81-3-1234", "'+81-3-1234"),
        ("-cmd", "'-cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("  =1+1", "'  =1+1"),  # after half-width spaces
        ("\u3000=1+1", "'\u3000=1+1"),  # after a full-width space
        ("＝1+1", "'＝1+1"),  # full-width operators
        ("＋1", "'＋1"),
        ("－1", "'－1"),
        ("＠a", "'＠a"),
        ("-1200", "-1200"),  # numbers are values
        ("+3.5", "+3.5"),
        ("2026-000001", "2026-000001"),
        ("山田=花子", "山田=花子"),
        ("", ""),
        ("   ", "   "),
        ("a@example.jp", "a@example.jp"),
    ],
)
def test_neutralise(value, written):
    assert csvfile.neutralise(value) == written


def write(rows, encoding):
    raw = io.BytesIO()
    writer = csvfile.CsvWriter(raw, encoding)
    writer.write_rows(rows)
    writer.close()
    return raw.getvalue()


def test_rfc4180_quoting_crlf_and_bom_once():
    data = write([["a,b", 'say "hi"', "line\nbreak"], ["x", "", "=1"]], "utf-8-sig")
    assert data.count(b"\xef\xbb\xbf") == 1 and data.startswith(b"\xef\xbb\xbf")
    assert data[3:] == b'"a,b","say ""hi""","line\nbreak"\r\nx,,\'=1\r\n'


def test_cp932_through_the_one_encoder():
    data = write([["髙橋", "〜まで", "ⅰ"]], "cp932")
    assert data == b"\xfb\xfc" + "橋,～まで,".encode("cp932") + b"\xfa\x40\r\n"
    with pytest.raises(UnicodeEncodeError):
        write([["𠮷"]], "cp932")


def test_many_rows_are_written_in_blocks_and_read_back(monkeypatch):
    monkeypatch.setattr(csvfile, "BLOCK_CHARS", 100)
    rows = [[str(i), f"髙{i}", "=x"] for i in range(500)]
    raw = io.BytesIO()
    writer = csvfile.CsvWriter(raw, "cp932")
    writer.write_rows(rows)
    assert len(raw.getvalue()) > 0  # blocks were written before close
    writer.close()
    back = list(csv.reader(io.StringIO(raw.getvalue().decode("cp932"), newline="")))
    assert back == [[a, b, "'=x"] for a, b, _ in rows]


def test_stream_yields_the_same_bytes_as_the_writer():
    rows = [["1", "@a"], ["2", "b"]]
    assert b"".join(csvfile.stream(iter(rows))) == write(rows, "utf-8-sig")


def test_format_row_with_lf_still_quotes_cr():
    assert csvfile.format_row(["a\rb", "c"], "\n") == '"a\rb",c\n'
    assert csvfile.format_row(["-x"], "\r\n") == "'-x\r\n"


def one_row_at_a_time(rows, encoding="utf-8") -> bytes:
    """The reference: each row through the csv module, every cell neutralised."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    for row in rows:
        writer.writerow([csvfile.neutralise(c) for c in row])
    return csvfile.encode(text.getvalue(), encoding)


CELL_TEXT = st.one_of(
    st.text(
        alphabet=st.sampled_from("ab1.,\"'\r\n\t =+-@＝＋－＠ \u3000\x00\x1a\x1f山髙"), max_size=6
    ),
    st.sampled_from(["-12", "+3.5", "=1", " -1", "2024-04-01"]),
)


@given(st.lists(st.lists(CELL_TEXT, min_size=1, max_size=5), max_size=30))
def test_write_rows_writes_the_same_bytes_as_one_row_at_a_time(rows):
    raw = io.BytesIO()
    writer = csvfile.CsvWriter(raw, "utf-8")
    writer.write_rows(rows)
    writer.close()
    assert raw.getvalue() == one_row_at_a_time(rows)


def test_write_rows_blocks_plain_and_quoted_rows_and_non_text_cells():
    plain = [["2024-000001", "山田　花子", "", "1500000"]] * 2500
    mixed = [*plain[:10], ["a,b", '"q"', "x"], ["=1+1", "-12", " ＠x"], [""], *plain[:10]]
    rows = [*plain, *mixed, [None, "x"]]
    raw = io.BytesIO()
    writer = csvfile.CsvWriter(raw, "cp932")
    writer.write_rows(iter(rows))
    writer.close()
    assert raw.getvalue() == one_row_at_a_time(rows, "cp932")
