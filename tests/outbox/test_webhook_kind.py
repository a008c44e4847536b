"""The outbox dispatches by kind through one registry; the webhooks app registers `webhook`."""

import pytest

from madoguchi.outbox import delivery
from madoguchi.outbox.models import OutboxMessage


@pytest.fixture
def webhook_handler_restored():
    saved = delivery.handler_for(OutboxMessage.Kind.WEBHOOK)
    yield
    delivery._HANDLERS[OutboxMessage.Kind.WEBHOOK] = saved


def test_webhook_kind_is_registered_by_the_webhooks_app():
    from madoguchi.webhooks import sending

    assert OutboxMessage.Kind.WEBHOOK == "webhook"
    handler = delivery.handler_for(OutboxMessage.Kind.WEBHOOK)
    assert handler.send is sending.send
    assert handler.on_success is sending.on_success
    assert handler.on_failure is sending.on_failure
    assert delivery.handler_for(OutboxMessage.Kind.EMAIL).send is delivery._send_email


def test_only_declared_kinds_can_be_registered():
    with pytest.raises(ValueError):
        delivery.register("carrier-pigeon", lambda message: None)
    with pytest.raises(LookupError):
        delivery.handler_for("carrier-pigeon")


@pytest.mark.django_db
def test_dispatch_by_kind_with_hooks(webhook_handler_restored):
    calls = []

    def send(message):
        calls.append(("send", message.payload["n"]))
        if message.payload["n"] == 2:
            raise ConnectionError("down")
        if message.payload["n"] == 3:
            raise delivery.Discard("not wanted any more")

    delivery.register(
        OutboxMessage.Kind.WEBHOOK,
        send,
        on_success=lambda m: calls.append(("ok", m.payload["n"])),
        on_failure=lambda m, exc, final: calls.append(("fail", m.payload["n"], type(exc), final)),
    )
    ok = delivery.enqueue(OutboxMessage.Kind.WEBHOOK, {"n": 1})
    failing = delivery.enqueue(OutboxMessage.Kind.WEBHOOK, {"n": 2})
    discarded = delivery.enqueue(OutboxMessage.Kind.WEBHOOK, {"n": 3})

    assert delivery.deliver(ok.pk) is True
    assert delivery.deliver(failing.pk) is False
    assert delivery.deliver(discarded.pk) is False
    assert calls == [
        ("send", 1),
        ("ok", 1),
        ("send", 2),
        ("fail", 2, ConnectionError, False),
        ("send", 3),
        ("fail", 3, delivery.Discard, True),
    ]
    states = dict(OutboxMessage.objects.values_list("pk", "state"))
    assert states == {
        ok.pk: OutboxMessage.State.SENT,
        failing.pk: OutboxMessage.State.PENDING,
        discarded.pk: OutboxMessage.State.CANCELLED,
    }

    OutboxMessage.objects.filter(pk=failing.pk).update(attempts=delivery.MAX_ATTEMPTS - 1)
    calls.clear()
    assert delivery.deliver(failing.pk) is False
    assert calls == [("send", 2), ("fail", 2, ConnectionError, True)]
    assert OutboxMessage.objects.get(pk=failing.pk).state == OutboxMessage.State.FAILED


@pytest.mark.django_db
def test_a_kind_without_handler_fails_and_is_retried(webhook_handler_restored):
    del delivery._HANDLERS[OutboxMessage.Kind.WEBHOOK]
    message = delivery.enqueue(OutboxMessage.Kind.WEBHOOK, {"n": 1})
    assert delivery.deliver(message.pk) is False
    message.refresh_from_db()
    assert message.state == OutboxMessage.State.PENDING
    assert message.last_error.startswith("LookupError")
