"""Sessions kept in the database and read through the shared cache (SESSION_ENGINE when a
shared cache is configured: settings.MADOGUCHI_CACHE_URL).

Django's `cached_db`: every write goes to the database and then to the cache; a read takes
the cache and falls back to the database (a cache restart or outage loses nothing, it only
costs the database read again). What a cache cannot promise is that a deletion reached it:
a logout whose cache delete was lost (Redis timing out, then answering again) would leave
the session readable there. So a session read from the cache says so (`loaded_from_cache`),
and `core.authentication` confirms the database row of any logged-in session read that way,
within the statement that loads the user and the second factor: a session logged out,
expired or deleted elsewhere is refused at its next request, as with database sessions.
"""

from __future__ import annotations

from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore


class SessionStore(CachedDBStore):
    #: True when the data of this request came from the cache, not from the database row.
    loaded_from_cache = False

    def load(self):
        try:
            data = self._cache.get(self.cache_key)
        except Exception:  # an invalid key on some backends: read the database
            data = None
        if data is not None:
            self.loaded_from_cache = True
            return data
        self.loaded_from_cache = False
        row = self._get_session_from_db()
        if not row:
            return {}
        data = self.decode(row.session_data)
        self._cache.set(self.cache_key, data, self.get_expiry_age(expiry=row.expire_date))
        return data
