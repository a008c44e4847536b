"""Secrets the application must read back (a webhook's signing secret), encrypted at rest.

A stolen database dump or backup then holds no usable secret. The keys come from the
environment, never from the database: `FIELD_ENCRYPTION_KEYS` (comma-separated Fernet keys,
the first encrypts, all decrypt — so a key can be rotated), or, when it is not set, a key
derived from `SECRET_KEY` and each of `SECRET_KEY_FALLBACKS` (HKDF-SHA256), so rotating
SECRET_KEY with the old one kept as a fallback keeps the secrets readable.

Stored form: "enc1:" + a Fernet token (AES-128-CBC + HMAC-SHA256, with a timestamp). A value
without the prefix is a row written before encryption: it is read as is and encrypted the
next time the row is saved (the migration re-saves them all).
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "enc1:"
_INFO = b"madoguchi field encryption v1"


def _derived(secret: str) -> bytes:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret.encode())
    return base64.urlsafe_b64encode(key)


def keys() -> list[bytes]:
    configured = getattr(settings, "FIELD_ENCRYPTION_KEYS", None) or []
    if configured:
        return [k.encode() if isinstance(k, str) else k for k in configured]
    return [_derived(s) for s in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]]


def _fernet() -> MultiFernet:
    try:
        return MultiFernet([Fernet(k) for k in keys()])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must hold Fernet keys (32 url-safe base64-encoded bytes)"
        ) from exc


def encrypt(plain: str) -> str:
    return PREFIX + _fernet().encrypt(plain.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored  # written before encryption; encrypted when the row is next saved
    try:
        return _fernet().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "an encrypted value cannot be read with the configured keys "
            "(FIELD_ENCRYPTION_KEYS / SECRET_KEY and SECRET_KEY_FALLBACKS changed?)"
        ) from exc


class EncryptedTextField(models.TextField):
    """A text field stored encrypted (see the module). Not searchable or orderable."""

    def from_db_value(self, value, expression, connection):
        return None if value is None else decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value.startswith(PREFIX):
            return value
        return encrypt(value)
