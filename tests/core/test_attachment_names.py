"""Attachments download under the extension of the type detected from their content, never
the one in the applicant's file name."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from madoguchi.applications import services
from madoguchi.core.filenames import download_name
from tests.api.conftest import http, make_client, make_procedure
from tests.conftest import login_with_2fa, make_staff

# A PDF that is also an HTML page with a script (a polyglot).
POLYGLOT = (
    b"%PDF-1.4\n<html><body><script>alert(document.domain)</script></body></html>\n"
    b"1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("evil.html", "application/pdf", "evil.pdf"),
        ("住民票.PDF", "application/pdf", "住民票.pdf"),
        ("photo.jpeg.exe", "image/jpeg", "photo.jpeg.jpg"),
        ("noext", "image/png", "noext.png"),
        ("..\\..\\x.svg", "image/svg+xml", "x.bin"),
        ("page.htm", "text/html", "page.bin"),
        ("", "application/pdf", "file.pdf"),
        ("a.pdf", "", "a.bin"),
    ],
)
def test_download_name(name, content_type, expected):
    assert download_name(name, content_type) == expected


@pytest.mark.django_db
def test_a_polyglot_uploaded_as_html_downloads_as_pdf(client, municipality):
    procedure = make_procedure(municipality)
    application, token = services.start_draft(procedure)
    response = client.post(
        f"/{municipality.lg_code}/apply/{token}/applicant/",
        {
            "applicant_name__family": "山田",
            "applicant_name__given": "花子",
            "applicant_name__family_kana": "ヤマダ",
            "applicant_name__given_kana": "ハナコ",
            "email": "hanako@example.jp",
            "document": SimpleUploadedFile("evil.html", POLYGLOT, content_type="text/html"),
            "_action": "next",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    attachment = application.attachments.get()
    assert attachment.content_type == "application/pdf"
    services.submit(application, base_url="http://testserver")
    application.refresh_from_db()

    staff = login_with_2fa(Client(), make_staff("admin1", municipality, role="admin"))
    for url in (
        f"/staff/applications/{application.pk}/attachments/{attachment.uid}/",
        f"/staff/applications/{application.pk}/attachments/{attachment.uid}/preview/",
    ):
        response = staff.get(url)
        assert response.status_code == 200, url
        assert "evil.pdf" in response["Content-Disposition"], url
        assert ".html" not in response["Content-Disposition"], url
    api = http(make_client(municipality))
    response = api.get(
        f"/api/v1/applications/{application.receipt_number}/attachments/{attachment.uid}"
    )
    assert response.status_code == 200
    assert 'filename="evil.pdf"' in response["Content-Disposition"]
