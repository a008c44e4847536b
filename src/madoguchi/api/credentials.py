"""Client secrets and access tokens (OAuth2 client-credentials shape).

- A client secret is shown once, when it is created or reset, and stored as a PBKDF2 hash.
- POST /api/v1/token exchanges client_id + client_secret for an access token valid for
  `TOKEN_LIFETIME`; only its SHA-256 digest is stored (`ApiToken`).
"""

import datetime
import hashlib
import secrets

from django.contrib.auth.hashers import check_password, make_password
from django.utils import timezone

from .models import ApiClient, ApiToken

TOKEN_LIFETIME = datetime.timedelta(hours=1)
# Checked against when the client id is unknown, so a wrong id costs as long as a wrong secret.
_DUMMY_HASH = make_password("madoguchi-unknown-client")


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def set_secret(client: ApiClient) -> str:
    """Give the client a new secret (the old one and every token stop working); returns
    the secret, which is never stored and cannot be shown again."""
    secret = new_secret()
    client.secret_hash = make_password(secret)
    client.save(update_fields=["secret_hash"])
    ApiToken.objects.filter(client=client).delete()
    return secret


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def authenticate_client(client_id: str, secret: str) -> ApiClient | None:
    """The active client with this id and secret, or None."""
    client = (
        ApiClient.objects.select_related("municipality")
        .filter(client_id=client_id or "", is_active=True)
        .first()
    )
    if client is None:
        check_password(secret or "", _DUMMY_HASH)
        return None
    if not client.secret_hash or not check_password(secret or "", client.secret_hash):
        return None
    return client


def issue_token(client: ApiClient) -> tuple[str, int]:
    """A new access token for the client: (token, lifetime in seconds). Expired tokens of
    the client are deleted on the way."""
    now = timezone.now()
    ApiToken.objects.filter(client=client, expires_at__lte=now).delete()
    token = secrets.token_urlsafe(32)
    ApiToken.objects.create(
        client=client, token_digest=token_digest(token), expires_at=now + TOKEN_LIFETIME
    )
    ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
    return token, int(TOKEN_LIFETIME.total_seconds())
