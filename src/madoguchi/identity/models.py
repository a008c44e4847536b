"""Models of the identity app.

番号紐付 (serial links, `SerialLink`), the resident-registry extract (`ResidentRecord`) and
the log of every file imported into them (`IdentityImportBatch`). See docs/serial-links.md.
"""

from .trust_models import *  # noqa

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.tenants.models import Municipality, MunicipalityScopedQuerySet


def quarantine_path(instance: "IdentityImportBatch", filename: str) -> str:
    # Never the operator's file name (it may carry dates or names); the batch is the reference.
    return f"identity/quarantine/{instance.municipality_id}/{uuid.uuid4().hex}"


class IdentityImportBatch(models.Model):
    """One file imported (or refused): what, when, by whom, with what result and why.

    A refused file keeps its content (`quarantined_file`) so that nothing sent is lost."""

    class Kind(models.TextChoices):
        SERIAL_LINKS_FULL = "serial_links_full", _("番号紐付情報（全件）")
        SERIAL_LINKS_DIFF = "serial_links_diff", _("番号紐付情報（差分）")
        RESIDENT_REGISTRY = "resident_registry", _("住民記録（抽出）")

    class Result(models.TextChoices):
        APPLIED = "applied", _("取込済み")
        PARTIAL = "partial", _("一部の行を取込不可")
        REFUSED = "refused", _("取込不可（ファイル全体）")

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("種類"), max_length=20, choices=Kind.choices)
    result = models.CharField(_("結果"), max_length=10, choices=Result.choices)
    file_name = models.CharField(_("ファイル名"), max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, db_index=True)
    encoding = models.CharField(_("文字コード"), max_length=10, blank=True)
    serial_notation = models.CharField(
        _("シリアル番号の表記"),
        max_length=3,
        blank=True,
        choices=[("hex", _("16進")), ("dec", _("10進"))],
    )
    line_count = models.PositiveIntegerField(_("データ行数"), default=0)
    applied_count = models.PositiveIntegerField(_("取り込んだ行数"), default=0)
    unchanged_count = models.PositiveIntegerField(_("変更のなかった行数"), default=0)
    refused_count = models.PositiveIntegerField(_("取り込めなかった行数"), default=0)
    invalidated_count = models.PositiveIntegerField(_("無効にした紐付の数"), default=0)
    closed_count = models.PositiveIntegerField(
        _("新しい証明書により有効期間を終えた紐付の数"), default=0
    )
    # [{"line": n (0 = the file itself), "message": "..."}] — Japanese, line-numbered.
    errors = models.JSONField(_("理由"), default=list, blank=True)
    quarantined_file = models.FileField(upload_to=quarantine_path, max_length=300, blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MunicipalityScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("番号紐付・住民記録の取込")
        verbose_name_plural = _("番号紐付・住民記録の取込")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.get_result_display()})"


class SerialLinkQuerySet(MunicipalityScopedQuerySet):
    def current(self):
        """Rows that the latest imports still state (not superseded)."""
        return self.filter(superseded_at__isnull=True)


class SerialLink(models.Model):
    """番号紐付情報: a JPKI certificate serial number ↔ 宛名番号, valid from/until a date.

    Rows are never updated in place except to mark them superseded: a change (変更), a
    deletion (削除), a full import that no longer lists the serial, or a newer certificate of
    the same person supersedes the row, and a new row (if any) states the new truth."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    certificate_serial = models.CharField(_("シリアル番号"), max_length=64)
    atena_number = models.CharField(_("宛名番号"), max_length=32, db_index=True)
    valid_from = models.DateField(_("有効開始日"))
    valid_until = models.DateField(_("有効終了日"), null=True, blank=True)
    imported_in = models.ForeignKey(
        IdentityImportBatch, on_delete=models.PROTECT, related_name="serial_links"
    )
    superseded_at = models.DateTimeField(_("無効にした日時"), null=True, blank=True)
    superseded_in = models.ForeignKey(
        IdentityImportBatch,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_links",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SerialLinkQuerySet.as_manager()

    class Meta:
        verbose_name = _("番号紐付情報")
        verbose_name_plural = _("番号紐付情報")
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "certificate_serial"],
                condition=models.Q(superseded_at__isnull=True),
                name="serial_link_current_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_until__isnull=True)
                | models.Q(valid_until__gte=models.F("valid_from")),
                name="serial_link_valid_range",
            ),
        ]
        indexes = [models.Index(fields=["municipality", "certificate_serial"])]

    def __str__(self) -> str:
        return f"{self.certificate_serial} → {self.atena_number}"


class ResidentRecord(models.Model):
    """One resident of the latest registry extract (住民記録の抽出). Replaced as a whole by
    each import; the `*_key` columns hold the comparison keys (madoguchi.jp.itaiji)."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    atena_number = models.CharField(_("宛名番号"), max_length=32)
    name = models.CharField(_("氏名"), max_length=200)
    kana = models.CharField(_("フリガナ"), max_length=200, blank=True)
    birth_date = models.DateField(_("生年月日"), null=True, blank=True)
    # "1" 男, "2" 女, "" unknown (JPKI certificates use the same codes).
    sex = models.CharField(_("性別"), max_length=1, blank=True)
    address = models.CharField(_("住所"), max_length=300)
    name_key = models.CharField(max_length=200, db_index=True)
    kana_key = models.CharField(max_length=200, blank=True, db_index=True)
    address_key = models.CharField(max_length=300)
    imported_in = models.ForeignKey(
        IdentityImportBatch, on_delete=models.PROTECT, related_name="resident_records"
    )

    objects = MunicipalityScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("住民記録")
        verbose_name_plural = _("住民記録")
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "atena_number"], name="resident_record_atena_unique"
            )
        ]
        indexes = [models.Index(fields=["municipality", "birth_date"])]

    def __str__(self) -> str:
        return self.atena_number
