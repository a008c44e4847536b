"""マイナポータル channel: connection, per-procedure item mapping, quarantined packages."""

import os
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.catalog.models import Procedure
from madoguchi.core.jobs import JobProgress
from madoguchi.tenants.models import Municipality, MunicipalityScopedQuerySet

PASSWORD_ENV_PREFIX = "MADOGUCHI_MYNAPORTAL_PASSWORD_"
_PASSWORD_ENV_RE = re.compile(r"^MADOGUCHI_MYNAPORTAL_[A-Z0-9_]+$")


def validate_password_env(value: str) -> None:
    if value and not _PASSWORD_ENV_RE.match(value):
        raise ValidationError(
            _(
                "環境変数名は MADOGUCHI_MYNAPORTAL_ で始め、英大文字・数字・「_」だけで書いてください。"
            ),
            code="invalid",
        )


class MissingSecretError(Exception):
    """The connection's password is not set in the environment (message in Japanese)."""


class MynaportalConnection(models.Model):
    """How one municipality reaches the 電子申請等情報受取等API (or the local simulator)."""

    municipality = models.OneToOneField(
        Municipality, on_delete=models.PROTECT, related_name="mynaportal_connection"
    )
    base_url = models.URLField(_("接続先URL"), max_length=300)
    login_id = models.CharField(_("ログインID"), max_length=100)
    # The login password is never stored in the database (a dump or a backup would carry
    # it): it is read from the environment variable this names, or from
    # MADOGUCHI_MYNAPORTAL_PASSWORD_<lg_code> when blank. The prefix is required so a
    # 管理者 cannot have another server secret (SECRET_KEY, DATABASE_URL) sent to a URL of
    # their choosing.
    password_env = models.CharField(
        _("パスワードの環境変数名"),
        max_length=100,
        blank=True,
        validators=[validate_password_env],
        help_text=_(
            "パスワードはデータベースに保存せず、サーバーの環境変数から読み込みます。"
            "空欄のときは MADOGUCHI_MYNAPORTAL_PASSWORD_<地方公共団体コード> を使います。"
        ),
    )
    lookback_days = models.PositiveSmallIntegerField(
        _("取得対象期間（日）"),
        default=30,
        help_text=_("この日数前から現在までに受け付けた申請データを毎回確認します。"),
    )
    is_active = models.BooleanField(_("有効"), default=True)
    last_pulled_at = models.DateTimeField(_("最終取得日時"), null=True, blank=True)
    last_result = models.CharField(_("最終取得結果"), max_length=300, blank=True)

    objects = MunicipalityScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("マイナポータル接続設定")
        verbose_name_plural = _("マイナポータル接続設定")

    def __str__(self) -> str:
        return f"{self.municipality} → {self.base_url}"

    @property
    def password_variable(self) -> str:
        return self.password_env or f"{PASSWORD_ENV_PREFIX}{self.municipality.lg_code}"

    @property
    def has_password(self) -> bool:
        return bool(os.environ.get(self.password_variable))

    def password(self) -> str:
        """The login password from the environment; MissingSecretError when unset."""
        value = os.environ.get(self.password_variable, "")
        if not value:
            raise MissingSecretError(
                _(
                    "マイナポータルへのログインパスワードが設定されていません。"
                    "サーバーの環境変数 %(name)s に設定してください。"
                )
                % {"name": self.password_variable}
            )
        return value


class MynaportalMapping(models.Model):
    """ぴったりサービスの項目ID → our form field key, per procedure; editable by the 管理者 so
    the municipality can follow the real specification without code changes."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="+")
    procedure_code = models.CharField(
        _("マイナポータルの手続コード"),
        max_length=80,
        help_text=_("申請データの ProcedureCode です。"),
    )
    items = models.JSONField(
        _("項目の対応"),
        default=dict,
        blank=True,
        help_text=_(
            '{"マイナポータルの項目ID": "様式の項目キー"}。項目キーに「.」を含めると入れ子の値'
            "（例: recipient_name.family）になります。"
        ),
    )
    same_keys = models.BooleanField(
        _("同じ名前の項目を対応させる"),
        default=True,
        help_text=_("対応表にない項目IDが様式の項目キーと同じ場合、その項目に取り込みます。"),
    )
    is_active = models.BooleanField(_("有効"), default=True)

    objects = MunicipalityScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("マイナポータル項目対応")
        verbose_name_plural = _("マイナポータル項目対応")
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "procedure_code"], name="mynaportal_mapping_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.procedure_code} → {self.procedure}"


class QuarantinedPackage(models.Model):
    """A package that could not be imported, kept whole with the reason (never dropped)."""

    class State(models.TextChoices):
        QUARANTINED = "quarantined", _("隔離中")
        RESOLVED = "resolved", _("取り込み済み")
        DISCARDED = "discarded", _("破棄")

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    source_reference = models.CharField(_("マイナポータルの受付番号"), max_length=64, blank=True)
    procedure_code = models.CharField(_("手続コード"), max_length=80, blank=True)
    reason = models.TextField(_("理由"))
    # マイナポータル's reception time: a reprocessed package is judged at it again.
    received_at = models.DateTimeField(_("マイナポータルの受付日時"), null=True, blank=True)
    raw_package = models.BinaryField(_("申請データ"))
    sha256 = models.CharField(max_length=64)
    state = models.CharField(
        _("状態"), max_length=12, choices=State.choices, default=State.QUARANTINED
    )
    attempts = models.PositiveIntegerField(_("処理回数"), default=1)
    application = models.ForeignKey(
        "applications.Application",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("取り込んだ申請"),
    )
    created_at = models.DateTimeField(_("隔離日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    objects = MunicipalityScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("隔離された申請データ")
        verbose_name_plural = _("隔離された申請データ")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "source_reference"],
                condition=~models.Q(source_reference=""),
                name="quarantine_unique_reference",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_reference or self.sha256[:12]} ({self.get_state_display()})"


class PullRun(JobProgress, models.Model):
    """One pull from マイナポータル started from the staff page (「今すぐ取得する」). It runs in
    the background — a pull fetches and verifies packages one by one and may take minutes, far
    longer than a web request should — and the page shows its progress and result."""

    class State(models.TextChoices):
        QUEUED = "queued", _("待機中")
        RUNNING = "running", _("取得中")
        DONE = "done", _("完了")
        FAILED = "failed", _("失敗")

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    connection = models.ForeignKey(
        MynaportalConnection, on_delete=models.CASCADE, related_name="pull_runs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0)  # new packages found
    done = models.PositiveIntegerField(default=0)  # of them, processed
    imported = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    quarantined = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    summary = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = MunicipalityScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("マイナポータルからの取得")
        verbose_name_plural = _("マイナポータルからの取得")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["connection", "state"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.connection} ({self.get_state_display()})"
