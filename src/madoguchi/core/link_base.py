"""The address that links sent by e-mail use (settings.PUBLIC_BASE_URL), and the warning when
it is not the address the site is served at.

Mails (受付メール, 再開用リンク, status page) are built outside the request that caused them,
so they cannot take the host from the request: they use PUBLIC_BASE_URL. When that names
another host than the one residents and staff reach (a forgotten setting after a move, the
default 127.0.0.1 behind a real domain), every mailed link is dead. `make run` prints the
address (`madoguchi link_base`), and the first request the site serves logs a warning, once
per process, when its host differs.
"""

from __future__ import annotations

import logging
import threading
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost

logger = logging.getLogger("madoguchi.links")

_lock = threading.Lock()
_checked = False


def link_base() -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/")


def _host_port(netloc: str, scheme: str) -> tuple[str, int | None]:
    parts = urlsplit(f"{scheme}://{netloc}")
    return (parts.hostname or "").lower().rstrip("."), parts.port


def mismatch(serving_host: str, scheme: str = "http") -> str | None:
    """The warning for links built for another host than `serving_host` ("host[:port]" as in
    the Host header), None when they match. Ports are compared only when both name one (a
    proxy that ends TLS serves https://example.jp as http://example.jp:80 behind it)."""
    base = urlsplit(link_base())
    base_host, base_port = (base.hostname or "").lower().rstrip("."), base.port
    host, port = _host_port(serving_host, scheme)
    if not base_host or not host:
        return None
    if host == base_host and (base_port is None or port is None or base_port == port):
        return None
    return (
        f"メールのリンクは {link_base()}/ を指しますが、このサーバーは {serving_host} で"
        "開かれています。PUBLIC_BASE_URL を、住民・職員が開くアドレスにしてください。"
        f" / Links in e-mails use {link_base()}/ but this server is reached as {serving_host}:"
        " set PUBLIC_BASE_URL."
    )


def reset() -> None:
    """Check again on the next request (tests)."""
    global _checked
    with _lock:
        _checked = False


class LinkBaseCheckMiddleware:
    """On the first request the process serves (after host validation), warn once when mailed
    links point at another host. Probes (/healthz ...) are answered before this middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        global _checked
        if not _checked:
            with _lock:
                first, _checked = not _checked, True
            if first:
                try:
                    host = request.get_host()
                except DisallowedHost:
                    host = ""
                    with _lock:
                        _checked = False  # refused anyway: wait for a real request
                message = mismatch(host, request.scheme) if host else None
                if message:
                    logger.warning(message, extra={"link_base": link_base(), "host": host})
        return self.get_response(request)
