"""The answer generator of tests/formgen.py on forms written to corner it: every field type,
every kind of condition, repeats with a minimum above one, limits at their edges."""

import datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings

from madoguchi.formengine.fields.choice import YES
from madoguchi.formengine.schema import FIELD_TYPES, parse_form
from madoguchi.formengine.validation import validate_all, validate_step
from tests import formgen

TODAY = datetime.date(2025, 6, 16)

EVERY_TYPE = {
    "title": "すべての種類",
    "steps": [
        {
            "key": "one",
            "title": "一",
            "fields": [
                {"key": "t", "type": "text", "label": "文字", "max_length": 3},
                {
                    "key": "t_pattern",
                    "type": "text",
                    "label": "番号",
                    "pattern": "^[A-Z]{2}-[0-9]{4}$",
                    "max_length": 7,
                },
                {"key": "ta", "type": "textarea", "label": "文章", "max_length": 12},
                {"key": "n", "type": "name", "label": "氏名", "required": True},
                {"key": "n2", "type": "name", "label": "担当者", "kana": False},
                {"key": "k", "type": "katakana", "label": "カナ", "max_length": 2},
                {"key": "d", "type": "date", "label": "日付", "min": "2025-06-01", "max": "today"},
                {"key": "d2", "type": "date", "label": "将来", "min": "today", "era_input": False},
                {"key": "p", "type": "postal_code", "label": "郵便番号", "address_field": "a"},
                {"key": "a", "type": "address", "label": "住所", "max_length": 12},
                {"key": "ph", "type": "phone", "label": "電話"},
                {"key": "e", "type": "email", "label": "メール", "confirm": True},
                {"key": "i", "type": "integer", "label": "整数", "min": 5, "max": 5},
                {"key": "dec", "type": "decimal", "label": "小数", "min": 0.5, "max": 0.7},
                {"key": "dec0", "type": "decimal", "label": "整数の小数", "places": 0},
                {"key": "m", "type": "money", "label": "金額", "max": 3},
            ],
        },
        {
            "key": "two",
            "title": "二",
            "fields": [
                {
                    "key": "s",
                    "type": "select",
                    "label": "選択",
                    "required": True,
                    "options": [{"value": "x", "label": "X"}, {"value": "y", "label": "Y"}],
                },
                {
                    "key": "r",
                    "type": "radio",
                    "label": "ラジオ",
                    "options": [{"value": "1", "label": "一"}],
                },
                {
                    "key": "c",
                    "type": "checkboxes",
                    "label": "複数",
                    "min_selected": 2,
                    "max_selected": 2,
                    "options": [
                        {"value": "a", "label": "A"},
                        {"value": "b", "label": "B"},
                        {"value": "c", "label": "C"},
                    ],
                },
                {"key": "yn", "type": "yesno", "label": "はい・いいえ", "required": True},
                {"key": "inum", "type": "individual_number", "label": "個人番号"},
                {"key": "cnum", "type": "corporate_number", "label": "法人番号"},
                {"key": "bank", "type": "bank_account", "label": "口座"},
                {"key": "f", "type": "file", "label": "書類", "accept": ["png"], "max_files": 3},
                {
                    "key": "rep",
                    "type": "repeat",
                    "label": "繰り返し",
                    "item_label": "世帯員",
                    "min": 2,
                    "max": 2,
                    "fields": [
                        {"key": "rep_name", "type": "name", "label": "氏名", "required": True},
                        {"key": "rep_yes", "type": "yesno", "label": "同居", "required": True},
                        {
                            "key": "rep_detail",
                            "type": "text",
                            "label": "別居先",
                            "required": True,
                            "visible_if": {"field": "rep_yes", "equals": False},
                        },
                    ],
                },
                {"key": "note", "type": "notice", "label": "確認", "body": "本文"},
            ],
        },
    ],
}

CONDITIONS = {
    "title": "条件",
    "steps": [
        {
            "key": "a",
            "title": "A",
            "fields": [
                {"key": "flag", "type": "yesno", "label": "フラグ", "required": True},
                {
                    "key": "kind",
                    "type": "radio",
                    "label": "種類",
                    "required": True,
                    "options": [{"value": "p", "label": "P"}, {"value": "q", "label": "Q"}],
                },
                {"key": "free", "type": "text", "label": "自由"},
            ],
        },
        {
            "key": "b",
            "title": "B",
            "fields": [
                {
                    "key": "only_when_not_flag",
                    "type": "text",
                    "label": "フラグなし",
                    "required": True,
                    "visible_if": {"not": {"field": "flag", "equals": True}},
                },
                {
                    "key": "both",
                    "type": "text",
                    "label": "両方",
                    "required": True,
                    "visible_if": {
                        "all": [{"field": "flag", "equals": True}, {"field": "kind", "in": ["q"]}]
                    },
                },
                {
                    "key": "empty_free",
                    "type": "text",
                    "label": "自由が空",
                    "required": True,
                    "visible_if": {"field": "free", "filled": False},
                },
                {
                    "key": "needed_if_p",
                    "type": "text",
                    "label": "Pなら必須",
                    "required_if": {"field": "kind", "equals": "p"},
                },
            ],
        },
    ],
}


def parse(data):
    return parse_form(data, source="formgen")


def test_every_field_type_is_covered():
    kinds = {f["type"] for step in EVERY_TYPE["steps"] for f in step["fields"]}
    assert kinds == set(FIELD_TYPES)


@pytest.mark.parametrize("seed", range(8))
def test_every_type_is_filled_within_its_limits(seed):
    form = parse(EVERY_TYPE)
    filled = formgen.generate(form, seed, today=TODAY)
    answers = filled.answers
    assert validate_all(form, answers, today=TODAY) == []
    assert len(answers["t"]) <= 3 and len(answers["ta"]) <= 12 and len(answers["a"]) <= 12
    assert form.field("t_pattern").pattern.fullmatch(answers["t_pattern"])
    assert answers["i"] == 5
    dec = Decimal(answers["dec"])
    assert Decimal("0.5") <= dec <= Decimal("0.7") and dec.as_tuple().exponent == -2
    assert "." not in answers["dec0"]
    assert 0 <= answers["m"] <= 3
    assert datetime.date(2025, 6, 1) <= datetime.date.fromisoformat(answers["d"]) <= TODAY
    assert datetime.date.fromisoformat(answers["d2"]) >= TODAY
    assert len(answers["c"]) == 2
    assert set(answers["n2"]) == {"family", "given"}
    assert len(answers["rep"]) == 2
    for item in answers["rep"]:
        assert ("rep_detail" in item) is (item["rep_yes"] is False)
    assert 1 <= len(answers["f"]) <= 2 and all(
        a["content_type"] == "image/png" for a in answers["f"]
    )
    assert answers["note"] is True


def test_the_smallest_answers_leave_optional_fields_out():
    form = parse(EVERY_TYPE)
    filled = formgen.generate(form, 1, today=TODAY, fill_optional=False)
    assert set(filled.answers) == {"n", "s", "yn", "rep", "note"}
    assert len(filled.answers["rep"]) == 2
    assert validate_all(form, filled.answers, today=TODAY) == []


def test_posted_steps_give_back_the_answers():
    form = parse(EVERY_TYPE)
    filled = formgen.generate(form, 2, today=TODAY)
    raw = filled.post_data("one")
    assert raw["e__confirm"] == raw["e"]
    assert "f__keep" not in filled.post_data("two")
    assert {name for name in filled.uploads("two")} == {"f"}
    for step in filled.step_keys:
        result = validate_step(
            form,
            step,
            filled.post_data(step),
            filled.answers,
            filled.uploads(step),
            lambda f, upload, detected: {"attachment": upload.name, "size": detected.size},
            today=TODAY,
        )
        assert result.errors == []


@pytest.mark.parametrize("flag", [True, False])
@pytest.mark.parametrize("kind", ["p", "q"])
def test_conditions_are_followed(flag, kind):
    form = parse(CONDITIONS)
    filled = formgen.generate(form, 0, today=TODAY, choices={"flag": flag, "kind": kind})
    answers = filled.answers
    assert ("only_when_not_flag" in answers) is (not flag)
    assert ("both" in answers) is (flag and kind == "q")
    assert ("empty_free" in answers) is ("free" not in answers)
    assert validate_all(form, answers, today=TODAY) == []
    smallest = formgen.generate(
        form, 0, today=TODAY, fill_optional=False, choices={"flag": flag, "kind": kind}
    )
    assert ("needed_if_p" in smallest.answers) is (kind == "p")
    assert "free" not in smallest.answers and "empty_free" in smallest.answers


def test_a_forced_empty_answer_leaves_the_field_out():
    form = parse(CONDITIONS)
    filled = formgen.generate(form, 0, today=TODAY, choices={"free": None})
    assert "free" not in filled.answers and "empty_free" in filled.answers


def test_invalid_cases_name_each_rule_once_per_field():
    form = parse(EVERY_TYPE)
    filled = formgen.generate(form, 4, today=TODAY)
    cases = list(formgen.invalid_cases(form, filled))
    by_path = {}
    for case in cases:
        by_path.setdefault(case.path, set()).add(case.rule)
    assert by_path["n"] >= {"required", "kana"}
    assert by_path["t"] == {"max_length"}
    assert by_path["t_pattern"] == {"max_length", "format"}
    assert by_path["i"] == {"range", "format"}
    assert by_path["inum"] == {"check_digit"}
    assert by_path["cnum"] == {"check_digit"}
    assert by_path["f"] == {"file_type"}
    assert by_path["rep"] == {"min_items"}
    assert by_path["rep.0.rep_name"] >= {"required"}
    for case in cases:
        result = validate_step(
            form, case.step, case.raw, filled.answers, case.uploads, None, today=TODAY
        )
        assert (case.path, case.message) in [(e.path, e.message) for e in result.errors], case


def test_yesno_answers_post_as_the_engine_expects():
    form = parse(CONDITIONS)
    filled = formgen.generate(form, 0, today=TODAY, choices={"flag": True})
    assert filled.post_data("a")["flag"] == YES


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(formgen.answers_strategy(parse(EVERY_TYPE), today=TODAY))
def test_any_seed_gives_valid_answers(filled):
    assert validate_all(filled.form, filled.answers, today=TODAY) == []
