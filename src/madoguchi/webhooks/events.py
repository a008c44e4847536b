"""From application events to webhook deliveries, in the transaction that recorded the event.

`on_event_recorded` receives `applications.signals.event_recorded` (sent inside the
transaction of `services.record_event`): for every active subscription of an active client of
the municipality whose grants let it read the application's procedure and which subscribed to
the event's kind, it writes a WebhookDelivery row and an outbox message of kind `webhook`.
A rolled-back change therefore sends nothing. The payload carries no personal data: the
client fetches the case through the API.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from madoguchi.outbox.delivery import enqueue
from madoguchi.outbox.models import OutboxMessage

from .models import PING, Event, WebhookDelivery, WebhookSubscription

EVENT_KINDS = set(Event.values)


def event_type(kind: str) -> str:
    return "ping" if kind == PING else f"application.{kind}"


def api_detail_url(receipt_number: str) -> str:
    # The API's case detail (issue 5 §1): /api/v1/applications/<receipt_number>
    return f"{settings.PUBLIC_BASE_URL}/api/v1/applications/{receipt_number}"


def subscriptions_for(application, kind: str) -> list[WebhookSubscription]:
    """Active subscriptions that should hear about `kind` on `application`."""
    grant_covers = Q(client__grants__can_read_cases=True) & (
        Q(client__grants__procedure__isnull=True)
        | Q(client__grants__procedure_id=application.procedure_id)
    )
    candidates = (
        WebhookSubscription.objects.filter(
            is_active=True,
            client__is_active=True,
            client__municipality_id=application.municipality_id,
        )
        .filter(grant_covers)
        .distinct()
        .order_by("pk")
    )
    return [s for s in candidates if kind in (s.events or [])]


def _enqueue(subscription, kind: str, body: dict, *, receipt_number: str = "") -> WebhookDelivery:
    message = enqueue(
        OutboxMessage.Kind.WEBHOOK,
        {"subscription": subscription.pk, "body": body},
        municipality=subscription.client.municipality,
        reference=f"webhook-subscription:{subscription.pk}",
    )
    return WebhookDelivery.objects.create(
        subscription=subscription,
        event_id=body["id"],
        event_kind=kind,
        receipt_number=receipt_number,
        outbox_message=message,
    )


def application_payload(event, application) -> dict:
    data = {
        "receipt_number": application.receipt_number or "",
        "procedure": application.procedure.slug,
        "status": application.status,
        "municipality": application.municipality.lg_code,
        "url": api_detail_url(application.receipt_number or ""),
    }
    if event.kind == Event.STATUS_CHANGED and event.from_status:
        data["previous_status"] = event.from_status
    return {
        "id": str(uuid.uuid4()),
        "type": event_type(event.kind),
        "occurred_at": timezone.localtime(event.created_at).isoformat(),
        "data": data,
    }


def on_event_recorded(sender, event, **kwargs) -> None:
    if event.kind not in EVENT_KINDS:
        return
    application = event.application
    subscriptions = subscriptions_for(application, event.kind)
    for subscription in subscriptions:
        _enqueue(
            subscription,
            event.kind,
            application_payload(event, application),
            receipt_number=application.receipt_number or "",
        )


def enqueue_ping(subscription: WebhookSubscription) -> WebhookDelivery:
    """A test delivery the 管理者 asked for (type "ping"); it does not count towards the
    automatic disabling and is sent even while the subscription is stopped."""
    body = {
        "id": str(uuid.uuid4()),
        "type": event_type(PING),
        "occurred_at": timezone.localtime().isoformat(),
        "data": {"municipality": subscription.client.municipality.lg_code},
    }
    return _enqueue(subscription, PING, body)
