from django.contrib import admin

from .models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "state", "attempts", "next_attempt_at", "reference", "created_at"]
    list_filter = ["kind", "state"]
    readonly_fields = [f.name for f in OutboxMessage._meta.fields if f.name != "payload"]
    exclude = ["payload"]  # holds personal data (addresses, names): not shown in lists
