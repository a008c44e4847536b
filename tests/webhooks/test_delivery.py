"""Webhooks end to end against a real HTTP receiver on loopback."""

import datetime
import hashlib
import hmac
import json
import time

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from madoguchi.applications import lifecycle, services, staff_actions
from madoguchi.applications.models import ApplicationEvent, Status
from madoguchi.outbox import delivery
from madoguchi.outbox.models import OutboxMessage
from madoguchi.webhooks.models import AllowedWebhookHost, WebhookDelivery, WebhookSubscription
from tests.applications.conftest import make_procedure
from tests.applications.test_services import submitted_application
from tests.conftest import make_staff

from .conftest import deliver_webhooks, make_client, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def procedure(municipality):
    return make_procedure(municipality, slug="jidou-teate")


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    return (
        "sha256="
        + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    )


def test_submission_is_delivered_signed_and_without_personal_data(
    receiver, municipality, procedure
):
    subscription = subscribe(make_client(municipality), receiver.url())
    application, _token = submitted_application(procedure)
    deliver_webhooks()

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    headers, body = request.headers, request.body
    assert request.path == "/hook"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Madoguchi-Event"] == "application.submitted"
    timestamp = headers["X-Madoguchi-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    assert headers["X-Madoguchi-Signature"] == expected_signature(
        subscription.secret, timestamp, body
    )

    payload = json.loads(body)
    assert payload["type"] == "application.submitted"
    assert payload["id"] == headers["X-Madoguchi-Delivery"]
    assert payload["data"] == {
        "receipt_number": application.receipt_number,
        "procedure": "jidou-teate",
        "status": Status.RECEIVED,
        "municipality": municipality.lg_code,
        "url": f"http://testserver/api/v1/applications/{application.receipt_number}",
    }
    assert datetime.datetime.fromisoformat(payload["occurred_at"]).tzinfo is not None
    text = body.decode()
    for personal in ("山田", "花子", "ヤマダ", "ハナコ", "hanako@example.jp"):
        assert personal not in text

    row = WebhookDelivery.objects.get()
    assert row.state == WebhookDelivery.State.DELIVERED
    assert row.attempts == 1
    assert row.last_status_code == 200
    assert row.receipt_number == application.receipt_number
    assert str(row.event_id) == payload["id"]


def test_delivered_after_commit_through_the_worker(
    receiver, municipality, procedure, django_capture_on_commit_callbacks
):
    """No sweep needed: the outbox schedules the delivery when the transaction commits."""
    subscribe(make_client(municipality), receiver.url())
    with django_capture_on_commit_callbacks(execute=True):
        submitted_application(procedure)
    assert [r.headers["X-Madoguchi-Event"] for r in receiver.requests] == ["application.submitted"]


def test_rolled_back_change_enqueues_nothing(receiver, municipality, procedure):
    subscribe(make_client(municipality), receiver.url())
    application, _ = submitted_application(procedure)
    WebhookDelivery.objects.all().delete()
    OutboxMessage.objects.all().delete()
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            services.withdraw(application, reason="")
            raise RuntimeError("something after the withdrawal failed")
    assert WebhookDelivery.objects.count() == 0
    assert not OutboxMessage.objects.filter(kind=OutboxMessage.Kind.WEBHOOK).exists()
    deliver_webhooks()
    assert receiver.requests == []


def test_retried_after_a_failure_with_the_same_delivery_id(receiver, municipality, procedure):
    receiver.responses = [500, 200]
    subscription = subscribe(make_client(municipality), receiver.url())
    submitted_application(procedure)

    delivery.deliver_due()
    row = WebhookDelivery.objects.get()
    assert row.state == WebhookDelivery.State.PENDING
    assert (row.attempts, row.last_status_code, row.last_error) == (1, 500, "HTTP 500")
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 1
    message = OutboxMessage.objects.get(kind=OutboxMessage.Kind.WEBHOOK)
    assert message.next_attempt_at > timezone.now()

    assert delivery.deliver_due() == (0, 0)  # the backoff has not passed
    deliver_webhooks()
    row.refresh_from_db()
    assert row.state == WebhookDelivery.State.DELIVERED
    assert (row.attempts, row.last_status_code, row.last_error) == (2, 200, "")
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 0
    assert subscription.failing_since is None
    ids = [r.headers["X-Madoguchi-Delivery"] for r in receiver.requests]
    assert len(ids) == 2 and ids[0] == ids[1]


def test_a_redirect_is_not_followed(receiver, municipality, procedure):
    receiver.responses = [302]
    subscribe(make_client(municipality), receiver.url())
    submitted_application(procedure)
    delivery.deliver_due()
    assert len(receiver.requests) == 1
    row = WebhookDelivery.objects.get()
    assert (row.state, row.last_status_code) == (WebhookDelivery.State.PENDING, 302)


def test_unreachable_receiver_is_a_failure_without_personal_data(settings, municipality, procedure):
    settings.WEBHOOKS_ALLOW_HTTP = True
    settings.MADOGUCHI_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subscribe(make_client(municipality), f"http://127.0.0.1:{port}/hook")
    submitted_application(procedure)
    delivery.deliver_due()
    row = WebhookDelivery.objects.get()
    assert row.state == WebhookDelivery.State.PENDING
    assert row.last_status_code is None
    # A category for the 管理者, not the socket error (which tells the network's shape).
    assert row.last_error == "接続できませんでした。"


def test_disabled_after_repeated_failure_with_a_notice_to_the_admins(
    receiver, settings, municipality, procedure
):
    settings.WEBHOOKS_DISABLE_AFTER_FAILURES = 3
    settings.WEBHOOKS_DISABLE_MIN_FAILING_SECONDS = 0
    admin = make_staff("admin_webhooks", municipality, role="admin")
    admin.email = "kanri@city.example.jp"
    admin.save()
    handler = make_staff("handler_webhooks", municipality, "kodomo")
    handler.email = "tanto@city.example.jp"
    handler.save()
    receiver.responses = [500] * 10
    subscription = subscribe(make_client(municipality), receiver.url())
    submitted_application(procedure)
    mail.outbox.clear()

    for _attempt in range(3):
        deliver_webhooks()
    subscription.refresh_from_db()
    assert not subscription.is_active
    assert subscription.consecutive_failures == 3
    assert subscription.disabled_at is not None
    assert "連続して3回送信に失敗したため、自動的に停止しました" in subscription.disabled_reason
    assert "HTTP 500" in subscription.disabled_reason

    notice = OutboxMessage.objects.filter(
        kind=OutboxMessage.Kind.EMAIL, reference=f"webhook-subscription:{subscription.pk}"
    ).get()
    assert notice.payload["to"] == ["kanri@city.example.jp"]
    deliver_webhooks()  # the notice goes out; the webhook is cancelled, not sent again
    notices = [m for m in mail.outbox if "Webhookの送信を停止しました" in m.subject]
    assert [m.to for m in notices] == [["kanri@city.example.jp"]]
    assert f"/staff/webhooks/{subscription.pk}/" in notices[0].body
    assert "tanto@city.example.jp" not in {a for m in mail.outbox for a in m.to}
    assert len(receiver.requests) == 3
    row = WebhookDelivery.objects.get()
    assert row.state == WebhookDelivery.State.CANCELLED
    assert (
        OutboxMessage.objects.get(kind=OutboxMessage.Kind.WEBHOOK).state
        == OutboxMessage.State.CANCELLED
    )

    # Stopped: new events are not even queued.
    submitted_application(procedure)
    assert WebhookDelivery.objects.count() == 1


def test_a_short_burst_of_failures_does_not_disable(receiver, municipality, procedure):
    """Defaults: 20 failures in a row *and* failing for at least an hour."""
    receiver.responses = [500]
    subscription = subscribe(make_client(municipality), receiver.url())
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        consecutive_failures=25, failing_since=timezone.now() - datetime.timedelta(minutes=5)
    )
    submitted_application(procedure)
    delivery.deliver_due()
    subscription.refresh_from_db()
    assert subscription.is_active and subscription.consecutive_failures == 26

    receiver.responses = [500]
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        failing_since=timezone.now() - datetime.timedelta(hours=2)
    )
    deliver_webhooks()
    subscription.refresh_from_db()
    assert not subscription.is_active


def test_message_failing_permanently_marks_the_delivery_failed(receiver, municipality, procedure):
    receiver.responses = [500]
    subscribe(make_client(municipality), receiver.url())
    submitted_application(procedure)
    OutboxMessage.objects.filter(kind=OutboxMessage.Kind.WEBHOOK).update(
        attempts=delivery.MAX_ATTEMPTS - 1
    )
    delivery.deliver_due()
    row = WebhookDelivery.objects.get()
    assert row.state == WebhookDelivery.State.FAILED
    assert row.attempts == delivery.MAX_ATTEMPTS


def test_host_no_longer_allowed_is_refused_at_delivery(receiver, municipality, procedure):
    subscription = subscribe(make_client(municipality), receiver.url())
    submitted_application(procedure)
    AllowedWebhookHost.objects.all().delete()
    delivery.deliver_due()
    assert receiver.requests == []
    row = WebhookDelivery.objects.get()
    assert row.state == WebhookDelivery.State.PENDING
    assert f"送信先のホスト「{receiver.netloc}」は許可されていません" in row.last_error
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 1


def test_http_is_refused_at_delivery_when_the_setting_is_off(
    receiver, settings, municipality, procedure
):
    subscribe(make_client(municipality), receiver.url())
    submitted_application(procedure)
    settings.WEBHOOKS_ALLOW_HTTP = False
    delivery.deliver_due()
    assert receiver.requests == []
    assert "https://" in WebhookDelivery.objects.get().last_error


def test_events_filter(receiver, municipality, procedure):
    handler = make_staff("handler_events", municipality, "kodomo")
    subscribe(make_client(municipality), receiver.url(), events=["status_changed", "withdrawn"])
    application, _ = submitted_application(procedure)
    assert WebhookDelivery.objects.count() == 0

    staff_actions.change_status(
        application, Status.IN_PROGRESS, user=handler, expected_version=application.lock_version
    )
    services.withdraw(application, reason="")
    lifecycle.add_note(application, "メモ", actor=lifecycle.Actor.staff(handler))
    deliver_webhooks()
    payloads = [json.loads(r.body) for r in receiver.requests]
    assert [p["type"] for p in payloads] == ["application.status_changed", "application.withdrawn"]
    assert payloads[0]["data"]["status"] == Status.IN_PROGRESS
    assert payloads[0]["data"]["previous_status"] == Status.RECEIVED
    assert payloads[1]["data"]["status"] == Status.WITHDRAWN


def test_acknowledged_event(receiver, municipality, procedure):
    client = make_client(municipality)
    subscribe(client, receiver.url(), events=["acknowledged"])
    application, _ = submitted_application(procedure)
    lifecycle.acknowledge(application, actor=lifecycle.Actor.api_client(client))
    deliver_webhooks()
    assert [r.headers["X-Madoguchi-Event"] for r in receiver.requests] == [
        "application.acknowledged"
    ]


def test_grant_scope(receiver, municipality, other_municipality, procedure):
    other_procedure = make_procedure(municipality, slug="suido", department_code="suido")
    url = receiver.url
    # Receives: a grant for the procedure, and a grant for every procedure.
    subscribe(make_client(municipality, "for-procedure", procedure=procedure), url("/a"))
    subscribe(make_client(municipality, "for-all"), url("/b"))
    # Does not receive:
    subscribe(make_client(municipality, "other-proc", procedure=other_procedure), url("/c"))
    subscribe(make_client(municipality, "no-grant", grant=False), url("/d"))
    subscribe(make_client(municipality, "no-read", can_read_applications=False), url("/e"))
    inactive = make_client(municipality, "inactive")
    inactive.is_active = False
    inactive.save()
    subscribe(inactive, url("/f"))
    stopped = subscribe(make_client(municipality, "stopped"), url("/g"))
    stopped.is_active = False
    stopped.save()
    subscribe(make_client(other_municipality, "other-town"), url("/h"))

    submitted_application(procedure)
    deliver_webhooks()
    assert sorted(r.path for r in receiver.requests) == ["/a", "/b"]


def test_ping_is_sent_even_when_stopped_and_does_not_count(receiver, municipality):
    from madoguchi.webhooks import events

    receiver.responses = [500]
    subscription = subscribe(make_client(municipality), receiver.url())
    subscription.is_active = False
    subscription.save()
    events.enqueue_ping(subscription)
    deliver_webhooks()
    assert [json.loads(r.body)["type"] for r in receiver.requests] == ["ping"]
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 0
    row = WebhookDelivery.objects.get()
    assert (row.event_kind, row.last_status_code) == ("ping", 500)


def test_a_batch_of_events_looks_subscriptions_up_once(
    municipality, procedure, django_assert_num_queries
):
    """A bulk writer (the マイナポータル intake) announces a hundred events at once: without
    subscribers that costs one query for the whole batch."""
    from madoguchi.webhooks import events

    batch = [
        ApplicationEvent.objects.select_related("application").get(
            application=submitted_application(procedure)[0], kind="submitted"
        )
        for _ in range(3)
    ]
    with django_assert_num_queries(1):
        events.on_events_recorded(sender=ApplicationEvent, events=batch)
    assert not WebhookDelivery.objects.exists()


def test_a_batch_of_events_reaches_only_the_granted_subscribers(receiver, municipality, procedure):
    from madoguchi.webhooks import events

    other_procedure = make_procedure(municipality, slug="suido", department_code="suido")
    mine = submitted_application(procedure)[0]
    theirs = submitted_application(other_procedure)[0]
    subscribe(make_client(municipality, "for-procedure", procedure=procedure), receiver.url("/a"))
    subscribe(make_client(municipality, "for-all"), receiver.url("/b"))
    batch = list(
        ApplicationEvent.objects.select_related("application")
        .filter(kind="submitted", application__in=[mine, theirs])
        .order_by("pk")
    )
    events.on_events_recorded(sender=ApplicationEvent, events=batch)
    deliveries = sorted(
        (d.subscription.url.rsplit("/", 1)[1], d.receipt_number)
        for d in WebhookDelivery.objects.select_related("subscription")
    )
    assert deliveries == sorted(
        [("a", mine.receipt_number), ("b", mine.receipt_number), ("b", theirs.receipt_number)]
    )
