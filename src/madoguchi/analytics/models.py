"""KPI side tables (業務改革の指標).

The figures themselves are queries over `Application` and its append-only event log
(`figures.py`); these models hold what the log cannot: staff's handling of residents'
comments, the pre-BPR baseline a 管理者 enters, and counts of failed validation per field
and rule (never the value typed).
"""

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.catalog.models import FormVersion, Procedure
from madoguchi.tenants.models import Municipality


class FeedbackReview(models.Model):
    """A member of staff marked a resident's comment (feedback event) as handled (§7.1)."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    event = models.OneToOneField(
        "applications.ApplicationEvent", on_delete=models.PROTECT, related_name="review"
    )
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    handled_at = models.DateTimeField(default=timezone.now)
    note = models.CharField(_("対応内容"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("ご意見への対応")
        verbose_name_plural = _("ご意見への対応")

    def __str__(self) -> str:
        return f"feedback {self.event_id}"


class ProcedureBaseline(models.Model):
    """The paper process before BPR, entered by a 管理者: minutes of staff time per case and
    cases per year. Shown beside the measured figures."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    procedure = models.OneToOneField(
        Procedure, on_delete=models.CASCADE, related_name="baseline", verbose_name=_("手続")
    )
    minutes_per_case = models.PositiveIntegerField(_("1件あたりの処理時間（分）"))
    yearly_cases = models.PositiveIntegerField(_("年間件数"))
    note = models.CharField(_("備考"), max_length=500, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("改革前の業務量")
        verbose_name_plural = _("改革前の業務量")

    def __str__(self) -> str:
        return f"{self.procedure_id}: {self.minutes_per_case} min × {self.yearly_cases}"


class ValidationFailure(models.Model):
    """How often a field of a form version failed a rule, per month. The field (its stable
    key, with repeat item numbers removed) and the rule code only; never the value."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    form_version = models.ForeignKey(FormVersion, on_delete=models.CASCADE, related_name="+")
    field_key = models.CharField(max_length=200)
    field_label = models.CharField(max_length=300)
    rule = models.CharField(max_length=40)
    month = models.DateField()  # first day of the month (Asia/Tokyo)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("入力エラーの件数")
        verbose_name_plural = _("入力エラーの件数")
        constraints = [
            models.UniqueConstraint(
                fields=["form_version", "field_key", "rule", "month"],
                name="validation_failure_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.form_version_id}/{self.field_key}/{self.rule}: {self.count}"

    @classmethod
    def increment(cls, *, form_version, field_key: str, field_label: str, rule: str) -> None:
        month = timezone.localdate().replace(day=1)
        key = {
            "form_version_id": form_version.pk,
            "field_key": field_key[:200],
            "rule": rule[:40],
            "month": month,
        }
        if cls.objects.filter(**key).update(count=F("count") + 1):
            return
        try:
            with transaction.atomic():
                cls.objects.create(
                    municipality_id=form_version.procedure.municipality_id,
                    field_label=field_label[:300],
                    count=1,
                    **key,
                )
        except IntegrityError:  # created concurrently
            cls.objects.filter(**key).update(count=F("count") + 1)
