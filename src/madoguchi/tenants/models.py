"""Municipalities (地方公共団体), their departments (担当課) and staff memberships.

One deployment may serve several municipalities (共同利用). Every row holding resident data
carries a `municipality` foreign key and every query is scoped through `for_municipality`.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.jp.lg_code import lg_code_error


def validate_lg_code(value: str) -> None:
    problem = lg_code_error(value)
    if problem:
        raise ValidationError(problem)


class Municipality(models.Model):
    lg_code = models.CharField(
        _("全国地方公共団体コード"), max_length=6, unique=True, validators=[validate_lg_code]
    )
    name = models.CharField(_("団体名"), max_length=100)
    name_kana = models.CharField(_("団体名（ふりがな）"), max_length=200, blank=True)
    prefecture = models.CharField(_("都道府県"), max_length=10, blank=True)
    contact_email = models.EmailField(_("問い合わせ先メール"), blank=True)
    contact_phone = models.CharField(_("問い合わせ先電話番号"), max_length=20, blank=True)
    is_active = models.BooleanField(_("有効"), default=True)

    class Meta:
        verbose_name = _("地方公共団体")
        verbose_name_plural = _("地方公共団体")
        ordering = ["lg_code"]

    def __str__(self) -> str:
        return f"{self.name}（{self.lg_code}）"

    def clean(self) -> None:
        validate_lg_code(self.lg_code)


class MunicipalityScopedQuerySet(models.QuerySet):
    def for_municipality(self, municipality: "Municipality"):
        return self.filter(municipality=municipality)


class Department(models.Model):
    municipality = models.ForeignKey(
        Municipality, on_delete=models.PROTECT, related_name="departments"
    )
    code = models.SlugField(_("担当課コード"), max_length=50)
    name = models.CharField(_("担当課名"), max_length=100)
    email = models.EmailField(_("担当課メール"), blank=True)
    phone = models.CharField(_("担当課電話番号"), max_length=20, blank=True)

    objects = MunicipalityScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("担当課")
        verbose_name_plural = _("担当課")
        ordering = ["municipality", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "code"], name="department_code_unique_per_municipality"
            )
        ]

    def __str__(self) -> str:
        return self.name


class StaffMembership(models.Model):
    """A staff member's role in a municipality, optionally limited to one department."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("管理者")
        HANDLER = "handler", _("担当者")
        VIEWER = "viewer", _("閲覧者")
        # Builds the forms and edits the procedures of their department (or of the whole
        # municipality without a department); sees no application.
        FORM_EDITOR = "form_editor", _("様式作成者")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    municipality = models.ForeignKey(
        Municipality, on_delete=models.CASCADE, related_name="memberships"
    )
    department = models.ForeignKey(
        Department,
        on_delete=models.CASCADE,
        related_name="memberships",
        null=True,
        blank=True,
        help_text=_("空欄の場合は団体全体（管理者向け）"),
    )
    role = models.CharField(_("役割"), max_length=12, choices=Role.choices)

    objects = MunicipalityScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("職員の所属")
        verbose_name_plural = _("職員の所属")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "municipality", "department"], name="membership_unique"
            )
        ]

    def __str__(self) -> str:
        where = self.department.name if self.department else self.municipality.name
        return f"{self.user} / {where} / {self.get_role_display()}"

    def clean(self) -> None:
        if self.department_id and self.department.municipality_id != self.municipality_id:
            raise ValidationError(_("担当課は同じ地方公共団体のものを選んでください。"))


class Business(models.Model):
    """A registered business that may file for residents (代理申請), e.g. a 介護事業所 or a
    real-estate agent filing 水道使用開始届. Registered per municipality by its 管理者."""

    municipality = models.ForeignKey(
        Municipality, on_delete=models.PROTECT, related_name="businesses"
    )
    name = models.CharField(_("事業者名"), max_length=200)
    name_kana = models.CharField(_("事業者名（フリガナ）"), max_length=400, blank=True)
    corporate_number = models.CharField(_("法人番号"), max_length=13, blank=True)
    business_number = models.CharField(
        _("事業所番号"), max_length=20, blank=True, help_text=_("介護保険の事業所番号など")
    )
    email = models.EmailField(_("連絡先メールアドレス"))
    phone = models.CharField(_("電話番号"), max_length=20, blank=True)
    is_active = models.BooleanField(_("有効"), default=True)

    objects = MunicipalityScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("代理申請事業者")
        verbose_name_plural = _("代理申請事業者")
        ordering = ["municipality", "name_kana", "name"]

    def __str__(self) -> str:
        return self.name


class BusinessMember(models.Model):
    """A person who logs in to file and follow applications for a business."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="business_memberships"
    )
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="members")

    class Meta:
        verbose_name = _("事業者の担当者")
        verbose_name_plural = _("事業者の担当者")
        constraints = [
            models.UniqueConstraint(fields=["user", "business"], name="business_member_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} / {self.business}"
