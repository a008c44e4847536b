"""A package whose entries are ambiguous or badly named is quarantined with its exact reason:
two signature.xml, an attachment twice (also when the names differ only in Unicode
normalisation), names of only dots, with control characters or path separators."""

import contextlib
import datetime
import io
import unicodedata
import zipfile

import pytest

from madoguchi.applications.models import Application
from madoguchi.channels.models import QuarantinedPackage
from madoguchi.channels.mynaportal import intake
from madoguchi.channels.mynaportal import package as pkg

from .helpers import PDF, make_package

pytestmark = pytest.mark.django_db


def rezip(raw: bytes, extra: list[tuple[str, bytes]] = (), rename=None) -> bytes:
    """The package's entries (renamed by `rename`) plus `extra`, as another ZIP writer
    would lay them out (duplicate names included)."""
    source = zipfile.ZipFile(io.BytesIO(raw))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            name = rename(info.filename) if rename else info.filename
            out.writestr(name, source.read(info))
        for name, content in extra:
            duplicate = name in out.namelist()
            with (
                pytest.warns(UserWarning, match="Duplicate name")
                if duplicate
                else contextlib.nullcontext()
            ):
                out.writestr(name, content)
    return buffer.getvalue()


def quarantined_reason(municipality, raw, trust, reference="2026040100000001") -> str:
    outcome = intake.import_package(municipality, raw, source_reference=reference, trust=trust)
    assert outcome.kind == intake.QUARANTINED, outcome
    assert not Application.objects.filter(source_reference=reference).exists()
    entry = QuarantinedPackage.objects.get(source_reference=reference)
    assert bytes(entry.raw_package) == raw
    return entry.reason


def test_two_signatures_are_refused(loaded_municipality, mapping, card, trust):
    good = make_package(card)
    other = make_package(card, items={"recipient_name.family": "別人"})
    second = zipfile.ZipFile(io.BytesIO(other)).read(pkg.SIGNATURE_NAME)
    raw = rezip(good, [(pkg.SIGNATURE_NAME, second)])
    assert quarantined_reason(loaded_municipality, raw, trust) == (
        "申請データに署名（signature.xml）が2つあります。"
    )


def test_the_same_attachment_twice_is_refused(loaded_municipality, mapping, card, trust):
    raw = rezip(make_package(card), [("attachments/kenko.pdf", PDF + b"other")])
    assert quarantined_reason(loaded_municipality, raw, trust) == (
        "申請データに「kenko.pdf」という名前のファイルが2つあります。"
    )


def test_names_equal_after_normalisation_are_the_same_name(
    loaded_municipality, mapping, card, trust
):
    composed = "がっこう.pdf"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    files = ((composed, "health_insurance", "application/pdf", PDF),)
    raw = rezip(make_package(card, files=files), [(f"attachments/{decomposed}", PDF)])
    assert quarantined_reason(loaded_municipality, raw, trust) == (
        f"申請データに「{composed}」という名前のファイルが2つあります。"
    )


def test_an_attachment_listed_twice_in_the_application_data(
    loaded_municipality, mapping, card, trust
):
    files = (("kenko.pdf", "health_insurance", "application/pdf", PDF),)
    data_xml = pkg.build_data_xml(
        receipt_number="2026040100000001",
        lg_code="131016",
        procedure_code="jidou_teate_genkyo",
        submitted_at=datetime.datetime.now(datetime.UTC),
        items={},
        attachments=pkg.attachment_infos(list(files) * 2),
    )
    signed = card.sign(data_xml, {"kenko.pdf": PDF})
    raw = pkg.build_zip(signed, {"kenko.pdf": PDF})
    assert quarantined_reason(loaded_municipality, raw, trust) == (
        "申請データの添付書類の一覧に「kenko.pdf」という名前の添付書類が2つあります。"
    )


def test_an_attachment_whose_digest_in_the_application_data_differs(
    loaded_municipality, mapping, card, trust
):
    """The signed listing matches the file, the application data names another digest: the
    digest computed by the verification is compared with the data's (the file is not hashed
    again), and the package is refused."""
    listed = pkg.AttachmentInfo("kenko.pdf", "health_insurance", "application/pdf", "0" * 64)
    data_xml = pkg.build_data_xml(
        receipt_number="2026040100000001",
        lg_code="131016",
        procedure_code="jidou_teate_genkyo",
        submitted_at=datetime.datetime.now(datetime.UTC),
        items={},
        attachments=[listed],
    )
    raw = pkg.build_zip(card.sign(data_xml, {"kenko.pdf": PDF}), {"kenko.pdf": PDF})
    assert quarantined_reason(loaded_municipality, raw, trust) == (
        "添付書類「kenko.pdf」の内容が申請時のものと一致しません。"
    )


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (".", "添付書類の名前「.」は使えません（「.」だけの名前です）。"),
        ("..", "添付書類の名前「..」は使えません（「.」だけの名前です）。"),
        ("...", "添付書類の名前「...」は使えません（「.」だけの名前です）。"),
        (
            "kenko\x01.pdf",
            "添付書類の名前「kenkoU+0001.pdf」に制御文字（U+0001）が含まれています。",
        ),
        (
            "kenko\x9b.pdf",
            "添付書類の名前「kenkoU+009B.pdf」に制御文字（U+009B）が含まれています。",
        ),
        (
            "kenko\u202efdp.exe",
            "添付書類の名前「kenkoU+202Efdp.exe」に制御文字（U+202E）が含まれています。",
        ),
        ("sub/kenko.pdf", "添付書類の名前「sub/kenko.pdf」に「/」や「\\」は使えません。"),
        ("..\\kenko.pdf", "添付書類の名前「..\\kenko.pdf」に「/」や「\\」は使えません。"),
    ],
)
def test_bad_attachment_names_are_refused(loaded_municipality, mapping, card, trust, name, reason):
    raw = rezip(
        make_package(card),
        rename=lambda entry: f"attachments/{name}" if entry == "attachments/kenko.pdf" else entry,
    )
    assert quarantined_reason(loaded_municipality, raw, trust) == reason


def test_a_well_formed_package_still_imports(loaded_municipality, mapping, card, trust):
    files = (("ｶﾀｶﾅ 名前（写し）.pdf", "health_insurance", "application/pdf", PDF),)
    outcome = intake.import_package(
        loaded_municipality,
        make_package(card, files=files),
        source_reference="2026040100000001",
        trust=trust,
    )
    assert outcome.kind == intake.IMPORTED, outcome.reason
