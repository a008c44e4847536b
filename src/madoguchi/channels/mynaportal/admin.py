"""Admin of the マイナポータル channel: connection, item mapping, quarantine (管理者 only,
scoped to the municipalities they administer)."""

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.channels.models import (
    MynaportalConnection,
    MynaportalMapping,
    QuarantinedPackage,
)
from madoguchi.core import outbound
from madoguchi.tenants.admin_scoping import MunicipalityScopedAdmin

from . import intake


class MynaportalConnectionForm(forms.ModelForm):
    # No Meta: the admin builds the fields (with its formfield overrides) for this base.

    def clean_base_url(self):
        # No internal address (SSRF). The admin saves inside a transaction, so only what the
        # URL itself says is checked here; every connection resolves and checks again.
        url = self.cleaned_data["base_url"]
        try:
            outbound.check_url_literal(url)
        except outbound.BlockedAddressError as exc:
            raise forms.ValidationError(str(exc)) from None
        return url


@admin.register(MynaportalConnection)
class MynaportalConnectionAdmin(MunicipalityScopedAdmin):
    form = MynaportalConnectionForm
    list_display = [
        "municipality",
        "base_url",
        "secret_status",
        "is_active",
        "last_pulled_at",
        "last_result",
    ]
    fields = [
        "municipality",
        "base_url",
        "login_id",
        "password_env",
        "secret_status",
        "lookback_days",
        "is_active",
        "last_pulled_at",
        "last_result",
    ]
    readonly_fields = ["secret_status", "last_pulled_at", "last_result"]
    # 特定通信 is HTTPS: an address typed without a scheme means https:// (the simulator on a
    # loopback port is typed with its http:// in full).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("municipality")

    @admin.display(description=_("パスワード"))
    def secret_status(self, obj) -> str:
        # Only whether it is set, and where: the value itself is never shown.
        if obj is None or obj.municipality_id is None:
            return _("保存後に表示します")
        if obj.has_password:
            return _("設定済み（環境変数 %(name)s）") % {"name": obj.password_variable}
        return _("未設定（環境変数 %(name)s を設定してください）") % {"name": obj.password_variable}


@admin.register(MynaportalMapping)
class MynaportalMappingAdmin(MunicipalityScopedAdmin):
    list_display = ["procedure_code", "procedure", "municipality", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["procedure_code"]


@admin.register(QuarantinedPackage)
class QuarantinedPackageAdmin(MunicipalityScopedAdmin):
    list_display = [
        "source_reference",
        "procedure_code",
        "state",
        "reason",
        "attempts",
        "created_at",
    ]
    list_filter = ["state"]
    search_fields = ["source_reference", "procedure_code"]
    readonly_fields = [
        "municipality",
        "source_reference",
        "procedure_code",
        "reason",
        "received_at",
        "sha256",
        "state",
        "attempts",
        "application",
        "created_at",
        "updated_at",
    ]
    exclude = ["raw_package"]
    actions = ["reprocess", "discard"]

    def has_add_permission(self, request, *args):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # nothing is silently dropped: 破棄 is a state, the package stays

    @admin.action(description=_("選択した申請データを再処理する"))
    def reprocess(self, request, queryset):
        done = quarantined = failed = 0
        for entry in queryset.exclude(state=QuarantinedPackage.State.RESOLVED):
            try:
                outcome = intake.reprocess(entry)
            except Exception:
                failed += 1
                continue
            if outcome.kind == intake.QUARANTINED:
                quarantined += 1
            else:
                done += 1
        self.message_user(
            request,
            _("取り込み %(d)s件、再び隔離 %(q)s件、失敗 %(f)s件")
            % {"d": done, "q": quarantined, "f": failed},
            messages.SUCCESS if not (quarantined or failed) else messages.WARNING,
        )

    @admin.action(description=_("選択した申請データを破棄済みにする（データは残ります）"))
    def discard(self, request, queryset):
        count = queryset.filter(state=QuarantinedPackage.State.QUARANTINED).update(
            state=QuarantinedPackage.State.DISCARDED
        )
        self.message_user(request, _("%(n)s件を破棄済みにしました。") % {"n": count})
