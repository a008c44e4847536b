"""Target URL rules: https only (http only for loopback/private test hosts when the
WEBHOOKS_ALLOW_HTTP setting is on), no credentials in the URL, and the host must be one the
municipality's 管理者 allowed, compared exactly as `host` or `host:port` (the default port
of the scheme is dropped, so `example.jp` and `example.jp:443` are the same for https).

The check is by name at creation and again before every delivery. It does not pin the
address the name resolves to (DNS rebinding is out of scope; see docs/webhooks.md).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

DEFAULT_PORTS = {"https": 443, "http": 80}


class TargetError(ValueError):
    """The URL or host is not acceptable; the message is for the 管理者 (Japanese)."""


def _host_key(hostname: str, port: int | None, scheme: str = "https") -> str:
    host = hostname.lower().rstrip(".")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise TargetError(_("ホスト名に使えない文字が含まれています。")) from exc
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS.get(scheme):
        return host
    return f"{host}:{port}"


def normalize_host(value: str) -> str:
    """`example.jp`, `Example.JP:8443`, `[::1]:8080` → the stored form; TargetError if not
    a bare host[:port]."""
    value = (value or "").strip()
    message = _(
        "ホスト名は example.jp または example.jp:8443 の形で入力してください"
        "（https:// やパスは含めません）。"
    )
    if not value:
        raise TargetError(_("ホスト名を入力してください。"))
    if any(c in value for c in "/?#@ \t") or "://" in value:
        raise TargetError(message)
    try:
        parts = urlsplit("//" + value)
        port = parts.port
    except ValueError as exc:
        raise TargetError(message) from exc
    if not parts.hostname:
        raise TargetError(message)
    return _host_key(parts.hostname, port)


def is_test_host(hostname: str) -> bool:
    """Loopback or private address literal (or `localhost`): allowed over http in tests."""
    if hostname.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(hostname.strip("[]"))
    except ValueError:
        return False
    return address.is_loopback or address.is_private


def target_host(url: str) -> str:
    """The host key of a target URL after checking scheme and form (not the allow list)."""
    url = (url or "").strip()
    if not url:
        raise TargetError(_("送信先URLを入力してください。"))
    https_only = _("送信先URLは https:// で始まるURLを入力してください。")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetError(https_only) from exc
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TargetError(https_only)
    if parts.username is not None or parts.password is not None:
        raise TargetError(_("送信先URLに利用者名・パスワードを含めることはできません。"))
    if parts.scheme == "http":
        if not getattr(settings, "WEBHOOKS_ALLOW_HTTP", False):
            raise TargetError(https_only)
        if not is_test_host(parts.hostname):
            raise TargetError(
                _("http:// を使えるのは、テスト用のループバック・プライベートアドレスだけです。")
            )
    return _host_key(parts.hostname, port, parts.scheme)


def check_target(url: str, municipality_id: int) -> str:
    """The host key of `url` if the municipality allows it; TargetError otherwise."""
    from .models import AllowedWebhookHost

    host = target_host(url)
    if not AllowedWebhookHost.objects.filter(municipality_id=municipality_id, host=host).exists():
        raise TargetError(
            _(
                "送信先のホスト「%(host)s」は許可されていません。"
                "先に「許可する送信先ホスト」に登録してください。"
            )
            % {"host": host}
        )
    return host
