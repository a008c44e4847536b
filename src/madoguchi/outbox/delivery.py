"""Enqueue and deliver outbox messages with retries and exponential backoff.

Each message kind has a handler registered in one registry (`register`): a `send` function
that raises on failure, and optional `on_success` / `on_failure` hooks that run in the same
transaction as the message's state change (a webhook updates its delivery log there). The
e-mail kind is registered below; other parts register theirs from their AppConfig.ready()
(webhooks: `madoguchi.webhooks.sending`; マイナポータル status: `channels.mynaportal`).

No peer is ever called inside a database transaction or while a row is locked (`deliver`):
a hung mail server or webhook receiver holds one claimed message, never the database.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
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


# Delivery threads of the embedded default still running (see `_run_after_commit`).
_threads: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


def _run_after_commit(task, *args) -> None:
    """Run an outbox task after the commit that wrote its messages.

    With Celery (REDIS_URL set) the task goes to a worker. In the embedded default (no
    broker) it runs in a background thread, and the caller (a resident's request) waits for
    it at most MADOGUCHI_OUTBOX_WAIT_SECONDS (default 1): a mail server that answers at once
    has the mail before the page is shown; one that hangs delays nobody longer than that
    (the thread keeps its claim and gives up at the mail or HTTP timeout). With
    MADOGUCHI_OUTBOX_INLINE (tests) the task runs here, as an eager Celery task.
    """
    from madoguchi.core import jobs

    if not getattr(settings, "MADOGUCHI_OUTBOX_INLINE", False) and jobs.mode() == jobs.THREAD:
        thread = jobs.start_thread(task, args)
        _threads.add(thread)
        thread.join(float(getattr(settings, "MADOGUCHI_OUTBOX_WAIT_SECONDS", 1.0)))
        return
    task.delay(*args)


def wait_for_background(timeout: float) -> bool:
    """Wait until the embedded default's delivery threads have finished (at most `timeout`
    seconds in all); True when none is left. For a clean stop, and for tests."""
    deadline = time.monotonic() + timeout
    for thread in list(_threads):
        thread.join(max(0.0, deadline - time.monotonic()))
    return not any(thread.is_alive() for thread in list(_threads))


def _schedule(message_id: int) -> None:
    from .tasks import deliver_message

    try:
        _run_after_commit(deliver_message, message_id)
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
        _run_after_commit(deliver_messages, ids)
    except Exception:
        logger.warning("outbox: could not schedule %s messages; left for the sweep", len(ids))


def _send_email(message: OutboxMessage) -> None:
    from madoguchi.core.outbound import ensure_no_transaction

    ensure_no_transaction("e-mail")
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

    host = urlsplit(settings.PUBLIC_BASE_URL).hostname or "madoguchi.invalid"
    return f"<outbox-{message.pk}.{int(message.created_at.timestamp())}@{host}>"


register(OutboxMessage.Kind.EMAIL, _send_email)


def _send(message: OutboxMessage) -> None:
    handler_for(message.kind).send(message)


def claim_seconds() -> float:
    return float(getattr(settings, "MADOGUCHI_OUTBOX_CLAIM_SECONDS", 300))


def deliver(message_id: int) -> bool:
    """Try to deliver one message now. Returns True when sent.

    Never inside a transaction: the message is claimed in one short statement (a claim that
    expires after MADOGUCHI_OUTBOX_CLAIM_SECONDS), sent with no transaction open and no row
    locked, and the result is recorded in a second short transaction. A worker that hangs
    or dies after the claim holds nothing: once the claim has expired, another worker (the
    sweep) takes the message over."""
    from madoguchi.core.outbound import ensure_no_transaction
    from madoguchi.ops import context

    ensure_no_transaction("outbox delivery")
    request_id = (
        OutboxMessage.objects.filter(pk=message_id).values_list("request_id", flat=True).first()
    )
    with context.bound(request_id or context.current()):
        return _deliver(message_id)


def _claim(message_id: int) -> tuple[OutboxMessage, str] | None:
    """Claim a pending message no other worker holds. One UPDATE: on PostgreSQL a second
    claimant waits for the first's commit and then finds the claim taken; SQLite runs one
    writer at a time."""
    now = timezone.now()
    token = uuid.uuid4().hex
    claimed = (
        OutboxMessage.objects.filter(pk=message_id, state=OutboxMessage.State.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .update(
            claimed_until=now + datetime.timedelta(seconds=claim_seconds()),
            claim_token=token,
            # The attempt counts from the claim: a message that kills its worker every
            # time still runs out of attempts.
            attempts=F("attempts") + 1,
        )
    )
    if not claimed:
        return None
    return OutboxMessage.objects.get(pk=message_id), token


def _deliver(message_id: int) -> bool:
    claim = _claim(message_id)
    if claim is None:
        return False
    message, token = claim
    handler = _HANDLERS.get(message.kind)
    try:
        if handler is None:
            raise LookupError(f"no outbox handler registered for kind {message.kind!r}")
        handler.send(message)
    except Exception as exc:
        return _record_failure(message, token, handler, exc)
    return _record_success(message, token, handler)


def _error_text(exc: Exception) -> str:
    from madoguchi.core.outbound import OutboundError

    if isinstance(exc, OutboundError):  # already a category safe to show
        return str(exc)[:2000]
    return f"{type(exc).__name__}: {exc}"[:2000]


def _record_failure(message: OutboxMessage, token: str, handler, exc: Exception) -> bool:
    with transaction.atomic():
        current = (
            OutboxMessage.objects.select_for_update()
            .filter(pk=message.pk)
            .values_list("state", "claim_token")
            .first()
        )
        if current != (OutboxMessage.State.PENDING, token):
            # The claim expired and another worker took the message over: its result counts.
            return False
        message.claimed_until = None
        message.claim_token = ""
        message.last_error = _error_text(exc)
        fields = ["claimed_until", "claim_token", "last_error"]
        if isinstance(exc, Discard):
            message.state = OutboxMessage.State.CANCELLED
            message.save(update_fields=[*fields, "state"])
            if handler is not None and handler.on_failure is not None:
                handler.on_failure(message, exc, True)
            return False
        final = message.attempts >= MAX_ATTEMPTS
        if final:
            message.state = OutboxMessage.State.FAILED
        message.next_attempt_at = timezone.now() + backoff(message.attempts)
        message.save(update_fields=[*fields, "state", "next_attempt_at"])
        logger.warning(
            "outbox: message %s attempt %s failed (%s)",
            message.pk,
            message.attempts,
            type(exc).__name__,
        )
        if handler is not None and handler.on_failure is not None:
            handler.on_failure(message, exc, final)
        return False


def _record_success(message: OutboxMessage, token: str, handler) -> bool:
    with transaction.atomic():
        current = (
            OutboxMessage.objects.select_for_update()
            .filter(pk=message.pk)
            .values_list("state", "claim_token")
            .first()
        )
        if current is None or current[0] != OutboxMessage.State.PENDING:
            return False  # another worker that took the message over has recorded it
        if current[1] != token:
            # Our claim had expired and another worker holds the message now; it was sent
            # all the same, so it is recorded as sent (the other send may be a duplicate,
            # which the stable Message-ID / event id lets the receiver drop).
            logger.warning("outbox: message %s sent after its claim expired", message.pk)
        message.state = OutboxMessage.State.SENT
        message.sent_at = timezone.now()
        message.last_error = ""
        message.claimed_until = None
        message.claim_token = ""
        message.save(
            update_fields=["state", "sent_at", "last_error", "claimed_until", "claim_token"]
        )
        if handler.on_success is not None:
            handler.on_success(message)
        return True


def deliver_due(limit: int = 500) -> tuple[int, int]:
    """Deliver every pending message whose time has come. Returns (sent, failed)."""
    now = timezone.now()
    due = list(
        OutboxMessage.objects.filter(state=OutboxMessage.State.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .order_by("next_attempt_at", "pk")  # ties: in the order they were written
        .values_list("pk", flat=True)[:limit]
    )
    sent = sum(1 for pk in due if deliver(pk))
    return sent, len(due) - sent
