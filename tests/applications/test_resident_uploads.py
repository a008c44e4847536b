"""Anonymous residents cannot fill the disk or the mail queue: uploads replaced or removed
before submission are deleted, uploads and confirmation mails have hourly quotas (per draft
or address, and per client address) with a message that keeps what was typed, and staff and
API clients never see a file that was not part of a submitted version."""

import datetime as dt
import os
import subprocess
import sys

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from madoguchi.applications import services
from madoguchi.applications.models import Attachment
from madoguchi.channels import attachment_sweep
from madoguchi.core import ratelimit
from tests.api.conftest import ANSWERS, http, make_client, make_procedure
from tests.conftest import login_with_2fa, make_staff

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
APPLICANT = {
    "applicant_name__family": "山田",
    "applicant_name__given": "花子",
    "applicant_name__family_kana": "ヤマダ",
    "applicant_name__given_kana": "ハナコ",
    "email": "hanako@example.jp",
}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def pdf(name="住民票.pdf", extra=b""):
    return SimpleUploadedFile(name, PDF + extra, content_type="application/pdf")


def post_step(client, procedure, token, data, **extra):
    return client.post(f"/{procedure.municipality.lg_code}/apply/{token}/applicant/", data, **extra)


@pytest.fixture
def procedure(municipality):
    return make_procedure(municipality)


@pytest.mark.django_db
def test_a_replaced_upload_is_deleted_with_its_file(
    client, procedure, django_capture_on_commit_callbacks
):
    application, token = services.start_draft(procedure)
    post_step(client, procedure, token, {**APPLICANT, "document": pdf("a.pdf"), "_action": "next"})
    first = application.attachments.get()
    path = first.file.path
    assert os.path.exists(path)
    # The resident goes back, takes the file off and attaches another.
    with django_capture_on_commit_callbacks(execute=True):
        response = post_step(
            client,
            procedure,
            token,
            {**APPLICANT, "document": pdf("b.pdf", b"b"), "_action": "next"},
        )
    assert response.status_code == 302
    assert list(application.attachments.values_list("original_name", flat=True)) == ["b.pdf"]
    assert not os.path.exists(path)


@pytest.mark.django_db
def test_an_upload_kept_across_an_error_is_not_deleted(client, procedure):
    application, token = services.start_draft(procedure)
    response = post_step(
        client, procedure, token, {**APPLICANT, "email": "", "document": pdf(), "_action": "next"}
    )
    assert response.status_code == 200  # the e-mail is required
    kept = application.attachments.get()
    response = post_step(
        client, procedure, token, {**APPLICANT, "document__keep": kept.uid, "_action": "next"}
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.answers["document"][0]["attachment"] == kept.uid
    assert Attachment.objects.filter(pk=kept.pk).exists()


@pytest.mark.django_db
def test_upload_quota_per_draft_keeps_what_was_typed(client, procedure, settings):
    settings.ATTACHMENT_QUOTA_FILES_PER_DRAFT = 2
    application, token = services.start_draft(procedure)
    for i in range(2):
        post_step(client, procedure, token, {**APPLICANT, "document": pdf(f"{i}.pdf", bytes([i]))})
    response = post_step(
        client,
        procedure,
        token,
        {**APPLICANT, "applicant_name__given": "花子さん", "document": pdf("x.pdf", b"x")},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert (
        "短い時間に送られたファイルが多すぎるため、このファイルは受け付けられませんでした。" in body
    )
    assert 'value="花子さん"' in body  # what was typed is still there
    application.refresh_from_db()
    assert application.draft_values["applicant"]["applicant_name__given"] == "花子さん"
    assert application.attachments.count() == 1  # the last accepted one; replaced ones deleted


@pytest.mark.django_db
def test_upload_quota_in_bytes_per_client_address(procedure, settings):
    settings.ATTACHMENT_QUOTA_BYTES_PER_CLIENT = len(PDF) * 2 + 1
    client = Client(REMOTE_ADDR="203.0.113.9")
    for i in range(2):
        _application, token = services.start_draft(procedure)
        response = post_step(client, procedure, token, {**APPLICANT, "document": pdf()})
        assert response.status_code == 302, i
    _application, token = services.start_draft(procedure)
    response = post_step(client, procedure, token, {**APPLICANT, "document": pdf()})
    assert "このファイルは受け付けられませんでした" in response.content.decode()
    other = Client(REMOTE_ADDR="203.0.113.10")
    assert post_step(other, procedure, token, {**APPLICANT, "document": pdf()}).status_code == 302


def _submitted_with_a_stray_upload(procedure):
    application, token = services.start_draft(procedure)
    kept = services.store_attachment(application, "document", pdf(), content_type="application/pdf")
    stray = services.store_attachment(
        application, "document", pdf("stray.pdf", b"s"), content_type="application/pdf"
    )
    services.save_step(
        application,
        "applicant",
        raw={},
        answers={**ANSWERS, "document": [kept]},
        completed=True,
        step_index=0,
    )
    services.submit(application, base_url="http://testserver")
    application.refresh_from_db()
    return application, kept["attachment"], stray["attachment"]


@pytest.mark.django_db
def test_staff_and_api_never_see_a_file_that_was_never_submitted(procedure, municipality):
    application, kept, stray = _submitted_with_a_stray_upload(procedure)
    staff = login_with_2fa(Client(), make_staff("admin1", municipality, role="admin"))
    body = staff.get(f"/staff/applications/{application.pk}/").content.decode()
    assert "stray.pdf" not in body
    assert "過去の版の添付" not in body
    assert staff.get(f"/staff/applications/{application.pk}/attachments/{kept}/").status_code == 200
    for url in (
        f"/staff/applications/{application.pk}/attachments/{stray}/",
        f"/staff/applications/{application.pk}/attachments/{stray}/preview/",
    ):
        assert staff.get(url).status_code == 404
    api = http(make_client(municipality))
    detail = api.get(f"/api/v1/applications/{application.receipt_number}").json()
    assert [a["uid"] for a in detail["attachments"]] == [kept]
    url = f"/api/v1/applications/{application.receipt_number}/attachments/{stray}"
    assert api.get(url).status_code == 404


@pytest.mark.django_db
def test_the_orphan_sweep_deletes_uploads_no_draft_refers_to(
    procedure, django_capture_on_commit_callbacks
):
    application, _token = services.start_draft(procedure)
    stray = services.store_attachment(
        application, "document", pdf(), content_type="application/pdf"
    )
    path = Attachment.objects.get(uid=stray["attachment"]).file.path
    Attachment.objects.filter(uid=stray["attachment"]).update(
        uploaded_at=timezone.now() - dt.timedelta(days=2)
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = attachment_sweep.sweep()
    assert result.unreferenced == 1
    assert "入力中の申請で参照されない添付の削除 1件" in result.summary()
    assert not Attachment.objects.filter(uid=stray["attachment"]).exists()
    assert not os.path.exists(path)


# -- confirmation mails ------------------------------------------------------------------------


@pytest.fixture
def email_procedure(procedure):
    procedure.identity_level = "email"
    procedure.save(update_fields=["identity_level"])
    return procedure


def start_with(client, procedure, email):
    return client.post(
        f"/{procedure.municipality.lg_code}/procedures/{procedure.slug}/start/", {"email": email}
    )


MAIL_LIMIT = "短い時間にメールの送信が続いたため、いまはメールを送れません。"


@pytest.mark.django_db
def test_mails_to_one_address_are_limited(email_procedure, settings):
    from madoguchi.outbox.models import OutboxMessage

    settings.MAIL_LIMIT_PER_ADDRESS = 3
    before = OutboxMessage.objects.count()
    for i in range(3):
        client = Client(REMOTE_ADDR=f"198.51.100.{i}")
        assert start_with(client, email_procedure, "victim@example.jp").status_code == 302
    response = start_with(Client(REMOTE_ADDR="198.51.100.99"), email_procedure, "Victim@example.jp")
    assert response.status_code == 429
    body = response.content.decode()
    assert MAIL_LIMIT in body
    assert 'value="Victim@example.jp"' in body
    assert OutboxMessage.objects.count() == before + 3


@pytest.mark.django_db
def test_mails_from_one_client_address_are_limited(email_procedure, settings):
    settings.MAIL_LIMIT_PER_CLIENT = 2
    client = Client(REMOTE_ADDR="198.51.100.7")
    for i in range(2):
        assert start_with(client, email_procedure, f"a{i}@example.jp").status_code == 302
    response = start_with(client, email_procedure, "a9@example.jp")
    assert response.status_code == 429
    assert MAIL_LIMIT in response.content.decode()


@pytest.mark.django_db
def test_resume_link_mails_are_limited(procedure, settings):
    settings.MAIL_LIMIT_PER_ADDRESS = 1
    client = Client()
    responses = []
    for _i in range(2):
        _application, token = services.start_draft(procedure)
        url = f"/{procedure.municipality.lg_code}/apply/{token}/save/"
        responses.append(client.post(url, {"email": "hanako@example.jp"}))
    assert responses[0].status_code == 302
    assert responses[1].status_code == 429
    assert MAIL_LIMIT in responses[1].content.decode()


REDIS_CACHE = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/8",
        "KEY_PREFIX": "madoguchi-test-boundary",
    }
}


def test_limits_hold_across_processes_in_the_shared_cache(settings):
    """Production counts in Redis: what one process took, another sees."""
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/8", socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip("no Redis at 127.0.0.1:6379")
    settings.CACHES = REDIS_CACHE
    from django.core.cache import caches

    key = f"shared-{os.getpid()}-{timezone.now().timestamp()}"
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE','madoguchi.settings');"
        "django.setup();"
        "from django.conf import settings;"
        f"settings.CACHES = {REDIS_CACHE!r};"
        "from madoguchi.core import ratelimit;"
        f"print(all(ratelimit.take('test', {key!r}, limit=3, window=3600) for _ in range(3)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip().endswith("True"), out.stderr
    try:
        assert ratelimit.take("test", key, limit=3, window=3600) is False
    finally:
        caches["default"].clear()
