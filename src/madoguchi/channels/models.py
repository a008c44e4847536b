"""マイナポータル channel: connection, per-procedure item mapping, quarantined packages."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.catalog.models import Procedure
from madoguchi.tenants.models import Municipality, MunicipalityScopedQuerySet


class MynaportalConnection(models.Model):
    """How one municipality reaches the 電子申請等情報受取等API (or the local simulator)."""

    municipality = models.OneToOneField(
        Municipality, on_delete=models.PROTECT, related_name="mynaportal_connection"
    )
    base_url = models.URLField(_("接続先URL"), max_length=300)
    login_id = models.CharField(_("ログインID"), max_length=100)
    # Production: prefer the environment (MYNAPORTAL_PASSWORD_<lg_code>); kept here so the
    # embedded default and the simulator need no extra setup.
    password = models.CharField(_("パスワード"), max_length=200, blank=True)
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
