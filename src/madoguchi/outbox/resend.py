"""Starting FAILED messages again after an outage: one function for the staff page's
「すべて再送」 and the admin action, audited in the admin's change history."""

from __future__ import annotations

import logging

from django.contrib.admin.models import CHANGE, LogEntry
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from . import delivery
from .models import OutboxMessage

logger = logging.getLogger(__name__)

CHANGE_MESSAGE = "再送（送信待ちに戻しました）"


def failed_in(municipality_ids) -> QuerySet[OutboxMessage]:
    return OutboxMessage.objects.filter(
        state=OutboxMessage.State.FAILED, municipality_id__in=municipality_ids
    )


def resend(queryset, *, user) -> int:
    """Give the FAILED and PENDING messages of `queryset` a fresh series of attempts, now,
    in the order they were written; record who did it. Sent and cancelled ones are left.
    Runs in its own transaction; delivery starts after commit."""
    with transaction.atomic():
        ids = list(
            queryset.filter(state__in=[OutboxMessage.State.FAILED, OutboxMessage.State.PENDING])
            .select_for_update()
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not ids:
            return 0
        messages = OutboxMessage.objects.filter(pk__in=ids)
        messages.update(
            state=OutboxMessage.State.PENDING,
            attempts=0,
            next_attempt_at=timezone.now(),
            claimed_until=None,
            claim_token="",
        )
        LogEntry.objects.log_actions(
            user_id=user.pk, queryset=messages, action_flag=CHANGE, change_message=CHANGE_MESSAGE
        )
        logger.info("outbox: %s messages resent by user_id=%s", len(ids), user.pk)
        transaction.on_commit(lambda: delivery.hand_off(ids))
    return len(ids)
