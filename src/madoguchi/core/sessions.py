"""The database session store, its read compiled once per process.

Every request of a member of staff reads its session row: compiling that query through the
ORM costs more CPU than PostgreSQL spends answering it (core.prepared). Only the read is
changed; the expiry is checked here as Django's store checks it in SQL (a session expired is
no session), and writing, cycling and deleting sessions are Django's own.

    SESSION_ENGINE = "madoguchi.core.sessions"
"""

from __future__ import annotations

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


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        session_key = self.session_key
        found = _session.first(session_key=session_key) if session_key else None
        if found is None or found.expire_date <= timezone.now():
            self._session_key = None
            return None
        return found
