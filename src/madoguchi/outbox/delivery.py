"""Enqueue and deliver outbox messages with retries and exponential backoff."""

import datetime
import logging

from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from .models import OutboxMessage

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_DELAY_SECONDS = 60


def backoff(attempts: int) -> datetime.timedelta:
    """1, 2, 4, ... minutes, capped at 6 hours."""
    return datetime.timedelta(seconds=min(BASE_DELAY_SECONDS * 2 ** max(attempts - 1, 0), 6 * 3600))


def enqueue_email(
    *, to: list[str], subject: str, body: str, municipality=None, reference: str = ""
) -> OutboxMessage:
    """Write an e-mail to the outbox inside the caller's transaction; deliver after commit."""
    message = OutboxMessage.objects.create(
        municipality=municipality,
        kind=OutboxMessage.Kind.EMAIL,
        payload={"to": to, "subject": subject, "body": body},
        reference=reference,
    )
    transaction.on_commit(lambda: _schedule(message.pk))
    return message


def _schedule(message_id: int) -> None:
    from .tasks import deliver_message

    try:
        deliver_message.delay(message_id)
    except Exception:  # broker down: the periodic sweep will pick the message up
        logger.warning("outbox: could not schedule message %s; left for the sweep", message_id)


def _send(message: OutboxMessage) -> None:
    if message.kind == OutboxMessage.Kind.EMAIL:
        payload = message.payload
        EmailMessage(subject=payload["subject"], body=payload["body"], to=payload["to"]).send()
    else:  # pragma: no cover - new kinds register here
        raise ValueError(f"unknown outbox kind {message.kind}")


def deliver(message_id: int) -> bool:
    """Try to deliver one message now. Returns True when sent."""
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update()
            .filter(pk=message_id, state=OutboxMessage.State.PENDING)
            .first()
        )
        if message is None:
            return False
        message.attempts += 1
        try:
            _send(message)
        except Exception as exc:
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if message.attempts >= MAX_ATTEMPTS:
                message.state = OutboxMessage.State.FAILED
            message.next_attempt_at = timezone.now() + backoff(message.attempts)
            message.save()
            logger.warning(
                "outbox: message %s attempt %s failed (%s)",
                message.pk,
                message.attempts,
                type(exc).__name__,
            )
            return False
        message.state = OutboxMessage.State.SENT
        message.sent_at = timezone.now()
        message.last_error = ""
        message.save()
        return True


def deliver_due(limit: int = 500) -> tuple[int, int]:
    """Deliver every pending message whose time has come. Returns (sent, failed)."""
    due = list(
        OutboxMessage.objects.filter(
            state=OutboxMessage.State.PENDING, next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    sent = sum(1 for pk in due if deliver(pk))
    return sent, len(due) - sent
