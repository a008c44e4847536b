"""Certificate parsing: serial, 基本4情報 (every OID), 代替文字, malformed values, DER strings."""

from datetime import date

import pytest
from cryptography import x509
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.identity import jpki
from madoguchi.identity.jpki import CertificateError, decode_der_string, parse_certificate
from madoguchi_dev.testca import _utf8, basic_four_san, sample_pki


@pytest.fixture(scope="module")
def pki():
    return sample_pki()


def test_serial_and_names(pki):
    info = parse_certificate(pki.card.certificate)
    assert info.serial == f"{pki.card.certificate.serial_number:X}"
    assert info.serial == info.serial.upper()
    assert "madoguchi test CA" in info.issuer
    assert info.key_usage_ok is True
    assert info.is_test is True
    assert len(info.fingerprint_sha256) == 64


def test_every_basic_four_oid(pki):
    bf = parse_certificate(pki.card.certificate).basic_four
    assert bf.name == "髙橋　𠮷子"  # 髙: JIS X 0212, 𠮷: outside JIS X 0208/0212 and the BMP
    assert bf.name_alt == "00010"
    assert bf.name_alt_positions == [4]
    assert bf.sex == "2" and bf.sex_label == "女"
    assert bf.birth_date == date(1985, 4, 1)
    assert bf.birth_date_raw == "319850401"
    assert bf.birth_era == "昭和"
    assert bf.address == "東京都千代田区九段南１－２－１"
    assert bf.address_alt == "0" * len(bf.address)
    assert bf.address_alt_positions == []
    assert bf.has_alternative_characters is True


def test_basic_four_round_trip(pki):
    bf = parse_certificate(pki.card.certificate).basic_four
    assert jpki.BasicFour.from_dict(bf.to_dict()) == bf


def _card(pki, **overrides):
    return pki.issue(**overrides).certificate


def _with_raw(pki, oid: str, value: bytes | None):
    return _card(pki, raw_san={oid: value})


@pytest.mark.parametrize(
    ("raw", "expected", "era"),
    [
        ("119000101", date(1900, 1, 1), "明治"),
        ("219200101", date(1920, 1, 1), "大正"),
        ("319890107", date(1989, 1, 7), "昭和"),  # 昭和64年1月7日
        ("419890108", date(1989, 1, 8), "平成"),
        ("520190501", date(2019, 5, 1), "令和"),
        ("020000101", date(2000, 1, 1), None),  # 0: 不明
        ("019500000", None, None),  # month and day unknown
    ],
)
def test_birth_date_forms(pki, raw, expected, era):
    bf = parse_certificate(_card(pki, birth=raw)).basic_four
    assert bf.birth_date == expected
    assert bf.birth_date_raw == raw
    assert bf.birth_era == era


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("19850401", "形式"),
        ("3198504011", "形式"),
        ("3abcd0401", "形式"),
        ("619850401", "元号区分「6」"),
        ("319850230", "存在しない日付"),
        ("419850401", "一致しません"),  # 平成 with a 昭和 date
        ("319891231", "一致しません"),
        ("３19850401", "形式"),
    ],
)
def test_malformed_birth_date(pki, raw, message):
    with pytest.raises(CertificateError) as exc:
        parse_certificate(_card(pki, birth=raw))
    assert message in exc.value.message
    assert "生年月日" in exc.value.message


@pytest.mark.parametrize("sex", ["1", "2", "3"])
def test_sex_codes(pki, sex):
    assert parse_certificate(_card(pki, sex=sex)).basic_four.sex == sex


def test_unknown_sex_code(pki):
    with pytest.raises(CertificateError, match="性別「5」"):
        parse_certificate(_card(pki, sex="5"))


def test_alternative_character_flags(pki):
    cert = _card(pki, name="渡邉　太郎", name_alt="01000", address_alt=None)
    bf = parse_certificate(cert).basic_four
    assert bf.name_alt_positions == [2]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"name_alt": "0002"},
            "name_alt_error",
            "氏名代替文字の使用位置情報を読み取れませんでした（0と1のほかの文字が含まれています）。"
            "代替文字の位置は分からないため、氏名・住所は住民記録で確認してください。",
        ),
        (
            {"name_alt": "0000"},
            "name_alt_error",
            "氏名代替文字の使用位置情報を読み取れませんでした（桁数（4）が文字数（5）と一致しません）。"
            "代替文字の位置は分からないため、氏名・住所は住民記録で確認してください。",
        ),
        (
            {"address_alt": "01"},
            "address_alt_error",
            "住所代替文字の使用位置情報を読み取れませんでした（桁数（2）が文字数（15）と一致しません）。"
            "代替文字の位置は分からないため、氏名・住所は住民記録で確認してください。",
        ),
    ],
)
def test_alternative_flags_that_do_not_line_up_are_reported_not_refused(
    pki, overrides, field, message
):
    """The 代替文字 flags only help staff find the right character: a certificate whose flags
    cannot be lined up with its text is accepted, and what could not be read is said."""
    bf = parse_certificate(_card(pki, **overrides)).basic_four
    assert getattr(bf, field) == message
    assert bf.alternative_character_warnings == [message]
    characters = bf.name_alt_characters if field == "name_alt_error" else bf.address_alt_characters
    assert characters == []
    assert jpki.BasicFour.from_dict(bf.to_dict()) == bf


def test_unreadable_or_repeated_alternative_flags_are_reported(pki):
    cert = _with_raw(pki, jpki.OID_NAME_ALT.dotted_string, b"\x04\x0500000")  # OCTET STRING
    bf = parse_certificate(cert).basic_four
    assert bf.name_alt_error.startswith(
        "氏名代替文字の使用位置情報を読み取れませんでした（文字列ではない値です"
    )


def test_empty_alternative_flags_are_accepted(pki):
    cert = _with_raw(pki, jpki.OID_NAME_ALT.dotted_string, None)
    assert parse_certificate(cert).basic_four.name_alt == ""


@pytest.mark.parametrize(
    ("oid", "label"),
    [
        (jpki.OID_NAME, "氏名"),
        (jpki.OID_SEX, "性別"),
        (jpki.OID_BIRTH_DATE, "生年月日"),
        (jpki.OID_ADDRESS, "住所"),
    ],
)
def test_missing_required_value(pki, oid, label):
    with pytest.raises(CertificateError, match=f"{label}が記録されていません"):
        parse_certificate(_with_raw(pki, oid.dotted_string, None))


def test_blank_name(pki):
    with pytest.raises(CertificateError, match="氏名が記録されていません"):
        parse_certificate(_card(pki, name="　", name_alt=""))


@pytest.mark.parametrize(
    "value",
    [
        b"\x04\x03abc",  # OCTET STRING
        b"\x02\x01\x05",  # INTEGER
        b"\x0c\x02\xff\xfe",  # invalid UTF-8
        b"\x0c\x03a\x00b",  # control character
        b"\x13\x01@",  # not a PrintableString character
    ],
    # (Values that are not even one DER TLV are refused by cryptography when the
    # certificate is built or parsed; decode_der_string's own tests cover them below.)
)
def test_undecodable_value(pki, value):
    with pytest.raises(CertificateError, match="証明書の氏名を読み取れません"):
        parse_certificate(_with_raw(pki, jpki.OID_NAME.dotted_string, value))


def test_duplicated_oid(pki):
    san = basic_four_san(
        name="山田　太郎",
        sex="1",
        birth="319700101",
        address="東京都",
        raw={jpki.OID_NAME.dotted_string: _utf8("山田　太郎")},
    )
    names = list(san) + [x509.OtherName(jpki.OID_SEX, _utf8("1"))]
    with pytest.raises(CertificateError, match="性別が複数"):
        parse_certificate(_card(pki, san=x509.SubjectAlternativeName(names)))


def test_no_subject_alt_name(pki):
    with pytest.raises(CertificateError, match="subjectAltName"):
        parse_certificate(pki.ca.certificate)


def test_unrelated_other_names_are_ignored(pki):
    cert = _with_raw(pki, "1.2.3.4", b"\x04\x01x")
    assert parse_certificate(cert).basic_four.name == "髙橋　𠮷子"


def test_key_usage_flag(pki):
    assert parse_certificate(pki.auth_only.certificate).key_usage_ok is False
    assert parse_certificate(_card(pki, key_usage=None)).key_usage_ok is False


# --- the DER string decoder -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"\x0c\x00", ""),
        (_utf8("𠮷野家"), "𠮷野家"),
        (_utf8("あ" * 100), "あ" * 100),  # long-form length
        (b"\x13\x05Ab 1?", "Ab 1?"),
        (b"\x16\x03a@b", "a@b"),
        (b"\x1e\x04\x9a\xd9\x6a\x4b", "髙橋"),
    ],
)
def test_decode_der_string(data, text):
    assert decode_der_string(data) == text


@pytest.mark.parametrize(
    "data",
    [
        b"\x13\x01@",  # '@' is not a PrintableString character
        b"\x1e\x03abc",  # odd BMPString
        b"\x1e\x04\xd8\x42\xdf\xb7",  # surrogate pair in a BMPString
        b"\x16\x01\xff",
        b"\x0c\x84\x00\x00\x00\x01a",
        b"\x0c\x85\x01\x01\x01\x01\x01a",
        b"\x0c\x01ab",  # trailing byte
        b"\x0c",
    ],
)
def test_decode_der_string_rejects(data):
    with pytest.raises(ValueError):
        decode_der_string(data)


def test_normalize_serial():
    assert jpki.normalize_serial(" 0a:1b ") == "A1B"
    assert jpki.normalize_serial("0x00FF") == "FF"
    with pytest.raises(ValueError, match="16進数"):
        jpki.normalize_serial("xyz")


def test_flagged_characters_name_each_substitute_and_ignore_out_of_range_flags():
    from madoguchi.identity.jpki import BasicFour

    bf = BasicFour(
        name="髙橋　﨑子",
        name_alt="10010",
        sex="2",
        birth_date=None,
        birth_date_raw="",
        address="東京都",
        address_alt="000",
    )
    assert bf.name_alt_characters == [(1, "髙"), (4, "﨑")]
    assert bf.address_alt_characters == []
    # Flags that cannot be lined up (stored data not checked at parse time) name nothing.
    assert jpki.alternative_characters("髙橋　﨑子", "100100") == []
    assert jpki.alternative_characters("髙橋　﨑子", "1001x") == []


@given(st.text(min_size=1, max_size=40), st.data())
def test_flags_that_line_up_name_exactly_the_flagged_characters(text, data):
    flags = data.draw(st.text(alphabet="01", min_size=len(text), max_size=len(text)))
    assert jpki.alt_flags_problem(flags, text) == ""
    assert jpki.alternative_characters(text, flags) == [
        (i, text[i - 1]) for i, flag in enumerate(flags, start=1) if flag == "1"
    ]


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=41))
def test_flags_that_do_not_line_up_name_nothing(text, flags):
    lined_up = len(flags) == len(text) and set(flags) <= {"0", "1"}
    assert (jpki.alt_flags_problem(flags, text) == "") is lined_up
    if not lined_up:
        assert jpki.alternative_characters(text, flags) == []
