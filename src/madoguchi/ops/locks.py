"""Single-flight locks for scheduled and background jobs, when several Celery workers (and
a beat that may fire twice) share one database.

On PostgreSQL a lock is a session-level advisory lock of the job's database connection:
held while the job runs, released when it ends — and released by PostgreSQL itself when the
process holding it dies (its connection closes), so a worker killed midway never leaves a
job locked. Elsewhere (the embedded default: one process) a lock is a process-local lock.

    with single_flight("mynaportal-pull:3") as acquired:
        if not acquired:
            return  # the same job is running elsewhere
        ...

`is_free(name)` tells whether a job with that lock is running anywhere: a job row left
"running" whose lock is free was abandoned by a process that died.

Session-level advisory locks need a session: behind a connection pooler, use session
pooling for the workers (docs/deploy.md).
"""

from __future__ import annotations

import hashlib
import threading
import time
from contextlib import contextmanager

from django.db import connection

# First key of every madoguchi advisory lock ("mado"), so other users of the database do not
# collide with ours.
NAMESPACE = 0x6D61646F

_local_locks: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()


def _key(name: str) -> int:
    digest = hashlib.blake2b(name.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def _local(name: str) -> threading.Lock:
    with _local_guard:
        return _local_locks.setdefault(name, threading.Lock())


def _pg() -> bool:
    return connection.vendor == "postgresql"


def try_acquire(name: str) -> bool:
    if _pg():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [NAMESPACE, _key(name)])
            return bool(cursor.fetchone()[0])
    return _local(name).acquire(blocking=False)


def release(name: str) -> None:
    if _pg():
        if connection.connection is None:
            return  # the connection was closed: PostgreSQL released the lock with it
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [NAMESPACE, _key(name)])
        return
    lock = _local(name)
    if lock.locked():
        lock.release()


@contextmanager
def single_flight(name: str, *, wait: float = 0.0, poll: float = 0.5):
    """Hold the lock `name` for the block; yields whether it was acquired. With `wait`,
    keep trying for that many seconds first."""
    deadline = time.monotonic() + wait
    acquired = try_acquire(name)
    while not acquired and time.monotonic() < deadline:
        time.sleep(min(poll, max(0.0, deadline - time.monotonic())))
        acquired = try_acquire(name)
    try:
        yield acquired
    finally:
        if acquired:
            release(name)


def is_free(name: str) -> bool:
    """True when nobody holds `name` right now (checked by taking and releasing it)."""
    if try_acquire(name):
        release(name)
        return True
    return False
