"""Which URLs a deployment serves (三層の対策): `MADOGUCHI_ROLE`.

- ``public``: the internet-facing part — the resident portal, the business portal, the open
  data files. Every back-office URL (申請管理 ``staff/``, the core-system API ``api/``, the
  Django admin ``admin/``) answers 404, exactly as an unknown address does.
- ``internal``: the LGWAN-side part — 申請管理 (with マイナポータル intake), the API for core
  systems, the admin. The resident and business portals answer 404, except the few public
  URLs that staff pages use themselves (the postal code lookup of the counter entry form).
- ``all`` (the default): everything, as one deployment.

Every URL stays in the one URL configuration, so links can still be built across the split
(an e-mail written by staff links to the resident's status page on the public host); only
serving is refused, before any view, session or database work.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PUBLIC = "public"
INTERNAL = "internal"
ALL = "all"
ROLES = (PUBLIC, INTERNAL, ALL)

# First path segment of the back office.
INTERNAL_PREFIXES = ("admin/", "staff/", "api/")
# Served by every role.
SHARED_PREFIXES = ("i18n/",)
# Named URLs of the public side that the back office uses too.
SHARED_NAMES = {"portal:postal"}

# The side of a URL: what `side()` returns.
SIDE_INTERNAL = "internal"
SIDE_PUBLIC = "public"
SIDE_SHARED = "shared"


def current_role() -> str:
    role = (getattr(settings, "MADOGUCHI_ROLE", ALL) or ALL).strip().lower()
    if role not in ROLES:
        raise ImproperlyConfigured(
            f"MADOGUCHI_ROLE must be one of {', '.join(ROLES)} (got {role!r})"
        )
    return role


def side(route: str, view_name: str | None) -> str:
    """The side a matched URL belongs to, from its full route pattern (``staff/<int:pk>/``)
    and its namespaced view name."""
    if view_name in SHARED_NAMES or route.startswith(SHARED_PREFIXES):
        return SIDE_SHARED
    if route.startswith(INTERNAL_PREFIXES):
        return SIDE_INTERNAL
    return SIDE_PUBLIC


def serves(role: str, url_side: str) -> bool:
    if role == ALL or url_side == SIDE_SHARED:
        return True
    return (role == PUBLIC and url_side == SIDE_PUBLIC) or (
        role == INTERNAL and url_side == SIDE_INTERNAL
    )
