from django.contrib import admin

from .models import Application, ApplicationEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    """Technical read-only view; staff work in the back office, not here. Answers are not
    shown in the admin (no access log here)."""

    list_display = [
        "receipt_number",
        "municipality",
        "procedure",
        "channel",
        "status",
        "submitted_at",
    ]
    list_filter = ["municipality", "status", "channel"]
    search_fields = ["receipt_number"]
    exclude = ["answers", "draft_values", "status_token_digest", "resume_token_digest"]


@admin.register(ApplicationEvent)
class ApplicationEventAdmin(ReadOnlyAdmin):
    list_display = ["application", "kind", "actor_type", "actor_user", "created_at"]
    list_filter = ["kind", "actor_type"]
