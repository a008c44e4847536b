"""The client's address, for the 閲覧ログ and for rate limits.

X-Forwarded-For is a list anyone can start: a client may send `X-Forwarded-For: 1.2.3.4`
and every proxy appends the address it saw. Only the entries appended by our own proxies
can be believed, so the list is read from the right: the peer that connected to us
(REMOTE_ADDR) must be a trusted proxy, each entry that is a trusted proxy is skipped, and
the first one that is not is the client. With USE_X_FORWARDED_FOR off the header is ignored.

TRUSTED_PROXIES lists the proxies' addresses or networks (`10.0.0.0/8,192.0.2.7`). When it
is empty and USE_X_FORWARDED_FOR is on, the one load balancer in front of us is trusted,
whatever its address: the right-most entry is the client.

What is returned is always a valid IP address, or None.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _ip(value: str) -> IPAddress | None:
    value = (value or "").strip()
    if value.startswith("[") and "]" in value:  # [2001:db8::1]:443
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # 192.0.2.1:443
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple:
    networks = []
    for item in spec:
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"TRUSTED_PROXIES: not an address or network: {item!r}") from exc
    return tuple(networks)


def _trusted(address: IPAddress, networks) -> bool:
    return any(address.version == n.version and address in n for n in networks)


def client_address(request) -> str | None:
    peer = _ip(request.META.get("REMOTE_ADDR", ""))
    if peer is None:
        return None
    if not getattr(settings, "USE_X_FORWARDED_FOR", False):
        return str(peer)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if not forwarded.strip():
        return str(peer)
    networks = _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ()) or ()))
    if networks and not _trusted(peer, networks):
        return str(peer)  # not from our proxy: the header is the client's own words
    hops = [hop for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _ip(hop)
        if address is None:
            return None  # a garbled entry: nothing to its left can be placed
        if networks and _trusted(address, networks):
            continue
        return str(address)
    return str(peer)
