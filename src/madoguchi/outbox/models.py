"""Durable outgoing messages (送信待ち).

A message is written in the same database transaction as the change that caused it and
delivered after commit by a worker (Celery in production, inline in the embedded default).
A crash or an unreachable mail server delays a message; it never loses it. A message may be
delivered twice (a worker that dies after sending and before marking it sent); each e-mail
carries a Message-ID that stays the same on every attempt, so a receiver can drop the copy.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.tenants.models import Municipality


class OutboxMessage(models.Model):
    class Kind(models.TextChoices):
        EMAIL = "email", _("メール")
        WEBHOOK = "webhook", _("Webhook")
        MYNAPORTAL_STATUS = "mynaportal_status", _("マイナポータル申請処理状況登録")

    class State(models.TextChoices):
        PENDING = "pending", _("送信待ち")
        SENT = "sent", _("送信済み")
        FAILED = "failed", _("送信失敗（再試行終了）")
        CANCELLED = "cancelled", _("取り消し（送信しない）")

    municipality = models.ForeignKey(
        Municipality, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    payload = models.JSONField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # A reference for the audit trail (e.g. "application:42"), never personal data.
    reference = models.CharField(max_length=100, blank=True)
    # The request (or task) that wrote the message, so its delivery logs under the same id.
    request_id = models.CharField(max_length=64, blank=True, default="", db_default="")
    # A worker claims a message before sending it, outside any transaction: the claim holds
    # until `claimed_until` (then another worker may take the message over), and the worker
    # records the result only while `claim_token` is still its own.
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True, default="", db_default="")

    class Meta:
        verbose_name = _("送信待ちメッセージ")
        verbose_name_plural = _("送信待ちメッセージ")
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.get_state_display()})"
