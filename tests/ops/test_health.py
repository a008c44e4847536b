"""/healthz and /readyz: answered before host validation and the HTTPS redirect (the
orchestrator probes the pod's own address over plain HTTP); readiness names the part that
failed and answers 503."""

import json

import pytest

pytestmark = pytest.mark.django_db


def test_liveness_answers_without_looking_at_anything(client, settings):
    settings.ALLOWED_HOSTS = ["shinsei.example.lg.jp"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_readiness_checks_database_and_storage(client, settings):
    settings.ALLOWED_HOSTS = ["shinsei.example.lg.jp"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/readyz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200, response.content
    body = json.loads(response.content)
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["storage"]["ok"] is True
    assert "broker" not in body["checks"]  # the embedded default has none


def test_readiness_fails_when_the_broker_is_unreachable(client, settings):
    # A port nothing listens on: the broker check fails fast and is named.
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    response = client.get("/readyz")
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"] == {
        "ok": False,
        "error": "ConnectionError",
        "ms": body["checks"]["broker"]["ms"],
    }
    assert body["checks"]["database"]["ok"] is True


def test_readiness_fails_when_the_storage_is_unusable(client, settings, tmp_path):
    # The media "directory" is a file (a volume that did not mount as expected).
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.MEDIA_ROOT = blocker / "media"
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = json.loads(response.content)["checks"]
    assert checks["storage"]["ok"] is False
    assert checks["storage"]["error"] in {"NotADirectoryError", "FileExistsError"}


def test_readiness_fails_when_the_cache_is_unreachable(client, settings):
    settings.MADOGUCHI_CACHE_URL = "redis://127.0.0.1:1/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert json.loads(response.content)["checks"]["cache"]["ok"] is False


def test_every_response_carries_a_request_id(client):
    response = client.get("/healthz")
    assert "X-Request-ID" not in response  # probes are not requests of the app
    response = client.get("/no-such-page/")
    assert len(response["X-Request-ID"]) == 32
    given = client.get("/no-such-page/", HTTP_X_REQUEST_ID="lb-0123456789abcdef")
    assert given["X-Request-ID"] == "lb-0123456789abcdef"
    forged = client.get("/no-such-page/", HTTP_X_REQUEST_ID='x" level="CRITICAL')
    assert forged["X-Request-ID"] != 'x" level="CRITICAL'
    assert len(forged["X-Request-ID"]) == 32
