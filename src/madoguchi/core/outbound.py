"""Calls to peers outside the site (webhook targets, マイナポータル, the mail server).

Three rules hold for every such call:

- **Never inside a database transaction.** A peer that accepts the connection and never
  answers would otherwise keep the transaction open and its row locks held: on SQLite every
  other writer then fails with "database is locked", on PostgreSQL the rows stay locked by an
  idle-in-transaction session. `ensure_no_transaction()` raises when a call is about to be
  made inside one (the transactions a test case wraps around each test do not count).
- **Timeouts.** Connecting and each read have their own timeout, from settings.
- **No way into the internal network (SSRF).** A URL a person configured (a webhook target,
  the マイナポータル base URL) may only reach public addresses: its host name is resolved,
  *every* address it resolves to is checked, and the connection goes to the checked address
  (no second resolution a DNS rebinding could change). Loopback, private (RFC 1918, RFC 4193),
  shared (RFC 6598), link-local (169.254/16 with the cloud metadata address, fe80::/10),
  unspecified, multicast and reserved addresses are refused in every notation (`127.1`,
  `2130706433`, `0x7f.0.0.1`, `::ffff:127.0.0.1`, …: the resolver reads them all, and the
  check is on what it returns). The operator may allow named internal hosts or networks (a
  core system on LGWAN) with the setting `MADOGUCHI_OUTBOUND_ALLOWED_HOSTS`. Redirects are
  never followed.

Errors are `OutboundError`: a short Japanese category (「接続できませんでした」, 「応答があり
ませんでした」, 「証明書を確認できませんでした」 …) that is safe to show to a 管理者; the
socket or TLS error text, which can reveal the shape of the network, is never part of it.
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connections
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
DEFAULT_PORTS = {"https": 443, "http": 80}
MAX_BODY_BYTES = 1024 * 1024
# The whole body must arrive within this many read timeouts (a peer that sends a byte now
# and then never times out a single read).
BODY_DEADLINE_FACTOR = 6


class InsideTransactionError(RuntimeError):
    """A network call was about to be made inside a database transaction (a bug)."""


def in_transaction() -> bool:
    """True when any database connection of this thread is inside a transaction that is not
    one a test case wrapped around the test."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is None:
            continue  # not connected: no transaction
        blocks = connection.atomic_blocks
        if any(not block._from_testcase for block in blocks):
            return True
        if not blocks and not connection.autocommit:
            return True  # a transaction managed by hand (set_autocommit(False))
    return False


def ensure_no_transaction(what: str) -> None:
    if in_transaction():
        raise InsideTransactionError(
            f"{what}: a network call must not be made inside a database transaction"
        )


class OutboundError(Exception):
    """A call that failed; `str()` is a Japanese category safe to show to a 管理者."""

    def __init__(self, message: str, *, status: int | None = None, body: bytes = b""):
        super().__init__(message)
        self.status = status
        self.body = body


class BlockedAddressError(OutboundError):
    """The host is, or resolves to, an address the site must not connect to."""


def blocked_message() -> str:
    return _(
        "接続先が内部ネットワークのアドレスのため、接続できません"
        "（基幹システムなど内部の接続先は、運用者が設定で許可します）。"
    )


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (::ffff:a.b.c.d, 6to4, Teredo, NAT64)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in ipaddress.ip_network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """A global unicast address: not loopback, private, shared, link-local, unspecified,
    multicast, reserved or documentation, nor an IPv6 form of such an IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public(embedded)
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class AllowList:
    hosts: frozenset[str]
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    @classmethod
    def from_settings(cls) -> AllowList:
        raw = getattr(settings, "MADOGUCHI_OUTBOUND_ALLOWED_HOSTS", ()) or ()
        if isinstance(raw, str):
            raw = raw.split(",")
        hosts: set[str] = set()
        networks = []
        for entry in raw:
            entry = entry.strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                hosts.add(entry)
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, hostname: str) -> bool:
        return hostname.lower().rstrip(".") in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        return any(address.version == n.version and address in n for n in self.networks)


def resolve(hostname: str, port: int) -> list[IPAddress]:
    """The addresses `hostname` resolves to (an address literal in any notation resolves to
    itself). Raises OutboundError when it cannot be resolved."""
    ensure_no_transaction("resolve")
    try:
        infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise OutboundError(_("接続先のホスト名を解決できませんでした。")) from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise OutboundError(_("接続先のホスト名を解決できませんでした。"))
    return addresses


def checked_addresses(hostname: str, port: int) -> list[IPAddress]:
    """Resolve `hostname` and check every address; BlockedAddressError if any is internal
    and neither the host nor that address is allowed by the operator."""
    allow = AllowList.from_settings()
    addresses = resolve(hostname, port)
    if allow.allows_host(hostname):
        return addresses
    for address in addresses:
        if not is_public(address) and not allow.allows_address(address):
            raise BlockedAddressError(blocked_message())
    return addresses


def literal_address(hostname: str) -> IPAddress | None:
    """The address an address literal stands for, in any notation the resolver accepts
    (`127.1`, `2130706433`, `0x7f.0.0.1`, `0177.0.0.1`, `[::ffff:127.0.0.1]`); None for a
    name. Reads the text only: no network."""
    host = hostname.strip().strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def check_url_literal(url: str) -> None:
    """The check that needs no network (inside a transaction, e.g. an admin form): an
    internal address literal in any notation, or a `localhost` name, is refused."""
    hostname = (urlsplit(url).hostname or "").lower().rstrip(".")
    allow = AllowList.from_settings()
    if not hostname or allow.allows_host(hostname):
        return
    if hostname == "localhost" or hostname.endswith(".localhost"):
        raise BlockedAddressError(blocked_message())
    address = literal_address(hostname)
    if address is not None and not is_public(address) and not allow.allows_address(address):
        raise BlockedAddressError(blocked_message())


def check_url_when_saved(url: str) -> None:
    """The check made when a person saves an outbound URL (outside any transaction): an
    internal address literal, or a name that resolves to an internal address, is refused
    (BlockedAddressError). A name that does not resolve yet is accepted: every connection
    checks again."""
    check_url_literal(url)
    parts = urlsplit(url)
    hostname = parts.hostname or ""
    try:
        port = parts.port or DEFAULT_PORTS.get(parts.scheme, 443)
    except ValueError:
        port = DEFAULT_PORTS.get(parts.scheme, 443)
    try:
        checked_addresses(hostname, port)
    except BlockedAddressError:
        raise
    except OutboundError:
        return


# ----------------------------------------------------------------------------- HTTP


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to `address` (already checked) for the URL's host name, with a
    connect timeout of its own; `timeout` is the read timeout."""

    def __init__(self, host, port, *, address: IPAddress, connect_timeout: float, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = str(address)
        self._connect_timeout = connect_timeout

    def connect(self):
        self.sock = socket.create_connection(
            (self._address, self.port), timeout=self._connect_timeout
        )
        self.sock.settimeout(self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    default_port = http.client.HTTPS_PORT

    def __init__(self, *args, context: ssl.SSLContext, **kwargs):
        super().__init__(*args, **kwargs)
        self._context = context

    def connect(self):
        super().connect()
        # The certificate is checked against the URL's host name, not the address.
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self.host)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes


def timeouts(kind: str) -> tuple[float, float]:
    """(connect, read) timeouts in seconds for calls of `kind` ("webhooks", "mynaportal")."""
    connect = float(getattr(settings, "MADOGUCHI_OUTBOUND_CONNECT_TIMEOUT", 5))
    read = {
        "webhooks": getattr(settings, "WEBHOOKS_TIMEOUT_SECONDS", 10),
        "mynaportal": getattr(settings, "MYNAPORTAL_TIMEOUT_SECONDS", 30),
    }.get(kind, 10)
    return connect, float(read)


def _category(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _("証明書を確認できませんでした。")
    if isinstance(exc, ssl.SSLError):
        return _("安全な接続（TLS）を確立できませんでした。")
    if isinstance(exc, TimeoutError):
        return _("応答がありませんでした（タイムアウト）。")
    if isinstance(exc, http.client.HTTPException):
        return _("応答を読み取れませんでした。")
    return _("接続できませんでした。")


def request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    connect_timeout: float,
    read_timeout: float,
    allow_http: bool = False,
    max_bytes: int = MAX_BODY_BYTES,
) -> Response:
    """Make one HTTP(S) request to a checked, pinned address and return the status and up to
    `max_bytes` of the body. A redirect is returned as it is (never followed). Raises
    OutboundError (its message a category, never the socket or TLS error text)."""
    ensure_no_transaction(f"{method} {urlsplit(url).hostname}")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise OutboundError(_("接続先のURLが正しくありません。"))
    if parts.scheme == "http" and not allow_http:
        raise OutboundError(_("接続先のURLは https:// で始まる必要があります。"))
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise OutboundError(_("接続先のURLが正しくありません。")) from None
    addresses = checked_addresses(parts.hostname, port)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    last: BaseException | None = None
    for address in addresses:
        if parts.scheme == "https":
            connection: _PinnedHTTPConnection = _PinnedHTTPSConnection(
                parts.hostname,
                port,
                address=address,
                connect_timeout=connect_timeout,
                timeout=read_timeout,
                context=ssl.create_default_context(),
            )
        else:
            connection = _PinnedHTTPConnection(
                parts.hostname,
                port,
                address=address,
                connect_timeout=connect_timeout,
                timeout=read_timeout,
            )
        try:
            try:
                connection.connect()
            except (ConnectionError, TimeoutError) as exc:
                last = exc  # try the next address of the name
                continue
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            deadline = time.monotonic() + read_timeout * BODY_DEADLINE_FACTOR
            data = _read(response, max_bytes, deadline=deadline)
            return Response(response.status, data)
        except (OSError, http.client.HTTPException) as exc:
            last = exc
            break
        finally:
            connection.close()
    logger.warning(
        "outbound: %s %s failed (%s)", method, parts.hostname, type(last).__name__ if last else ""
    )
    raise OutboundError(_category(last) if last else _("接続できませんでした。"))


def _read(response: http.client.HTTPResponse, max_bytes: int, *, deadline: float) -> bytes:
    """Read at most `max_bytes` of the body, giving up at `deadline` (a peer that sends one
    byte now and then must not hold the caller beyond its read timeout)."""
    chunks = []
    size = 0
    while size < max_bytes:
        if time.monotonic() > deadline:
            raise TimeoutError("body not read in time")
        chunk = response.read1(min(65536, max_bytes - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
