"""Identity level "email": the form is reached only through a link mailed to the resident."""

import base64
import contextlib
import re
import zlib

import pytest
from django.conf import settings

from madoguchi.applications.models import Application, ApplicationEvent
from madoguchi.outbox.models import OutboxMessage

from .conftest import html, location

START = "/131016/procedures/jidou_teate_nintei/start/"


@pytest.mark.django_db
def test_start_asks_for_an_email_address_first(client, chiyoda):
    page = html(client.post(START))
    assert "メールアドレスの確認" in page
    assert 'name="email"' in page
    assert Application.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "メールアドレスを入力してください。"),
        ("hanako@", "メールアドレスを正しく入力してください（例：taro@example.jp）。"),
    ],
)
def test_bad_address_is_refused_with_the_exact_message_and_kept(client, chiyoda, typed, message):
    response = client.post(START, {"email": typed})
    page = html(response)
    assert response.status_code == 200
    assert f'<a href="#f-email">{message}</a>' in page
    assert f"エラー：{message}" in page
    assert f'value="{typed}"' in page
    assert Application.objects.count() == 0


@pytest.mark.django_db
def test_mailed_link_verifies_the_address_and_opens_the_form(client, chiyoda):
    response = client.post(START, {"email": "hanako@example.jp"})
    assert location(response) == "/131016/apply/check-email/"
    # No server session for an anonymous resident: the page is told in a cookie for it alone.
    assert settings.SESSION_COOKIE_NAME not in client.cookies
    assert client.cookies["madoguchi_portal_note"]["path"] == "/131016/apply/check-email/"
    sent_page = html(client.get("/131016/apply/check-email/"))
    assert "hanako@example.jp に送りました" in sent_page
    # Read once: the page again says it without the address.
    again = html(client.get("/131016/apply/check-email/"))
    assert "hanako@example.jp" not in again
    assert "申請の入力を始めるためのリンクをメールで送りました。" in again

    message = OutboxMessage.objects.get()
    assert message.payload["to"] == ["hanako@example.jp"]
    link = re.search(r"http://testserver(/\S+)", message.payload["body"]).group(1)
    application = Application.objects.get()
    assert not application.email_is_verified

    first_step = location(client.get(link))
    assert first_step.startswith(link)
    application.refresh_from_db()
    assert application.email_is_verified
    assert application.events.filter(kind=ApplicationEvent.Kind.EMAIL_VERIFIED).count() == 1
    assert "メールアドレスを確認しました。" in html(client.get(first_step))


@pytest.mark.django_db
def test_procedure_without_identity_check_starts_at_once(client, chiyoda):
    response = client.post("/131016/procedures/sodai_gomi/start/")
    assert re.match(r"^/131016/apply/[\w-]+/[a-z_]+/$", location(response))
    assert OutboxMessage.objects.count() == 0


@pytest.mark.django_db
def test_the_sent_pages_cookie_does_not_show_the_address_and_an_altered_one_is_ignored(
    client, chiyoda
):
    client.post(START, {"email": "hanako@example.jp"})
    value = client.cookies["madoguchi_portal_note"].value
    assert "hanako" not in _every_reading(value)

    client.cookies["madoguchi_portal_note"] = value[:-6] + (
        "A" * 6 if value[-6:] != "A" * 6 else "B" * 6
    )
    page = html(client.get("/131016/apply/check-email/"))
    assert "hanako@example.jp" not in page
    assert "申請の入力を始めるためのリンクをメールで送りました。" in page


def _every_reading(cookie: str) -> str:
    """The cookie as text, with each of its parts base64-decoded and, where it is
    compressed, decompressed (what anyone with the browser's cookie store can read)."""
    readings = [cookie]
    for part in cookie.replace(":", ".").split("."):
        try:
            decoded = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except ValueError:
            continue
        readings.append(decoded.decode("utf-8", "replace"))
        with contextlib.suppress(zlib.error):
            readings.append(zlib.decompress(decoded).decode("utf-8", "replace"))
    return "\n".join(readings)
