"""Golden files: the exact bytes of CSV (UTF-8, CP932) and fixed-length (CP932) output.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/linkage`` and review
the diff of tests/linkage/golden/ like code.

The cases (tests/linkage/conftest.py GOLDEN_CASES) cover: 和暦 at era boundaries
(令和元年5月1日 R010501, 昭和64年1月7日 S640107, 平成元年1月8日 H010108, 昭和元年12月25日
S011225), 𠮷 (not in CP932: the record is refused with a report), 髙 and ① (NEC/IBM
extensions: encodable; 髙 written FB FC as Windows and Java MS932 write it), half-width katakana (1 byte each), 〜 (WAVE DASH, written as the
CP932 ～), full-width padding, comma and quotes in CSV.
"""

import os
from pathlib import Path

import pytest

from madoguchi.linkage import runner
from madoguchi.linkage.models import Batch

from .conftest import FIXED_COLUMNS

GOLDEN = Path(__file__).parent / "golden"


def check_golden(name: str, data: bytes) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_bytes(data)
    assert path.exists(), f"missing golden file {path}; run with UPDATE_GOLDEN=1"
    assert data == path.read_bytes(), f"{name} differs from the golden file"


def run(layout) -> Batch:
    batch = runner.create_batch(layout, trigger=Batch.Trigger.COMMAND)
    return runner.run(batch.pk)


def content(batch: Batch) -> bytes:
    with batch.file.open("rb") as handle:
        return handle.read()


@pytest.mark.django_db
def test_csv_utf8(golden_applications, make_layout):
    batch = run(make_layout(encoding="utf-8"))
    assert batch.state == Batch.State.DONE
    assert batch.exported == 4 and batch.skipped == 0 and batch.report == []
    data = content(batch)
    check_golden("csv_utf8.csv", data)
    text = data.decode("utf-8")
    assert text.startswith("受付番号,受付日,氏名,カナ,性別,生年月日,配偶者,備考\r\n")
    assert "R-0002,20240502,𠮷田\u3000太郎,ﾖｼﾀﾞ ﾀﾛｳ,1,S640107,0,𠮷野家\r\n" in text
    assert 'R-0004,20240504,鈴木\u3000次郎,ｽｽﾞｷ,1,S011225,1,"カンマ,と""引用"""\r\n' in text


@pytest.mark.django_db
def test_csv_cp932_refuses_only_the_record_with_a_character_outside_cp932(
    golden_applications, make_layout
):
    batch = run(make_layout(encoding="cp932"))
    assert batch.state == Batch.State.DONE
    assert batch.exported == 3 and batch.skipped == 1
    assert batch.report == [
        {
            "receipt_number": "R-0002",
            "column": "氏名",
            "reason": "「𠮷」（U+20BB7）はCP932で表せません。",
        },
        {
            "receipt_number": "R-0002",
            "column": "備考",
            "reason": "「𠮷」（U+20BB7）はCP932で表せません。",
        },
    ]
    data = content(batch)
    check_golden("csv_cp932.csv", data)
    text = data.decode("cp932")
    assert "R-0001,20240501,山田\u3000花子,ﾔﾏﾀﾞ ﾊﾅｺ,2,R010501,1,髙橋方①\r\n" in text
    assert "R-0003,20240503,佐藤\u3000一郎,ｻﾄｳ,1,H010108,0,～まで\r\n" in text  # 〜 → CP932 ～
    assert "R-0002" not in text
    # 髙 (IBM extension, also in the NEC-selected rows) is written FB FC as Windows writes
    # it, not EE E0 as Python's codec does; ① (NEC special row 13) as 87 40.
    assert b"\xfb\xfc" in data and b"\xee\xe0" not in data and b"\x87\x40" in data


@pytest.mark.django_db
def test_fixed_length_cp932(golden_applications, make_layout):
    batch = run(make_layout(name="固定長", format="fixed", encoding="cp932", columns=FIXED_COLUMNS))
    assert batch.state == Batch.State.DONE
    assert batch.exported == 2 and batch.skipped == 2
    assert batch.report[2] == {
        "receipt_number": "R-0004",
        "column": "備考",
        "reason": "幅10バイトを超えています（15バイト）。",
    }
    assert [e["receipt_number"] for e in batch.report] == ["R-0002", "R-0002", "R-0004"]
    data = content(batch)
    check_golden("fixed_cp932.dat", data)
    width = sum(c["width"] for c in FIXED_COLUMNS)
    records = data.split(b"\r\n")
    assert records[-1] == b""
    records = records[:-1]
    assert len(records) == 2
    assert all(len(r) == width for r in records)  # every record exactly 63 bytes
    first = records[0]
    assert first[:1] == b"1"
    assert first[1:9] == b"R-0001  "
    assert first[9:16] == b"5060501"  # 受付日 令和6年5月1日, era digit 5 = 令和
    # 氏名: 「山田　花子」 = 10 bytes, then one full-width space (2 bytes) of padding.
    assert first[16:28] == "山田\u3000花子\u3000".encode("cp932")
    # カナ: half-width katakana are 1 byte each (ﾔﾏﾀﾞ ﾊﾅｺ: 8 characters, 8 bytes) + 4 spaces.
    assert len("ﾔﾏﾀﾞ ﾊﾅｺ".encode("cp932")) == 8
    assert first[28:40] == "ﾔﾏﾀﾞ ﾊﾅｺ".encode("cp932") + b"    "
    assert first[40:41] == b"2"
    assert first[41:48] == b"R010501"
    assert first[48:53] == b"00042"
    # 備考 right-aligned with full-width padding: 髙橋方① is 8 bytes, one 全角空白 before it.
    assert first[53:63] == "\u3000".encode("cp932") + b"\xfb\xfc" + "橋方①".encode("cp932")
    assert records[1][41:48] == b"H010108"
    # 〜 (WAVE DASH) is written as CP932 ～ (0x8160); two full-width spaces pad it to 10.
    assert records[1][53:63] == "\u3000\u3000～まで".encode("cp932")


@pytest.mark.django_db
def test_csv_neutralises_formulas_but_fixed_length_keeps_the_value(linkage_procedure, make_layout):
    from .conftest import make_application

    make_application(
        linkage_procedure, "R-0009", family="山田", given="花子", note="=1+1", kana="@A"
    )
    text = content(run(make_layout(encoding="utf-8"))).decode("utf-8")
    assert text.endswith(",'@A,,,,'=1+1\r\n")
    columns = [
        {"header": "受付番号", "source": "receipt_number", "width": 8},
        {"header": "備考", "source": "note", "width": 6},
    ]
    layout = make_layout(name="固定長", format="fixed", encoding="cp932", columns=columns)
    assert content(run(layout)) == b"R-0009  =1+1  \r\n"
