"""Django's PostgreSQL backend; only the check of a reused connection changes.

With CONN_HEALTH_CHECKS (production), Django checks a persistent connection before the first
query of each request by sending `SELECT 1`: one round trip per request, about 0.1 ms of the
request's time and 50 µs of the app server's CPU here, plus the server's.

A connection that the server has closed (a restart or failover, `pg_terminate_backend`,
`idle_session_timeout`) has the server's last message and the end of the stream waiting on
its socket; an idle, healthy connection has nothing there. So a connection that libpq holds
as good, with no transaction open and nothing to read, is used as it is. Anything else (bytes
waiting, a transaction open, libpq's status not OK) gets Django's own check, `SELECT 1`,
which also reads what was waiting (a notification or a notice) or finds the connection dead.

Neither check finds a peer that vanished without closing the connection (a host lost with
its network): then the first statement waits, whether it is `SELECT 1` or the request's own.
"""

import select

import psycopg
from django.db.backends.postgresql import base
from psycopg import pq


def nothing_to_read(raw) -> bool:
    """True when the psycopg connection `raw` is idle, libpq holds it as good and its socket
    has nothing waiting: the server has not closed it."""
    pgconn = raw.pgconn
    if pgconn.status != pq.ConnStatus.OK:
        return False
    if pgconn.transaction_status != pq.TransactionStatus.IDLE:
        return False
    try:
        # poll, not select: a worker may hold more than select's 1024 descriptors.
        waiting = select.poll()
        waiting.register(pgconn.socket, select.POLLIN)
        return not waiting.poll(0)  # POLLIN, or POLLHUP/POLLERR: something to look at
    except (OSError, ValueError, psycopg.Error):  # the socket is gone
        return False


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self):
        if self.connection is None:
            return False
        if nothing_to_read(self.connection):
            return True
        return super().is_usable()
