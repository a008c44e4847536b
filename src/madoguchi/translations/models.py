"""Translations of the texts of a procedure and its form (多言語化).

One row per procedure × language × text key (`formengine.texts` for form texts, `procedure.*`
for the procedure page). A row remembers the Japanese text it translates (`source`): when the
Japanese text at that key changes (a new form version, an edited procedure page) the row no
longer applies and the resident sees the Japanese text until someone updates the translation.
Published form versions stay untouched: translations live beside them, so they can be added
and corrected at any time.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.catalog.models import Procedure

from .languages import CONTENT_LANGUAGES

LANGUAGE_CHOICES = [(code, names[1]) for code, names in CONTENT_LANGUAGES.items()]


class TextTranslation(models.Model):
    class Origin(models.TextChoices):
        TEMPLATE = "template", _("標準様式")
        STAFF = "staff", _("職員")

    procedure = models.ForeignKey(
        Procedure, on_delete=models.CASCADE, related_name="text_translations"
    )
    language = models.CharField(_("言語"), max_length=16, choices=LANGUAGE_CHOICES)
    key = models.CharField(_("文言の識別子"), max_length=300)
    source = models.TextField(_("翻訳元の日本語"))
    text = models.TextField(_("翻訳"))
    origin = models.CharField(
        _("入力元"), max_length=10, choices=Origin.choices, default=Origin.STAFF
    )
    updated_at = models.DateTimeField(_("更新日時"), default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("文言の翻訳")
        verbose_name_plural = _("文言の翻訳")
        constraints = [
            models.UniqueConstraint(
                fields=["procedure", "language", "key"], name="text_translation_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.procedure_id} {self.language} {self.key}"


class TranslationChange(models.Model):
    """Append-only record of every change staff made to a translation (who, when, before,
    after). Changes loaded from a standard template are not recorded here."""

    procedure = models.ForeignKey(
        Procedure, on_delete=models.CASCADE, related_name="translation_changes"
    )
    language = models.CharField(_("言語"), max_length=16, choices=LANGUAGE_CHOICES)
    key = models.CharField(_("文言の識別子"), max_length=300)
    source = models.TextField(_("翻訳元の日本語"))
    before = models.TextField(_("変更前"), blank=True)
    after = models.TextField(_("変更後"), blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("日時"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("翻訳の変更履歴")
        verbose_name_plural = _("翻訳の変更履歴")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.language} {self.key}"

    def save(self, *args, **kwargs):
        if self.pk:
            raise RuntimeError("TranslationChange rows are append-only")
        super().save(*args, **kwargs)
