"""The procedure catalog (手続) and its versioned forms (FormVersion).

A published FormVersion never changes: an application keeps the version it was filled with.
Staff edit a draft version and publish it, which makes it the procedure's current version.
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.tenants.models import Department, Municipality, MunicipalityScopedQuerySet


class Category(models.TextChoices):
    CHILDCARE = "childcare", _("子育て")
    NURSING_CARE = "nursing_care", _("介護")
    DISASTER = "disaster", _("被災者支援")
    MOVING = "moving", _("引越し")
    OTHER = "other", _("その他")


class LifeEvent(models.TextChoices):
    BIRTH = "birth", _("出産")
    CHILDCARE = "childcare", _("子育て")
    MOVING = "moving", _("引越し")
    NURSING_CARE = "nursing_care", _("介護")
    DISASTER = "disaster", _("災害")
    DAILY_LIFE = "daily_life", _("くらし")
    PETS = "pets", _("ペット")
    DEATH = "death", _("おくやみ")
    WORK = "work", _("仕事・事業")


class IdentityLevel(models.TextChoices):
    NONE = "none", _("本人確認なし")
    EMAIL = "email", _("メールアドレスの確認")
    JPKI = "jpki", _("マイナンバーカードによる電子署名")


class ProcedureQuerySet(MunicipalityScopedQuerySet):
    def open_now(self, now: datetime.datetime | None = None):
        today = timezone.localdate(now) if now else timezone.localdate()
        return self.filter(
            is_published=True,
            current_version__isnull=False,
        ).filter(
            models.Q(open_from__isnull=True) | models.Q(open_from__lte=today),
            models.Q(open_until__isnull=True) | models.Q(open_until__gte=today),
        )


class Procedure(models.Model):
    municipality = models.ForeignKey(
        Municipality, on_delete=models.PROTECT, related_name="procedures"
    )
    slug = models.SlugField(_("識別子"), max_length=80)
    template_key = models.CharField(
        _("標準様式"), max_length=80, blank=True, help_text=_("読み込んだ標準様式の識別子")
    )
    name = models.CharField(_("手続名"), max_length=200)
    reading = models.CharField(_("手続名（ふりがな）"), max_length=400)
    category = models.CharField(_("分類"), max_length=20, choices=Category.choices)
    life_events = models.JSONField(_("ライフイベント"), default=list, blank=True)
    keywords = models.CharField(_("検索キーワード"), max_length=400, blank=True)
    summary = models.CharField(_("概要"), max_length=300, blank=True)
    description = models.TextField(_("手続の説明"), blank=True)
    eligibility = models.TextField(_("対象となる方"), blank=True)
    what_you_need = models.TextField(_("必要なもの"), blank=True)
    duration = models.CharField(_("入力にかかる時間の目安"), max_length=100, blank=True)
    processing_time = models.CharField(_("処理にかかる期間の目安"), max_length=100, blank=True)
    fee = models.CharField(_("手数料"), max_length=100, blank=True, default="無料")
    required_attachments = models.JSONField(_("必要な添付書類"), default=list, blank=True)
    identity_level = models.CharField(
        _("本人確認の水準"),
        max_length=10,
        choices=IdentityLevel.choices,
        default=IdentityLevel.NONE,
    )
    allows_proxy = models.BooleanField(
        _("代理申請を受け付ける"), default=False, help_text=_("介護事業所などによる代理申請")
    )
    departments = models.ManyToManyField(
        Department, related_name="procedures", verbose_name=_("担当課")
    )
    open_from = models.DateField(_("受付開始日"), null=True, blank=True)
    open_until = models.DateField(_("受付終了日"), null=True, blank=True)
    retention_years = models.PositiveSmallIntegerField(_("保存期間（年）"), default=5)
    target_days = models.PositiveSmallIntegerField(
        _("処理期間の目標（日）"),
        null=True,
        blank=True,
        help_text=_("受付からこの日数を過ぎた未完了の申請は「期限超過」として表示されます。"),
    )
    is_published = models.BooleanField(_("公開中"), default=True)
    current_version = models.ForeignKey(
        "FormVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("公開中の様式"),
    )

    objects = ProcedureQuerySet.as_manager()

    class Meta:
        verbose_name = _("手続")
        verbose_name_plural = _("手続")
        ordering = ["municipality", "category", "reading"]
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "slug"], name="procedure_slug_unique_per_municipality"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.open_from and self.open_until and self.open_from > self.open_until:
            raise ValidationError({"open_until": _("受付終了日は受付開始日より後にしてください。")})

    def is_open(self, today: datetime.date | None = None) -> bool:
        today = today or timezone.localdate()
        if not self.is_published or self.current_version_id is None:
            return False
        if self.open_from and today < self.open_from:
            return False
        return not (self.open_until and today > self.open_until)


class PublishedVersionIsImmutable(Exception):
    pass


class FormVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("下書き")
        PUBLISHED = "published", _("公開済み")

    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("版"))
    status = models.CharField(
        _("状態"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    schema = models.JSONField(_("様式定義"))
    source_template = models.CharField(_("元の標準様式"), max_length=80, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("申請フォーム（版）")
        verbose_name_plural = _("申請フォーム（版）")
        ordering = ["procedure", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["procedure", "number"], name="form_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.procedure.name} 第{self.number}版（{self.get_status_display()}）"

    def save(self, *args, **kwargs):
        if self.pk:
            stored = FormVersion.objects.filter(pk=self.pk).values("status", "schema").first()
            if stored and stored["status"] == self.Status.PUBLISHED:
                if self.status != self.Status.PUBLISHED or stored["schema"] != self.schema:
                    raise PublishedVersionIsImmutable(
                        "公開済みの様式は変更できません。新しい版を作成してください。"
                    )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.status == self.Status.PUBLISHED:
            raise PublishedVersionIsImmutable("公開済みの様式は削除できません。")
        return super().delete(*args, **kwargs)

    @property
    def form(self):
        """The parsed form definition (formengine.schema.FormSchema): compiled once per
        version and content (`compiled_form`, shared between requests; never change it),
        remembered on the instance. A draft edited since is compiled again."""
        cached = getattr(self, "_parsed_form", None)
        # A schema assigned since (not one changed in place) is compiled again.
        if cached is None or getattr(self, "_parsed_schema", self.schema) is not self.schema:
            from madoguchi.formengine.schema import compiled_form

            cached = compiled_form(
                self.schema,
                lambda: f"{self.procedure.slug} v{self.number}",
                key=("form_version", self.pk),
            )
            self._parsed_form, self._parsed_schema = cached, self.schema
        return cached

    @transaction.atomic
    def publish(self, user=None) -> None:
        """Validate and publish this draft; it becomes the procedure's current version."""
        from madoguchi.formengine.schema import parse_form

        if self.status == self.Status.PUBLISHED:
            return
        parse_form(self.schema, source=f"{self.procedure.slug} v{self.number}")
        self.status = self.Status.PUBLISHED
        self.published_at = timezone.now()
        self.published_by = user
        self.save()
        Procedure.objects.filter(pk=self.procedure_id).update(current_version=self)
        self.procedure.current_version = self

    @classmethod
    @transaction.atomic
    def new_draft(cls, procedure: Procedure, schema: dict | None = None) -> "FormVersion":
        """A new draft version, starting from the current one unless a schema is given."""
        last = (
            # NO KEY: numbering excludes other new drafts; drafts of applications that
            # refer to the version need not wait.
            cls.objects.select_for_update(no_key=True)
            .filter(procedure=procedure)
            .order_by("-number")
            .first()
        )
        number = (last.number + 1) if last else 1
        if schema is None:
            if procedure.current_version is None:
                raise ValueError("no schema and no current version to copy")
            schema = procedure.current_version.schema
        return cls.objects.create(procedure=procedure, number=number, schema=schema)
