"""Only a complete form is submitted: `lifecycle.submit` and `lifecycle.resubmit` refuse
answers the application's form refuses (every visible step, with its conditions and
repeats), whoever calls them."""

import pytest

from madoguchi.applications import lifecycle, services, staff_actions
from madoguchi.applications.models import AnswerRevision, ApplicationEvent, ReceiptCounter, Status
from madoguchi.tenants.models import StaffMembership
from tests import filling

from .conftest import make_procedure

pytestmark = pytest.mark.django_db

MESSAGE = (
    "入力が済んでいない項目か、誤りのある項目があるため、申請できません。"
    "この画面の項目を確認してください。"
)
NAME = {"family": "山田", "given": "花子", "family_kana": "ヤマダ", "given_kana": "ハナコ"}

FORM = {
    "title": "テスト申請",
    "steps": [
        {
            "key": "applicant",
            "title": "申請者",
            "fields": [
                {"key": "applicant_name", "type": "name", "label": "氏名", "required": True},
                {"key": "email", "type": "email", "label": "メールアドレス", "required": True},
                {
                    "key": "has_children",
                    "type": "yesno",
                    "label": "児童がいますか",
                    "required": True,
                },
            ],
        },
        {
            "key": "children_step",
            "title": "児童",
            "fields": [
                {
                    "key": "children",
                    "type": "repeat",
                    "label": "児童",
                    "item_label": "児童",
                    "min": 1,
                    "max": 3,
                    "visible_if": {"field": "has_children", "equals": True},
                    "fields": [
                        {
                            "key": "child_name",
                            "type": "text",
                            "label": "児童の氏名",
                            "required": True,
                        }
                    ],
                }
            ],
        },
        {
            "key": "contact",
            "title": "連絡先",
            "fields": [
                {"key": "phone", "type": "phone", "label": "電話番号", "required": True},
            ],
        },
    ],
}


@pytest.fixture
def procedure(municipality):
    return make_procedure(municipality, slug="children", schema=FORM)


def draft(procedure, answers):
    application, _token = services.start_draft(procedure)
    application.answers = answers
    application.save(update_fields=["answers"])
    return application


def assert_nothing_submitted(application):
    application.refresh_from_db()
    assert application.status == Status.DRAFT
    assert application.receipt_number in ("", None)
    assert not AnswerRevision.objects.filter(application=application).exists()
    assert not application.events.filter(kind=ApplicationEvent.Kind.SUBMITTED).exists()
    # The 受付番号 was not consumed either.
    assert not ReceiptCounter.objects.filter(last_value__gt=0).exists()


def test_submit_refuses_a_missing_step_naming_the_first_one_and_its_errors(procedure):
    application = draft(
        procedure, {"applicant_name": NAME, "email": "hanako@example.jp", "has_children": False}
    )
    with pytest.raises(lifecycle.IncompleteApplication) as refused:
        lifecycle.submit(application, base_url="http://testserver")
    assert refused.value.message == MESSAGE
    assert refused.value.step_key == "contact"
    assert [(e.path, e.message) for e in refused.value.errors] == [
        ("phone", "電話番号を入力してください。")
    ]
    assert "step contact: phone: 電話番号を入力してください。" in str(refused.value)
    assert_nothing_submitted(application)


def test_a_step_shown_by_a_condition_must_be_filled_with_its_repeat(procedure):
    answers = {
        "applicant_name": NAME,
        "email": "hanako@example.jp",
        "has_children": True,
        "phone": "03-1234-5678",
    }
    application = draft(procedure, answers)
    with pytest.raises(lifecycle.IncompleteApplication) as refused:
        lifecycle.submit(application, base_url="http://testserver")
    # The repeat's first item (at least one is required) without its required field.
    assert refused.value.step_key == "children_step"
    assert [(e.path, e.message) for e in refused.value.errors] == [
        ("children.0.child_name", "児童（1人目）の氏名を入力してください。")
    ]
    assert_nothing_submitted(application)


def test_an_invalid_value_is_refused_like_a_missing_one(procedure):
    answers = filling.valid_answers(procedure, {"email": "hanako@example.jp"})
    application = draft(procedure, answers | {"email": "not an address"})
    with pytest.raises(lifecycle.IncompleteApplication) as refused:
        lifecycle.submit(application, base_url="http://testserver")
    assert refused.value.step_key == "applicant"
    assert [e.path for e in refused.value.errors] == ["email"]
    assert_nothing_submitted(application)


def test_complete_answers_are_submitted(procedure):
    application = draft(procedure, filling.valid_answers(procedure, {"has_children": True}))
    lifecycle.submit(application, base_url="http://testserver")
    application.refresh_from_db()
    assert application.status == Status.RECEIVED
    assert application.receipt_number


def test_the_helper_fills_a_draft_the_way_the_steps_do(procedure):
    application, _token = filling.submitted(procedure, {"has_children": True})
    assert application.status == Status.RECEIVED
    assert len(application.answers["children"]) == 1


def test_resubmit_refuses_an_incomplete_correction(procedure, django_user_model):
    application, _token = filling.submitted(procedure, {"has_children": False})
    user = django_user_model.objects.create_user("handler")
    StaffMembership.objects.create(
        user=user,
        municipality=procedure.municipality,
        department=procedure.departments.get(),
        role="handler",
    )
    staff_actions.change_status(
        application, "returned", user=user, message="児童を追加してください。", expected_version=0
    )
    application.refresh_from_db()
    # The applicant says there are children but does not list them.
    services.save_step(
        application,
        "applicant",
        raw={},
        answers={"applicant_name": NAME, "email": "hanako@example.jp", "has_children": True},
        completed=True,
        step_index=0,
    )
    application.refresh_from_db()
    with pytest.raises(lifecycle.IncompleteApplication) as refused:
        lifecycle.resubmit(application, base_url="http://testserver")
    assert refused.value.message == MESSAGE
    assert refused.value.step_key == "children_step"
    application.refresh_from_db()
    assert application.status == Status.RETURNED
    assert application.revisions.count() == 1
    # Once the correction is complete it goes through.
    filling.fill(application, {"has_children": True})
    application.refresh_from_db()
    lifecycle.resubmit(application, base_url="http://testserver")
    application.refresh_from_db()
    assert application.status == Status.RECEIVED
    assert application.revisions.count() == 2
