"""Resident-registry extract: import (all or nothing) and candidates for a certificate's
基本4情報 after normalising width, kana, spaces and 異体字."""

import datetime
from dataclasses import dataclass

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from madoguchi.identity.models import ResidentRecord
from madoguchi.identity.registry import candidates, import_registry

HEADER = "宛名番号,氏名,フリガナ,生年月日,性別,住所\n"
ROWS = [
    "0000000001,髙橋　﨑子,タカハシ　サキコ,1980-01-02,2,東京都千代田区千代田一丁目１番１号　千代田ハイツ101",
    "0000000002,高橋　崎子,タカハシ　サキコ,1975-05-05,2,東京都千代田区九段南1-2-1",
    "0000000003,山田　太郎,ヤマダ　タロウ,1980-01-02,1,東京都千代田区千代田1-1-1",
    "0000000004,渡邊　一郎,ワタナベ　イチロウ,昭和50年3月4日,男,東京都千代田区霞が関3丁目2番1号",
    "0000000005,佐藤　花子,サトウ　ハナコ,1990-09-09,2,東京都千代田区神田1-1-1",
]


@dataclass
class Four:
    """A stand-in for jpki.BasicFour (duck typing)."""

    name: str
    birth_date: datetime.date | None
    address: str
    sex: str = ""
    name_alt: str = ""
    address_alt: str = ""


def registry(*rows: str, encoding="utf-8") -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode(encoding)


@pytest.fixture
def loaded(municipality):
    report = import_registry(municipality, registry(*ROWS), file_name="jumin.csv")
    assert report.ok, report.summary()
    return municipality


@pytest.mark.django_db
def test_import_stores_rows_as_given_with_keys(loaded):
    record = ResidentRecord.objects.get(atena_number="0000000001")
    assert record.name == "髙橋　﨑子"
    assert record.name_key == "高橋崎子"
    assert record.birth_date == datetime.date(1980, 1, 2)
    assert record.sex == "2"
    assert record.address_key == "東京都千代田区千代田1-1-1千代田ハイツ101"
    assert ResidentRecord.objects.get(atena_number="0000000004").birth_date == datetime.date(
        1975, 3, 4
    )


@pytest.mark.django_db
def test_import_replaces_the_extract_and_accepts_cp932(loaded):
    report = import_registry(loaded, registry(ROWS[0], ROWS[2], encoding="cp932"))
    assert report.ok and report.batch.encoding == "cp932"
    assert report.batch.invalidated_count == 5
    assert sorted(ResidentRecord.objects.values_list("atena_number", flat=True)) == [
        "0000000001",
        "0000000003",
    ]
    assert "住民 2 人を取り込みました（前回の抽出 5 人を置き換え）" in report.summary()


@pytest.mark.django_db
def test_a_bad_line_refuses_the_whole_file(loaded):
    report = import_registry(
        loaded,
        registry(
            "0000000009,新井　一,アライ　ハジメ,2000-01-01,1,東京都千代田区",
            "0000000009,新井　二,アライ　ジ,2000-01-01,1,東京都千代田区",
            "000-1,,,1999-13-01,X,",
        ),
    )
    assert report.refused
    assert [str(e) for e in report.errors] == [
        "3行目：宛名番号 0000000009 は 2行目と重複しています。",
        "4行目：宛名番号「000-1」は英数字32桁以内で書いてください。",
        "4行目：氏名がありません。",
        "4行目：住所がありません。",
        "4行目：生年月日「1999-13-01」：13月1日は存在しない日付です。",
        "4行目：性別「X」は使えません（1・2・男・女のどれかです）。",
    ]
    assert ResidentRecord.objects.count() == 5


@pytest.mark.django_db
def test_candidates_match_variants_and_width_and_show_reasons(loaded):
    four = Four(
        name="高橋 崎子",
        birth_date=datetime.date(1980, 1, 2),
        address="東京都千代田区千代田1丁目1番1号",
        sex="2",
    )
    found = candidates(loaded, four, kana="ﾀｶﾊｼ ｻｷｺ")
    assert [c.atena_number for c in found] == ["0000000001", "0000000002", "0000000003"]
    best = found[0]
    assert best.matched == [
        "氏名が一致（異体字・文字幅の違いを同一視）",
        "フリガナが一致",
        "生年月日が一致",
        "住所が前方一致（方書・建物名などの有無の違い）",
        "性別が一致",
    ]
    assert best.score == 40 + 10 + 30 + 15 + 5
    # Same name, other birth date and address: shown lower, for staff to judge.
    assert found[1].matched == ["氏名が一致", "フリガナが一致", "性別が一致"]
    # Other name, same birth date and address.
    assert found[2].matched == ["生年月日が一致", "住所が一致"]


@pytest.mark.django_db
def test_candidates_use_the_alternative_name_and_skip_weak_matches(loaded):
    four = Four(
        name="渡※　一郎",
        name_alt="渡邉　一郎",
        birth_date=datetime.date(1975, 3, 4),
        address="東京都千代田区霞ヶ関三丁目２－１",
        sex="1",
    )
    found = candidates(loaded, four)
    assert [c.atena_number for c in found] == ["0000000004"]
    assert found[0].matched[0] == "氏名が一致（異体字・文字幅の違いを同一視）"
    assert "住所が一致" in found[0].matched
    # Birth date alone (30) is not enough.
    weak = Four(name="別人", birth_date=datetime.date(1990, 9, 9), address="大阪府")
    assert candidates(loaded, weak) == []


@pytest.mark.django_db
def test_candidates_are_per_municipality(loaded, other_municipality):
    four = Four(name="佐藤花子", birth_date=datetime.date(1990, 9, 9), address="")
    assert [c.atena_number for c in candidates(loaded, four)] == ["0000000005"]
    assert candidates(other_municipality, four) == []


@pytest.mark.django_db
def test_import_resident_registry_command(municipality, tmp_path):
    from io import StringIO

    path = tmp_path / "jumin.csv"
    path.write_bytes(registry(*ROWS))
    out = StringIO()
    call_command("import_resident_registry", str(path), municipality="131016", stdout=out)
    assert "住民 5 人を取り込みました" in out.getvalue()
    path.write_bytes(registry("1,,,2000-01-01,,x"))
    with pytest.raises(CommandError, match="取り込みませんでした"):
        call_command("import_resident_registry", str(path), municipality="131016", stdout=out)
    assert "2行目：氏名がありません。" in out.getvalue()
