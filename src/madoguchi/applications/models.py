"""Applications (申請): one model for every channel, from draft to decision.

A resident's draft is an Application in status `draft`: what they typed is stored on the
server at every step (`draft_values`), so neither an error page nor an expired session loses it.
`status` is the current state; the append-only `ApplicationEvent` log is the record of truth
for who did what and when (audit and KPIs).
"""

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.catalog.models import FormVersion, Procedure
from madoguchi.tenants.models import Municipality, MunicipalityScopedQuerySet

from . import workflow
from .tokens import new_token, token_digest


class Channel(models.TextChoices):
    PORTAL = "portal", _("電子申請（ポータル）")
    MYNAPORTAL = "mynaportal", _("マイナポータル")
    COUNTER = "counter", _("窓口")
    PAPER = "paper", _("紙")


def _status(code: str) -> tuple[str, str]:
    """A status choice: its code and label from the one table in `workflow`."""
    return code, _(workflow.LABELS[code])


class Status(models.TextChoices):
    DRAFT = _status(workflow.DRAFT)
    RECEIVED = _status(workflow.RECEIVED)
    IN_PROGRESS = _status(workflow.IN_PROGRESS)
    RETURNED = _status(workflow.RETURNED)
    COMPLETED = _status(workflow.COMPLETED)
    REJECTED = _status(workflow.REJECTED)
    WITHDRAWN = _status(workflow.WITHDRAWN)


FINISHED_STATUSES = {Status.COMPLETED, Status.REJECTED, Status.WITHDRAWN}


class ApplicationQuerySet(MunicipalityScopedQuerySet):
    def submitted(self):
        return self.exclude(status=Status.DRAFT)

    def by_status_token(self, token: str):
        return self.filter(status_token_digest=token_digest(token))

    def by_resume_token(self, token: str):
        return self.filter(resume_token_digest=token_digest(token), status=Status.DRAFT)


class Application(models.Model):
    # No single-column index on municipality, procedure and assigned_to: the composite
    # indexes of Meta lead with each (they answer the foreign keys' checks too), and every
    # index is one more write at each INSERT and at each UPDATE that changes an indexed
    # column (a status change, a draft saved).
    municipality = models.ForeignKey(
        Municipality, on_delete=models.PROTECT, related_name="applications", db_index=False
    )
    procedure = models.ForeignKey(
        Procedure, on_delete=models.PROTECT, related_name="applications", db_index=False
    )
    form_version = models.ForeignKey(
        FormVersion, on_delete=models.PROTECT, related_name="applications"
    )
    channel = models.CharField(_("申請経路"), max_length=12, choices=Channel.choices)
    status = models.CharField(
        _("申請処理状況"), max_length=12, choices=Status.choices, default=Status.DRAFT
    )
    # NULL (not "") until submission, so the per-municipality unique constraint ignores drafts.
    receipt_number = models.CharField(_("受付番号"), max_length=20, null=True, blank=True)  # noqa: DJ001
    # What the resident typed, exactly, keyed by input name; kept so nothing is ever lost.
    draft_values = models.JSONField(default=dict, blank=True)
    # Validated, normalised answers keyed by the form's stable field keys.
    answers = models.JSONField(_("回答"), default=dict, blank=True)
    current_step = models.CharField(max_length=80, blank=True)
    furthest_step_index = models.PositiveSmallIntegerField(default=0)
    applicant_name = models.CharField(_("申請者氏名"), max_length=200, blank=True)
    applicant_name_kana = models.CharField(_("申請者氏名（フリガナ）"), max_length=200, blank=True)
    applicant_email = models.EmailField(_("連絡先メールアドレス"), blank=True)
    # Identity level "email": the address the start link was sent to, and when its link was
    # first opened (possession of the link proves control of the mailbox).
    verified_email = models.EmailField(_("確認済みメールアドレス"), blank=True)
    email_verified_at = models.DateTimeField(_("メールアドレス確認日時"), null=True, blank=True)
    is_proxy = models.BooleanField(_("代理申請"), default=False)
    proxy_name = models.CharField(_("代理人（事業所）名"), max_length=200, blank=True)
    proxy_business = models.ForeignKey(
        "tenants.Business",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="applications",
        verbose_name=_("代理申請事業者"),
    )
    proxy_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("代理申請した担当者"),
    )
    # Staff who entered a counter (窓口) or paper (紙) application.
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("入力した職員"),
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_applications",
        verbose_name=_("担当職員"),
        db_index=False,
    )
    # Optimistic concurrency: every staff change increments it; a change made from a screen
    # that showed an older value is refused instead of silently overwriting the newer one.
    lock_version = models.PositiveIntegerField(default=0)
    # Search helpers, maintained on submit: applicant name without spaces and its reading in
    # hiragana (madoguchi.jp.kana.search_key), so kanji and kana searches use an index.
    search_name = models.CharField(max_length=200, blank=True)
    search_kana = models.CharField(max_length=200, blank=True)
    resubmitted_at = models.DateTimeField(_("再申請日時"), null=True, blank=True)
    # The sending system's own id (e.g. マイナポータルの受付番号): pulling the same package
    # twice finds this row instead of making a second case.
    source_reference = models.CharField(_("連携元の受付番号"), max_length=64, blank=True)
    # 宛名番号 once the applicant is identified (番号紐付 or a member of staff's confirmation).
    atena_number = models.CharField(_("宛名番号"), max_length=32, blank=True)
    # What is known of the applicant's identity and how: {"source": "jpki", "certificate_serial",
    # "basic_four": {...}, "signature_valid": bool, "reason": str, "verified_at": iso, ...}.
    identity = models.JSONField(_("本人確認の情報"), default=dict, blank=True)
    due_at = models.DateTimeField(_("処理期限"), null=True, blank=True, db_index=True)
    # Indexed in Meta (found by equality only): db_index=True would add a second,
    # varchar_pattern_ops copy on PostgreSQL for LIKE, which nothing runs on these columns.
    status_token_digest = models.CharField(max_length=64, blank=True)
    resume_token_digest = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(_("受付日時"), null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ApplicationQuerySet.as_manager()

    class Meta:
        verbose_name = _("申請")
        verbose_name_plural = _("申請")
        ordering = ["-submitted_at", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "receipt_number"],
                name="receipt_number_unique_per_municipality",
            ),
            models.UniqueConstraint(
                fields=["municipality", "channel", "source_reference"],
                condition=~models.Q(source_reference=""),
                name="source_reference_unique_per_channel",
            ),
        ]
        indexes = [
            models.Index(fields=["municipality", "status", "-submitted_at"]),
            models.Index(fields=["procedure", "status", "-submitted_at"]),
            models.Index(fields=["assigned_to", "status"]),
            models.Index(fields=["status_token_digest"], name="application_status_token"),
            models.Index(fields=["resume_token_digest"], name="application_resume_token"),
            models.Index(fields=["atena_number"], name="application_atena_number"),
            # The inbox: newest submitted first, drafts never listed.
            models.Index(
                fields=["-submitted_at", "-id"],
                name="application_inbox_recent",
                condition=~models.Q(status="draft"),
            ),
            # Name searches are substring searches (applications.inbox.search_q): answered by
            # the trigram and grams indexes of migrations 0010-0012 (PostgreSQL), which the
            # models do not declare; the prefix indexes of 0004 are gone since 0014.
        ]

    def __str__(self) -> str:
        return self.receipt_number or f"draft #{self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def email_is_verified(self) -> bool:
        return bool(self.verified_email and self.email_verified_at)

    @property
    def can_withdraw(self) -> bool:
        return self.status in {Status.RECEIVED, Status.IN_PROGRESS, Status.RETURNED}

    def issue_status_token(self) -> str:
        token = new_token()
        self.status_token_digest = token_digest(token)
        return token

    def issue_resume_token(self) -> str:
        token = new_token()
        self.resume_token_digest = token_digest(token)
        return token


class ReceiptCounter(models.Model):
    """Last 受付番号 sequence issued per municipality and year; rows only ever count up
    (`lifecycle.allocate_receipt_numbers` is the one place that issues them)."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT)
    year = models.PositiveSmallIntegerField()
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["municipality", "year"], name="receipt_counter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.municipality_id}/{self.year}: {self.last_value}"


class ApplicationEvent(models.Model):
    """Append-only log of everything that happened to an application."""

    class Kind(models.TextChoices):
        STARTED = "started", _("入力開始")
        STEP_COMPLETED = "step_completed", _("入力ステップ完了")
        RESUME_LINK_SENT = "resume_link_sent", _("再開用リンク送信")
        EMAIL_VERIFICATION_SENT = "email_verification_sent", _("メールアドレス確認リンク送信")
        EMAIL_VERIFIED = "email_verified", _("メールアドレス確認")
        SUBMITTED = "submitted", _("申請")
        STATUS_CHANGED = "status_changed", _("状況変更")
        WITHDRAWN = "withdrawn", _("取り下げ")
        MESSAGE = "message", _("申請者へのメッセージ")
        NOTE = "note", _("職員へのメモ")
        VIEWED = "viewed", _("閲覧")
        ATTACHMENT_DOWNLOADED = "attachment_downloaded", _("添付書類のダウンロード")
        FEEDBACK = "feedback", _("フォームへのご意見")
        RESUBMITTED = "resubmitted", _("再申請")
        ASSIGNED = "assigned", _("担当者の割り当て")
        DEPARTMENT_STATUS_CHANGED = "department_status_changed", _("担当課の処理状況変更")
        ENTERED_BY_STAFF = "entered_by_staff", _("職員による代行入力")
        EXPORTED = "exported", _("出力")
        ACKNOWLEDGED = "acknowledged", _("連携済み")
        LINKED = "linked", _("ファイル連携で出力")
        IDENTIFIED = "identified", _("申請者の特定（宛名番号）")

    class Actor(models.TextChoices):
        APPLICANT = "applicant", _("申請者")
        STAFF = "staff", _("職員")
        SYSTEM = "system", _("システム")
        CLIENT = "client", _("基幹システム")

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    actor_type = models.CharField(max_length=10, choices=Actor.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_client = models.ForeignKey(
        "api.ApiClient", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    from_status = models.CharField(max_length=12, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=Status.choices, blank=True)
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = MunicipalityScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("経過")
        verbose_name_plural = _("経過")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["application", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.created_at:%Y-%m-%d %H:%M})"

    def save(self, *args, **kwargs):
        if self.pk and not kwargs.pop("_allow_update", False):
            raise RuntimeError("ApplicationEvent rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("ApplicationEvent rows are append-only")


def attachment_path(instance: "Attachment", filename: str) -> str:
    # The stored name never carries the resident's file name (it may contain personal data).
    return f"attachments/{instance.municipality_id}/{instance.application_id}/{instance.uid}"


class Attachment(models.Model):
    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="attachments"
    )
    uid = models.CharField(max_length=32, unique=True)
    field_key = models.CharField(max_length=200)
    file = models.FileField(upload_to=attachment_path, max_length=300)
    original_name = models.CharField(_("ファイル名"), max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    objects = MunicipalityScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("添付書類")
        verbose_name_plural = _("添付書類")

    def __str__(self) -> str:
        return self.original_name

    @staticmethod
    def digest(content: bytes) -> str:
        return hashlib.sha256(content).hexdigest()

    def as_answer(self) -> dict:
        """How an attachment appears inside `Application.answers`."""
        return {
            "attachment": self.uid,
            "name": self.original_name,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
        }


class AnswerRevision(models.Model):
    """The answers as sent at each submission: resubmission after 要再申請 adds a revision, so
    the history keeps every version the applicant sent."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    answers = models.JSONField()
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("回答の版")
        verbose_name_plural = _("回答の版")
        ordering = ["application", "number"]
        constraints = [
            models.UniqueConstraint(fields=["application", "number"], name="answer_revision_unique")
        ]

    def __str__(self) -> str:
        return f"{self.application} #{self.number}"


class DepartmentProgress(models.Model):
    """Each department's own progress on an application routed to several departments
    (水道 and 下水道). The applicant sees one overall status on the Application."""

    class State(models.TextChoices):
        RECEIVED = _status(workflow.RECEIVED)
        IN_PROGRESS = _status(workflow.IN_PROGRESS)
        COMPLETED = _status(workflow.COMPLETED)
        REJECTED = _status(workflow.REJECTED)

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="department_progress"
    )
    department = models.ForeignKey(
        "tenants.Department", on_delete=models.PROTECT, related_name="progress"
    )
    state = models.CharField(max_length=12, choices=State.choices, default=State.RECEIVED)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("担当課ごとの処理状況")
        verbose_name_plural = _("担当課ごとの処理状況")
        constraints = [
            models.UniqueConstraint(
                fields=["application", "department"], name="department_progress_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.application} / {self.department}: {self.get_state_display()}"


class ApplicationTombstone(models.Model):
    """What remains of an application deleted at the end of its retention period: no personal
    data, just enough for statistics and to answer "was 受付番号 X ever issued"."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="+")
    receipt_number = models.CharField(max_length=20)
    channel = models.CharField(max_length=12, choices=Channel.choices)
    outcome = models.CharField(max_length=12, choices=Status.choices)
    submitted_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("保存期間満了により削除した申請")
        verbose_name_plural = _("保存期間満了により削除した申請")
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "receipt_number"], name="tombstone_receipt_unique"
            )
        ]

    def __str__(self) -> str:
        return self.receipt_number


class ApplicationStatusCount(models.Model):
    """Number of applications per procedure and status, kept exact by database triggers
    (migration 0005) on every insert, status change and delete — whichever code path makes
    it. The inbox reads its unfiltered per-status counts from here instead of counting a
    department's whole history (a GROUP BY over 100,000+ rows) at every page load."""

    procedure = models.ForeignKey(
        Procedure, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    status = models.CharField(max_length=12, choices=Status.choices)
    count = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("状況別の件数")
        verbose_name_plural = _("状況別の件数")
        constraints = [
            models.UniqueConstraint(fields=["procedure", "status"], name="status_count_unique")
        ]

    def __str__(self) -> str:
        return f"{self.procedure_id}/{self.status}: {self.count}"
