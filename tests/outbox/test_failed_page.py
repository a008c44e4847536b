"""送信状況 (/staff/outbox/): a 管理者 sees the messages that failed for good, of their own
municipalities only, with a notice on the staff home page, and starts them all again with
one POST (CSRF-checked, recorded in the admin's change history)."""

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.core import mail
from django.test import Client

from madoguchi.outbox import delivery
from madoguchi.outbox.models import OutboxMessage
from tests.conftest import login_with_2fa, make_staff

pytestmark = pytest.mark.django_db

NOTICE = "送信に失敗したメッセージが2件あります（再試行をすべて終えました）。"


def failed(municipality, subject, error="応答がありませんでした（タイムアウト）。"):
    return OutboxMessage.objects.create(
        municipality=municipality,
        kind=OutboxMessage.Kind.EMAIL,
        payload={"to": ["a@example.jp"], "subject": subject, "body": "本文"},
        state=OutboxMessage.State.FAILED,
        attempts=delivery.MAX_ATTEMPTS,
        last_error=error,
        reference=f"test:{subject}",
    )


@pytest.fixture
def messages(municipality, other_municipality):
    own = [failed(municipality, "一通目"), failed(municipality, "二通目")]
    other = failed(other_municipality, "他団体")
    sent = OutboxMessage.objects.create(
        municipality=municipality,
        kind=OutboxMessage.Kind.EMAIL,
        payload={"to": ["a@example.jp"], "subject": "送信済み", "body": "本文"},
        state=OutboxMessage.State.SENT,
    )
    return own, other, sent


def test_the_admin_home_page_tells_of_failed_messages(municipality, messages):
    admin = login_with_2fa(Client(), make_staff("kanri", municipality, role="admin"))
    page = admin.get("/staff/").content.decode()
    assert NOTICE in page and 'href="/staff/outbox/"' in page

    handler = login_with_2fa(Client(), make_staff("tanto", municipality, "kodomo"))
    page = handler.get("/staff/").content.decode()
    assert "送信に失敗したメッセージ" not in page
    assert handler.get("/staff/outbox/").status_code == 404
    assert handler.post("/staff/outbox/resend/").status_code == 404


def test_no_notice_without_failed_messages(municipality):
    admin = login_with_2fa(Client(), make_staff("kanri", municipality, role="admin"))
    assert "送信に失敗したメッセージ" not in admin.get("/staff/").content.decode()
    page = admin.get("/staff/outbox/").content.decode()
    assert "送信に失敗したメッセージはありません。" in page
    assert "outbox-resend-all" not in page


def test_the_list_shows_own_failed_messages_without_their_content(municipality, messages):
    own, other, sent = messages
    admin = login_with_2fa(Client(), make_staff("kanri", municipality, role="admin"))
    page = admin.get("/staff/outbox/").content.decode()
    assert "test:一通目" in page and "test:二通目" in page
    assert "test:他団体" not in page and "送信済み" not in page
    assert "応答がありませんでした（タイムアウト）。" in page
    assert "a@example.jp" not in page  # no personal data of the message
    assert "すべて再送（2件）" in page


def test_resend_all_starts_them_again_and_is_recorded(
    municipality, messages, django_capture_on_commit_callbacks
):
    own, other, sent = messages
    user = make_staff("kanri", municipality, role="admin")
    admin = login_with_2fa(Client(), user)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post("/staff/outbox/resend/")
    assert response.status_code == 302 and response["Location"] == "/staff/outbox/"
    for message in own:
        message.refresh_from_db()
        assert message.state == OutboxMessage.State.SENT
    assert sorted(m.subject for m in mail.outbox) == ["一通目", "二通目"]
    other.refresh_from_db()
    assert other.state == OutboxMessage.State.FAILED  # another municipality's: untouched
    entries = LogEntry.objects.filter(user=user, action_flag=CHANGE)
    assert sorted(int(e.object_id) for e in entries) == sorted(m.pk for m in own)
    assert {e.change_message for e in entries} == {"再送（送信待ちに戻しました）"}
    page = admin.get("/staff/outbox/").content.decode()
    assert "送信に失敗していた2件を再送します。" in page
    assert "送信に失敗したメッセージはありません。" in page


def test_resend_needs_post_and_the_csrf_token(municipality, messages):
    user = make_staff("kanri", municipality, role="admin")
    admin = login_with_2fa(Client(enforce_csrf_checks=True), user)
    assert admin.get("/staff/outbox/resend/").status_code == 405
    assert admin.post("/staff/outbox/resend/").status_code == 403
    assert OutboxMessage.objects.filter(state=OutboxMessage.State.FAILED).count() == 3
