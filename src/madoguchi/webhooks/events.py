"""From application events to webhook deliveries, in the transaction that recorded the event.

`on_events_recorded` receives `applications.signals.events_recorded` (sent inside the
transaction that recorded the events): for every active subscription of an active client of
the municipality whose grants let it read the application's procedure and which subscribed to
the event's kind, it writes a WebhookDelivery row and an outbox message of kind `webhook`.
The subscriptions are looked up once per batch of events: first whether there is any (none,
usually: one short statement), then, when there are, the subscriptions themselves.
A rolled-back change therefore sends nothing. The payload carries no personal data: the
client fetches the case through the API.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import connections, router
from django.utils import timezone

from madoguchi.outbox.delivery import enqueue
from madoguchi.outbox.models import OutboxMessage

from .models import PING, Event, WebhookDelivery, WebhookSubscription

EVENT_KINDS = set(Event.values)


def event_type(kind: str) -> str:
    return "ping" if kind == PING else f"application.{kind}"


def api_detail_url(receipt_number: str) -> str:
    # The API's detail of the application: /api/v1/applications/<receipt_number>
    return f"{settings.PUBLIC_BASE_URL}/api/v1/applications/{receipt_number}"


class Audience:
    """The active subscriptions of the municipalities of a batch of events, with the
    procedures each client's grants let it read (None: every procedure)."""

    def __init__(self, municipality_ids):
        self.entries: list[tuple[WebhookSubscription, set | None]] = []
        subscriptions = (
            WebhookSubscription.objects.filter(
                is_active=True,
                client__is_active=True,
                client__municipality_id__in=set(municipality_ids),
            )
            .select_related("client__municipality")
            .prefetch_related("client__grants")
            .order_by("pk")
        )
        for subscription in subscriptions:
            readable: set | None = set()
            for grant in subscription.client.grants.all():
                if not grant.can_read_applications:
                    continue
                if grant.procedure_id is None:
                    readable = None
                    break
                readable.add(grant.procedure_id)
            if readable is None or readable:
                self.entries.append((subscription, readable))

    def for_event(self, application, kind: str) -> list[WebhookSubscription]:
        return [
            subscription
            for subscription, readable in self.entries
            if subscription.client.municipality_id == application.municipality_id
            and (readable is None or application.procedure_id in readable)
            and kind in (subscription.events or [])
        ]


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


def any_active_subscription(municipality_ids) -> bool:
    """Whether an active subscription of an active client of one of the municipalities exists:
    most municipalities have none, and every submission asks. One short statement, written
    out (the ORM's compiling of the same query costs several times its running)."""
    ids = sorted(set(municipality_ids))
    if not ids:
        return False
    subscriptions = WebhookSubscription._meta
    client_field = subscriptions.get_field("client")
    clients = client_field.related_model._meta
    connection = connections[router.db_for_read(WebhookSubscription)]
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {subscriptions.db_table} s "
            f"INNER JOIN {clients.db_table} c ON c.{clients.pk.column} = s.{client_field.column} "
            f"WHERE s.{subscriptions.get_field('is_active').column} = %s "
            f"AND c.{clients.get_field('is_active').column} = %s "
            f"AND c.{clients.get_field('municipality').column} IN ({marks}) LIMIT 1",
            [True, True, *ids],
        )
        return cursor.fetchone() is not None


def on_events_recorded(sender, events, **kwargs) -> None:
    wanted = [e for e in events if e.kind in EVENT_KINDS]
    if not wanted:
        return
    municipality_ids = {e.application.municipality_id for e in wanted}
    if not any_active_subscription(municipality_ids):
        return
    audience = Audience(municipality_ids)
    if not audience.entries:
        return
    for event in wanted:
        application = event.application
        for subscription in audience.for_event(application, event.kind):
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
