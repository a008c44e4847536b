"""The database session store, its read compiled once per process.

Every request of a member of staff reads its session row: compiling that query through the
ORM costs more CPU than PostgreSQL spends answering it (core.prepared). Only the read is
changed; the expiry is checked here as Django's store checks it in SQL (a session expired is
no session), and writing, cycling and deleting sessions are Django's own.

    SESSION_ENGINE = "madoguchi.core.sessions"
"""

from __future__ import annotations

from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone

from .prepared import PreparedQuery

_session = PreparedQuery(
    Session,
    lambda session_key: Session.objects.filter(session_key=session_key),
    (),
    strings=("session_key",),
)


# Sessions written before the prepared backend (tenants.auth_backend) name Django's class:
# read as the class that replaced it, so that nobody is logged out by the change.
LEGACY_BACKENDS = {
    "django.contrib.auth.backends.ModelBackend": "madoguchi.tenants.auth_backend.ModelBackend",
}


class SessionStore(db.SessionStore):
    def decode(self, session_data):
        data = super().decode(session_data)
        backend = data.get(BACKEND_SESSION_KEY)
        if backend in LEGACY_BACKENDS:
            data[BACKEND_SESSION_KEY] = LEGACY_BACKENDS[backend]
        return data

    def _get_session_from_db(self):
        session_key = self.session_key
        found = _session.first(session_key=session_key) if session_key else None
        if found is None or found.expire_date <= timezone.now():
            self._session_key = None
            return None
        return found
