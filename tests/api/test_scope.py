"""Every endpoint × every scope: another municipality's or procedure's application does not exist
for the client (404); a visible application without the action's grant is 403."""

import pytest

from madoguchi.applications.models import ApplicationEvent

from .conftest import http, make_client, make_procedure, submit_application

pytestmark = pytest.mark.django_db


def attachment_uid(application):
    return application.attachments.get().uid


ENDPOINTS = {
    "detail": ("get", "", None, "can_read_applications"),
    "attachment": ("get", "/attachments/{uid}", None, "can_read_attachments"),
    "acknowledge": ("post", "/acknowledge", None, "can_acknowledge"),
    "status": (
        "post",
        "/status",
        {"status": "in_progress", "message": "審査中"},
        "can_write_status",
    ),
    "notes": ("post", "/notes", {"text": "取り込みました"}, "can_write_notes"),
}


def call(api, endpoint, application):
    method, suffix, body, _grant = ENDPOINTS[endpoint]
    url = f"/api/v1/applications/{application.receipt_number}" + suffix.format(
        uid=attachment_uid(application)
    )
    return getattr(api, method)(url, body, format="json") if body else getattr(api, method)(url)


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_full_grant_works(endpoint, municipality, application):
    api = http(make_client(municipality))
    assert call(api, endpoint, application).status_code in (200, 201)


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_other_municipality_application_is_404(
    endpoint, municipality, other_municipality, application
):
    api = http(make_client(other_municipality, client_id="tomakomai"))
    response = call(api, endpoint, application)
    assert response.status_code == 404
    assert response.json()["type"] == "urn:madoguchi:problem:not-found"
    assert not application.events.filter(actor_type=ApplicationEvent.Actor.CLIENT).exists()


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_other_procedure_application_is_404(endpoint, municipality, application):
    other = make_procedure(municipality, slug="kaigo")
    api = http(make_client(municipality, procedure=other))
    assert call(api, endpoint, application).status_code == 404


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_without_read_grant_the_application_is_404(endpoint, municipality, application):
    api = http(make_client(municipality, can_read_applications=False))
    assert call(api, endpoint, application).status_code == 404


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e != "detail"])
def test_missing_action_grant_is_403(endpoint, municipality, application):
    grant = ENDPOINTS[endpoint][3]
    api = http(make_client(municipality, **{grant: False}))
    response = call(api, endpoint, application)
    assert response.status_code == 403
    body = response.json()
    assert body["type"] == "urn:madoguchi:problem:forbidden"
    assert "権限がありません" in body["detail"]
    assert not application.events.filter(actor_type=ApplicationEvent.Actor.CLIENT).exists()


def test_list_shows_only_applications_in_scope(municipality, other_municipality, procedure):
    mine = submit_application(procedure, with_attachment=False)
    other_proc = make_procedure(municipality, slug="kaigo")
    submit_application(other_proc, with_attachment=False)
    submit_application(make_procedure(other_municipality), with_attachment=False)
    from madoguchi.applications import services

    services.start_draft(procedure)  # a draft is never listed

    api = http(make_client(municipality, procedure=procedure))
    numbers = [r["receipt_number"] for r in api.get("/api/v1/applications").json()["results"]]
    assert numbers == [mine.receipt_number]

    everything = http(make_client(municipality, client_id="all"))
    assert len(everything.get("/api/v1/applications").json()["results"]) == 2
    assert (
        everything.get("/api/v1/applications?procedure=kaigo").json()["results"][0]["procedure"]
        == "kaigo"
    )

    outsider = http(make_client(other_municipality, client_id="tomakomai"))
    results = outsider.get("/api/v1/applications").json()["results"]
    assert [r["procedure"] for r in results] == ["jidou-teate"]
    assert results[0]["receipt_number"] == mine.receipt_number  # same number, other 団体
    assert outsider.get("/api/v1/applications?procedure=kaigo").json()["results"] == []


def test_grants_add_up_per_procedure(municipality, application):
    """A read-only grant for every procedure plus a status grant for one procedure."""
    from madoguchi.api.models import ApiGrant

    client = make_client(
        municipality,
        can_write_status=False,
        can_acknowledge=False,
        can_write_notes=False,
        can_read_attachments=False,
    )
    api = http(client)
    assert call(api, "status", application).status_code == 403
    ApiGrant.objects.create(
        client=client,
        procedure=application.procedure,
        can_read_applications=False,
        can_write_status=True,
    )
    assert call(api, "status", application).status_code == 200
