from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from madoguchi.tenants.admin_scoping import MunicipalityScopedAdmin

from .models import OutboxMessage
from .resend import resend


@admin.register(OutboxMessage)
class OutboxMessageAdmin(MunicipalityScopedAdmin):
    """Pending, failed and sent messages with their errors, and a resend action.

    A 管理者 sees their municipalities' messages; messages of no municipality (platform mail)
    only a superuser. Messages are written by the system alone: nobody adds, edits or deletes
    one here (a message that must not go is cancelled by the code that wrote it).
    """

    list_display = [
        "id",
        "kind",
        "state",
        "attempts",
        "next_attempt_at",
        "reference",
        "last_error",
        "created_at",
    ]
    list_filter = ["kind", "state"]
    readonly_fields = [f.name for f in OutboxMessage._meta.fields if f.name != "payload"]
    exclude = ["payload"]  # holds personal data (addresses, names): not shown in lists
    actions = ["retry"]

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("選択した送信失敗・送信待ちのメッセージを今すぐ再送する"))
    def retry(self, request, queryset):
        # A failed message gets a fresh series of attempts; sent and cancelled ones are left.
        count = resend(queryset, user=request.user)
        self.message_user(
            request, _("%(n)s件を再送の対象にしました。") % {"n": count}, messages.SUCCESS
        )
