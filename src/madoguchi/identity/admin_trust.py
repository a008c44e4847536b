"""Admin for trust anchors and CRLs: a 管理者 (superuser) uploads a certificate or a DER CRL.
Deployment-wide data, so only superusers see it."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from madoguchi.identity.jpki import CertificateError, load_certificate
from madoguchi.identity.trust_models import CertificateRevocationList, TrustAnchor
from madoguchi.identity.truststore import add_crl, add_trust_anchor


class _SuperuserOnly:
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    has_add_permission = has_view_permission

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: verification results refer to them


class TrustAnchorUploadForm(forms.ModelForm):
    upload = forms.FileField(label=_("証明書ファイル（DER または PEM）"))

    class Meta:
        model = TrustAnchor
        fields = ["name", "kind", "is_test", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].required = False
        self.fields["name"].help_text = _("空欄なら証明書の CN を使います。")

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("upload")
        if upload is not None:
            self._data = upload.read()
            try:
                load_certificate(self._data)
            except CertificateError as exc:
                self.add_error("upload", exc.message)
        return cleaned

    def _post_clean(self):
        pass  # the row is built from the certificate by add_trust_anchor

    def save(self, commit=True):
        try:
            row, _created = add_trust_anchor(
                self._data,
                name=self.cleaned_data.get("name", ""),
                kind=self.cleaned_data["kind"],
                is_test=True if self.cleaned_data.get("is_test") else None,
                note=self.cleaned_data.get("note", ""),
            )
        except CertificateError as exc:
            raise ValidationError(exc.message) from exc
        self.instance = row
        self.save_m2m = lambda: None
        return row


@admin.register(TrustAnchor)
class TrustAnchorAdmin(_SuperuserOnly, admin.ModelAdmin):
    list_display = ["name", "kind", "is_test", "is_active", "not_before", "not_after"]
    list_filter = ["kind", "is_test", "is_active"]
    readonly_fields = [
        "fingerprint_sha256",
        "subject",
        "issuer",
        "serial",
        "not_before",
        "not_after",
        "created_at",
    ]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = TrustAnchorUploadForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["upload", "name", "kind", "is_test", "note"]
        return ["name", "kind", "is_test", "is_active", "note", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + (["kind", "is_test"] if obj else [])


class CRLUploadForm(forms.ModelForm):
    upload = forms.FileField(label=_("失効リストファイル（DER）"))

    class Meta:
        model = CertificateRevocationList
        fields = []

    def _post_clean(self):
        pass

    def save(self, commit=True):
        self.instance = self._row
        self.save_m2m = lambda: None
        return self._row

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("upload")
        if upload is not None:
            try:
                self._row, _created = add_crl(upload.read())
            except CertificateError as exc:
                raise ValidationError(exc.message) from exc
        return cleaned


@admin.register(CertificateRevocationList)
class CertificateRevocationListAdmin(_SuperuserOnly, admin.ModelAdmin):
    list_display = ["issuer", "scope", "this_update", "next_update", "revoked_count", "loaded_at"]
    readonly_fields = [
        "issuer",
        "issuer_anchor",
        "scope",
        "crl_number",
        "this_update",
        "next_update",
        "revoked_count",
        "source",
        "sha256",
        "loaded_at",
    ]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = CRLUploadForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ["upload"] if obj is None else self.readonly_fields

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        pass  # saved by the form (add_crl)
