"""The error summary at the top of a step names the field of every error and, inside a repeat,
which item (「児童（2人目）の個人番号：…」); two lines never read the same."""

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from madoguchi.formengine.fields import TYPES
from madoguchi.formengine.fields.base import (
    FieldError,
    SummaryLine,
    child_loc,
    error_summary,
    top_loc,
)
from madoguchi.formengine.rendering import render_error_summary
from madoguchi.formengine.schema import parse_form
from madoguchi.formengine.validation import validate_step

from .helpers import TODAY, form_of

KIDS = {
    "key": "children",
    "type": "repeat",
    "label": "対象となる児童",
    "item_label": "児童",
    "item_counter": "人",
    "min": 1,
    "fields": [
        {"key": "kid_name", "type": "name", "label": "児童の氏名", "kana": False},
        {
            "key": "kid_number",
            "type": "individual_number",
            "label": "児童の個人番号",
            "required": True,
        },
        {"key": "kid_birth", "type": "date", "label": "生年月日", "required": True},
    ],
}


def kid(i, number, era="令和", year="2", month="5", day="1"):
    p = f"children__{i}__"
    return {
        p + "kid_name__family": "山田",
        p + "kid_name__given": "一郎",
        p + "kid_number": number,
        p + "kid_birth__era": era,
        p + "kid_birth__year": year,
        p + "kid_birth__month": month,
        p + "kid_birth__day": day,
    }


def lines_of(form, raw):
    result = validate_step(form, "s", raw, {}, today=TODAY)
    return [line.text for line in error_summary(result.errors)]


def test_each_repeat_item_is_named_in_the_summary():
    form = form_of(KIDS)
    raw = {"children__count": "2", **kid(0, "1234"), **kid(1, "12345", "平成", "31", "5", "1")}
    assert lines_of(form, raw) == [
        "児童（1人目）の個人番号：個人番号は12桁の数字で入力してください。",
        "児童（2人目）の個人番号：個人番号は12桁の数字で入力してください。",
        "児童（2人目）の生年月日：平成31年5月1日は存在しません。令和元年5月1日と入力してください。",
    ]


def test_the_item_name_is_not_said_twice():
    """「児童の個人番号」 in a repeat of 児童 reads 「児童（2人目）の個人番号」."""
    form = form_of(KIDS)
    repeat = form.field("children")
    assert child_loc(repeat, 1, form.field("kid_number")).label == "児童（2人目）の個人番号"
    assert child_loc(repeat, 0, form.field("kid_birth")).label == "児童（1人目）の生年月日"


def test_a_message_that_names_its_field_is_not_prefixed_again():
    form = form_of(
        {"key": "nm", "type": "name", "label": "氏名", "required": True, "kana": False},
        {"key": "tel", "type": "phone", "label": "電話番号", "required": True},
        {"key": "tel2", "type": "phone", "label": "日中の連絡先", "required": True},
    )
    assert lines_of(form, {"nm__family": "山田", "tel": "12", "tel2": "12"}) == [
        "氏名の名を入力してください。",
        "電話番号は市外局番から、10桁または11桁の数字で入力してください（例：03-1234-5678、090-1234-5678）。",
        "日中の連絡先：電話番号は市外局番から、10桁または11桁の数字で入力してください（例：03-1234-5678、090-1234-5678）。",
    ]


def test_two_fields_with_one_label_are_told_apart():
    errors = [
        FieldError("a", "f-a", "電話番号", "電話番号を入力してください。"),
        FieldError("b", "f-b", "電話番号", "電話番号を入力してください。"),
        FieldError("b", "f-b", "電話番号", "電話番号を入力してください。"),  # same error twice
    ]
    assert error_summary(errors) == [
        SummaryLine("f-a", "電話番号（1つ目）：電話番号を入力してください。"),
        SummaryLine("f-b", "電話番号（2つ目）：電話番号を入力してください。"),
    ]


def test_rendered_summary_links_each_line_to_its_input():
    errors = [
        FieldError(
            "children.1.kid_number",
            "f-children__1__kid_number",
            "児童（2人目）の個人番号",
            "個人番号は12桁の数字で入力してください。",
        )
    ]
    html = str(render_error_summary(errors))
    assert (
        '<a href="#f-children__1__kid_number">児童（2人目）の個人番号：個人番号は12桁の数字で入力してください。</a>'
        in html
    )
    assert "入力内容に1件の誤りがあります。" in html


TEMPLATES = sorted(
    (Path(__file__).resolve().parents[2] / "src/madoguchi/catalog/standard_templates").glob(
        "*.yaml"
    )
)
FORMS = [
    parse_form(yaml.safe_load(p.read_text(encoding="utf-8"))["form"], source=p.stem)
    for p in TEMPLATES
]
STEPS = [(form, step) for form in FORMS for step in form.steps]
BAD = st.sampled_from(
    ["", "x", "12", "😀", "平成31年5月1日", "2024/2/30", "999-0001", "0000", "ｱｲｳ", "a" * 300]
)


def _raw_for(step, draw):
    raw = {}
    for f in step.fields:
        if f.type == "repeat":
            raw[f"{f.key}__count"] = "2"
            for i in range(2):
                for child in f.fields:
                    for name, _ in TYPES[child.type].input_names(child, child_loc(f, i, child)):
                        raw[name] = draw(BAD)
            continue
        for name, _ in TYPES[f.type].input_names(f, top_loc(f)):
            raw[name] = draw(BAD)
    return raw


@pytest.mark.skipif(not STEPS, reason="no standard templates")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.sampled_from(range(len(STEPS)) if STEPS else [0]), data=st.data())
def test_no_two_summary_lines_of_a_standard_form_read_the_same(which, data):
    form, step = STEPS[which]
    raw = _raw_for(step, lambda s: data.draw(s))
    result = validate_step(form, step.key, raw, {}, today=TODAY)
    lines = error_summary(result.errors)
    texts = [line.text for line in lines]
    assert len(texts) == len(set(texts)), texts
    for error in result.errors:
        # every line names its field (and its item inside a repeat); a note in brackets at
        # the end of a label may be left out (「お客さま番号（水栓番号）」 → 「お客さま番号は…」)
        named = (error.label, re.sub(r"（[^（）]*）$", "", error.label))
        assert any(
            name in line.text for line in lines if line.input_id == error.input_id for name in named
        ), (error, lines)
