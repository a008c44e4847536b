"""Client systems are managed by a 管理者 in the Django admin (the back office's isolation
harness covers staff URLs; these pages are admin-only). A secret is shown once: when the
client is created and when the "reset secret" action is run."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from .credentials import set_secret
from .models import Acknowledgement, ApiClient, ApiGrant


class ApiGrantInline(admin.TabularInline):
    model = ApiGrant
    extra = 0


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ["name", "client_id", "municipality", "is_active", "last_used_at"]
    list_filter = ["municipality", "is_active"]
    search_fields = ["name", "client_id"]
    readonly_fields = ["created_at", "last_used_at"]
    exclude = ["secret_hash"]
    inlines = [ApiGrantInline]
    actions = ["reset_secret"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            secret = set_secret(obj)
            self._show_secret(request, obj, secret)

    @admin.action(description=_("シークレットを再発行する（旧シークレットは無効になります）"))
    def reset_secret(self, request, queryset):
        for client in queryset:
            self._show_secret(request, client, set_secret(client))

    @staticmethod
    def _show_secret(request, client, secret: str) -> None:
        messages.warning(
            request,
            _(
                "%(name)s（client_id: %(client_id)s）のシークレット: %(secret)s "
                "— この画面を離れると二度と表示されません。連携先に安全な方法で伝えてください。"
            )
            % {"name": client.name, "client_id": client.client_id, "secret": secret},
        )


@admin.register(Acknowledgement)
class AcknowledgementAdmin(admin.ModelAdmin):
    list_display = ["client", "application", "acknowledged_at"]
    list_filter = ["client"]
    raw_id_fields = ["application"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
