"""Export jobs started from a screen: they run in the background (Celery, or a thread in the
embedded default), report their progress, and their files can be downloaded afterwards."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.core.jobs import JobProgress
from madoguchi.tenants.models import Municipality, MunicipalityScopedQuerySet


class ExportJob(JobProgress, models.Model):
    total_field = "total_rows"
    done_field = "done_rows"

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (XLSX)"

    class Encoding(models.TextChoices):
        UTF8_BOM = "utf-8-sig", _("UTF-8（BOM付き）")
        CP932 = "cp932", _("Shift_JIS（CP932）")

    class State(models.TextChoices):
        QUEUED = "queued", _("待機中")
        RUNNING = "running", _("作成中")
        DONE = "done", _("完了")
        FAILED = "failed", _("失敗")

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The inbox filters as they were in the URL (the same scoping is applied again in the job).
    filters = models.JSONField(default=dict, blank=True)
    procedure = models.ForeignKey(
        "catalog.Procedure", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    form_version = models.ForeignKey(
        "catalog.FormVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    format = models.CharField(max_length=5, choices=Format.choices, default=Format.CSV)
    encoding = models.CharField(max_length=10, choices=Encoding.choices, default=Encoding.UTF8_BOM)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    total_rows = models.PositiveIntegerField(default=0)
    done_rows = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="exports/", max_length=300, blank=True)
    # Characters that could not be encoded: [{"receipt_number", "field", "character"}].
    report = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = MunicipalityScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("出力ジョブ")
        verbose_name_plural = _("出力ジョブ")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_format_display()} #{self.pk} ({self.get_state_display()})"
