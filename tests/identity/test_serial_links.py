"""番号紐付情報: full and differential imports, a newer certificate, lookups at dates, the
adapter setting, and automatic identification of an application."""

import datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.applications import services
from madoguchi.applications.models import ApplicationEvent
from madoguchi.identity import serial_links
from madoguchi.identity.models import IdentityImportBatch, SerialLink
from madoguchi.identity.serial_links import (
    import_diff,
    import_full,
    lookup_atena,
    normalize_serial,
)
from tests.applications.conftest import make_procedure
from tests.applications.test_services import ANSWERS

HEADER = "シリアル番号（16進）,宛名番号,有効開始日,有効終了日,異動区分\n"
D = datetime.date


def csv(*lines: str, header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return (header + "".join(line + "\n" for line in lines)).encode(encoding)


def current(municipality):
    return {
        link.certificate_serial: (link.atena_number, link.valid_from, link.valid_until)
        for link in SerialLink.objects.current().filter(municipality=municipality)
    }


def test_normalize_serial():
    assert normalize_serial("00:ab:12") == "AB12"
    assert normalize_serial("０ｘＡＢ１２") == "AB12"
    assert normalize_serial("0") == "0"
    with pytest.raises(ValueError, match="16進数"):
        normalize_serial("XYZ")


@pytest.mark.django_db
def test_full_import_creates_links_and_looks_them_up_at_dates(municipality):
    report = import_full(
        municipality,
        csv("00a1b2,0000000001,2024-04-01,,追加", "C3D4,0000000002,2020-01-01,2024-03-31,"),
        file_name="links.csv",
    )
    assert report.ok, report.summary()
    batch = report.batch
    assert (batch.line_count, batch.applied_count, batch.encoding) == (2, 2, "utf-8")
    assert current(municipality) == {
        "A1B2": ("0000000001", D(2024, 4, 1), None),
        "C3D4": ("0000000002", D(2020, 1, 1), D(2024, 3, 31)),
    }
    assert lookup_atena(municipality, "a1b2", at=D(2024, 4, 1)) == "0000000001"
    assert lookup_atena(municipality, "A1B2", at=D(2024, 3, 31)) is None
    assert lookup_atena(municipality, "C3D4", at=D(2024, 3, 31)) == "0000000002"
    assert lookup_atena(municipality, "C3D4", at=D(2024, 4, 1)) is None
    at = datetime.datetime(2024, 3, 31, 15, 30, tzinfo=datetime.UTC)  # 2024-04-01 00:30 JST
    assert lookup_atena(municipality, "A1B2", at=at) == "0000000001"
    assert lookup_atena(municipality, "FFFF", at=D(2024, 4, 1)) is None
    assert lookup_atena(municipality, "not hex", at=D(2024, 4, 1)) is None


@pytest.mark.django_db
def test_full_import_replaces_the_set_and_keeps_unchanged_rows(municipality):
    import_full(municipality, csv("A1,1,2024-04-01,,", "B2,2,2024-04-01,,", "C3,3,2024-04-01,,"))
    kept = SerialLink.objects.get(certificate_serial="A1")
    report = import_full(municipality, csv("A1,1,2024-04-01,,", "B2,22,2024-04-01,,"))
    assert report.ok
    b = report.batch
    assert (b.unchanged_count, b.applied_count, b.invalidated_count) == (1, 1, 1)
    assert current(municipality) == {
        "A1": ("1", D(2024, 4, 1), None),
        "B2": ("22", D(2024, 4, 1), None),
    }
    assert SerialLink.objects.current().get(certificate_serial="A1").pk == kept.pk
    old_b2 = SerialLink.objects.get(certificate_serial="B2", atena_number="2")
    assert old_b2.superseded_at is not None and old_b2.superseded_in == b
    assert lookup_atena(municipality, "C3", at=D(2025, 1, 1)) is None


@pytest.mark.django_db
def test_full_import_is_all_or_nothing_with_line_numbered_reasons(municipality):
    import_full(municipality, csv("A1,1,2024-04-01,,"))
    content = csv(
        "B2,2,2024-04-01,,",
        "ZZ,3,2024-04-01,,",
        "C3,,2024-02-30,,",
        "D4,4,2024-04-01,2024-03-01,",
        "B2,5,2024-04-01,,",
        "E5,5,2024-04-01,,削除",
        "F6,6",
    )
    report = import_full(municipality, content, file_name="bad.csv")
    assert report.refused
    assert [str(e) for e in report.errors] == [
        "3行目：シリアル番号「ZZ」は16進数（0〜9、A〜F）ではありません。",
        "4行目：宛名番号がありません。",
        "4行目：有効開始日「2024-02-30」：2月30日は存在しない日付です。",
        "5行目：有効終了日（2024-03-01）が有効開始日（2024-04-01）より前です。",
        "6行目：シリアル番号 B2 は 2行目と重複しています。",
        "7行目：全件ファイルに異動区分「削除」の行は置けません（載っていない紐付が無効になります）。",
        "8行目：項目の数が 2 個です（5 個のはずです）。",
    ]
    assert current(municipality) == {"A1": ("1", D(2024, 4, 1), None)}
    batch = IdentityImportBatch.objects.get(pk=report.batch.pk)
    assert batch.result == "refused" and batch.refused_count == 6
    assert batch.errors[0] == {
        "line": 3,
        "message": "シリアル番号「ZZ」は16進数（0〜9、A〜F）ではありません。",
    }
    assert batch.quarantined_file.read() == content


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "ファイルが空です。"),
        (HEADER.encode(), "データの行がありません（見出しの行だけです）。"),
        (
            "シリアル番号（16進）,宛名,有効開始日\nA1,1,2024-04-01\n".encode(),
            "1行目：見出し「宛名」（2列目）は使えません。"
            "使える見出しは シリアル番号、シリアル番号（16進）、シリアル番号（10進）、宛名番号、"
            "有効開始日、有効終了日、異動区分 です。",
        ),
        (
            "シリアル番号,有効開始日,異動区分\nA1,2024-04-01,追加\n".encode(),
            "1行目：見出し 宛名番号 がありません。",
        ),
        (
            b"\x82\xa0\x82",
            "ファイルの文字コードが UTF-8 でも Shift_JIS（CP932）でもありません（3バイト目）。",
        ),
    ],
)
def test_unreadable_files_are_refused_whole(municipality, content, message):
    for run in (import_full, import_diff):
        report = run(municipality, content)
        assert report.refused
        assert [str(e) for e in report.errors] == [message]


@pytest.mark.django_db
def test_cp932_and_english_headers(municipality):
    content = csv(
        "a1,000123,令和6年4月1日,,",
        header="serial_hex,atena_number,valid_from,valid_until,change\n",
        encoding="cp932",
    )
    report = import_full(municipality, content)
    assert report.ok and report.batch.encoding == "cp932"
    content = csv("B2,000124,2024-04-01,,追加", encoding="cp932")
    report = import_diff(municipality, content)
    assert report.ok and report.batch.encoding == "cp932"
    assert lookup_atena(municipality, "B2", at=D(2024, 4, 1)) == "000124"
    content = csv("C3,000125,2024-04-01,,追加")
    assert import_diff(municipality, content).batch.encoding == "utf-8"


@pytest.mark.django_db
def test_the_same_file_twice_is_refused_unless_forced(municipality):
    content = csv("A1,1,2024-04-01,,")
    first = import_full(municipality, content)
    again = import_full(municipality, content)
    assert again.refused
    assert str(again.errors[0]).startswith(f"このファイルは取込番号 {first.batch.pk}（")
    assert import_full(municipality, content, force=True).ok


@pytest.mark.django_db
def test_diff_applies_lines_one_by_one_and_reports_the_refused(municipality):
    import_full(municipality, csv("A1,1,2024-04-01,,", "B2,2,2024-04-01,,", "C3,3,2024-04-01,,"))
    report = import_diff(
        municipality,
        csv(
            "D4,4,2024-05-01,,追加",
            "A1,1,2024-04-01,2025-03-31,変更",
            "B2,2,2024-04-01,,削除",
            "E5,5,2024-05-01,,変更",
            "C3,9,2024-04-01,,削除",
            "C3,3,2024-04-01,,追加",
            "F6,6,2024-05-01,,移動",
            "AB7,7,2024-05-01,,",
        ),
    )
    assert not report.ok and not report.refused
    assert report.batch.result == "partial"
    assert [str(e) for e in report.errors] == [
        "5行目：シリアル番号 E5 の紐付がないため変更できません。",
        "6行目：シリアル番号 C3 の紐付の宛名番号は 3 で、削除の行の宛名番号 9 と違います。",
        "7行目：シリアル番号 C3 は 6行目と重複しています。",
        "8行目：異動区分「移動」は使えません（追加・変更・削除のどれかです）。",
        "9行目：異動区分がありません（追加・変更・削除のどれかです）。",
    ]
    b = report.batch
    assert (b.applied_count, b.refused_count, b.invalidated_count) == (3, 5, 1)
    assert current(municipality) == {
        "A1": ("1", D(2024, 4, 1), D(2025, 3, 31)),
        "C3": ("3", D(2024, 4, 1), None),
        "D4": ("4", D(2024, 5, 1), None),
    }
    assert b.quarantined_file


@pytest.mark.django_db
def test_diff_add_of_an_existing_serial_is_refused_and_identical_add_is_unchanged(municipality):
    import_full(municipality, csv("A1,1,2024-04-01,,"))
    report = import_diff(municipality, csv("A1,1,2024-04-01,,追加", "A2,1,2024-04-01,,追加"))
    assert report.ok and report.batch.unchanged_count == 1
    report = import_diff(municipality, csv("A1,2,2024-04-01,,追加"))
    assert report.refused  # no line applied
    assert [str(e) for e in report.errors] == [
        "2行目：シリアル番号 A1 の紐付はすでにあります（宛名番号 1）。"
        "内容を変えるときは異動区分を「変更」にしてください。"
    ]


@pytest.mark.django_db
def test_a_newer_certificate_ends_the_older_link_the_day_before(municipality):
    """After a move the person gets a new certificate (new serial, same 宛名番号): the old
    serial still resolves for dates before the new one starts, and no longer after."""
    import_full(municipality, csv("0D1,100,2021-04-01,,", "07,200,2021-04-01,,"))
    report = import_diff(municipality, csv("E1,100,2024-06-10,,追加"))
    assert report.ok and report.batch.closed_count == 1
    assert current(municipality)["D1"] == ("100", D(2021, 4, 1), D(2024, 6, 9))
    assert current(municipality)["E1"] == ("100", D(2024, 6, 10), None)
    assert current(municipality)["7"] == ("200", D(2021, 4, 1), None)
    assert lookup_atena(municipality, "0D1", at=D(2024, 6, 9)) == "100"
    assert lookup_atena(municipality, "0D1", at=D(2024, 6, 10)) is None
    assert lookup_atena(municipality, "E1", at=D(2024, 6, 10)) == "100"
    # The old row is kept, superseded; the restated row ends the day before.
    assert SerialLink.objects.filter(certificate_serial="D1").count() == 2


@pytest.mark.django_db
def test_certificates_issued_the_same_day_both_stay_and_an_older_add_is_closed(municipality):
    import_diff(municipality, csv("5160,100,2024-06-10,,追加", "A07,100,2024-06-10,,追加"))
    assert current(municipality)["5160"][2] is None and current(municipality)["A07"][2] is None
    # Adding a link that started before the person's current ones: it is the one that ends.
    report = import_diff(municipality, csv("BA57,100,2020-01-01,,追加"))
    assert report.batch.closed_count == 1
    assert current(municipality)["BA57"] == ("100", D(2020, 1, 1), D(2024, 6, 9))
    # An older link that already ends before the new one starts is left alone.
    import_diff(municipality, csv("C1,300,2020-01-01,2022-12-31,追加"))
    report = import_diff(municipality, csv("C2,300,2023-01-01,,追加"))
    assert report.batch.closed_count == 0


@pytest.mark.django_db
def test_links_are_per_municipality(municipality, other_municipality):
    import_full(municipality, csv("A1,1,2024-04-01,,"))
    import_full(other_municipality, csv("B2,2,2024-04-01,,"))
    assert lookup_atena(other_municipality, "A1", at=D(2024, 5, 1)) is None
    import_full(other_municipality, csv("C3,3,2024-04-01,,"))
    assert current(municipality) == {"A1": ("1", D(2024, 4, 1), None)}


@pytest.mark.django_db
def test_the_source_is_selected_by_setting(municipality, settings):
    import_full(municipality, csv("A1,1,2024-04-01,,"))
    assert isinstance(serial_links.get_source(municipality), serial_links.DatabaseSerialLinkSource)
    assert serial_links.get_source(municipality).check_config() == []
    settings.SERIAL_LINK_SOURCE = "common_api"
    source = serial_links.get_source(municipality)
    with pytest.raises(NotImplementedError, match="共通機能標準仕様の番号紐付 API"):
        lookup_atena(municipality, "A1", at=D(2024, 5, 1))
    assert source.check_config() == [serial_links.CommonFunctionApiSource.MESSAGE]
    settings.SERIAL_LINK_SOURCE = "madoguchi.identity.serial_links.DatabaseSerialLinkSource"
    assert lookup_atena(municipality, "A1", at=D(2024, 5, 1)) == "1"
    settings.SERIAL_LINK_SOURCE = "no.such.Source"
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        serial_links.get_source(municipality)


def _submitted(municipality, identity):
    procedure = make_procedure(municipality)
    application, _ = services.start_draft(procedure)
    services.save_step(
        application, "applicant", raw={}, answers=ANSWERS, completed=True, step_index=0
    )
    services.submit(application, base_url="http://testserver")
    application.refresh_from_db()
    application.identity = identity
    application.save(update_fields=["identity"])
    return application


@pytest.mark.django_db
def test_assign_atena_if_known(municipality):
    import_full(municipality, csv("0D1,100,2021-04-01,2024-06-09,", "E1,100,2024-06-10,,"))
    application = _submitted(
        municipality,
        {
            "source": "jpki",
            "certificate_serial": "e1",
            "signature_valid": True,
            "verified_at": "2024-06-10T10:00:00+09:00",
            "atena_source": "",
        },
    )
    assert serial_links.assign_atena_if_known(application) is True
    application.refresh_from_db()
    assert application.atena_number == "100"
    assert application.identity["atena_source"] == "serial_link"
    event = application.events.get(kind="identified")
    assert event.actor_type == ApplicationEvent.Actor.SYSTEM
    assert event.data == {"source": "serial_link", "atena_number": "100"}
    # Already identified: nothing more.
    assert serial_links.assign_atena_if_known(application) is False


@pytest.mark.django_db
@pytest.mark.parametrize(
    "identity",
    [
        {
            "certificate_serial": "0D1",
            "signature_valid": True,
            "signed_at": "2024-06-10T09:00:00+09:00",
        },
        {"certificate_serial": "FFFF", "signature_valid": True},
        {"certificate_serial": "E1", "signature_valid": False},
        {},
    ],
)
def test_assign_atena_if_known_leaves_unknown_cases(municipality, identity):
    import_full(municipality, csv("0D1,100,2021-04-01,2024-06-09,", "E1,100,2024-06-10,,"))
    application = _submitted(municipality, identity)
    assert serial_links.assign_atena_if_known(application) is False
    application.refresh_from_db()
    assert application.atena_number == ""
    assert not application.events.filter(kind="identified").exists()


@pytest.mark.django_db
def test_import_serial_links_command(municipality, tmp_path):
    path = tmp_path / "links.csv"
    path.write_bytes(csv("A1,1,2024-04-01,,"))
    from io import StringIO

    out = StringIO()
    call_command("import_serial_links", str(path), municipality="131016", full=True, stdout=out)
    assert "取込 1行" in out.getvalue()
    path.write_bytes(csv("A1,1,2024-04-01,,", "ZZ,2,2024-04-01,,"))
    with pytest.raises(CommandError, match="取り込めなかった"):
        call_command("import_serial_links", str(path), municipality="131016", full=True, stdout=out)
    assert "3行目：シリアル番号「ZZ」は16進数" in out.getvalue()
    with pytest.raises(CommandError, match="団体がありません"):
        call_command("import_serial_links", str(path), municipality="999999", diff=True)


@pytest.mark.django_db
def test_lookup_many_answers_as_lookup_does_in_one_query(municipality, django_assert_num_queries):
    import_full(municipality, csv("0D1,100,2021-04-01,,", "07,200,2021-04-01,,"))
    import_diff(municipality, csv("E1,100,2024-06-10,,追加"))
    queries = [
        ("0D1", D(2024, 6, 9)),
        ("d1", D(2024, 6, 10)),
        ("E1", D(2024, 6, 10)),
        ("7", datetime.datetime(2024, 6, 10, 1, tzinfo=datetime.UTC)),
        ("FFFF", D(2024, 6, 10)),
        ("not hex", D(2024, 6, 10)),
    ]
    expected = [lookup_atena(municipality, s, at=at) for s, at in queries]
    assert expected == ["100", None, "100", "200", None, None]
    source = serial_links.get_source(municipality)
    with django_assert_num_queries(1):
        assert source.lookup_many(queries) == expected


# ── the serial number's notation ────────────────────────────────────────────────────────

PLAIN = "シリアル番号,宛名番号,有効開始日,有効終了日,異動区分\n"
NOTATION_UNKNOWN = (
    "シリアル番号の表記（16進か10進か）が分かりません。見出しを"
    "「シリアル番号（16進）」または「シリアル番号（10進）」にするか、表記を指定して"
    "ください（import_serial_links の --serial-notation hex または dec）。"
    "同じ数字でも16進と10進では別の証明書になるため、推測はしません。"
)


@pytest.mark.django_db
def test_a_file_that_does_not_say_its_serial_notation_is_refused(municipality):
    """「1234」 is certificate 0x1234 in hexadecimal and 0x4D2 in decimal: never guessed."""
    content = csv("1234,1,2024-04-01,,追加", header=PLAIN)
    for run in (import_full, import_diff):
        report = run(municipality, content)
        assert report.refused
        assert [str(e) for e in report.errors] == [NOTATION_UNKNOWN]
        assert report.batch.serial_notation == ""
    # Letters A–F do not make it hexadecimal either: a typo would be read as a serial.
    report = import_full(
        municipality, csv("1234,1,2024-04-01,,", "AB,2,2024-04-01,,", header=PLAIN)
    )
    assert [str(e) for e in report.errors] == [NOTATION_UNKNOWN]
    assert current(municipality) == {}


@pytest.mark.django_db
def test_decimal_serials_by_heading(municipality):
    header = "シリアル番号（10進）,宛名番号,有効開始日,有効終了日,異動区分\n"
    report = import_full(
        municipality, csv("2748,1,2024-04-01,,", "0010,2,2024-04-01,,", header=header)
    )
    assert report.ok, report.summary()
    assert report.batch.serial_notation == "dec"
    assert "シリアル番号は10進として読みました。" in report.summary()
    assert set(current(municipality)) == {"ABC", "A"}
    assert lookup_atena(municipality, "abc", at=D(2024, 4, 1)) == "1"
    # A hexadecimal value in a decimal file is an error on its line, not a reinterpretation.
    report = import_diff(
        municipality, csv("0A1B,3,2024-04-01,,追加", "99,4,2024-04-01,,追加", header=header)
    )
    assert [str(e) for e in report.errors] == [
        "2行目：シリアル番号「0A1B」は10進数（0〜9）ではありません。"
    ]
    assert lookup_atena(municipality, "63", at=D(2024, 4, 1)) == "4"  # 99 = 0x63


@pytest.mark.django_db
@pytest.mark.parametrize(
    "heading", ["シリアル番号(16進)", "シリアル番号（１６進）", "serial_hex", "SERIAL_HEX"]
)
def test_hexadecimal_heading_spellings(municipality, heading):
    report = import_full(
        municipality, csv("0a1b,1,2024-04-01", header=f"{heading},宛名番号,有効開始日\n")
    )
    assert report.ok, report.summary()
    assert report.batch.serial_notation == "hex"
    assert set(current(municipality)) == {"A1B"}


@pytest.mark.django_db
def test_notation_option_for_a_plain_heading_and_conflicts(municipality):
    content = csv("1234,1,2024-04-01,,", header=PLAIN)
    report = import_full(municipality, content, serial_notation="dec")
    assert report.ok and report.batch.serial_notation == "dec"
    assert set(current(municipality)) == {"4D2"}
    report = import_full(municipality, content, serial_notation="hex", force=True)
    assert report.ok and set(current(municipality)) == {"1234"}
    header = "シリアル番号（16進）,宛名番号,有効開始日\n"
    report = import_full(
        municipality, csv("1234,1,2024-04-01", header=header), serial_notation="dec"
    )
    assert [str(e) for e in report.errors] == [
        "1行目：見出しのシリアル番号は16進ですが、取込の指定は10進です。どちらが正しいか確かめてください。"
    ]
    both = "シリアル番号（16進）,シリアル番号（10進）,宛名番号,有効開始日\n"
    report = import_full(municipality, csv("1234,4660,1,2024-04-01", header=both))
    assert [str(e) for e in report.errors] == [
        "1行目：シリアル番号の列が複数あります。1列だけにしてください。"
    ]
    report = import_full(municipality, csv("1,2024-04-01", header="宛名番号,有効開始日\n"))
    assert [str(e) for e in report.errors] == [
        "1行目：見出し シリアル番号（16進）またはシリアル番号（10進）がありません。"
    ]


@pytest.mark.django_db
def test_import_command_serial_notation_option(municipality, tmp_path):
    from io import StringIO

    path = tmp_path / "links.csv"
    path.write_bytes(csv("1234,1,2024-04-01,,", header=PLAIN))
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="取り込めなかった"):
        call_command("import_serial_links", str(path), municipality="131016", full=True, stdout=out)
    assert NOTATION_UNKNOWN in out.getvalue()
    call_command(
        "import_serial_links",
        str(path),
        municipality="131016",
        full=True,
        serial_notation="dec",
        force=True,
        stdout=out,
        stderr=err,
    )
    assert "シリアル番号は10進として読みました。" in out.getvalue()
    assert lookup_atena(municipality, "4D2", at=D(2024, 4, 1)) == "1"


@given(st.integers(min_value=0, max_value=16**64 - 1), st.integers(min_value=0, max_value=5))
def test_decimal_and_hexadecimal_spellings_of_one_serial_are_stored_alike(number, zeros):
    """A serial written in decimal and the same serial written in hexadecimal (any case,
    leading zeros, colons) are one stored value: the certificate's own spelling."""
    stored = serial_links.serial_in("0" * zeros + str(number), serial_links.DEC)
    hex_text = "0" * zeros + f"{number:x}"
    assert stored == serial_links.serial_in(hex_text, serial_links.HEX)
    assert stored == serial_links.serial_in(":".join(hex_text), serial_links.HEX)
    assert int(stored, 16) == number
