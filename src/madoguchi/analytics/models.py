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


class ApplicationFact(models.Model):
    """The KPI state of one case, folded from its events (`application_facts.FactState`). No personal
    data: ids, channel, days and durations. Kept when retention deletes the case, so past
    figures do not change (hence a plain id, not a foreign key to the application)."""

    application_id = models.BigIntegerField(primary_key=True)
    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=12)
    in_funnel = models.BooleanField(default=False)
    last_event_id = models.BigIntegerField(default=0)
    opened_on = models.DateField(null=True)
    furthest_step = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=12, default="draft")
    submitted_at = models.DateTimeField(null=True)
    submitted_on = models.DateField(null=True)
    finished_on = models.DateField(null=True)
    decision_seconds = models.FloatField(null=True)
    returned_count = models.PositiveIntegerField(default=0)
    waiting_seconds = models.FloatField(default=0.0)
    waiting_since = models.DateTimeField(null=True)

    class Meta:
        verbose_name = _("申請ごとの集計値")
        verbose_name_plural = _("申請ごとの集計値")
        indexes = [
            # Processing time of the cases decided in a period (index-only on PostgreSQL).
            models.Index(
                fields=["municipality", "finished_on"],
                include=[
                    "procedure",
                    "status",
                    "decision_seconds",
                    "waiting_seconds",
                    "returned_count",
                ],
                condition=models.Q(decision_seconds__isnull=False),
                name="applicationfact_decided",
            ),
        ]

    def __str__(self) -> str:
        return f"case {self.application_id}: {self.status}"


class DailyCount(models.Model):
    """Counts per procedure, local day, measure and key, kept exact by adding the difference
    every event makes (`application_facts.contributions`). The dashboard sums a year of them (about
    30,000 rows for 20 procedures) instead of counting hundreds of thousands of cases."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    measure = models.CharField(max_length=20)
    key = models.CharField(max_length=40, blank=True)
    # The text of a key that is a digest (the reason given for 要再申請).
    label = models.TextField(blank=True)
    count = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("日ごとの集計値")
        verbose_name_plural = _("日ごとの集計値")
        constraints = [
            models.UniqueConstraint(
                fields=["procedure", "day", "measure", "key"], name="daily_count_unique"
            )
        ]
        indexes = [
            models.Index(
                fields=["municipality", "measure", "day"],
                include=["procedure", "key", "count"],
                name="daily_count_lookup",
            )
        ]

    def __str__(self) -> str:
        return f"{self.procedure_id}/{self.day}/{self.measure}/{self.key}: {self.count}"


class PendingApplicationFact(models.Model):
    """A case whose latest events could not be folded when they were recorded (the fold
    failed; the resident's or staff's action was kept). `madoguchi rebuild_kpi_figures
    --pending` (and the periodic task) folds them again."""

    application_id = models.BigIntegerField(primary_key=True)
    noted_at = models.DateTimeField(auto_now=True)
    error = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"pending {self.application_id}"
