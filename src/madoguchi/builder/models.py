"""The shared 様式 library: forms a municipality shares, forms imported from other deployments,
and the record of where a municipality's copy came from (to offer 「更新があります」)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.catalog.models import Procedure
from madoguchi.tenants.models import Municipality


class SharedForm(models.Model):
    """A procedure whose published form its municipality offers to the other municipalities
    of the deployment (the library shows the current published version)."""

    procedure = models.OneToOneField(Procedure, on_delete=models.CASCADE, related_name="sharing")
    shared_at = models.DateTimeField(auto_now_add=True)
    shared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        verbose_name = _("共有している様式")
        verbose_name_plural = _("共有している様式")

    def __str__(self) -> str:
        return str(self.procedure)


class ImportedForm(models.Model):
    """A form brought in from another deployment as a standard-template file; importing a
    newer file of the same key and origin replaces the document (copies then see the update)."""

    key = models.CharField(max_length=80)
    origin = models.CharField(_("提供元"), max_length=200)
    name = models.CharField(max_length=200)
    document = models.JSONField()  # {key, procedure, form} as in a standard template
    digest = models.CharField(max_length=64)
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("読み込んだ様式")
        verbose_name_plural = _("読み込んだ様式")
        constraints = [
            models.UniqueConstraint(fields=["key", "origin"], name="imported_form_unique")
        ]

    def __str__(self) -> str:
        return f"{self.origin}「{self.name}」"


class FormCopy(models.Model):
    """Where a municipality's procedure was copied from, and which version of the source its
    form was last taken from."""

    class Kind(models.TextChoices):
        TEMPLATE = "template", _("標準様式")
        SHARED = "shared", _("他団体の共有様式")
        IMPORTED = "imported", _("読み込んだ様式")

    procedure = models.OneToOneField(
        Procedure, on_delete=models.CASCADE, related_name="copied_from"
    )
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    source_ref = models.CharField(max_length=80)  # template key, procedure pk, imported pk
    source_label = models.CharField(max_length=300)
    source_version = models.CharField(max_length=64)  # version number or content digest
    source_schema = models.JSONField()  # the source's form as last taken
    taken_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("様式のコピー元")
        verbose_name_plural = _("様式のコピー元")

    def __str__(self) -> str:
        return f"{self.procedure} ← {self.source_label}"
