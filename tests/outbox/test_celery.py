"""Celery wiring of the outbox: eager in the embedded default, a periodic sweep for workers.
The real worker on Redis is exercised by tools/run-celery-tests.sh."""

import pytest
from django.core import mail

from madoguchi.celery import app
from madoguchi.outbox import delivery, tasks
from madoguchi.outbox.models import OutboxMessage


def test_sweep_is_scheduled_every_minute():
    entry = app.conf.beat_schedule["outbox-deliver-due"]
    assert entry["task"] == tasks.deliver_due.name == "outbox.deliver_due"
    assert entry["schedule"] == 60.0
    assert tasks.deliver_message.name == "outbox.deliver_message"
    assert app.conf.task_acks_late is True


def test_embedded_default_runs_tasks_inline(settings):
    assert not settings.REDIS_URL or settings.CELERY_TASK_ALWAYS_EAGER is False
    if not settings.REDIS_URL:
        assert app.conf.task_always_eager is True


@pytest.mark.django_db
def test_broker_down_leaves_the_message_for_the_sweep(
    monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionError("redis unreachable")

    monkeypatch.setattr(tasks.deliver_message, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        delivery.enqueue_email(to=["a@example.jp"], subject="件名", body="本文")
    message = OutboxMessage.objects.get()
    assert (message.state, message.attempts) == (OutboxMessage.State.PENDING, 0)
    assert mail.outbox == []
    monkeypatch.undo()
    assert tasks.deliver_due.delay().get() == (1, 0)  # what beat sends every minute
    assert OutboxMessage.objects.get().state == OutboxMessage.State.SENT
    assert [m.subject for m in mail.outbox] == ["件名"]


@pytest.mark.django_db
def test_a_message_delivered_twice_is_sent_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = delivery.enqueue_email(to=["a@example.jp"], subject="件名", body="本文")
    assert tasks.deliver_message.delay(message.pk).get() is False  # already sent
    assert len(mail.outbox) == 1
