"""After a database restart (every connection dropped server-side) a worker's next request
succeeds: CONN_HEALTH_CHECKS makes Django test a persistent connection before reusing it.
PostgreSQL only (SQLite has no server to restart)."""

import io

import psycopg
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test import RequestFactory


def _server_side_close(pid: int) -> None:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


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
