"""After submitting: receipt, status page, withdrawal, receipt PDF; postal JSON; security headers."""

import base64
import re
import zlib

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from madoguchi.applications.models import Application, ApplicationEvent, Status

from .conftest import SMALL_PDF, html, location, parse_step_url, start
from .test_apply import CLAIMANT, SLUG, next_url, walk_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted(client, chiyoda, django_capture_on_commit_callbacks):
    """A submitted 児童手当 認定請求; returns (application, status_token)."""
    url = walk_to(client, start(client, SLUG), "attachments")
    confirm_url = next_url(
        client,
        url,
        {"insurance_document": SimpleUploadedFile("h.pdf", SMALL_PDF), "privacy_notice": "1"},
    )
    with django_capture_on_commit_callbacks(execute=True):
        receipt_url = location(client.post(confirm_url))
    token = receipt_url.rstrip("/").rsplit("/", 1)[1]
    return Application.objects.get(), token


def test_status_page(client, submitted):
    application, token = submitted
    response = client.get(f"/131016/status/{token}/")
    assert response.status_code == 200
    page = html(response)
    assert f"<title>申請の状況 {application.receipt_number} | " in page
    assert 'id="status">受付<' in page
    assert "申請を受け付けました" in page  # history
    assert "山田" in page and "一郎" in page  # answers summary
    assert CLAIMANT["claimant_individual_number"] not in page
    assert "申請を取り下げる" in page
    assert (
        response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]
    )


def test_status_history_shows_staff_messages_but_not_notes(client, submitted):
    application, token = submitted
    for kind, message in (("message", "書類を確認しました。"), ("note", "内部メモ")):
        ApplicationEvent.objects.create(
            municipality=application.municipality,
            application=application,
            kind=kind,
            actor_type="staff",
            message=message,
        )
    page = html(client.get(f"/131016/status/{token}/"))
    assert "担当課からのお知らせ" in page
    assert "書類を確認しました。" in page
    assert "内部メモ" not in page


def test_withdraw_from_status_page(client, submitted, django_capture_on_commit_callbacks):
    application, token = submitted
    page = html(client.get(f"/131016/status/{token}/withdraw/"))
    assert "この申請を取り下げますか" in page
    assert 'name="reason"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/131016/status/{token}/withdraw/", {"reason": "重複して申請したため"}
        )
    assert location(response) == f"/131016/status/{token}/"
    application.refresh_from_db()
    assert application.status == Status.WITHDRAWN
    page = html(client.get(f"/131016/status/{token}/"))
    assert "申請を取り下げました。" in page
    assert "重複して申請したため" in page
    assert 'id="withdraw-link"' not in page
    assert any("取り下げ" in m.subject for m in mail.outbox)

    # not allowed any more
    response = client.get(f"/131016/status/{token}/withdraw/")
    assert "取り下げできません" in html(response)
    assert 'id="withdraw-button"' not in html(response)
    response = client.post(f"/131016/status/{token}/withdraw/", {"reason": "again"})
    assert response.status_code == 409
    assert "エラー：" in html(response)
    assert ApplicationEvent.objects.filter(application=application, kind="withdrawn").count() == 1


def test_withdraw_not_allowed_after_completion(client, submitted):
    application, token = submitted
    Application.objects.filter(pk=application.pk).update(status=Status.COMPLETED)
    assert 'id="withdraw-link"' not in html(client.get(f"/131016/status/{token}/"))
    response = client.post(f"/131016/status/{token}/withdraw/")
    assert response.status_code == 409
    application.refresh_from_db()
    assert application.status == Status.COMPLETED


def _pdf_text(data: bytes) -> bytes:
    """Every (decompressed) content stream of a PDF, concatenated."""
    out = [data]
    for match in re.finditer(rb"stream\r?\n(.*?)\s*endstream", data, re.S):
        body = match.group(1).strip()
        try:
            if body.endswith(b"~>"):  # reportlab: /Filter [/ASCII85Decode /FlateDecode]
                body = base64.a85decode(
                    body if body.startswith(b"<~") else b"<~" + body, adobe=True
                )
            out.append(zlib.decompress(body))
        except (ValueError, zlib.error):
            continue
    return b"\n".join(out)


def test_receipt_pdf(client, submitted):
    application, token = submitted
    response = client.get(f"/131016/status/{token}/receipt.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert application.receipt_number in response["Content-Disposition"]
    data = response.content
    assert data.startswith(b"%PDF")
    assert len(data) > 2000
    text = _pdf_text(data)
    assert f"({application.receipt_number})".encode() in text
    assert b"+IPAmjMincho" in data  # the embedded subset (tests/portal/test_receipt_glyphs.py)
    import io

    import pypdf

    extracted = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)
    assert application.receipt_number in extracted
    assert CLAIMANT["claimant_individual_number"] not in extracted


def test_receipt_pdf_masks_individual_numbers(client, submitted):
    application, token = submitted
    import io

    import pypdf

    raw = client.get(f"/131016/status/{token}/receipt.pdf").content
    data = _pdf_text(raw)
    number = CLAIMANT["claimant_individual_number"]
    for encoded in (number.encode(), number.encode("utf-16-be")):
        assert encoded not in data
    # The text layer as a reader extracts it (the embedded font's codes are not Unicode).
    extracted = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(raw)).pages)
    assert number not in extracted
    assert number[-4:] in extracted


def test_receipt_pdf_unknown_token(client, chiyoda):
    assert client.get("/131016/status/nonexistentToken0123456789abc/receipt.pdf").status_code == 404


def test_status_token_of_other_municipality_is_not_found(client, submitted, other_municipality):
    _application, token = submitted
    assert client.get(f"/{other_municipality.lg_code}/status/{token}/").status_code == 404


def test_postal_json(client, chiyoda):
    response = client.get("/131016/postal/1000001/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["address"] == "東京都千代田区千代田"
    assert client.get("/131016/postal/100-0001/").json()["address"] == "東京都千代田区千代田"
    response = client.get("/131016/postal/123/")
    assert response.status_code == 400
    assert "7桁" in response.json()["error"]
    response = client.get("/131016/postal/0000000/")
    assert response.status_code == 404
    assert response.json() == {
        "address": None,
        # the message a step sent with this code gets (formengine tests)
        "error": "郵便番号「000-0000」に該当する住所が見つかりません。郵便番号をもう一度ご確認ください。",
    }


PAGES = [
    "/131016/",
    "/131016/procedures/?q=じどう",
    "/131016/procedures/jidou_teate_nintei/",
]


@pytest.mark.parametrize("path", PAGES)
def test_csp_header_and_no_inline_script_or_style(client, chiyoda, path):
    response = client.get(path)
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    _assert_no_inline(html(response))


def _assert_no_inline(page: str) -> None:
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.S)
    assert scripts, "enhance.js should be loaded"
    for attrs, body in scripts:
        assert "src=" in attrs and body.strip() == ""
        assert "defer" in attrs
    assert "<style" not in page
    assert not re.search(r"\sstyle=", page)
    assert not re.search(r"\son[a-z]+=", page)
    assert "javascript:" not in page


def test_no_inline_script_in_form_pages(client, submitted):
    _application, token = submitted
    url = walk_to(client, start(client, SLUG), "children_step")
    step_token, _ = parse_step_url(url)
    for path in (
        url,
        f"/131016/apply/{step_token}/save/",
        f"/131016/status/{token}/",
        f"/131016/receipt/{token}/",
        f"/131016/status/{token}/withdraw/",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Content-Security-Policy" in response
        _assert_no_inline(html(response))
