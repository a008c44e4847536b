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

from madoguchi.core.prepared import by_pk

_BIGINT = 2**63


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
        return by_pk(device_class).first(pk=device_id)
