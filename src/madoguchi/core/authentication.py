"""`request.user` and its second factor in one statement.

This middleware takes the place of Django's `AuthenticationMiddleware` followed by
django-otp's `OTPMiddleware`, with the same outcome: `request.user` is the session's user
(or AnonymousUser), `user.otp_device` the confirmed TOTP device of that user that verified
the session (or None) and `user.is_verified()` says whether there is one. Those two ran a
statement each (the user, then the device); here the device is read with its user through
a join, and, when the session itself came from the shared cache (`core.sessions`), the
existence of its unexpired database row is asked in the same statement.

Kept exactly as strict as the two middlewares: the user must still exist and be active
(the backend's `user_can_authenticate`), the session's auth hash must match (as
`django.contrib.auth.get_user` checks it, secret fallbacks included), the device must be a
confirmed device of that same user and still exist (a device deleted or reset stops
verifying the session at its next request, and its id leaves the session), and a session
read from the cache must still have its row (a logout elsewhere, an expiry or a deletion is
seen at once). Anything else than a plain `ModelBackend` session with a TOTP device falls
back to Django's and django-otp's own lookups.
"""

from __future__ import annotations

import functools

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    _get_user_session_key,
    get_user_model,
    load_backend,
)
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthentication
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.models import Session
from django.db.models import Exists
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.middleware import OTPMiddleware, is_verified
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

BIGINT_MAX = 2**63 - 1


class AuthenticationMiddleware(DjangoAuthentication):
    def process_request(self, request):
        super().process_request(request)  # requires the session middleware, as Django's
        request.user = SimpleLazyObject(lambda: get_user(request))
        request.auser = functools.partial(_auser, request)


async def _auser(request):
    return await sync_to_async(get_user)(request)


def get_user(request):
    if not hasattr(request, "_cached_user"):
        request._cached_user = _load_user(request)
    return request._cached_user


def _anonymous():
    user = AnonymousUser()
    user.otp_device = None
    user.is_verified = functools.partial(is_verified, user)
    return user


def _load_user(request):
    session = request.session
    try:
        user_id = _get_user_session_key(request)
        backend_path = session[BACKEND_SESSION_KEY]
    except KeyError:
        return _anonymous()
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return _anonymous()
    backend = load_backend(backend_path)
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    device_pk = _totp_pk(persistent_id)
    confirm_key = session.session_key if getattr(session, "loaded_from_cache", False) else None

    if type(backend).get_user is ModelBackend.get_user and (
        persistent_id is None or device_pk is not None
    ):
        user, device, alive = _user_and_device(user_id, device_pk, confirm_key)
        if user is not None and not backend.user_can_authenticate(user):
            user = None
    else:
        user = backend.get_user(user_id)
        device = _device_from_persistent_id(persistent_id) if persistent_id else None
        alive = _session_alive(confirm_key) if confirm_key else True

    if not alive:
        # The session was logged out, expired or deleted in the database; only the cache
        # still held it. flush() removes it there too.
        session.flush()
        return _anonymous()

    # Verify the session (as django.contrib.auth.get_user does).
    if hasattr(user, "get_session_auth_hash"):
        session_hash = session.get(HASH_SESSION_KEY)
        if not session_hash:
            session_hash_verified = False
        else:
            session_auth_hash = user.get_session_auth_hash()
            session_hash_verified = constant_time_compare(session_hash, session_auth_hash)
        if not session_hash_verified:
            if session_hash and any(
                constant_time_compare(session_hash, fallback_auth_hash)
                for fallback_auth_hash in user.get_session_auth_fallback_hash()
            ):
                session.cycle_key()
                session[HASH_SESSION_KEY] = session_auth_hash
            else:
                session.flush()
                user = None
    if user is None:
        return _anonymous()

    # The device that verified the session (as django-otp's OTPMiddleware binds it).
    if device is not None and (device.user_id != user.pk or not device.confirmed):
        device = None
    if device is None and DEVICE_ID_SESSION_KEY in session:
        del session[DEVICE_ID_SESSION_KEY]
    user.otp_device = device
    user.is_verified = functools.partial(is_verified, user)
    return user


def _totp_pk(persistent_id) -> int | None:
    """The TOTP device's primary key named by a django-otp persistent id, or None."""
    if not isinstance(persistent_id, str):
        return None
    normalized = OTPMiddleware._normalize_persistent_id(persistent_id)
    label, _slash, pk = normalized.rpartition("/")
    if label != TOTPDevice.model_label() or not (pk.isascii() and pk.isdigit()):
        return None
    number = int(pk)
    return number if number <= BIGINT_MAX else None


def _alive_annotation(session_key: str):
    return Exists(Session.objects.filter(session_key=session_key, expire_date__gt=timezone.now()))


def _user_and_device(user_id, device_pk: int | None, confirm_key: str | None):
    """(user or None, device or None, session row alive) in one statement; two when the
    session names a device that is gone or not this user's."""
    if device_pk is not None:
        devices = TOTPDevice.objects.select_related("user").filter(pk=device_pk, user_id=user_id)
        if confirm_key:
            devices = devices.annotate(madoguchi_session_alive=_alive_annotation(confirm_key))
        device = next(iter(devices[:1]), None)
        if device is not None:
            return device.user, device, getattr(device, "madoguchi_session_alive", True)
    users = get_user_model()._default_manager.filter(pk=user_id)
    if confirm_key:
        users = users.annotate(madoguchi_session_alive=_alive_annotation(confirm_key))
    user = next(iter(users[:1]), None)
    if user is None:
        return None, None, True
    return user, None, getattr(user, "madoguchi_session_alive", True)


def _session_alive(session_key: str) -> bool:
    return Session.objects.filter(session_key=session_key, expire_date__gt=timezone.now()).exists()


def _device_from_persistent_id(persistent_id: str):
    return Device.from_persistent_id(OTPMiddleware._normalize_persistent_id(persistent_id))
