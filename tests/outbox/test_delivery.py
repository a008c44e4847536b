import datetime

import pytest
from django.core import mail
from django.utils import timezone

from madoguchi.outbox import delivery
from madoguchi.outbox.models import OutboxMessage


class FailingBackend:
    """A mail backend that is down (connection refused), as a real SMTP outage looks."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")


@pytest.mark.django_db
def test_message_is_delivered_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        delivery.enqueue_email(to=["a@example.jp"], subject="件名", body="本文")
    assert [m.subject for m in mail.outbox] == ["件名"]
    assert OutboxMessage.objects.get().state == OutboxMessage.State.SENT


@pytest.mark.django_db
def test_message_survives_a_mail_outage_and_is_retried(
    settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.outbox.test_delivery.FailingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        delivery.enqueue_email(to=["a@example.jp"], subject="件名", body="本文")
    message = OutboxMessage.objects.get()
    assert message.state == OutboxMessage.State.PENDING
    assert message.attempts == 1
    assert message.last_error.startswith("ConnectionRefusedError")
    assert message.next_attempt_at > timezone.now()

    # Nothing is due yet; once the backoff has passed and the server is back, it goes out.
    assert delivery.deliver_due() == (0, 0)
    OutboxMessage.objects.update(next_attempt_at=timezone.now() - datetime.timedelta(seconds=1))
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert delivery.deliver_due() == (1, 0)
    assert OutboxMessage.objects.get().state == OutboxMessage.State.SENT
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_every_attempt_of_a_message_carries_the_same_message_id(settings):
    """A retried message (the first attempt may have reached the mail server before the
    worker died) keeps its Message-ID, so the receiver can tell it is the same message."""
    settings.PUBLIC_BASE_URL = "https://madoguchi.example.lg.jp"
    message = delivery.enqueue(
        OutboxMessage.Kind.EMAIL, {"to": ["a@example.jp"], "subject": "件名", "body": "本文"}
    )
    delivery.deliver(message.pk)
    OutboxMessage.objects.filter(pk=message.pk).update(state=OutboxMessage.State.PENDING)
    delivery.deliver(message.pk)
    ids = [m.extra_headers["Message-ID"] for m in mail.outbox]
    stamp = int(message.created_at.timestamp())
    assert ids == [f"<outbox-{message.pk}.{stamp}@madoguchi.example.lg.jp>"] * 2


@pytest.mark.django_db
def test_message_is_marked_failed_after_max_attempts(settings):
    settings.EMAIL_BACKEND = "tests.outbox.test_delivery.FailingBackend"
    message = OutboxMessage.objects.create(
        kind=OutboxMessage.Kind.EMAIL,
        payload={"to": ["a@example.jp"], "subject": "s", "body": "b"},
        attempts=delivery.MAX_ATTEMPTS - 1,
    )
    assert delivery.deliver(message.pk) is False
    message.refresh_from_db()
    assert message.state == OutboxMessage.State.FAILED


@pytest.mark.django_db
def test_rolled_back_change_sends_nothing(django_capture_on_commit_callbacks):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                delivery.enqueue_email(to=["a@example.jp"], subject="s", body="b")
                raise RuntimeError("the status change failed")
        except RuntimeError:
            pass
    assert OutboxMessage.objects.count() == 0
    assert mail.outbox == []


def test_backoff_grows_and_is_capped():
    delays = [delivery.backoff(n).total_seconds() for n in range(1, 12)]
    assert delays[:4] == [60, 120, 240, 480]
    assert max(delays) == 6 * 3600
