"""Registration of proxy businesses (代理申請事業者) and their members by a 管理者.

A superuser sees every business; a 管理者 (who also needs Django's `is_staff` flag to open the
admin site) sees and registers only the businesses of the municipalities they administer.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from madoguchi.tenants.admin_scoping import (
    MunicipalityScopedAdmin,
    MunicipalityScopedMixin,
    administered_ids,
)
from madoguchi.tenants.models import Business, BusinessMember


def _user_by_username_field():
    """The member's account typed as its username: a 管理者 of one municipality is never shown
    a list of every account of the deployment (and needs no right to browse accounts)."""
    return forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True),
        to_field_name=get_user_model().USERNAME_FIELD,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        label=_("ユーザー名"),
        help_text=_("担当者のログイン用アカウントのユーザー名を入力してください。"),
        error_messages={"invalid_choice": _("このユーザー名のアカウントはありません。")},
    )


class BusinessMemberInline(MunicipalityScopedMixin, admin.TabularInline):
    model = BusinessMember
    extra = 1
    municipality_path = "business__municipality_id"
    # Django passes the inline's parent object (the Business) to its permission checks.
    parent_municipality_path = "municipality_id"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            return _user_by_username_field()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    verbose_name = _("ログインできる担当者")
    verbose_name_plural = _("ログインできる担当者")


@admin.register(Business)
class BusinessAdmin(MunicipalityScopedAdmin):
    list_display = ["name", "business_number", "corporate_number", "municipality", "is_active"]
    list_filter = ["is_active", "municipality"]
    search_fields = ["name", "name_kana", "business_number", "corporate_number"]
    inlines = [BusinessMemberInline]


@admin.register(BusinessMember)
class BusinessMemberAdmin(MunicipalityScopedAdmin):
    list_display = ["user", "business"]
    list_filter = ["business__municipality"]
    search_fields = ["user__username", "business__name"]
    municipality_path = "business__municipality_id"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("business", "user")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            return _user_by_username_field()
        if db_field.name == "business":
            ids = administered_ids(request)
            if ids is not None:
                kwargs["queryset"] = Business.objects.filter(municipality_id__in=ids)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# マイナポータル: connection, item mapping and quarantine (registered from their own module).
from .mynaportal import admin as _mynaportal_admin  # noqa: E402, F401
