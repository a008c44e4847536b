"""django-otp's middleware, with the device of the session read by SQL compiled once per
process (core.prepared).

Every request of a member of staff looks up the second factor the session was verified
with; through the ORM that lookup costs more CPU to compile than PostgreSQL spends on it.
The rules are django-otp's own: the id in the session names a device model and a row, the
row must belong to the user and be confirmed (`_finalize_device`), else the request is not
verified."""

from __future__ import annotations

from django.apps import apps
from django_otp import middleware
from django_otp.models import Device

from madoguchi.core.prepared import PreparedQuery

_BIGINT = 2**63

# One compiled lookup per device model (TOTP, static backup codes ...).
_lookups: dict[type, PreparedQuery] = {}


def _lookup(device_class) -> PreparedQuery:
    lookup = _lookups.get(device_class)
    if lookup is None:
        lookup = _lookups.setdefault(
            device_class,
            PreparedQuery(device_class, lambda pk: device_class.objects.filter(pk=pk), ("pk",)),
        )
    return lookup


class OTPMiddleware(middleware.OTPMiddleware):
    def _device_from_persistent_id(self, persistent_id: str):
        persistent_id = self._normalize_persistent_id(persistent_id)
        try:
            model_label, device_id = persistent_id.rsplit("/", 1)
            device_class = apps.get_model(model_label)
            device_id = int(device_id)
        except (ValueError, LookupError):
            return None
        if not issubclass(device_class, Device) or not 0 < device_id < _BIGINT:
            return None
        return _lookup(device_class).first(pk=device_id)
