"""The committed OpenAPI document is the generated one, and the API keeps to it
(schemathesis: every operation, no server error, every response conforms)."""

import functools
import io
from pathlib import Path

import pytest
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import http, make_client, submit_application

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "api" / "openapi.yaml"


@pytest.mark.django_db
def test_committed_schema_is_up_to_date():
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    assert out.getvalue() == COMMITTED.read_text(encoding="utf-8"), (
        "docs/api/openapi.yaml differs from the generated schema: run "
        "`madoguchi spectacular --file docs/api/openapi.yaml --validate` and commit it"
    )


@pytest.mark.django_db
def test_schema_is_served_and_documented(client):
    response = client.get("/api/v1/schema/")
    assert response.status_code == 200
    assert b"listApplications" in response.content
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    text = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in text
    assert "<script>" not in text and "https://" not in text  # no inline script, no CDN
    policy = docs["Content-Security-Policy"]
    assert "script-src 'self';" in policy + ";" and "unsafe-eval" not in policy


# The coverage phase (hundreds of boundary cases per operation) is left out to keep this
# test under a minute; examples and fuzzing run for every operation.
schema = schemathesis.openapi.from_path(
    COMMITTED,
    config=SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}}),
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@functools.cache
def _wsgi_app():
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


@pytest.fixture
def keep_test_connection():
    """Called directly, the WSGI app closes the database connection at the end of each request
    (`close_old_connections`), which on PostgreSQL kills the test's transaction; Django's own
    test client disconnects these receivers the same way."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_data(municipality, settings):
    from madoguchi.api.models import ApiGrant

    from .conftest import make_procedure

    settings.API_LIST_SETTLE_SECONDS = 0
    procedure = make_procedure(municipality)
    for _ in range(3):
        submit_application(procedure)
    client = make_client(municipality, rate=100_000)
    ApiGrant.objects.filter(client=client).update(can_read_individual_number=True)
    token = http(client)._credentials["HTTP_AUTHORIZATION"]
    return {"Authorization": token}


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_the_committed_schema(case, api_data, keep_test_connection):
    case.call_and_validate(headers=api_data, checks=CHECKS, app=_wsgi_app())
