"""Enqueue and deliver outbox messages with retries and exponential backoff.

Each message kind has a handler registered in one registry (`register`): a `send` function
that raises on failure, and optional `on_success` / `on_failure` hooks that run in the same
transaction as the message's state change (a webhook updates its delivery log there). The
e-mail kind is registered below; other parts register theirs from their AppConfig.ready()
(webhooks: `madoguchi.webhooks.sending`; マイナポータル status later).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from .models import OutboxMessage

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_DELAY_SECONDS = 60


class Discard(Exception):  # noqa: N818 - it is an outcome, not an error
    """Raised by a sender when the message must not be sent at all (e.g. its webhook
    subscription was disabled): the message is cancelled, not retried."""


@dataclass(frozen=True)
class Handler:
    send: Callable[[OutboxMessage], None]
    on_success: Callable[[OutboxMessage], None] | None = None
    # (message, exception, final): final when no further attempt will be made.
    on_failure: Callable[[OutboxMessage, Exception, bool], None] | None = None


_HANDLERS: dict[str, Handler] = {}


def register(
    kind: str,
    send: Callable[[OutboxMessage], None],
    *,
    on_success: Callable[[OutboxMessage], None] | None = None,
    on_failure: Callable[[OutboxMessage, Exception, bool], None] | None = None,
) -> None:
    """Register (or replace) how messages of `kind` are delivered."""
    if kind not in OutboxMessage.Kind.values:
        raise ValueError(f"outbox kind {kind!r} is not one of OutboxMessage.Kind")
    _HANDLERS[kind] = Handler(send=send, on_success=on_success, on_failure=on_failure)


def handler_for(kind: str) -> Handler:
    try:
        return _HANDLERS[kind]
    except KeyError:
        raise LookupError(f"no outbox handler registered for kind {kind!r}") from None


def backoff(attempts: int) -> datetime.timedelta:
    """1, 2, 4, ... minutes, capped at 6 hours."""
    return datetime.timedelta(seconds=min(BASE_DELAY_SECONDS * 2 ** max(attempts - 1, 0), 6 * 3600))


def enqueue(kind: str, payload: dict, *, municipality=None, reference: str = "") -> OutboxMessage:
    """Write a message to the outbox inside the caller's transaction; deliver after commit."""
    from madoguchi.ops import context

    message = OutboxMessage.objects.create(
        municipality=municipality,
        kind=kind,
        payload=payload,
        reference=reference,
        request_id=context.current()[:64],
    )
    transaction.on_commit(lambda: _schedule(message.pk))
    return message


def enqueue_email(
    *, to: list[str], subject: str, body: str, municipality=None, reference: str = ""
) -> OutboxMessage:
    """Write an e-mail to the outbox inside the caller's transaction; deliver after commit."""
    return enqueue(
        OutboxMessage.Kind.EMAIL,
        {"to": to, "subject": subject, "body": body},
        municipality=municipality,
        reference=reference,
    )


def _schedule(message_id: int) -> None:
    from .tasks import deliver_message

    try:
        deliver_message.delay(message_id)
    except Exception:  # broker down: the periodic sweep will pick the message up
        logger.warning("outbox: could not schedule message %s; left for the sweep", message_id)


def hand_off(message_ids: list[int]) -> None:
    """After the commit that wrote many messages at once (the マイナポータル bulk intake):
    one task delivers them in the order given, so the import itself never waits on a peer.
    If the broker is down they stay pending and the periodic sweep delivers them."""
    ids = [int(pk) for pk in message_ids]
    if not ids:
        return
    from .tasks import deliver_messages

    try:
        deliver_messages.delay(ids)
    except Exception:
        logger.warning("outbox: could not schedule %s messages; left for the sweep", len(ids))


def _send_email(message: OutboxMessage) -> None:
    payload = message.payload
    EmailMessage(
        subject=payload["subject"],
        body=payload["body"],
        to=payload["to"],
        headers={"Message-ID": message_id_header(message)},
    ).send()


def message_id_header(message: OutboxMessage) -> str:
    """The same Message-ID on every attempt of one outbox message: a worker killed after the
    mail server took the message but before the outbox row was marked sent sends it again,
    and the receiving side (mail clients, the load test's peer) sees it is the same one."""
    from urllib.parse import urlsplit

    from django.conf import settings

    host = urlsplit(settings.PUBLIC_BASE_URL).hostname or "madoguchi.invalid"
    return f"<outbox-{message.pk}.{int(message.created_at.timestamp())}@{host}>"


register(OutboxMessage.Kind.EMAIL, _send_email)


def _send(message: OutboxMessage) -> None:
    handler_for(message.kind).send(message)


def deliver(message_id: int) -> bool:
    """Try to deliver one message now. Returns True when sent."""
    from madoguchi.ops import context

    request_id = (
        OutboxMessage.objects.filter(pk=message_id).values_list("request_id", flat=True).first()
    )
    with context.bound(request_id or context.current()):
        return _deliver(message_id)


def _deliver(message_id: int) -> bool:
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update()
            .filter(pk=message_id, state=OutboxMessage.State.PENDING)
            .first()
        )
        if message is None:
            return False
        message.attempts += 1
        handler = _HANDLERS.get(message.kind)
        try:
            if handler is None:
                raise LookupError(f"no outbox handler registered for kind {message.kind!r}")
            handler.send(message)
        except Discard as exc:
            message.state = OutboxMessage.State.CANCELLED
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            message.save()
            if handler is not None and handler.on_failure is not None:
                handler.on_failure(message, exc, True)
            return False
        except Exception as exc:
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            final = message.attempts >= MAX_ATTEMPTS
            if final:
                message.state = OutboxMessage.State.FAILED
            message.next_attempt_at = timezone.now() + backoff(message.attempts)
            message.save()
            logger.warning(
                "outbox: message %s attempt %s failed (%s)",
                message.pk,
                message.attempts,
                type(exc).__name__,
            )
            if handler is not None and handler.on_failure is not None:
                handler.on_failure(message, exc, final)
            return False
        message.state = OutboxMessage.State.SENT
        message.sent_at = timezone.now()
        message.last_error = ""
        message.save()
        if handler.on_success is not None:
            handler.on_success(message)
        return True


def deliver_due(limit: int = 500) -> tuple[int, int]:
    """Deliver every pending message whose time has come. Returns (sent, failed)."""
    due = list(
        OutboxMessage.objects.filter(
            state=OutboxMessage.State.PENDING, next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at", "pk")  # ties: in the order they were written
        .values_list("pk", flat=True)[:limit]
    )
    sent = sum(1 for pk in due if deliver(pk))
    return sent, len(due) - sent
