"""Unguessable access tokens for links sent to applicants (resume, status page).

Only a SHA-256 digest is stored, so a database leak does not leak working links.
"""

import hashlib
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
