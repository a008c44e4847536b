"""申請処理状況登録: every status change of a マイナポータル case goes back to マイナポータル.

A receiver of `applications.signals.events_recorded` writes one outbox message (kind
`mynaportal_status`) in the same transaction as the change (staff, core system through the
API, the applicant's resubmission or withdrawal, and the intake's 受付). The outbox worker
calls `send_status(message)`; messages of one case are delivered in the order they were
written: before sending, every older unsent message of the same case is delivered first
(inline), and if one of them cannot be, this one is refused (raises) and retried later.
"""

import functools
import logging
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone, translation

from madoguchi.applications.models import ApplicationEvent, Channel, Status
from madoguchi.applications.signals import events_recorded
from madoguchi.outbox.models import OutboxMessage

from .client import MynaportalClient

logger = logging.getLogger(__name__)

KIND = "mynaportal_status"

# Our 申請処理状況 → the status code registered on マイナポータル (this project's assumption;
# the real code list comes with the API specification — see docs/mynaportal.md).
STATUS_CODES = {
    Status.RECEIVED: "01",
    Status.IN_PROGRESS: "02",
    Status.RETURNED: "03",
    Status.COMPLETED: "04",
    Status.REJECTED: "05",
    Status.WITHDRAWN: "06",
}
EVENT_KINDS = {
    ApplicationEvent.Kind.SUBMITTED,
    ApplicationEvent.Kind.STATUS_CHANGED,
    ApplicationEvent.Kind.RESUBMITTED,
    ApplicationEvent.Kind.WITHDRAWN,
}


class OutOfOrderError(Exception):
    """An older status of the same case has not reached マイナポータル yet."""


class NotConfiguredError(Exception):
    pass


def reference_for(application) -> str:
    return f"mynaportal:{application.pk}"


@receiver(events_recorded, dispatch_uid="mynaportal_status_sync")
def on_events_recorded(sender, events, **kwargs):
    for event in events:
        if event.kind not in EVENT_KINDS or event.to_status not in STATUS_CODES:
            continue
        if event.from_status == event.to_status:
            continue
        application = event.application
        if application.channel != Channel.MYNAPORTAL or not application.source_reference:
            continue
        enqueue_status(application, event.to_status, comment=event.message, event_id=event.pk)


# While set (the bulk intake), messages are collected here instead of being saved one by one;
# the collector saves them with one INSERT in the same transaction and hands them to the
# outbox worker after commit.
_collected: ContextVar[list | None] = ContextVar("mynaportal_status_collected", default=None)


@contextmanager
def collecting():
    """Collect the messages `enqueue_status` makes inside the block (unsaved) in the list
    this yields; the caller must save them in the same transaction."""
    token = _collected.set([])
    try:
        yield _collected.get()
    finally:
        _collected.reset(token)


@functools.cache
def status_label(status: str) -> str:
    """The status's label (`models.Status`) in Japanese, whatever the request's language:
    マイナポータル shows it to the applicant as sent. Kept per status: the same six labels
    for every message (a batch of the intake makes one per case)."""
    with translation.override("ja"):
        return str(Status(status).label)


def enqueue_status(application, status: str, *, comment: str = "", event_id=None):
    message = OutboxMessage(
        municipality_id=application.municipality_id,
        kind=KIND,
        payload={
            "source_reference": application.source_reference,
            "status": str(status),
            "status_code": STATUS_CODES[status],
            "status_label": status_label(status),
            "comment": comment or "",
            "event_id": event_id,
        },
        reference=reference_for(application),
    )
    collected = _collected.get()
    if collected is not None:
        collected.append(message)
        return message
    message.save()
    transaction.on_commit(lambda: _schedule(message.pk))
    return message


def _schedule(message_id: int) -> None:
    from madoguchi.outbox import delivery

    schedule = getattr(delivery, "_schedule", None)
    if schedule is not None:
        schedule(message_id)


_clients: dict[tuple, MynaportalClient] = {}


def _client(municipality_id) -> MynaportalClient:
    from madoguchi.channels.models import MissingSecretError, MynaportalConnection

    connection = (
        MynaportalConnection.objects.filter(municipality_id=municipality_id, is_active=True)
        .select_related("municipality")
        .first()
    )
    if connection is None:
        raise NotConfiguredError("マイナポータル接続設定がありません。")
    try:
        password = connection.password()
    except MissingSecretError as exc:  # retried with backoff; the admin shows the reason
        raise NotConfiguredError(str(exc)) from None
    key = (connection.base_url, connection.login_id, password)
    client = _clients.get(key)
    if client is None:
        client = _clients[key] = MynaportalClient(*key)
    return client


def _deliver_older(message: OutboxMessage) -> None:
    from madoguchi.outbox import delivery

    older = list(
        OutboxMessage.objects.filter(kind=KIND, reference=message.reference, pk__lt=message.pk)
        .exclude(state=OutboxMessage.State.SENT)
        .order_by("pk")
        .values_list("pk", "state", "next_attempt_at")
    )
    now = timezone.now()
    for pk, state, due in older:
        # An older message still waiting for its backoff is not tried early (that would
        # spend its attempts); this one waits too.
        if state != OutboxMessage.State.PENDING or due > now or not delivery.deliver(pk):
            raise OutOfOrderError(
                f"同じ申請の先の処理状況（送信待ち #{pk}）がまだ送信できていません。"
            )


def send_status(message: OutboxMessage) -> None:
    """Deliver one 申請処理状況登録 (outbox sender for kind `mynaportal_status`).

    Delivery is at least once: a worker killed after マイナポータル accepted a status but
    before the message was marked sent (its transaction rolls back) sends it again. So
    before registering, the statuses already registered for the case are read, and if the
    newest one is this very status (same code and comment) it is not registered again. Two
    consecutive messages of a case never carry the same code and comment otherwise (a
    status change to the same status makes no message), so this only ever skips a re-send.
    """
    _deliver_older(message)
    payload = message.payload
    client = _client(message.municipality_id)
    registered = client.list_statuses(payload["source_reference"])
    if registered and _same(registered[-1], payload):
        logger.info("mynaportal: message %s was already registered; not sent again", message.pk)
        return
    client.register_status(
        payload["source_reference"],
        status_code=payload["status_code"],
        status_label=payload.get("status_label", ""),
        comment=payload.get("comment", ""),
    )


def _same(registered: dict, payload: dict) -> bool:
    return str(registered.get("status_code", "")) == payload["status_code"] and str(
        registered.get("comment") or ""
    ) == (payload.get("comment") or "")


def register_with_outbox() -> bool:
    """Register `send_status` with the outbox kind registry."""
    from madoguchi.outbox import delivery

    delivery.register(KIND, send_status)
    return True
