"""File linkage (ファイル連携, 方式3・4) with core systems.

- `Layout`: per procedure, the output file a 管理者 defined (no code): format, encoding,
  columns with code conversion, dates and byte widths (see `spec` and `formatting`).
- `Batch`: one run of a layout: the file, its manifest, the report of refused records.
- `ExportMark`: "this case went out in this layout", at most once — the unique
  (layout, application) constraint is the guarantee of exactly-once output. Marks are written
  in the transaction that finalises a batch; a failed or refused batch writes none.
- `ResultImport`: a result file from the core system (受付番号, 処理状況, メッセージ),
  applied line by line like status changes, with a per-line report.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.core.jobs import JobProgress
from madoguchi.tenants.models import Municipality, MunicipalityScopedQuerySet

DEFAULT_STATUSES = ["received", "in_progress"]


def default_statuses() -> list[str]:
    return list(DEFAULT_STATUSES)


class Layout(models.Model):
    class Format(models.TextChoices):
        CSV = "csv", _("CSV")
        FIXED = "fixed", _("固定長")

    class Encoding(models.TextChoices):
        UTF8 = "utf-8", _("UTF-8（BOMなし）")
        CP932 = "cp932", _("Shift_JIS（CP932）")

    class LineEnding(models.TextChoices):
        CRLF = "crlf", _("CRLF（Windows）")
        LF = "lf", _("LF")

    class OnError(models.TextChoices):
        SKIP_RECORD = "skip_record", _("その申請だけ出力せず、残りを出力する")
        REFUSE_BATCH = "refuse_batch", _("ファイル全体を作成しない")

    class Destination(models.TextChoices):
        DOWNLOAD = "download", _("ダウンロード")
        FOLDER = "folder", _("連携フォルダに置く")

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    procedure = models.ForeignKey(
        "catalog.Procedure", on_delete=models.PROTECT, related_name="linkage_layouts"
    )
    name = models.CharField(_("名前"), max_length=100)
    format = models.CharField(
        _("ファイル形式"), max_length=5, choices=Format.choices, default=Format.CSV
    )
    encoding = models.CharField(
        _("文字コード"), max_length=5, choices=Encoding.choices, default=Encoding.CP932
    )
    line_ending = models.CharField(
        _("改行"), max_length=4, choices=LineEnding.choices, default=LineEnding.CRLF
    )
    header_row = models.BooleanField(_("見出し行を出力する"), default=True)
    columns = models.JSONField(_("列"), default=list)
    statuses = models.JSONField(_("出力する処理状況"), default=default_statuses)
    on_error = models.CharField(
        _("出力できない値があるとき"),
        max_length=12,
        choices=OnError.choices,
        default=OnError.SKIP_RECORD,
    )
    destination = models.CharField(
        _("出力先"), max_length=8, choices=Destination.choices, default=Destination.DOWNLOAD
    )
    # Hour of the day (local time) at which the scheduled run starts; None = by hand only.
    schedule_hour = models.PositiveSmallIntegerField(
        _("定時実行の時刻（時）"), null=True, blank=True
    )
    is_active = models.BooleanField(_("有効"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MunicipalityScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("連携ファイルの様式")
        verbose_name_plural = _("連携ファイルの様式")
        ordering = ["procedure_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["procedure", "name"], name="linkage_layout_name_unique")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_fixed(self) -> bool:
        return self.format == self.Format.FIXED

    @property
    def extension(self) -> str:
        return "csv" if self.format == self.Format.CSV else "dat"


def batch_path(instance: Batch, filename: str) -> str:
    return f"linkage/{instance.municipality_id}/{instance.layout_id}/{filename}"


class Batch(JobProgress, models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", _("待機中")
        RUNNING = "running", _("作成中")
        DONE = "done", _("完了")
        REFUSED = "refused", _("作成しませんでした")
        FAILED = "failed", _("失敗")

    class Trigger(models.TextChoices):
        MANUAL = "manual", _("画面から")
        SCHEDULE = "schedule", _("定時実行")
        COMMAND = "command", _("コマンド")

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    layout = models.ForeignKey(Layout, on_delete=models.PROTECT, related_name="batches")
    trigger = models.CharField(max_length=8, choices=Trigger.choices, default=Trigger.MANUAL)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    exported = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to=batch_path, max_length=300, blank=True)
    manifest_file = models.FileField(upload_to=batch_path, max_length=300, blank=True)
    manifest = models.JSONField(default=dict, blank=True)
    # Records that could not be written: [{"receipt_number", "column", "reason"}].
    report = models.JSONField(default=list, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    dropped_to = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = MunicipalityScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("連携ファイルの作成")
        verbose_name_plural = _("連携ファイルの作成")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.layout} #{self.pk} ({self.get_state_display()})"


class ExportMark(models.Model):
    """The case went out in this layout (exactly once: unique per layout)."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    layout = models.ForeignKey(Layout, on_delete=models.PROTECT, related_name="marks")
    application = models.ForeignKey(
        "applications.Application", on_delete=models.CASCADE, related_name="linkage_marks"
    )
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="marks")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("連携済みの記録")
        verbose_name_plural = _("連携済みの記録")
        constraints = [
            models.UniqueConstraint(
                fields=["layout", "application"], name="linkage_mark_once_per_layout"
            )
        ]

    def __str__(self) -> str:
        return f"{self.layout_id}/{self.application_id}"


def import_path(instance: ResultImport, filename: str) -> str:
    return f"linkage/{instance.municipality_id}/results/{instance.layout_id}/{filename}"


class ResultImport(JobProgress, models.Model):
    class Encoding(models.TextChoices):
        AUTO = "auto", _("自動判定")
        UTF8 = "utf-8", _("UTF-8")
        CP932 = "cp932", _("Shift_JIS（CP932）")

    class State(models.TextChoices):
        QUEUED = "queued", _("待機中")
        RUNNING = "running", _("取り込み中")
        DONE = "done", _("完了")
        FAILED = "failed", _("失敗")

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    layout = models.ForeignKey(Layout, on_delete=models.PROTECT, related_name="imports")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    file = models.FileField(upload_to=import_path, max_length=300)
    original_name = models.CharField(max_length=255, blank=True)
    encoding = models.CharField(max_length=6, choices=Encoding.choices, default=Encoding.AUTO)
    detected_encoding = models.CharField(max_length=6, blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    applied = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    # [{"line", "receipt_number", "status", "ok", "result"}]
    report = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = MunicipalityScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("処理結果ファイルの取り込み")
        verbose_name_plural = _("処理結果ファイルの取り込み")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.layout} result #{self.pk}"
