"""Django's ModelBackend, with the user of a session read by SQL compiled once per process.

Every request of a member of staff (and of a business user) loads its user by the id in the
session; through the ORM, compiling `User.objects.get(pk=...)` costs about three times the
CPU of running it compiled (core.prepared). Logging in, passwords and permissions are
Django's own; only `get_user` is changed, with Django's rules: no such user, or one that
may not authenticate (inactive), is no user.

Sessions written before this backend existed name Django's class; the session store reads
that name as this one (core.sessions.LEGACY_BACKENDS), so nobody is logged out by the
change."""

from __future__ import annotations

from django.contrib.auth import backends, get_user_model
from django.core.exceptions import ValidationError
from django.db import connections, router

from madoguchi.core.prepared import by_pk


def _in_range(model, pk: int) -> bool:
    field = model._meta.pk
    low, high = connections[router.db_for_read(model)].ops.integer_field_range(
        field.get_internal_type()
    )
    return 0 < pk and (high is None or pk <= high) and (low is None or pk >= low)


class ModelBackend(backends.ModelBackend):
    def get_user(self, user_id):
        model = get_user_model()
        try:
            pk = model._meta.pk.to_python(user_id)
        except (ValidationError, TypeError, ValueError):
            return None
        if not isinstance(pk, int) or not _in_range(model, pk):
            return None  # an id no row can have (the ORM would not ask either)
        user = by_pk(model).first(pk=pk)
        return user if user is not None and self.user_can_authenticate(user) else None
