"""Deliver webhook outbox messages: sign, POST, log, count failures, disable.

Every attempt re-checks the target against the municipality's allowed hosts, signs the exact
body with the subscription's current secret over `f"{timestamp}.{body}"` (HMAC-SHA256, hex),
and POSTs it (connect and read timeouts from settings) to the address the target's name
resolved to once checked public (or allowed by the operator), following no redirect. A 2xx answer is a delivery;
anything else raises, and the outbox retries with its exponential backoff. Failed attempts
(other than test pings) count towards the subscription's `consecutive_failures`; a delivery
resets it. When the count reaches WEBHOOKS_DISABLE_AFTER_FAILURES (default 20) and the
failures have lasted at least WEBHOOKS_DISABLE_MIN_FAILING_SECONDS (default 1 hour, so a
burst of events during a short outage does not stop a subscription), the subscription is
disabled and the municipality's 管理者 get a notice e-mail through the outbox.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.core import outbound
from madoguchi.outbox import delivery as outbox
from madoguchi.outbox.models import OutboxMessage
from madoguchi.tenants.models import StaffMembership

from .hosts import TargetError, check_target
from .models import PING, WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)

USER_AGENT = "madoguchi-webhooks/1"


def setting(name: str, default):
    return getattr(settings, name, default)


class WebhookError(Exception):
    """A failed attempt; `str()` is safe to keep in the log (no personal data)."""

    def __init__(self, message: str, *, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


def encode_body(body: dict) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST and return the status code; redirects are not followed (a 3xx is a failure).
    The target's name is resolved and every address checked (no internal address unless
    the operator allowed it), and the connection goes to the checked address
    (`core.outbound`). Raises OutboundError, whose text is a category safe to show."""
    connect_timeout, read_timeout = outbound.timeouts("webhooks")
    response = outbound.request(
        "POST",
        url,
        body=body,
        headers=headers,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        allow_http=bool(setting("WEBHOOKS_ALLOW_HTTP", False)),
        max_bytes=64 * 1024,  # the answer's content is not kept
    )
    return response.status


def send(message: OutboxMessage) -> None:
    subscription = (
        WebhookSubscription.objects.select_related("client")
        .filter(pk=message.payload.get("subscription"))
        .first()
    )
    if subscription is None:
        raise outbox.Discard("subscription deleted")
    body = message.payload["body"]
    is_ping = body.get("type") == PING
    if not is_ping and not (subscription.is_active and subscription.client.is_active):
        raise outbox.Discard("subscription stopped")
    try:
        check_target(subscription.url, subscription.client.municipality_id)
    except TargetError as exc:
        raise WebhookError(str(exc)) from None
    raw = encode_body(body)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Madoguchi-Event": body["type"],
        "X-Madoguchi-Delivery": body["id"],
        "X-Madoguchi-Timestamp": timestamp,
        "X-Madoguchi-Signature": signature(subscription.secret, timestamp, raw),
    }
    try:
        status = post(subscription.url, raw, headers)
    except outbound.OutboundError as exc:
        raise WebhookError(str(exc)[:300]) from None
    if not 200 <= status < 300:
        raise WebhookError(f"HTTP {status}", status_code=status)
    message._webhook_status = status  # read by on_success (same instance, same transaction)


def _delivery(message: OutboxMessage) -> WebhookDelivery | None:
    return WebhookDelivery.objects.select_for_update().filter(outbox_message=message).first()


def on_success(message: OutboxMessage) -> None:
    row = _delivery(message)
    if row is None:
        return
    row.attempts = message.attempts
    row.last_status_code = getattr(message, "_webhook_status", None)
    row.last_error = ""
    row.state = WebhookDelivery.State.DELIVERED
    row.delivered_at = timezone.now()
    row.save()
    if row.event_kind != PING:
        WebhookSubscription.objects.filter(pk=row.subscription_id).update(
            consecutive_failures=0, failing_since=None
        )


def on_failure(message: OutboxMessage, exc: Exception, final: bool) -> None:
    row = _delivery(message)
    if row is None:
        return
    row.attempts = message.attempts
    if isinstance(exc, outbox.Discard):
        row.state = WebhookDelivery.State.CANCELLED
        row.last_error = _("送信先が停止中のため送信しませんでした。")
        row.save()
        return
    row.last_status_code = getattr(exc, "status_code", None)
    error = str(exc) if isinstance(exc, WebhookError) else type(exc).__name__
    row.last_error = error[:300]
    if final:
        row.state = WebhookDelivery.State.FAILED
    row.save()
    if row.event_kind == PING:
        return
    subscription = (
        WebhookSubscription.objects.select_for_update(of=("self",))
        .select_related("client__municipality")
        .get(pk=row.subscription_id)
    )
    if not subscription.is_active:
        return
    now = timezone.now()
    subscription.consecutive_failures += 1
    subscription.failing_since = subscription.failing_since or now
    subscription.save(update_fields=["consecutive_failures", "failing_since"])
    limit = setting("WEBHOOKS_DISABLE_AFTER_FAILURES", 20)
    min_failing = datetime.timedelta(seconds=setting("WEBHOOKS_DISABLE_MIN_FAILING_SECONDS", 3600))
    if subscription.consecutive_failures >= limit and now - subscription.failing_since >= (
        min_failing
    ):
        reason = _(
            "連続して%(count)d回送信に失敗したため、自動的に停止しました（最後のエラー: %(error)s）。"
        ) % {"count": subscription.consecutive_failures, "error": error[:200]}
        disable(subscription, reason, notify=True)


def admin_addresses(municipality_id: int) -> list[str]:
    return sorted(
        set(
            get_user_model()
            .objects.filter(
                is_active=True,
                memberships__municipality_id=municipality_id,
                memberships__role=StaffMembership.Role.ADMIN,
            )
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )


def disable(subscription: WebhookSubscription, reason: str, *, notify: bool = False) -> None:
    """Stop sending to `subscription` (pending deliveries are cancelled when their turn
    comes); with `notify`, e-mail the municipality's 管理者."""
    subscription.is_active = False
    subscription.disabled_at = timezone.now()
    subscription.disabled_reason = reason
    subscription.save(update_fields=["is_active", "disabled_at", "disabled_reason"])
    logger.warning("webhooks: subscription %s disabled", subscription.pk)
    if not notify:
        return
    client = subscription.client
    to = admin_addresses(client.municipality_id)
    if not to:
        logger.warning(
            "webhooks: no 管理者 with an e-mail address to notify about subscription %s",
            subscription.pk,
        )
        return
    page = f"{settings.PUBLIC_BASE_URL}/staff/webhooks/{subscription.pk}/"
    subject = _("【madoguchi】Webhookの送信を停止しました（%(client)s）") % {"client": client.name}
    body = _(
        "連携先システム「%(client)s」のWebhookの送信先への送信を停止しました。\n\n"
        "送信先URL: %(url)s\n"
        "理由: %(reason)s\n\n"
        "送信先の受信側を確認したうえで、次の画面から送信を再開してください。"
        "停止中に発生したイベントは送信されません。"
        "連携先システムはAPIの一覧（更新日時で絞り込み）で取り込み漏れを確認できます。\n"
        "%(page)s\n"
    ) % {"client": client.name, "url": subscription.url, "reason": reason, "page": page}
    outbox.enqueue_email(
        to=to,
        subject=subject,
        body=body,
        municipality=client.municipality,
        reference=f"webhook-subscription:{subscription.pk}",
    )


def enable(subscription: WebhookSubscription) -> None:
    subscription.is_active = True
    subscription.consecutive_failures = 0
    subscription.failing_since = None
    subscription.disabled_at = None
    subscription.disabled_reason = ""
    subscription.save(
        update_fields=[
            "is_active",
            "consecutive_failures",
            "failing_since",
            "disabled_at",
            "disabled_reason",
        ]
    )


def register() -> None:
    outbox.register(OutboxMessage.Kind.WEBHOOK, send, on_success=on_success, on_failure=on_failure)
