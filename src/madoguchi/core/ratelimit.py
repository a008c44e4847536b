"""Fixed-window counters in the shared cache (Redis in production, settings.CACHES), so a
limit holds across every process and app server. The embedded default's per-process cache
is enough for one process.

`take(scope, key, amount, limit, window)` counts `amount` against the key and says whether
it fits; what does not fit is not counted. When the cache cannot be reached the request is
let through (logged by the cache backend): a Redis outage must not stop residents filing.
"""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache


def _key(scope: str, key: str, window: int) -> str:
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"ratelimit:{scope}:{digest}:{int(time.time() // window)}"


def used(scope: str, key: str, *, window: int) -> int:
    return int(cache.get(_key(scope, key, window)) or 0)


def take(scope: str, key: str, *, limit: int, window: int, amount: int = 1) -> bool:
    if limit <= 0:
        return True  # 0: no limit configured
    cache_key = _key(scope, key, window)
    cache.add(cache_key, 0, timeout=window + 60)
    try:
        total = cache.incr(cache_key, amount)
    except ValueError:  # expired between add and incr, or the cache is unreachable
        cache.add(cache_key, amount, timeout=window + 60)
        return True
    if total is None:
        return True
    if total > limit:
        try:
            cache.decr(cache_key, amount)
        except ValueError:
            pass
        return False
    return True


def fits_all(checks: list[tuple[str, str, int, int, int]]) -> bool:
    """Take from several counters at once: (scope, key, limit, window, amount) each; when one
    does not fit, those already taken are given back."""
    taken: list[tuple[str, str, int, int]] = []
    for scope, key, limit, window, amount in checks:
        if not take(scope, key, limit=limit, window=window, amount=amount):
            for t_scope, t_key, t_window, t_amount in taken:
                try:
                    cache.decr(_key(t_scope, t_key, t_window), t_amount)
                except ValueError:
                    pass
            return False
        if limit > 0:
            taken.append((scope, key, window, amount))
    return True
