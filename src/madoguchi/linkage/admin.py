from django.contrib import admin

from .models import Batch, Layout, ResultImport


@admin.register(Layout)
class LayoutAdmin(admin.ModelAdmin):
    list_display = ("name", "procedure", "format", "encoding", "is_active")
    list_filter = ("format", "encoding", "is_active")


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ("pk", "layout", "state", "exported", "skipped", "created_at")
    list_filter = ("state",)
    # The files are written by the batch, never uploaded here (a change form saves inside a
    # transaction, and storage is never called inside one: madoguchi.ops.file_storage).
    readonly_fields = ("file", "manifest_file", "manifest", "report", "sha256")


@admin.register(ResultImport)
class ResultImportAdmin(admin.ModelAdmin):
    list_display = ("pk", "layout", "state", "applied", "failed", "created_at")
    readonly_fields = ("file", "report")
