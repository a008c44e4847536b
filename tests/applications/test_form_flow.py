"""The step flow shared by the portal and staff/business entry (`applications.form_flow`),
through real drafts of a small two-step form."""

from types import SimpleNamespace

import pytest
from django.test import RequestFactory

from madoguchi.applications import form_flow, lifecycle, services
from madoguchi.catalog.models import FormVersion, Procedure
from madoguchi.formengine.fields import FieldError

FORM = {
    "title": "テスト申請",
    "steps": [
        {
            "key": "who",
            "title": "申請者",
            "fields": [
                {"key": "applicant_name", "type": "text", "label": "氏名", "required": True},
                {
                    "key": "children",
                    "type": "repeat",
                    "label": "児童",
                    "item_label": "児童",
                    "min": 1,
                    "max": 2,
                    "fields": [
                        {"key": "child_name", "type": "text", "label": "氏名", "required": True}
                    ],
                },
            ],
        },
        {
            "key": "where",
            "title": "住所",
            "fields": [
                {
                    "key": "zip",
                    "type": "postal_code",
                    "label": "郵便番号",
                    "address_field": "addr",
                    "required": True,
                },
                {"key": "addr", "type": "address", "label": "住所", "required": True},
            ],
        },
    ],
}

WHO_OK = {"applicant_name": "山田太郎", "children__0__child_name": "山田花子"}


@pytest.fixture
def application(municipality):
    procedure = Procedure.objects.create(
        municipality=municipality,
        slug="flow",
        name="テスト手続",
        reading="てすとてつづき",
        category="other",
    )
    FormVersion.new_draft(procedure, schema=FORM).publish()
    procedure.refresh_from_db()
    application, _token = services.start_draft(procedure)
    return application


def post(application, step_key, data):
    request = RequestFactory().post("/", data)
    position = form_flow.locate_step(application, step_key)
    outcome = form_flow.handle_step_post(application, position, request)
    application.refresh_from_db()
    return outcome


def test_locate_step(application):
    position = form_flow.locate_step(application, "where")
    assert position.found and position.index == 1 and position.current.key == "where"
    assert position.is_last and not position.is_first
    missing = form_flow.locate_step(application, "nowhere")
    assert not missing.found and missing.first_key == "who"


def test_back_on_the_first_step_leaves_and_keeps_what_was_typed(application):
    outcome = post(application, "who", {"_action": "back", "applicant_name": "山田"})
    assert outcome.kind == form_flow.BACK and outcome.step_key is None
    assert application.draft_values["who"]["applicant_name"] == "山田"
    assert application.answers == {}


def test_back_on_a_later_step_goes_to_the_previous_step(application):
    outcome = post(application, "where", {"_action": "back", "zip": "100"})
    assert outcome.kind == form_flow.BACK and outcome.step_key == "who"
    assert application.current_step == "where"


def test_save(application):
    outcome = post(application, "who", {"_action": "save", "applicant_name": "山田"})
    assert outcome.kind == form_flow.SAVE
    assert application.draft_values["who"]["applicant_name"] == "山田"


def test_repeat_action(application):
    outcome = post(application, "who", {"_action": "add:children", **WHO_OK})
    assert outcome.kind == form_flow.ACTION_DONE and not outcome.errors
    assert application.draft_values["who"]["children__count"] == "2"


def test_failed_postal_lookup_is_an_action_error(application):
    outcome = post(application, "where", {"_action": "postal:zip", "zip": "abc"})
    assert outcome.kind == form_flow.ACTION_ERROR
    assert [error.path for error in outcome.errors] == ["zip"]
    assert application.draft_values["where"]["zip"] == "abc"


def test_invalid_step_keeps_the_draft_and_returns_the_errors(application):
    outcome = post(application, "who", {"applicant_name": ""})
    assert outcome.kind == form_flow.INVALID
    assert {lifecycle.error_top_key(e) for e in outcome.errors} == {"applicant_name", "children"}
    assert "who" in application.draft_values
    assert application.answers == {}


def test_valid_step_goes_on_then_to_the_confirmation(application):
    outcome = post(application, "who", WHO_OK)
    assert outcome.kind == form_flow.NEXT and outcome.step_key == "where"
    assert application.answers["applicant_name"] == "山田太郎"
    assert application.furthest_step_index == 1
    outcome = post(application, "who", {**WHO_OK, "return": "confirm"})
    assert outcome.kind == form_flow.CONFIRM


def test_step_get_state(application):
    position = form_flow.locate_step(application, "who")
    raw, errors = form_flow.step_get_state(application, position, check=False)
    assert errors == [] and not raw.get("applicant_name")
    raw, errors = form_flow.step_get_state(application, position, check=True)
    assert errors and {form_flow.step_key_of_error(position.steps, e) for e in errors} == {"who"}
    post(application, "who", WHO_OK)
    raw, errors = form_flow.step_get_state(application, position, check=True)
    assert raw["applicant_name"] == "山田太郎" and errors == []


def test_step_key_of_error(application):
    steps = form_flow.locate_step(application, "who").steps
    assert form_flow.step_key_of_error(steps, FieldError("children.1.child_name", "", "", "")) == (
        "who"
    )
    by_input = FieldError("", "f-zip__part", "", "")
    assert form_flow.step_key_of_error(steps, by_input) == "where"
    assert form_flow.step_key_of_error(steps, FieldError("unknown", "", "", "")) is None


def test_detected_content_type():
    detected = SimpleNamespace(content_type="image/png")
    uploaded = SimpleNamespace(content_type="image/jpeg")
    assert form_flow.detected_content_type(detected, uploaded) == "image/png"
    assert form_flow.detected_content_type(None, uploaded) == "image/jpeg"
    assert form_flow.detected_content_type(None, None) == "application/octet-stream"


def test_build_progress(application):
    steps = form_flow.locate_step(application, "who").steps

    def progress(current):
        return form_flow.build_progress(
            application,
            steps,
            current,
            step_url=lambda key: f"/step/{key}/",
            confirm_url=lambda: "/confirm/",
        )

    first = progress("who")
    assert [item["url"] for item in first["items"]] == ["/step/who/", "", ""]
    assert (first["number"], first["total"], first["percent"]) == (1, 3, 35)
    post(application, "who", WHO_OK)
    post(application, "where", {"zip": "100-0001", "addr": "東京都千代田区千代田"})
    application.refresh_from_db()
    confirm = progress(None)
    assert [item["url"] for item in confirm["items"]] == ["/step/who/", "/step/where/", "/confirm/"]
    assert [item["done"] for item in confirm["items"]] == [True, True, False]
    assert confirm["number"] == 3 and confirm["percent"] == 100
