"""Client systems (基幹システム) registered by a 管理者 and what each may do.

A client authenticates with its id and a secret stored only as a hash. Grants are per
municipality (the client's) and per procedure (or every procedure of the municipality) and
per action; a case outside them looks to the client as if it did not exist.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.tenants.models import Municipality, MunicipalityScopedQuerySet


class ApiClient(models.Model):
    municipality = models.ForeignKey(
        Municipality, on_delete=models.PROTECT, related_name="api_clients"
    )
    name = models.CharField(_("連携先システム名"), max_length=200)
    client_id = models.SlugField(_("クライアントID"), max_length=64, unique=True)
    # PBKDF2 hash (django.contrib.auth.hashers.make_password) of the secret; never the secret.
    secret_hash = models.CharField(max_length=200)
    is_active = models.BooleanField(_("有効"), default=True)
    rate_limit_per_minute = models.PositiveIntegerField(
        _("1分あたりの上限リクエスト数"), default=600
    )
    contact_email = models.EmailField(_("連絡先メールアドレス"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = MunicipalityScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("連携先システム")
        verbose_name_plural = _("連携先システム")
        ordering = ["municipality", "name"]

    def __str__(self) -> str:
        return self.name


class ApiGrant(models.Model):
    """What a client may do with one procedure's cases (or every procedure's, when blank)."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="grants")
    procedure = models.ForeignKey(
        "catalog.Procedure",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("空欄の場合は団体のすべての手続"),
    )
    can_read_applications = models.BooleanField(_("申請の読み取り"), default=True)
    can_read_attachments = models.BooleanField(_("添付書類の読み取り"), default=False)
    can_acknowledge = models.BooleanField(_("連携済みの記録"), default=False)
    can_write_status = models.BooleanField(_("処理状況の更新"), default=False)
    can_write_notes = models.BooleanField(_("職員へのメモの追加"), default=False)
    can_read_individual_number = models.BooleanField(
        _("個人番号の読み取り"),
        default=False,
        help_text=_("既定では無効。無効のとき、個人番号の項目は応答に含まれません。"),
    )

    class Meta:
        verbose_name = _("連携の権限")
        verbose_name_plural = _("連携の権限")
        constraints = [
            models.UniqueConstraint(fields=["client", "procedure"], name="api_grant_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.client} / {self.procedure or '全手続'}"


class Acknowledgement(models.Model):
    """連携済み: a client took a case into its core system (idempotent per client and case)."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="acknowledgements")
    application = models.ForeignKey(
        "applications.Application", on_delete=models.CASCADE, related_name="acknowledgements"
    )
    acknowledged_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("連携済みの記録")
        verbose_name_plural = _("連携済みの記録")
        constraints = [
            models.UniqueConstraint(
                fields=["client", "application"], name="acknowledgement_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client} / {self.application}"


class ApiToken(models.Model):
    """An access token issued at POST /api/v1/token (OAuth2 client credentials).

    Only the SHA-256 digest of the token is stored (the token itself is 256 random bits, so
    a fast digest is enough; the client secret, which a person may choose, is PBKDF2)."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="tokens")
    token_digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("アクセストークン")
        verbose_name_plural = _("アクセストークン")

    def __str__(self) -> str:
        return f"{self.client} ({self.expires_at:%Y-%m-%d %H:%M})"
