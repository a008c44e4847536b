"""Resolve the municipality of a request and scope access to it."""

import time
from functools import wraps

from django.db import connections, router, transaction
from django.db.models.signals import post_delete, post_migrate, post_save
from django.http import Http404

from .models import Municipality

# Every resident page reads the municipality of its URL, whose row changes rarely (an
# administrator edits its name or contact, or deactivates it). Each process keeps the rows it
# read for CACHE_SECONDS, so a request costs no statement for it. Invalidation:
# - in the process that saves or deletes a municipality: at once, and again when that
#   transaction commits (a page read between the save and the commit would have cached the
#   old row);
# - in every other process (the other gunicorn workers and servers): at most CACHE_SECONDS
#   later. A renamed municipality or a changed contact shows for that long with its old
#   text, and a deactivated one answers for that long more — a short delay for the rare
#   edits of an administrator, against one statement on every request of every resident.
# Only rows read outside any transaction are cached (never uncommitted ones, and the tests,
# which run in a transaction rolled back at their end, always read the database); a missing
# or inactive municipality is never cached (a new one answers at once). Each request gets
# its own object, built from the cached values.
CACHE_SECONDS = 10.0

_FIELDS = [field.attname for field in Municipality._meta.concrete_fields]
_cache: dict[tuple[str, str], tuple[float, tuple]] = {}


def clear_cache(**kwargs) -> None:
    _cache.clear()


def _on_change(sender, **kwargs) -> None:
    _cache.clear()
    transaction.on_commit(_cache.clear, using=kwargs.get("using"))


post_save.connect(_on_change, sender=Municipality, dispatch_uid="tenants.scoping.saved")
post_delete.connect(_on_change, sender=Municipality, dispatch_uid="tenants.scoping.deleted")
# A flush (the end of a test that commits) deletes rows without signals; it is followed by
# post_migrate.
post_migrate.connect(clear_cache, dispatch_uid="tenants.scoping.flushed")


def active_municipality(lg_code: str) -> Municipality:
    """The active municipality of `lg_code` (`Municipality.DoesNotExist` otherwise)."""
    alias = router.db_for_read(Municipality)
    if connections[alias].in_atomic_block:
        return Municipality.objects.using(alias).get(lg_code=lg_code, is_active=True)
    key = (alias, lg_code)
    entry = _cache.get(key)
    now = time.monotonic()
    if entry is None or entry[0] <= now:
        municipality = Municipality.objects.using(alias).get(lg_code=lg_code, is_active=True)
        _cache[key] = (now + CACHE_SECONDS, tuple(getattr(municipality, f) for f in _FIELDS))
        return municipality
    return Municipality.from_db(alias, _FIELDS, entry[1])


def with_municipality(view):
    """Decorator for views under /<lg_code>/: attaches `request.municipality` or 404s."""

    @wraps(view)
    def wrapper(request, lg_code, *args, **kwargs):
        try:
            request.municipality = active_municipality(lg_code)
        except Municipality.DoesNotExist as exc:
            raise Http404("municipality") from exc
        return view(request, *args, **kwargs)

    return wrapper
