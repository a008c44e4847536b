import json

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from madoguchi.formengine.schema import SchemaError, parse_form

from .models import FormVersion, Procedure


class FormVersionAdminForm(forms.ModelForm):
    class Meta:
        model = FormVersion
        fields = ["procedure", "number", "schema"]

    def clean_schema(self):
        schema = self.cleaned_data["schema"]
        if self.instance.pk and self.instance.status == FormVersion.Status.PUBLISHED:
            if schema != self.instance.schema:
                raise forms.ValidationError(
                    _("公開済みの様式は変更できません。新しい版を作成してください。")
                )
        try:
            parse_form(schema, source=str(self.cleaned_data.get("procedure") or "form"))
        except SchemaError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return schema


@admin.action(description=_("選択した下書きの版を公開する"))
def publish_versions(modeladmin, request, queryset):
    for version in queryset.filter(status=FormVersion.Status.DRAFT):
        try:
            version.publish(user=request.user)
        except SchemaError as exc:
            modeladmin.message_user(request, str(exc), level=messages.ERROR)
        else:
            modeladmin.message_user(request, _("%(v)s を公開しました。") % {"v": version})


@admin.action(description=_("選択した版をもとに新しい下書きを作成する"))
def copy_to_new_draft(modeladmin, request, queryset):
    for version in queryset:
        draft = FormVersion.new_draft(
            version.procedure, schema=json.loads(json.dumps(version.schema))
        )
        modeladmin.message_user(request, _("%(v)s を作成しました。") % {"v": draft})


@admin.register(FormVersion)
class FormVersionAdmin(admin.ModelAdmin):
    form = FormVersionAdminForm
    list_display = ["procedure", "number", "status", "published_at"]
    list_filter = ["status", "procedure__municipality"]
    actions = [publish_versions, copy_to_new_draft]

    def get_readonly_fields(self, request, obj=None):
        if obj and obj.status == FormVersion.Status.PUBLISHED:
            return ["procedure", "number", "schema", "status", "published_at", "published_by"]
        return ["status", "published_at", "published_by"]


@admin.register(Procedure)
class ProcedureAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "municipality",
        "category",
        "identity_level",
        "is_published",
        "current_version",
    ]
    list_filter = ["municipality", "category", "identity_level", "is_published"]
    search_fields = ["name", "reading", "keywords"]
    filter_horizontal = ["departments"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "current_version":
            kwargs["queryset"] = FormVersion.objects.filter(status=FormVersion.Status.PUBLISHED)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
