"""The one CP932 encoder: byte for byte what Windows / Java MS932 write.

The list of characters CP932 holds more than once is derived here from Python's cp932 decode
table (every one- and two-byte sequence), independently of the module; the expected bytes are
checked against the two encoders we did not write that are at hand: glibc's iconv (CP932) and
Java's MS932 (each skipped when missing)."""

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.jp import cp932


def duplicated_characters() -> dict[str, list[bytes]]:
    found: dict[str, list[bytes]] = {}
    leads = [*range(0x81, 0xA0), *range(0xE0, 0xFD)]
    for lead in leads:
        for trail in range(0x40, 0xFD):
            raw = bytes([lead, trail])
            try:
                found.setdefault(raw.decode("cp932"), []).append(raw)
            except UnicodeDecodeError:
                pass
    return {ch: sorted(seqs) for ch, seqs in found.items() if len(seqs) > 1}


DUPLICATED = duplicated_characters()
ALL_WRITABLE = "".join(
    ch for ch in cp932.byte_sequences() if cp932.is_encodable(ch) and ord(ch) >= 0x20
)


def test_the_duplicated_characters_are_the_396_of_nec_and_ibm_extensions():
    assert len(DUPLICATED) == 396
    leads = {seq[0] for seqs in DUPLICATED.values() for seq in seqs}
    assert leads == {0x81, 0x87, 0xED, 0xEE, 0xFA, 0xFB, 0xFC}


@pytest.mark.parametrize(
    "character, expected",
    [
        ("髙", "fbfc"),  # NEC-selected EE E0 and IBM FB FC: IBM
        ("﨑", "fab1"),
        ("ⅰ", "fa40"),  # small roman numerals: IBM, not NEC-selected EE EF
        ("ⅹ", "fa49"),
        ("Ⅰ", "8754"),  # capital roman numerals: NEC row 13 before IBM FA 4A
        ("№", "8782"),
        ("㈱", "878a"),
        ("∵", "81e6"),  # JIS X 0208 row 2 before NEC row 13 and IBM
        ("￢", "81ca"),
        ("＇", "fa56"),
        ("＂", "fa57"),
        ("￤", "fa55"),
        ("〜", "8160"),  # WAVE DASH written as FULLWIDTH TILDE
        ("−", "817c"),
        ("—", "815c"),
    ],
)
def test_known_characters(character, expected):
    assert cp932.encode(character).hex() == expected


def test_every_duplicated_character_is_written_in_microsofts_form():
    for ch, seqs in DUPLICATED.items():
        written = cp932.encode(ch)
        outside_nec_selected = [s for s in seqs if s[0] not in (0xED, 0xEE)]
        assert written == min(outside_nec_selected), (ch, written.hex())
        assert written.decode("cp932") == ch


def test_no_text_is_ever_written_in_rows_ed_ee():
    encoded = cp932.encode(ALL_WRITABLE)
    assert encoded.decode("cp932") == ALL_WRITABLE
    i = 0
    while i < len(encoded):
        lead = encoded[i]
        assert lead not in (0xED, 0xEE), ALL_WRITABLE
        i += 2 if lead in range(0x81, 0xA0) or lead in range(0xE0, 0xFD) else 1


@pytest.mark.skipif(shutil.which("iconv") is None, reason="iconv is not installed")
def test_same_bytes_as_glibc_iconv_for_every_writable_character():
    text = "\n".join(ALL_WRITABLE)
    reference = subprocess.run(
        ["iconv", "-f", "UTF-8", "-t", "CP932"],
        input=text.encode(),
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    assert cp932.encode(text) == reference


@pytest.mark.skipif(shutil.which("java") is None, reason="java is not installed")
def test_same_bytes_as_java_ms932_for_every_writable_character(tmp_path: Path):
    source = tmp_path / "Ms932.java"
    source.write_text(
        "import java.nio.charset.Charset;\n"
        "public class Ms932 { public static void main(String[] a) throws Exception {\n"
        '  String s = new String(System.in.readAllBytes(), "UTF-8");\n'
        '  System.out.write(s.getBytes(Charset.forName("MS932"))); System.out.flush(); } }\n'
    )
    text = "\n".join(ALL_WRITABLE)
    reference = subprocess.run(
        ["java", str(source)], input=text.encode(), capture_output=True, check=True, timeout=120
    ).stdout
    assert cp932.encode(text) == reference


@pytest.mark.parametrize("character", ["𠮷", "𩸽", "俱", "㐂", "😀", "\ue000", "\uf8f0", "\x80"])
def test_characters_outside_cp932_are_refused_or_replaced(character):
    text = f"山田{character}太郎"
    with pytest.raises(UnicodeEncodeError) as info:
        cp932.encode(text)
    assert info.value.start == 2
    assert cp932.encode(text, errors="replace") == "山田〓太郎".encode("cp932")
    assert cp932.to_encodable(text) == ("山田〓太郎", [character])
    assert cp932.unencodable(text + character + "髙") == [character]


def test_replace_keeps_the_corrections_around_a_missing_character():
    assert cp932.encode("髙𠮷ⅰ", errors="replace").hex() == "fbfc81acfa40"
    assert cp932.to_encodable("〜髙") == ("～髙", [])


@given(st.text(alphabet=st.sampled_from(ALL_WRITABLE + 'abc,"\r\n𠮷😀\ue001〜−'), max_size=40))
def test_encode_matches_the_character_by_character_rule(text):
    assert cp932.encode(text, errors="replace") == expected_bytes(text)


def test_the_unencodable_pattern_agrees_with_the_encoder_on_every_bmp_character():
    pattern = cp932.unencodable_pattern()
    for code in [*range(0x10000), 0x20BB7, 0x1F600, 0x29E3D]:
        ch = chr(code)
        if 0xD800 <= code <= 0xDFFF:
            continue
        assert (pattern.search(ch) is None) == cp932.is_encodable(ch), hex(code)


def expected_bytes(text: str) -> bytes:
    """The character-by-character rule (errors="replace")."""
    expected = bytearray()
    for ch in text.translate(cp932.EQUIVALENTS):
        if not cp932.is_encodable(ch):
            expected += "〓".encode("cp932")
        elif ch in DUPLICATED:
            expected += min(s for s in DUPLICATED[ch] if s[0] not in (0xED, 0xEE))
        else:
            expected += ch.encode("cp932")
    return bytes(expected)


# Long text takes the fast path (one codec call, the duplicated characters swapped through
# ASCII placeholders): the ASCII bytes below 0x40 that placeholders are made of, their lead
# \x1a, the duplicated characters, rule 1's characters and characters outside CP932.
LONG_ALPHABET = (
    "".join(sorted(DUPLICATED))
    + "".join(chr(c) for c in range(0x20, 0x40))
    + '\x1a\r\n,"abc山田ｱ〜−‖—¢£¬～𠮷😀\ue001\x80'
)


@given(
    st.text(alphabet=st.sampled_from(LONG_ALPHABET), min_size=cp932.FAST_MIN_CHARS, max_size=600)
)
def test_long_text_matches_the_character_by_character_rule(text):
    expected = expected_bytes(text)
    assert cp932.encode(text, errors="replace") == expected
    missing = [i for i, ch in enumerate(text) if not cp932.is_encodable(ch)]
    if missing:
        with pytest.raises(UnicodeEncodeError) as info:
            cp932.encode(text)
        assert info.value.start == missing[0]
    else:
        assert cp932.encode(text) == expected


@given(
    st.text(
        alphabet=st.sampled_from("".join(sorted(DUPLICATED)) + "髙﨑 abc-@,〜−山田"),
        min_size=cp932.FAST_MIN_CHARS,
        max_size=2000,
    )
)
def test_long_writable_text_is_encoded_in_one_call_with_the_same_bytes(text):
    assert cp932._encode_fast(text) == expected_bytes(text)


def test_every_writable_character_in_one_long_text():
    text = ALL_WRITABLE * 2 + "\r\n"
    assert cp932._encode_fast(text) is not None
    assert cp932.encode(text) == expected_bytes(text)
    # The placeholders' lead character in the text: the slow path, the same bytes.
    assert cp932._encode_fast(text + "\x1a") is None
    assert cp932.encode(text + "\x1a !") == expected_bytes(text) + b"\x1a !"
