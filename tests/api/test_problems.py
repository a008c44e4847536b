"""Errors are RFC 9457 problem details; rate limits per client."""

import pytest

from .conftest import http, make_client

pytestmark = pytest.mark.django_db

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


def assert_problem(response, status):
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert PROBLEM_KEYS <= set(body)
    assert body["status"] == status
    assert body["instance"] == response.wsgi_request.path
    assert any("\u3040" <= ch <= "\u30ff" for ch in body["detail"]), "detail is Japanese"
    return body


def test_unknown_path_under_the_api_is_a_problem(api):
    assert_problem(api.get("/api/v1/nothing-here"), 404)


def test_method_not_allowed_is_a_problem(api, application):
    assert_problem(api.delete(f"/api/v1/applications/{application.receipt_number}"), 405)


def test_validation_problem_lists_fields(api, application):
    body = assert_problem(
        api.post(f"/api/v1/applications/{application.receipt_number}/status", {}, format="json"),
        422,
    )
    assert body["type"] == "urn:madoguchi:problem:validation"
    assert body["errors"] == [{"field": "status", "detail": body["errors"][0]["detail"]}]


def test_throttling_per_client_is_429_with_retry_after(municipality, application):
    slow = http(make_client(municipality, client_id="slow", rate=3))
    other = http(make_client(municipality, client_id="other", rate=3))
    for _ in range(3):
        assert slow.get("/api/v1/applications").status_code == 200
    response = slow.get("/api/v1/applications")
    body = assert_problem(response, 429)
    assert body["type"] == "urn:madoguchi:problem:rate-limited"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert other.get("/api/v1/applications").status_code == 200  # the limit is per client
