"""Registration of proxy businesses (代理申請事業者) and their members by a 管理者.

A superuser sees every business; a 管理者 (who also needs Django's `is_staff` flag to open the
admin site) sees and registers only the businesses of the municipalities they administer.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from madoguchi.tenants.models import Business, BusinessMember, Municipality

from .access import admin_municipality_ids


def _administered(request) -> list[int] | None:
    """Municipality ids the user administers; None for a superuser (no limit)."""
    if request.user.is_superuser:
        return None
    return admin_municipality_ids(request.user)


class _MunicipalityAdminMixin:
    def _allowed(self, request) -> bool:
        ids = _administered(request)
        return ids is None or bool(ids)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff and self._allowed(request)

    def has_view_permission(self, request, obj=None):
        return self._may(request, obj)

    def has_add_permission(self, request, *args):
        return self._may(request, None)

    def has_change_permission(self, request, obj=None):
        return self._may(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._may(request, obj)

    def _may(self, request, obj) -> bool:
        if not (request.user.is_active and request.user.is_staff):
            return False
        ids = _administered(request)
        if ids is None:
            return True
        if obj is None:
            return bool(ids)
        return self._municipality_id(obj) in ids

    def _municipality_id(self, obj) -> int:
        raise NotImplementedError


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


class BusinessMemberInline(_MunicipalityAdminMixin, admin.TabularInline):
    model = BusinessMember
    extra = 1

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            return _user_by_username_field()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    verbose_name = _("ログインできる担当者")
    verbose_name_plural = _("ログインできる担当者")

    def _municipality_id(self, obj) -> int:
        # obj is the parent Business here (Django passes the inline's parent object).
        return obj.municipality_id


@admin.register(Business)
class BusinessAdmin(_MunicipalityAdminMixin, admin.ModelAdmin):
    list_display = ["name", "business_number", "corporate_number", "municipality", "is_active"]
    list_filter = ["is_active", "municipality"]
    search_fields = ["name", "name_kana", "business_number", "corporate_number"]
    inlines = [BusinessMemberInline]

    def _municipality_id(self, obj) -> int:
        return obj.municipality_id

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        ids = _administered(request)
        return qs if ids is None else qs.filter(municipality_id__in=ids)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "municipality":
            ids = _administered(request)
            if ids is not None:
                kwargs["queryset"] = Municipality.objects.filter(pk__in=ids)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(BusinessMember)
class BusinessMemberAdmin(_MunicipalityAdminMixin, admin.ModelAdmin):
    list_display = ["user", "business"]
    list_filter = ["business__municipality"]
    search_fields = ["user__username", "business__name"]

    def _municipality_id(self, obj) -> int:
        return obj.business.municipality_id

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("business", "user")
        ids = _administered(request)
        return qs if ids is None else qs.filter(business__municipality_id__in=ids)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            return _user_by_username_field()
        if db_field.name == "business":
            ids = _administered(request)
            if ids is not None:
                kwargs["queryset"] = Business.objects.filter(municipality_id__in=ids)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# マイナポータル: connection, item mapping and quarantine (registered from their own module).
from .mynaportal import admin as _mynaportal_admin  # noqa: E402, F401
