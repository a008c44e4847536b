"""Whole-form behaviour: hidden fields, required_if, visible steps, validate_all, going back."""

from madoguchi.formengine.validation import (
    raw_from_answers,
    validate_all,
    validate_step,
    visible_steps,
)

from .helpers import TODAY, form_of
from .test_fields_jp import VALID_MN

FORM = form_of(
    steps=[
        {
            "key": "applicant",
            "title": "申請者",
            "fields": [
                {"key": "name", "type": "name", "label": "氏名", "required": True},
                {"key": "married", "type": "yesno", "label": "配偶者の有無", "required": True},
                {
                    "key": "spouse_name",
                    "type": "text",
                    "label": "配偶者の氏名",
                    "visible_if": {"field": "married", "equals": True},
                    "required": True,
                },
                {
                    "key": "contact",
                    "type": "radio",
                    "label": "連絡方法",
                    "options": [
                        {"value": "tel", "label": "電話"},
                        {"value": "mail", "label": "メール"},
                    ],
                },
                {
                    "key": "tel",
                    "type": "phone",
                    "label": "電話番号",
                    "required_if": {"field": "contact", "equals": "tel"},
                },
            ],
        },
        {
            "key": "spouse",
            "title": "配偶者について",
            "fields": [
                {
                    "key": "spouse_birth",
                    "type": "date",
                    "label": "配偶者の生年月日",
                    "visible_if": {"field": "married", "equals": True},
                    "required": True,
                    "max": "today",
                },
                {
                    "key": "spouse_number",
                    "type": "individual_number",
                    "label": "配偶者の個人番号",
                    "visible_if": {"field": "married", "equals": True},
                },
            ],
        },
        {
            "key": "agreement",
            "title": "確認",
            "fields": [
                {"key": "agree", "type": "notice", "label": "注意事項", "body": "読んでください"}
            ],
        },
    ]
)

APPLICANT = {
    "name__family": "山田",
    "name__given": "太郎",
    "name__family_kana": "ヤマダ",
    "name__given_kana": "タロウ",
}


def test_hidden_fields_are_not_validated_nor_stored():
    raw = {**APPLICANT, "married": "no", "spouse_name": "山田花子"}
    result = validate_step(FORM, "applicant", raw, {}, {}, None)
    assert result.ok
    assert "spouse_name" not in result.answers
    assert result.answers["married"] is False


def test_visible_condition_on_same_step_field():
    result = validate_step(FORM, "applicant", {**APPLICANT, "married": "yes"}, {}, {}, None)
    assert [e.message for e in result.errors] == ["配偶者の氏名を入力してください。"]


def test_required_if():
    raw = {**APPLICANT, "married": "no", "contact": "tel"}
    result = validate_step(FORM, "applicant", raw, {}, {}, None)
    assert [e.message for e in result.errors] == ["電話番号を入力してください。"]
    raw["contact"] = "mail"
    assert validate_step(FORM, "applicant", raw, {}, {}, None).ok


def test_conditions_on_earlier_steps_and_stale_own_answers():
    # this step's own stored answers never leak into its conditions
    result = validate_step(FORM, "spouse", {}, {"married": True}, {}, None)
    assert [e.message for e in result.errors] == ["配偶者の生年月日を入力してください。"]
    assert validate_step(FORM, "spouse", {}, {"married": False}, {}, None).ok


def test_visible_steps_skip_steps_without_visible_fields():
    assert [s.key for s in visible_steps(FORM, {"married": False})] == ["applicant", "agreement"]
    assert [s.key for s in visible_steps(FORM, {"married": True})] == [
        "applicant",
        "spouse",
        "agreement",
    ]


def full_answers():
    answers = {}
    for step, raw in [
        (
            "applicant",
            {
                **APPLICANT,
                "married": "yes",
                "spouse_name": "山田花子",
                "contact": "tel",
                "tel": "09012345678",
            },
        ),
        (
            "spouse",
            {
                "spouse_birth__era": "平成",
                "spouse_birth__year": "2",
                "spouse_birth__month": "3",
                "spouse_birth__day": "4",
                "spouse_number": VALID_MN,
            },
        ),
        ("agreement", {"agree": "1"}),
    ]:
        result = validate_step(FORM, step, raw, answers, {}, None, today=TODAY)
        assert result.ok, result.errors
        answers.update(result.answers)
    return answers


def test_validate_all_accepts_complete_answers():
    answers = full_answers()
    assert answers["spouse_birth"] == "1990-03-04"
    assert answers["tel"] == "090-1234-5678"
    assert validate_all(FORM, answers, today=TODAY) == []


def test_validate_all_finds_missing_and_tampered_answers():
    answers = full_answers()
    del answers["agree"]
    answers["spouse_number"] = "123456789012"
    messages = [e.message for e in validate_all(FORM, answers, today=TODAY)]
    assert messages == [
        "個人番号が正しくありません。入力した番号をもう一度ご確認ください。",
        "「注意事項」の内容を確認し、チェックを入れてください。",
    ]


def test_validate_all_ignores_answers_of_hidden_fields():
    answers = full_answers()
    answers["married"] = False
    answers["spouse_number"] = "garbage"
    assert validate_all(FORM, answers, today=TODAY) == []


def test_raw_from_answers_round_trips():
    answers = full_answers()
    for step in FORM.steps:
        raw = raw_from_answers(FORM, step.key, answers)
        result = validate_step(FORM, step.key, raw, answers, {}, None, today=TODAY)
        assert result.ok, result.errors
        assert result.answers == {k: answers[k] for k in result.answers}
    raw = raw_from_answers(FORM, "spouse", answers)
    assert (raw["spouse_birth__era"], raw["spouse_birth__year"]) == ("平成", "2")
    assert raw_from_answers(FORM, "agreement", answers) == {"agree": "1"}
