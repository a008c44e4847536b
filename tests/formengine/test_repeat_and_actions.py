"""Repeats (min/max, item scope, labels) and the no-JavaScript actions."""

from django.http import QueryDict

from madoguchi.formengine.validation import (
    apply_action,
    apply_action_with_message,
    collect_raw,
    validate_step,
)

from .helpers import form_of

KIDS = {
    "key": "children",
    "type": "repeat",
    "label": "児童",
    "item_label": "児童",
    "min": 1,
    "max": 3,
    "fields": [
        {"key": "child_name", "type": "text", "label": "氏名", "required": True},
        {"key": "disabled", "type": "yesno", "label": "障害の有無"},
        {
            "key": "disability",
            "type": "text",
            "label": "障害の内容",
            "visible_if": {"field": "disabled", "equals": True},
            "required": True,
        },
    ],
}
FORM = form_of(KIDS)


def run(raw):
    return validate_step(FORM, "s", raw, {}, {}, None)


def test_repeat_answers_and_item_scope():
    result = run(
        {
            "children__count": "2",
            "children__0__child_name": "花子",
            "children__0__disabled": "yes",
            "children__0__disability": "視覚",
            "children__1__child_name": "次郎",
            "children__1__disabled": "no",
            "children__1__disability": "ignored because hidden",
        }
    )
    assert result.ok, result.errors
    assert result.answers == {
        "children": [
            {"child_name": "花子", "disabled": True, "disability": "視覚"},
            {"child_name": "次郎", "disabled": False},
        ]
    }


def test_repeat_child_errors_carry_the_item_label():
    result = run(
        {"children__count": "2", "children__0__child_name": "花子", "children__0__disabled": "yes"}
    )
    assert [(e.path, e.input_id, e.label, e.message) for e in result.errors] == [
        (
            "children.0.disability",
            "f-children__0__disability",
            "児童（1人目）の障害の内容",
            "児童（1人目）の障害の内容を入力してください。",
        ),
        (
            "children.1.child_name",
            "f-children__1__child_name",
            "児童（2人目）の氏名",
            "児童（2人目）の氏名を入力してください。",
        ),
    ]


def test_repeat_minimum():
    result = run({"children__count": "0"})
    assert [(e.input_id, e.message) for e in result.errors] == [
        ("f-children", "児童は1人以上入力してください。")
    ]


def test_repeat_count_is_clamped_to_max():
    raw = {"children__count": "99"}
    for i in range(5):
        raw[f"children__{i}__child_name"] = f"子{i}"
    result = run(raw)
    assert result.ok
    assert len(result.answers["children"]) == 3


def test_repeat_counter_word():
    things = {
        **KIDS,
        "key": "cars",
        "label": "車両",
        "item_label": "車両",
        "min": 2,
        "fields": [{"key": "plate", "type": "text", "label": "番号"}],
    }
    result = validate_step(form_of(things), "s", {"cars__count": "1"}, {}, {}, None)
    assert [e.message for e in result.errors] == ["車両は2件以上入力してください。"]
    counted = {**things, "item_counter": "台"}
    result = validate_step(form_of(counted), "s", {"cars__count": "1"}, {}, {}, None)
    assert [e.message for e in result.errors] == ["車両は2台以上入力してください。"]


def test_add_and_remove_items():
    raw = {"children__count": "1", "children__0__child_name": "花子"}
    raw = apply_action(FORM, "s", raw, "add:children")
    assert raw["children__count"] == "2"
    raw["children__1__child_name"] = "次郎"
    raw = apply_action(FORM, "s", raw, "add:children")
    raw["children__2__child_name"] = "三郎"
    assert apply_action(FORM, "s", raw, "add:children")["children__count"] == "3"  # max 3
    raw = apply_action(FORM, "s", raw, "remove:children:0")
    assert raw["children__count"] == "2"
    assert raw["children__0__child_name"] == "次郎"
    assert raw["children__1__child_name"] == "三郎"
    assert "children__2__child_name" not in raw


def test_unknown_or_plain_actions_change_nothing():
    raw = {"children__count": "1"}
    for action in (
        "next",
        "back",
        "save",
        "add:nothing",
        "remove:children:7",
        "remove:children:x",
        "",
    ):
        assert apply_action(FORM, "s", raw, action) == raw


def test_default_item_count_is_the_minimum():
    result = run({})
    assert [e.path for e in result.errors] == ["children.0.child_name"]


POSTAL_FORM = form_of(
    {"key": "zip", "type": "postal_code", "label": "郵便番号", "address_field": "addr"},
    {"key": "addr", "type": "address", "label": "住所"},
    {
        "key": "homes",
        "type": "repeat",
        "label": "所有する住宅",
        "fields": [
            {
                "key": "home_zip",
                "type": "postal_code",
                "label": "郵便番号",
                "address_field": "home_addr",
            },
            {"key": "home_addr", "type": "address", "label": "所在地"},
        ],
    },
)


def test_postal_lookup_fills_the_address():
    raw = apply_action(POSTAL_FORM, "s", {"zip": "１００－０００１", "addr": ""}, "postal:zip")
    assert raw["addr"] == "東京都千代田区千代田"
    assert raw["zip"] == "100-0001"


def test_postal_lookup_inside_a_repeat():
    raw = {"homes__count": "1", "homes__0__home_zip": "1000001"}
    raw = apply_action(POSTAL_FORM, "s", raw, "postal:homes__0__home_zip")
    assert raw["homes__0__home_addr"] == "東京都千代田区千代田"


def test_postal_lookup_failures_explain_themselves():
    raw, error = apply_action_with_message(POSTAL_FORM, "s", {"zip": "12"}, "postal:zip")
    assert error.message == "郵便番号は7桁の数字で入力してください（例：100-0001）。"
    assert "addr" not in raw
    raw, error = apply_action_with_message(POSTAL_FORM, "s", {"zip": "0000000"}, "postal:zip")
    assert error.message == (
        "郵便番号「000-0000」に該当する住所が見つかりません。郵便番号をもう一度ご確認ください。"
    )
    assert error.rule == "postal_unknown"
    # Sending the step with that code is refused with the same message as the lookup.
    result = validate_step(POSTAL_FORM, "s", {"zip": "0000000", "addr": "千代田1-1"}, {})
    assert [(e.path, e.message) for e in result.errors] == [("zip", error.message)]


def test_collect_raw_from_a_querydict_keeps_everything_typed():
    form = form_of(
        KIDS,
        {
            "key": "kinds",
            "type": "checkboxes",
            "label": "種類",
            "options": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}],
        },
        {"key": "bd", "type": "date", "label": "日付"},
        {"key": "doc", "type": "file", "label": "書類"},
    )
    data = QueryDict(mutable=True)
    data.update(
        {"children__count": "2", "children__0__child_name": "花子", "children__1__disabled": "yes"}
    )
    data.setlist("kinds", ["a", "b"])
    data.update({"bd__era": "令和", "bd__year": "6", "unrelated": "x", "csrfmiddlewaretoken": "t"})
    data.setlist("doc__keep", ["u1"])
    raw = collect_raw(form.step("s"), data)
    assert raw == {
        "children__count": "2",
        "children__0__child_name": "花子",
        "children__0__disabled": "",
        "children__0__disability": "",
        "children__1__child_name": "",
        "children__1__disabled": "yes",
        "children__1__disability": "",
        "kinds": ["a", "b"],
        "bd__era": "令和",
        "bd__year": "6",
        "bd__month": "",
        "bd__day": "",
        "doc__keep": ["u1"],
    }


def test_collect_raw_from_a_plain_mapping():
    raw = collect_raw(
        FORM.step("s"), {"children__count": ["1"], "children__0__child_name": ["花子"]}
    )
    assert raw["children__0__child_name"] == "花子"
