"""閲覧ログ: who viewed, downloaded, printed or exported which personal data, when and from
where. Append-only; searchable by a 管理者. Holds ids and actions, never the data itself."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.tenants.models import Municipality, MunicipalityScopedQuerySet


class AccessLog(models.Model):
    class Action(models.TextChoices):
        VIEW_APPLICATION = "view_application", _("申請の閲覧")
        PRINT_APPLICATION = "print_application", _("申請の印刷用表示")
        DOWNLOAD_ATTACHMENT = "download_attachment", _("添付書類のダウンロード")
        PREVIEW_ATTACHMENT = "preview_attachment", _("添付書類の表示")
        EXPORT = "export", _("一覧の出力")
        DOWNLOAD_EXPORT = "download_export", _("出力ファイルのダウンロード")
        SEARCH = "search", _("検索")
        API_READ = "api_read", _("APIによる読み取り")

    municipality = models.ForeignKey(
        Municipality, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(_("操作"), max_length=30, choices=Action.choices)
    application = models.ForeignKey(
        "applications.Application",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Kept when the application is deleted at the end of its retention period.
    receipt_number = models.CharField(_("受付番号"), max_length=20, blank=True)
    object_ref = models.CharField(_("対象"), max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(_("接続元"), null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("日時"), default=timezone.now, db_index=True)

    objects = MunicipalityScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("閲覧ログ")
        verbose_name_plural = _("閲覧ログ")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["municipality", "-created_at"]),
            models.Index(fields=["user", "-created_at"]),
            models.Index(fields=["receipt_number"]),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.get_action_display()}"

    def save(self, *args, **kwargs):
        if self.pk:
            raise RuntimeError("AccessLog rows are append-only")
        super().save(*args, **kwargs)
