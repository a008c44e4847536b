"""Fuzzing the package parser and the intake: any input ends in a case or a quarantine entry
with a reason — never an unhandled exception, never a partial case."""

import io
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from madoguchi.applications.models import Application, Attachment, Channel
from madoguchi.channels.models import QuarantinedPackage
from madoguchi.channels.mynaportal import intake
from madoguchi.channels.mynaportal.package import PackageError, open_package, parse_data

from .helpers import make_package

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _check_one(municipality, raw, trust, reference):
    before_cases = Application.objects.filter(channel=Channel.MYNAPORTAL).count()
    outcome = intake.import_package(municipality, raw, source_reference=reference, trust=trust)
    if outcome.kind == intake.QUARANTINED:
        assert outcome.quarantine.reason.strip()
        # Examples share the database: the same input again updates its one entry.
        entry = QuarantinedPackage.objects.get(source_reference=reference)
        assert entry.reason == outcome.quarantine.reason and bytes(entry.raw_package) == raw
        assert Application.objects.filter(channel=Channel.MYNAPORTAL).count() == before_cases
    else:
        case = outcome.application
        assert case.receipt_number and case.identity["signature_valid"] is True
        assert Attachment.objects.filter(application=case).count() == len(
            open_package(raw).attachments
        )
    # No attachment without its case.
    assert not Attachment.objects.exclude(application__in=Application.objects.all()).exists()


@FUZZ
@given(raw=st.binary(max_size=2000))
def test_random_bytes(loaded_municipality, mapping, trust, raw):
    _check_one(loaded_municipality, raw, trust, f"F{abs(hash(raw)) % 10**12}")


@FUZZ
@given(data=st.data())
def test_mutated_valid_package(loaded_municipality, mapping, trust, card, data):
    raw = bytearray(_valid(card))
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(raw) - 1))
        raw[position] = data.draw(st.integers(0, 255))
    raw = bytes(raw)
    _check_one(loaded_municipality, raw, trust, f"M{abs(hash(raw)) % 10**12}")


@FUZZ
@given(
    names=st.lists(st.text(min_size=0, max_size=30), max_size=4),
    contents=st.lists(st.binary(max_size=50), max_size=4),
)
def test_random_zip_entries(loaded_municipality, mapping, trust, names, contents):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in zip(names, contents, strict=False):
            try:
                # ZipInfo cuts a name at NUL; an empty name makes zipfile itself fail.
                archive.writestr(name.split("\x00")[0] or "x", content)
            except (ValueError, UnicodeEncodeError):
                pass
    raw = buffer.getvalue()
    _check_one(loaded_municipality, raw, trust, f"Z{abs(hash(raw)) % 10**12}")


@FUZZ
@given(
    items=st.dictionaries(
        st.from_regex(r"[a-z_]{1,12}(\.[a-z]{1,6})?", fullmatch=True),
        st.text(max_size=40),
        max_size=6,
    )
)
def test_signed_packages_with_arbitrary_items(loaded_municipality, mapping, trust, card, items):
    """Correctly signed, any item values (control characters, odd keys): a case or a reason."""
    try:
        raw = make_package(card, items=items, receipt="2026040100000777")
    except Exception:  # text the XML signer itself cannot carry: not a package at all
        return
    Application.objects.filter(source_reference="2026040100000777").update(source_reference="")
    QuarantinedPackage.objects.filter(source_reference="2026040100000777").delete()
    _check_one(loaded_municipality, raw, trust, "2026040100000777")


@settings(max_examples=300, deadline=None)
@given(xml=st.binary(max_size=500))
def test_parse_data_raises_only_package_error(xml):
    try:
        parse_data(xml, {})
    except PackageError as exc:
        assert exc.reason


_CACHE = {}


def _valid(card) -> bytes:
    key = card.serial
    if key not in _CACHE:
        _CACHE[key] = make_package(card)
    return _CACHE[key]
