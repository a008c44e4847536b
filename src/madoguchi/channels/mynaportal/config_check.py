"""設定の確認: what would stop マイナポータル intake from working for a municipality, said in
words a 管理者 can act on, with the command or screen that fixes it.

Shown on the staff page beside each connection, so a missing password, trust anchor, CRL or
item mapping is found before residents' applications pile up in quarantine (the habit of
Open Forms' `check_config()`, see DESIGN.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.channels.models import MynaportalConnection, MynaportalMapping
from madoguchi.identity.trust_models import CertificateRevocationList, TrustAnchor

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Finding:
    level: str  # ERROR: intake cannot work; WARNING: it works, but should be looked at
    message: str


def check(
    connection: MynaportalConnection,
    *,
    now: dt.datetime | None = None,
    trust: list[Finding] | None = None,
) -> list[Finding]:
    """`trust`: the deployment-wide trust findings when already made for another connection
    (the page checks every connection the user handles, and refreshes while a pull runs)."""
    if trust is None:
        trust = trust_findings(now or timezone.now())
    return [*_connection(connection), *trust, *_mappings(connection)]


def _connection(connection: MynaportalConnection) -> list[Finding]:
    findings = []
    if not connection.is_active:
        findings.append(
            Finding(
                WARNING,
                _("この接続設定は無効です。定期取得と「今すぐ取得する」の対象になりません。"),
            )
        )
    if not connection.has_password:
        findings.append(
            Finding(
                ERROR,
                _(
                    "ログインパスワードが設定されていません。サーバーの環境変数 %(name)s に"
                    "設定してください。"
                )
                % {"name": connection.password_variable},
            )
        )
    return findings


def trust_findings(now: dt.datetime) -> list[Finding]:
    """Trust anchors and CRLs are shared by every municipality of the deployment."""
    findings = []
    allow_test = settings.JPKI_ALLOW_TEST_CA
    anchors = list(
        TrustAnchor.objects.filter(is_active=True, kind=TrustAnchor.Kind.ANCHOR).order_by("pk")
    )
    usable = [a for a in anchors if allow_test or not a.is_test]
    if not usable:
        findings.append(
            Finding(
                ERROR,
                _(
                    "署名を検証する認証局（JPKI署名用認証局）の証明書が登録されていません。"
                    "届いた申請はすべて隔離されます。madoguchi load_trust anchor で登録して"
                    "ください。"
                ),
            )
        )
    if allow_test and any(a.is_test for a in anchors):
        findings.append(
            Finding(
                WARNING,
                _(
                    "テスト用認証局の署名を受け付ける設定です（JPKI_ALLOW_TEST_CA）。"
                    "本番環境では使わないでください。"
                ),
            )
        )
    crl_level = ERROR if settings.JPKI_REQUIRE_CRL else WARNING
    for anchor in usable:
        if anchor.not_after < now:
            findings.append(
                Finding(
                    ERROR,
                    _("認証局「%(name)s」の証明書の有効期間が終了しています（%(date)s）。")
                    % {"name": anchor.name, "date": _date(anchor.not_after)},
                )
            )
        crl = (
            CertificateRevocationList.objects.filter(issuer_anchor=anchor)
            .order_by("-this_update", "-pk")
            .first()
        )
        if crl is None:
            findings.append(
                Finding(
                    crl_level,
                    _(
                        "認証局「%(name)s」の失効リストが読み込まれていません。失効した証明書の"
                        "署名を見分けられません。madoguchi load_trust crl で読み込んでください。"
                    )
                    % {"name": anchor.name},
                )
            )
        elif crl.next_update is not None and crl.next_update < now:
            findings.append(
                Finding(
                    crl_level,
                    _(
                        "認証局「%(name)s」の失効リストの次回更新予定（%(date)s）を過ぎています。"
                        "madoguchi load_trust refresh で読み直してください。"
                    )
                    % {"name": anchor.name, "date": _date(crl.next_update)},
                )
            )
    return findings


def _mappings(connection: MynaportalConnection) -> list[Finding]:
    mappings = list(
        MynaportalMapping.objects.filter(
            municipality_id=connection.municipality_id, is_active=True
        ).select_related("procedure")
    )
    if not mappings:
        return [
            Finding(
                ERROR,
                _(
                    "手続の対応（マイナポータル項目対応）が登録されていません。届いた申請は"
                    "すべて隔離されます。管理画面の「マイナポータル項目対応」で登録してください。"
                ),
            )
        ]
    return [
        Finding(
            ERROR,
            _(
                "手続コード %(code)s の対応先「%(procedure)s」に公開中の様式がありません。"
                "この手続の申請は隔離されます。"
            )
            % {"code": m.procedure_code, "procedure": m.procedure.name},
        )
        for m in mappings
        if m.procedure.current_version_id is None
    ]


def _date(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y/%m/%d %H:%M")
