"""Fuzzing: random and mutated bytes as the signed XML and as attachments always end in a
VerificationResult (valid False, with a Japanese reason); verify_package never raises."""

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from madoguchi.identity.jpki import verify_package
from madoguchi_dev.testca import sample_pki

DATA = "<申請><氏名>髙橋　𠮷子</氏名></申請>".encode()
FILES = {"a.pdf": b"%PDF-1.7" + bytes(64)}
AT = datetime.now(UTC)

_pki = sample_pki()
TRUST = _pki.trust()
SIGNED = _pki.card.sign(DATA, FILES)
ORIGINAL = verify_package(SIGNED, FILES, trust=TRUST, at=AT)

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes(blob):
    result = verify_package(blob, {}, trust=TRUST, at=AT)
    assert result.valid is False and result.reason


@FUZZ
@given(st.text(max_size=500))
def test_random_xml_like_text(text):
    blob = f"<pkg:SignedApplication xmlns:pkg='urn:madoguchi:jpki-package:1'>{text}".encode()
    result = verify_package(blob, {}, trust=TRUST, at=AT)
    assert result.valid is False and result.reason


@FUZZ
@given(
    st.lists(
        st.tuples(st.integers(0, len(SIGNED) - 1), st.integers(0, 255)), min_size=1, max_size=8
    )
)
def test_mutated_package(mutations):
    blob = bytearray(SIGNED)
    for position, value in mutations:
        blob[position] = value
    blob = bytes(blob)
    result = verify_package(blob, FILES, trust=TRUST, at=AT)
    assert result.reason
    if result.valid:
        # Only mutations that leave the signed content and signature intact may pass:
        # the recovered data must be exactly what was signed.
        assert result.data_xml == ORIGINAL.data_xml and result.signing_time == ORIGINAL.signing_time


@FUZZ
@given(st.integers(0, len(SIGNED) - 1), st.integers(1, 200))
def test_truncated_or_spliced_package(start, length):
    blob = SIGNED[:start] + SIGNED[start + length :]
    result = verify_package(blob, FILES, trust=TRUST, at=AT)
    assert result.reason
    if result.valid:  # e.g. only the XML declaration was cut: the signed content is intact
        assert result.data_xml == ORIGINAL.data_xml and result.signing_time == ORIGINAL.signing_time


@FUZZ
@given(st.dictionaries(st.text(min_size=0, max_size=20), st.binary(max_size=200), max_size=4))
def test_random_attachments(files):
    result = verify_package(SIGNED, files, trust=TRUST, at=AT)
    assert result.reason
    assert result.valid is (files == FILES)


@FUZZ
@given(st.binary(min_size=0, max_size=100))
def test_mutated_attachment(extra):
    files = {"a.pdf": FILES["a.pdf"] + extra}
    result = verify_package(SIGNED, files, trust=TRUST, at=AT)
    assert result.valid is (extra == b"")
    if extra:
        assert "a.pdf" in result.reason


def test_signed_fixture_is_valid():
    assert verify_package(SIGNED, FILES, trust=TRUST, at=AT).valid
