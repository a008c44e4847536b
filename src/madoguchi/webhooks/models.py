"""Webhook subscriptions of API clients, the hosts a 管理者 allows as targets, and the
delivery log.

The subscription's signing secret cannot be hashed: it is needed to sign every delivery.
It is stored encrypted with a key from the environment (`core.encrypted`), so a database
dump or backup holds no usable secret, and it is shown to the 管理者 once, when created or
rotated, and never again.
"""

import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.api.models import ApiClient
from madoguchi.core.encrypted import EncryptedTextField
from madoguchi.outbox.models import OutboxMessage
from madoguchi.tenants.models import Municipality


class Event(models.TextChoices):
    """Application events a client may subscribe to (ApplicationEvent.Kind values)."""

    SUBMITTED = "submitted", _("申請")
    RESUBMITTED = "resubmitted", _("再申請")
    STATUS_CHANGED = "status_changed", _("処理状況の変更")
    WITHDRAWN = "withdrawn", _("取り下げ")
    ACKNOWLEDGED = "acknowledged", _("連携済み")


PING = "ping"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class AllowedWebhookHost(models.Model):
    """A target host (exact `host` or `host:port`) a 管理者 allowed for webhooks."""

    municipality = models.ForeignKey(
        Municipality, on_delete=models.CASCADE, related_name="webhook_hosts"
    )
    host = models.CharField(_("ホスト"), max_length=260)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("許可する送信先ホスト")
        verbose_name_plural = _("許可する送信先ホスト")
        ordering = ["municipality", "host"]
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "host"], name="webhook_allowed_host_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.host


class WebhookSubscription(models.Model):
    client = models.ForeignKey(
        ApiClient, on_delete=models.CASCADE, related_name="webhook_subscriptions"
    )
    url = models.URLField(_("送信先URL"), max_length=500)
    secret = EncryptedTextField(default=new_secret)
    events = models.JSONField(_("通知するイベント"), default=list)
    is_active = models.BooleanField(_("有効"), default=True)
    consecutive_failures = models.PositiveIntegerField(_("連続した失敗の回数"), default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(_("停止日時"), null=True, blank=True)
    disabled_reason = models.TextField(_("停止の理由"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Webhookの送信先")
        verbose_name_plural = _("Webhookの送信先")
        ordering = ["client", "pk"]

    def __str__(self) -> str:
        return f"{self.client} → {self.url}"

    def event_labels(self) -> list[str]:
        labels = dict(Event.choices)
        return [str(labels.get(e, e)) for e in self.events]


class WebhookDelivery(models.Model):
    """One event sent (or to be sent) to one subscription. Carries no personal data."""

    class State(models.TextChoices):
        PENDING = "pending", _("送信待ち")
        DELIVERED = "delivered", _("送信済み")
        FAILED = "failed", _("送信失敗（再試行終了）")
        CANCELLED = "cancelled", _("取り消し（停止中のため送信せず）")

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.UUIDField(unique=True)
    event_kind = models.CharField(_("イベント"), max_length=30)
    receipt_number = models.CharField(_("受付番号"), max_length=20, blank=True)
    outbox_message = models.OneToOneField(
        OutboxMessage,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="webhook_delivery",
    )
    attempts = models.PositiveSmallIntegerField(_("試行回数"), default=0)
    last_status_code = models.PositiveSmallIntegerField(_("最後の応答"), null=True, blank=True)
    last_error = models.CharField(_("最後のエラー"), max_length=300, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(_("送信日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("Webhookの送信記録")
        verbose_name_plural = _("Webhookの送信記録")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["subscription", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.event_kind} #{self.pk} ({self.get_state_display()})"

    @property
    def event_label(self) -> str:
        if self.event_kind == PING:
            return str(_("テスト送信"))
        return str(dict(Event.choices).get(self.event_kind, self.event_kind))
