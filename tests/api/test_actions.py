"""Acknowledge, status and notes through the API: same rules, events and outbox as staff."""

import pytest

from madoguchi.api.models import Acknowledgement
from madoguchi.api.views import acknowledge
from madoguchi.applications.models import Application, ApplicationEvent, DepartmentProgress
from madoguchi.outbox.models import OutboxMessage

from .conftest import http, make_client, make_procedure, submit_application

pytestmark = pytest.mark.django_db


def url(application, action):
    return f"/api/v1/applications/{application.receipt_number}/{action}"


def test_acknowledge_is_idempotent_and_recorded_once(api, full_client, application):
    first = api.post(url(application, "acknowledge"))
    assert first.status_code == 201
    assert first.json()["created"] is True
    again = api.post(url(application, "acknowledge"))
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert again.json()["acknowledged_at"] == first.json()["acknowledged_at"]
    assert Acknowledgement.objects.filter(client=full_client, application=application).count() == 1
    [event] = application.events.filter(kind=ApplicationEvent.Kind.ACKNOWLEDGED)
    assert event.actor_type == ApplicationEvent.Actor.CLIENT
    assert event.actor_client == full_client and event.actor_user is None
    detail = api.get(f"/api/v1/applications/{application.receipt_number}").json()
    assert detail["acknowledged_at"] == first.json()["acknowledged_at"]


def test_acknowledgement_is_per_client(municipality, application):
    a, b = make_client(municipality, client_id="a"), make_client(municipality, client_id="b")
    assert acknowledge(application, client=a) is True
    assert acknowledge(application, client=b) is True
    assert acknowledge(application, client=a) is False
    assert application.events.filter(kind=ApplicationEvent.Kind.ACKNOWLEDGED).count() == 2


def test_status_change_records_event_and_mails_the_applicant(api, full_client, application):
    response = api.post(
        url(application, "status"),
        {"status": "in_progress", "message": "審査を開始しました。", "expected_version": 0},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "receipt_number": application.receipt_number,
        "status": "in_progress",
        "version": 1,
    }
    event = application.events.get(kind=ApplicationEvent.Kind.STATUS_CHANGED)
    assert (event.from_status, event.to_status) == ("received", "in_progress")
    assert event.actor_type == ApplicationEvent.Actor.CLIENT and event.actor_client == full_client
    assert event.message == "審査を開始しました。"
    [mail] = OutboxMessage.objects.all()
    assert "審査を開始しました。" in str(mail.payload)
    assert DepartmentProgress.objects.get(application=application).state == "in_progress"


def test_status_without_expected_version_uses_the_current_one(api, application):
    Application.objects.filter(pk=application.pk).update(lock_version=7)
    response = api.post(url(application, "status"), {"status": "completed"}, format="json")
    assert response.status_code == 200
    assert response.json()["version"] == 8


def test_stale_expected_version_is_409(api, application):
    Application.objects.filter(pk=application.pk).update(lock_version=3)
    response = api.post(
        url(application, "status"), {"status": "in_progress", "expected_version": 2}, format="json"
    )
    assert response.status_code == 409
    body = response.json()
    assert body["type"] == "urn:madoguchi:problem:stale"
    assert "expected_version" in body["detail"]
    assert Application.objects.get(pk=application.pk).status == "received"
    assert not OutboxMessage.objects.exists()


def test_refused_transition_is_409_with_the_rule(api, application):
    Application.objects.filter(pk=application.pk).update(status="completed")
    response = api.post(url(application, "status"), {"status": "in_progress"}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["type"] == "urn:madoguchi:problem:transition-refused"
    assert body["detail"] == "「完了」の申請を「処理中」に変更することはできません。"
    assert Application.objects.get(pk=application.pk).lock_version == 0  # the claim rolled back


def test_withdraw_is_for_the_applicant_only(api, application):
    response = api.post(url(application, "status"), {"status": "withdrawn"}, format="json")
    assert response.status_code == 409
    assert "取り下げは申請者だけ" in response.json()["detail"]


@pytest.mark.parametrize("status", ["returned", "rejected"])
def test_message_required_is_422_on_the_message_field(api, application, status):
    response = api.post(
        url(application, "status"), {"status": status, "message": " "}, format="json"
    )
    assert response.status_code == 422
    body = response.json()
    assert body["errors"][0]["field"] == "message"
    assert "メッセージ" in body["detail"]


def test_unknown_status_is_422(api, application):
    response = api.post(url(application, "status"), {"status": "done"}, format="json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "status"


def test_status_is_application_wide_for_multi_department_procedures(municipality):
    procedure = make_procedure(municipality, slug="suido", departments=("suido", "gesuido"))
    application = submit_application(procedure, with_attachment=False)
    api = http(make_client(municipality))
    response = api.post(url(application, "status"), {"status": "completed"}, format="json")
    assert response.status_code == 200
    states = set(
        DepartmentProgress.objects.filter(application=application).values_list("state", flat=True)
    )
    assert states == {"completed"}


def test_note(api, full_client, application):
    response = api.post(
        url(application, "notes"), {"text": "基幹システムに取り込みました。"}, format="json"
    )
    assert response.status_code == 201
    event = application.events.get(kind=ApplicationEvent.Kind.NOTE)
    assert event.pk == response.json()["id"]
    assert event.actor_client == full_client and event.message == "基幹システムに取り込みました。"
    assert not OutboxMessage.objects.exists()  # never sent to the applicant


@pytest.mark.parametrize("body", [{"text": "   "}, {}, {"text": "x" * 4001}])
def test_bad_note_is_422(api, application, body):
    response = api.post(url(application, "notes"), body, format="json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "text"
