"""Trust anchors (JPKI signing CA certificates) and certificate revocation lists.

Deployment-wide (not per municipality): the JPKI CAs are national. Loaded by a 管理者 in the
admin or with `madoguchi load_trust`; read by `madoguchi.identity.jpki.TrustStore.load()`."""

from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["CertificateRevocationList", "TrustAnchor"]


class TrustAnchor(models.Model):
    class Kind(models.TextChoices):
        ANCHOR = "anchor", _("信頼点（ルート認証局）")
        INTERMEDIATE = "intermediate", _("中間認証局")

    name = models.CharField(_("名前"), max_length=200)
    kind = models.CharField(_("種類"), max_length=20, choices=Kind.choices, default=Kind.ANCHOR)
    certificate_der = models.BinaryField(_("証明書（DER）"))
    fingerprint_sha256 = models.CharField(
        _("SHA-256フィンガープリント"), max_length=64, unique=True
    )
    subject = models.TextField(_("主体者"))
    issuer = models.TextField(_("発行者"))
    serial = models.CharField(_("シリアル番号"), max_length=64)
    not_before = models.DateTimeField(_("有効期間の開始"))
    not_after = models.DateTimeField(_("有効期間の終了"))
    is_test = models.BooleanField(
        _("テスト用認証局"),
        default=False,
        help_text=_("テスト用認証局は JPKI_ALLOW_TEST_CA が有効な環境でだけ信頼されます。"),
    )
    is_active = models.BooleanField(_("有効"), default=True)
    note = models.TextField(_("メモ"), blank=True)
    created_at = models.DateTimeField(_("登録日時"), auto_now_add=True)

    class Meta:
        app_label = "identity"
        verbose_name = _("信頼する認証局")
        verbose_name_plural = _("信頼する認証局")
        ordering = ["-is_active", "name", "pk"]

    def __str__(self) -> str:
        return f"{self.name}{'（テスト）' if self.is_test else ''}"


class CertificateRevocationList(models.Model):
    issuer = models.TextField(_("発行者"))
    issuer_anchor = models.ForeignKey(
        TrustAnchor,
        verbose_name=_("発行した認証局"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="crls",
    )
    crl_der = models.BinaryField(_("失効リスト（DER）"))
    sha256 = models.CharField(max_length=64, unique=True)
    crl_number = models.CharField(_("CRL番号"), max_length=64, blank=True)
    this_update = models.DateTimeField(_("発行日時"))
    next_update = models.DateTimeField(_("次回更新予定"), null=True, blank=True)
    revoked_count = models.PositiveIntegerField(_("失効した証明書の数"), default=0)
    scope = models.CharField(
        _("対象"),
        max_length=1000,
        blank=True,
        help_text=_(
            "分割された失効リスト（発行分布点つき）の対象。空欄は認証局のすべての証明書を"
            "対象とする失効リストです。"
        ),
    )
    source = models.CharField(
        _("読込元"),
        max_length=500,
        blank=True,
        help_text=_("再読込（load_trust refresh）に使うファイルのパス"),
    )
    loaded_at = models.DateTimeField(_("読込日時"), auto_now_add=True)

    class Meta:
        app_label = "identity"
        verbose_name = _("失効リスト（CRL）")
        verbose_name_plural = _("失効リスト（CRL）")
        ordering = ["-this_update", "-pk"]

    def __str__(self) -> str:
        return f"{self.issuer} {self.this_update:%Y-%m-%d %H:%M}"
