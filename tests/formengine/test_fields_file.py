"""file: the type is detected from the content; size and count limits; kept attachments."""

import hashlib

from django.core.files.uploadedfile import SimpleUploadedFile

from madoguchi.formengine.validation import validate_step

from .files import Upload, jpeg_bytes, pdf_bytes, png_bytes
from .helpers import form_of

FILE = {"key": "doc", "type": "file", "label": "保険証の写し", "required": True}


class Store:
    """A store_file stand-in that records what it was given."""

    def __init__(self):
        self.calls = []

    def __call__(self, field, upload, detected):
        uid = f"uid{len(self.calls) + 1}"
        self.calls.append((field.key, upload.name, detected))
        return {
            "attachment": uid,
            "name": detected.name,
            "content_type": detected.content_type,
            "size": detected.size,
            "sha256": detected.sha256,
        }


def run(field, uploads, raw=None, answers=None, known_files=None):
    store = Store()
    form = form_of(field)
    result = validate_step(
        form, "s", raw or {}, answers or {}, {"doc": uploads}, store, known_files=known_files
    )
    return result, store


def test_pdf_png_jpeg_detected_from_content():
    field = {**FILE, "max_files": 3}
    uploads = [
        Upload("scan.PDF", pdf_bytes()),
        Upload("photo.dat", png_bytes(), "application/octet-stream"),
        Upload("写真.jpg", jpeg_bytes()),
    ]
    result, store = run(field, uploads)
    assert result.ok
    kinds = [(d.kind, d.content_type) for _k, _n, d in store.calls]
    assert kinds == [("pdf", "application/pdf"), ("png", "image/png"), ("jpeg", "image/jpeg")]
    assert result.answers["doc"][0] == {
        "attachment": "uid1",
        "name": "scan.PDF",
        "content_type": "application/pdf",
        "size": len(pdf_bytes()),
        "sha256": hashlib.sha256(pdf_bytes()).hexdigest(),
    }
    # the newly stored files are kept in the raw values (nothing is uploaded twice)
    assert result.raw["doc__keep"] == ["uid1", "uid2", "uid3"]


def test_django_uploaded_file():
    result, _store = run(FILE, [SimpleUploadedFile("a.png", png_bytes(), "image/png")])
    assert result.ok and result.answers["doc"][0]["content_type"] == "image/png"


def test_text_named_pdf_is_refused():
    result, store = run(FILE, [Upload("申請書.pdf", b"This is not a PDF at all\n" * 10)])
    assert [e.message for e in result.errors] == [
        "保険証の写しに添付できるのはPDF、JPEG、PNGのファイルです（「申請書.pdf」は対応していない形式です）。"
    ]
    assert store.calls == []


def test_accept_limits_the_kinds():
    field = {**FILE, "accept": ["pdf"]}
    result, _ = run(field, [Upload("photo.png", png_bytes())])
    assert [e.message for e in result.errors] == [
        "保険証の写しに添付できるのはPDFのファイルです（「photo.png」は対応していない形式です）。"
    ]


def test_size_limit():
    field = {**FILE, "max_size_mb": 1}
    big = pdf_bytes() + b"0" * (1024 * 1024)
    result, store = run(field, [Upload("C:\\Users\\taro\\big.pdf", big)])
    assert [e.message for e in result.errors] == [
        "「big.pdf」は1MBを超えています。1MB以下のファイルを添付してください。"
    ]
    assert store.calls == []


def test_empty_file():
    result, _ = run(FILE, [Upload("empty.pdf", b"")])
    assert [e.message for e in result.errors] == [
        "「empty.pdf」は空のファイルです。内容のあるファイルを添付してください。"
    ]


def test_count_limit_includes_kept_files():
    kept = {
        "attachment": "old1",
        "name": "old.pdf",
        "content_type": "application/pdf",
        "size": 10,
        "sha256": "x",
    }
    field = {**FILE, "max_files": 2}
    result, store = run(
        field,
        [Upload("a.pdf", pdf_bytes()), Upload("b.pdf", pdf_bytes())],
        raw={"doc__keep": ["old1"]},
        answers={"doc": [kept]},
    )
    assert [e.message for e in result.errors] == [
        "保険証の写しは2件まで添付できます（現在3件）。不要なファイルを外してください。"
    ]
    assert store.calls == []


def test_required_file():
    result, _ = run(FILE, [])
    assert [e.message for e in result.errors] == ["保険証の写しを添付してください。"]


def test_kept_files_only_if_known():
    kept = {
        "attachment": "old1",
        "name": "old.pdf",
        "content_type": "application/pdf",
        "size": 10,
        "sha256": "x",
    }
    result, _ = run(FILE, [], raw={"doc__keep": ["old1"]}, answers={"doc": [kept]})
    assert result.ok and result.answers["doc"] == [kept]
    # an attachment id of someone else's application is ignored
    result, _ = run(FILE, [], raw={"doc__keep": ["stolen"]}, answers={})
    assert [e.message for e in result.errors] == ["保険証の写しを添付してください。"]
    result, _ = run(
        FILE, [], raw={"doc__keep": ["k9"]}, known_files={"k9": {**kept, "attachment": "k9"}}
    )
    assert result.ok


def test_unchecking_a_kept_file_removes_it():
    kept = {
        "attachment": "old1",
        "name": "old.pdf",
        "content_type": "application/pdf",
        "size": 10,
        "sha256": "x",
    }
    result, _ = run({**FILE, "required": False}, [], raw={}, answers={"doc": [kept]})
    assert result.ok and "doc" not in result.answers
