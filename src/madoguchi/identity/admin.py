"""Technical read-only views of the 番号紐付 and registry data (staff import files with the
management commands; see docs/serial-links.md)."""

from django.contrib import admin

from . import admin_trust  # noqa: F401
from .models import IdentityImportBatch, ResidentRecord, SerialLink


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(IdentityImportBatch)
class IdentityImportBatchAdmin(_ReadOnly):
    list_display = [
        "pk",
        "municipality",
        "kind",
        "result",
        "serial_notation",
        "line_count",
        "applied_count",
        "refused_count",
        "created_at",
    ]
    list_filter = ["municipality", "kind", "result"]


@admin.register(SerialLink)
class SerialLinkAdmin(_ReadOnly):
    list_display = [
        "certificate_serial",
        "atena_number",
        "valid_from",
        "valid_until",
        "superseded_at",
        "municipality",
    ]
    list_filter = ["municipality"]
    search_fields = ["=certificate_serial", "=atena_number"]


@admin.register(ResidentRecord)
class ResidentRecordAdmin(_ReadOnly):
    """Only the 宛名番号 is listed; the row itself shows the extract's values."""

    list_display = ["atena_number", "municipality", "imported_in"]
    list_filter = ["municipality"]
    search_fields = ["=atena_number"]
    exclude = ["name_key", "kana_key", "address_key"]
