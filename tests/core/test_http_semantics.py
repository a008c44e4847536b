"""Every response carrying personal data is `Cache-Control: no-store` (the default for any
view that does not allow caching itself), and HEAD is answered wherever GET is."""

import pytest
from django.test import Client

from madoguchi.applications import services
from madoguchi.exports.models import ExportJob
from tests.api.conftest import ANSWERS, http, make_client, make_procedure
from tests.conftest import login_with_2fa, make_staff


@pytest.fixture
def world(municipality, django_capture_on_commit_callbacks, settings):
    """A submitted application with an attachment, its resident token, a logged-in 管理者,
    a finished export and an API client."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MADOGUCHI_JOBS_INLINE = True
    procedure = make_procedure(municipality)
    application, draft_token = services.start_draft(procedure)
    upload = SimpleUploadedFile("住民票.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    attachment = services.store_attachment(
        application, "document", upload, content_type="application/pdf"
    )
    services.save_step(
        application,
        "applicant",
        raw={},
        answers={**ANSWERS, "document": [attachment]},
        completed=True,
        step_index=0,
    )
    token = services.submit(application, base_url="http://testserver")
    application.refresh_from_db()
    admin = make_staff("admin1", municipality, role="admin")
    staff = login_with_2fa(Client(), admin)
    department = procedure.departments.first()
    with django_capture_on_commit_callbacks(execute=True):
        staff.post("/staff/exports/new/", {"department": department.pk, "format": "csv"})
    job = ExportJob.objects.latest("pk")
    uid = attachment["attachment"]
    lg = municipality.lg_code
    return {
        "staff": staff,
        "api": http(make_client(municipality)),
        "resident": Client(),
        "staff_urls": [
            "/staff/all/",
            f"/staff/d/{department.pk}/",
            f"/staff/applications/{application.pk}/",
            f"/staff/applications/{application.pk}/print/",
            f"/staff/applications/{application.pk}/attachments/{uid}/",
            f"/staff/applications/{application.pk}/attachments/{uid}/preview/",
            "/staff/exports/",
            f"/staff/exports/{job.pk}/",
            f"/staff/exports/{job.pk}/download/",
            "/staff/audit/",
            "/staff/audit/download/",
            "/staff/analytics/",
            "/staff/account/members/",
        ],
        "api_urls": [
            "/api/v1/applications",
            f"/api/v1/applications/{application.receipt_number}",
            f"/api/v1/applications/{application.receipt_number}/attachments/{uid}",
        ],
        "resident_urls": [
            f"/{lg}/status/{token}/",
            f"/{lg}/status/{token}/receipt.pdf",
            f"/{lg}/receipt/{token}/",
            f"/{lg}/status/{token}/withdraw/",
        ],
    }


def _read(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.django_db
def test_every_personal_data_response_is_no_store(world):
    for who, key in (("staff", "staff_urls"), ("api", "api_urls"), ("resident", "resident_urls")):
        for url in world[key]:
            response = world[who].get(url)
            assert response.status_code == 200, (url, response.status_code)
            _read(response)
            assert "no-store" in response["Cache-Control"], (url, response["Cache-Control"])


@pytest.mark.django_db
def test_head_is_answered_wherever_get_is(world):
    for who, key in (("staff", "staff_urls"), ("api", "api_urls"), ("resident", "resident_urls")):
        for url in world[key]:
            get = world[who].get(url)
            get_body = _read(get)
            head = world[who].head(url)
            assert head.status_code == 200, (url, head.status_code)
            assert _read(head) == b"", url
            assert head["Content-Type"] == get["Content-Type"], url
            if not get.streaming:
                assert head["Content-Length"] == str(len(get_body)), url


@pytest.mark.django_db
def test_public_pages_answer_head_too(municipality):
    client = Client()
    for url in (f"/{municipality.lg_code}/", f"/{municipality.lg_code}/procedures/"):
        get = client.get(url)
        head = client.head(url)
        assert get.status_code == head.status_code == 200, url
        assert head.content == b""


def test_the_middleware_that_gives_both_is_installed_before_any_view_middleware():
    from django.conf import settings

    middleware = settings.MIDDLEWARE
    position = middleware.index("madoguchi.core.middleware.HttpSemanticsMiddleware")
    assert position < middleware.index("django.middleware.csrf.CsrfViewMiddleware")
