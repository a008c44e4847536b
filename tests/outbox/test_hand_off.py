"""Several messages written by one transaction (the マイナポータル bulk intake) are handed to
the worker in one task, in order; a failed message can be started again from the admin."""

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from madoguchi.outbox import delivery, tasks
from madoguchi.outbox.models import OutboxMessage
from tests.conftest import login_with_2fa

pytestmark = pytest.mark.django_db


def _emails(*subjects):
    return [
        OutboxMessage.objects.create(
            kind=OutboxMessage.Kind.EMAIL,
            payload={"to": ["a@example.jp"], "subject": s, "body": "本文"},
        )
        for s in subjects
    ]


def test_one_task_delivers_the_messages_in_the_order_given():
    first, second = _emails("一通目", "二通目")
    delivery.hand_off([first.pk, second.pk])
    assert [m.subject for m in mail.outbox] == ["一通目", "二通目"]
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {"sent"}
    assert tasks.deliver_messages.name == "outbox.deliver_messages"


def test_broker_down_leaves_the_messages_for_the_sweep(monkeypatch):
    (message,) = _emails("件名")

    def broker_down(*args, **kwargs):
        raise ConnectionError("redis unreachable")

    monkeypatch.setattr(tasks.deliver_messages, "delay", broker_down)
    delivery.hand_off([message.pk])
    message.refresh_from_db()
    assert (message.state, message.attempts, mail.outbox) == ("pending", 0, [])
    monkeypatch.undo()
    assert delivery.deliver_due() == (1, 0)


def test_the_admin_starts_a_failed_message_again(django_capture_on_commit_callbacks):
    (message,) = _emails("件名")
    OutboxMessage.objects.filter(pk=message.pk).update(
        state=OutboxMessage.State.FAILED, attempts=delivery.MAX_ATTEMPTS, last_error="Timeout"
    )
    admin = get_user_model().objects.create_superuser("root", "root@example.jp", "x" * 16)
    client = login_with_2fa(Client(), admin)
    page = client.get("/admin/outbox/outboxmessage/").content.decode()
    assert "Timeout" in page  # the error is shown in the list
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/outbox/outboxmessage/",
            {"action": "retry", "_selected_action": [message.pk]},
            follow=True,
        )
    assert "1件を再送の対象にしました。" in response.content.decode()
    message.refresh_from_db()
    assert (message.state, message.attempts) == ("sent", 1)
    assert [m.subject for m in mail.outbox] == ["件名"]


def test_a_municipal_admin_sees_and_resends_only_their_own_messages(
    municipality, other_municipality, django_capture_on_commit_callbacks
):
    """Tenant isolation on the outbox admin: a 管理者 of one municipality sees that
    municipality's messages (with their errors), never another's nor platform mail, and cannot
    add, edit or delete a message."""
    from tests.conftest import make_staff

    own, other, platform = _emails("自分の市", "他の市", "基盤")
    OutboxMessage.objects.filter(pk=own.pk).update(
        municipality=municipality, state="failed", last_error="自分の市のエラー"
    )
    OutboxMessage.objects.filter(pk=other.pk).update(
        municipality=other_municipality, state="failed", last_error="他の市のエラー"
    )
    OutboxMessage.objects.filter(pk=platform.pk).update(state="failed", last_error="基盤のエラー")
    user = make_staff("kanri", municipality, role="admin")
    user.is_staff = True
    user.save()
    client = login_with_2fa(Client(), user)

    page = client.get("/admin/outbox/outboxmessage/").content.decode()
    assert "自分の市のエラー" in page
    assert "他の市のエラー" not in page and "基盤のエラー" not in page
    assert client.get(f"/admin/outbox/outboxmessage/{other.pk}/change/").status_code == 302
    assert client.get(f"/admin/outbox/outboxmessage/{own.pk}/change/").status_code == 200
    assert client.get("/admin/outbox/outboxmessage/add/").status_code == 403
    assert client.get(f"/admin/outbox/outboxmessage/{own.pk}/delete/").status_code == 403

    # Selecting another municipality's message by id does nothing to it.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/outbox/outboxmessage/",
            {"action": "retry", "_selected_action": [own.pk, other.pk, platform.pk]},
            follow=True,
        )
    assert "1件を再送の対象にしました。" in response.content.decode()
    states = dict(OutboxMessage.objects.values_list("pk", "state"))
    assert (states[own.pk], states[other.pk], states[platform.pk]) == ("sent", "failed", "failed")


def test_staff_without_the_admin_role_cannot_open_the_outbox(municipality):
    from tests.conftest import make_staff

    user = make_staff("tanto", municipality, role="handler")
    user.is_staff = True
    user.save()
    client = login_with_2fa(Client(), user)
    assert client.get("/admin/outbox/outboxmessage/").status_code == 403
