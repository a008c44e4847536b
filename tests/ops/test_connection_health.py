"""After a database restart (every connection dropped server-side) a worker's next request
succeeds: CONN_HEALTH_CHECKS makes Django test a persistent connection before reusing it.
The check (ops/postgresql) sends nothing to a connection that shows nothing wrong and
`SELECT 1` to any other. PostgreSQL only (SQLite has no server to restart)."""

import io
import select
import time

import psycopg
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, transaction
from django.test import RequestFactory


def _other_connection():
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    return psycopg.connect(**params, autocommit=True)


def _server_side_close(pid: int) -> None:
    """Terminate the backend and wait until it has exited (its last message sent), as after
    a restart."""
    with _other_connection() as other:
        (done,) = other.execute("SELECT pg_terminate_backend(%s, 10000)", [pid]).fetchone()
        assert done


def _last_statement(pid: int) -> str:
    """What the backend `pid` last ran, as PostgreSQL itself reports it."""
    with _other_connection() as other:
        row = other.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
        return row[0]


def _wait_readable(raw, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not select.select([raw.pgconn.socket], [], [], 0.05)[0]:
        assert time.monotonic() < deadline, "nothing arrived on the connection"


def _request(path: str) -> int:
    """One request through the real WSGI handler, as a worker serves it (the test client
    turns off the connection check that request_started does)."""
    environ = RequestFactory().get(path).environ
    environ["wsgi.input"] = io.BytesIO(b"")
    environ["wsgi.errors"] = io.StringIO()
    status = {}

    def start_response(line, headers, exc_info=None):
        status["code"] = int(line.split()[0])

    response = WSGIHandler()(environ, start_response)
    b"".join(response)
    response.close()
    return status["code"]


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
@pytest.mark.parametrize("health_checks", [True, False])
def test_a_connection_dropped_by_the_server_is_replaced(municipality, health_checks, settings):
    settings.DEBUG = False
    connection.settings_dict["CONN_MAX_AGE"] = 60
    connection.settings_dict["CONN_HEALTH_CHECKS"] = health_checks
    connection.close()  # both are read when a connection is opened
    url = f"/{municipality.lg_code}/"
    try:
        assert _request(url) == 200
        pid = _backend_pid()
        _server_side_close(pid)
        status = _request(url)
        if health_checks:
            assert status == 200
            assert _backend_pid() != pid
        else:  # what the setting prevents: the first request after a restart fails
            assert status == 500
    finally:
        connection.settings_dict["CONN_HEALTH_CHECKS"] = True
        connection.close()


def test_production_settings_turn_health_checks_on():
    from django.conf import settings

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] > 0
    assert settings.DATABASES["default"]["ENGINE"] == "madoguchi.ops.postgresql"
    assert connection.vendor == "postgresql"


postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")


@pytest.mark.django_db(transaction=True)
@postgresql_only
def test_an_idle_healthy_connection_is_checked_without_a_round_trip():
    pid = _backend_pid()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'health check marker'")
    assert connection.is_usable() is True
    # Nothing was sent: the backend's last statement is still ours (Django's own check
    # would have made it SELECT 1).
    assert _last_statement(pid) == "SELECT 'health check marker'"


@pytest.mark.django_db(transaction=True)
@postgresql_only
def test_a_connection_in_a_transaction_gets_select_1():
    pid = _backend_pid()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 'health check marker'")
        assert connection.is_usable() is True
        assert _last_statement(pid) == "SELECT 1"


@pytest.mark.django_db(transaction=True)
@postgresql_only
def test_a_waiting_notification_gets_select_1_and_the_connection_stays():
    pid = _backend_pid()
    with connection.cursor() as cursor:
        cursor.execute("LISTEN madoguchi_health_test")
    try:
        with _other_connection() as other:
            other.execute("NOTIFY madoguchi_health_test")
        _wait_readable(connection.connection)
        assert connection.is_usable() is True
        assert _last_statement(pid) == "SELECT 1"
        # The notification was read with it: the socket is quiet again.
        assert not select.select([connection.connection.pgconn.socket], [], [], 0)[0]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("UNLISTEN *")


@pytest.mark.django_db(transaction=True)
@postgresql_only
def test_a_connection_the_server_closed_is_not_usable():
    pid = _backend_pid()
    try:
        _server_side_close(pid)
        assert connection.is_usable() is False
    finally:
        connection.close()
    assert _backend_pid() != pid  # the next statement opens a new connection


@pytest.mark.django_db(transaction=True)
@postgresql_only
def test_a_connection_closed_on_our_side_is_not_usable():
    from madoguchi.ops.postgresql.base import nothing_to_read

    connection.ensure_connection()
    raw = connection.connection
    try:
        raw.close()
        assert nothing_to_read(raw) is False
        assert connection.is_usable() is False
    finally:
        connection.close()
