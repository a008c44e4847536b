"""The one condition evaluator (visible_if / required_if)."""

from collections import ChainMap

import pytest

from madoguchi.formengine.conditions import evaluate, is_filled, is_required, is_visible
from madoguchi.formengine.schema import Condition

from .helpers import form_of


def leaf(field, op, value):
    return Condition(op=op, field=field, value=value)


@pytest.mark.parametrize(
    ("cond", "scope", "expected"),
    [
        (leaf("a", "equals", "x"), {"a": "x"}, True),
        (leaf("a", "equals", "x"), {"a": "y"}, False),
        (leaf("a", "equals", "x"), {}, False),
        (leaf("a", "equals", True), {"a": True}, True),
        (leaf("a", "equals", True), {"a": False}, False),
        (leaf("a", "equals", True), {"a": "True"}, False),  # booleans only match booleans
        (leaf("a", "equals", 3), {"a": 3}, True),
        (leaf("a", "equals", 3), {"a": "3"}, True),
        (leaf("a", "equals", "x"), {"a": ["w", "x"]}, True),  # checkboxes
        (leaf("a", "in", ("x", "y")), {"a": "y"}, True),
        (leaf("a", "in", ("x", "y")), {"a": "z"}, False),
        (leaf("a", "in", ("x", "y")), {"a": ["z", "x"]}, True),
        (leaf("a", "in", ("x", "y")), {"a": []}, False),
        (leaf("a", "filled", True), {"a": "text"}, True),
        (leaf("a", "filled", True), {"a": "  "}, False),
        (leaf("a", "filled", True), {}, False),
        (leaf("a", "filled", False), {}, True),
        (leaf("a", "filled", True), {"a": {"family": "", "given": ""}}, False),
        (leaf("a", "filled", True), {"a": []}, False),
        (leaf("a", "filled", True), {"a": 0}, True),
    ],
)
def test_leaf_operators(cond, scope, expected):
    assert evaluate(cond, scope) is expected


def test_all_any_not():
    a = leaf("a", "equals", 1)
    b = leaf("b", "equals", 2)
    both = Condition(op="all", children=(a, b))
    either = Condition(op="any", children=(a, b))
    assert evaluate(both, {"a": 1, "b": 2})
    assert not evaluate(both, {"a": 1, "b": 3})
    assert evaluate(either, {"a": 0, "b": 2})
    assert not evaluate(either, {})
    assert evaluate(Condition(op="not", children=(either,)), {})
    assert evaluate(None, {})


def test_repeat_item_scope_shadows_nothing_but_sees_both():
    scope = ChainMap({"kid_name": "花子"}, {"kind": "a"})
    assert evaluate(leaf("kid_name", "filled", True), scope)
    assert evaluate(leaf("kind", "equals", "a"), scope)


def test_parsed_conditions_and_required_if():
    form = form_of(
        {"key": "married", "type": "yesno", "label": "配偶者の有無"},
        {
            "key": "spouse",
            "type": "text",
            "label": "配偶者の氏名",
            "visible_if": {"field": "married", "equals": True},
            "required_if": {"not": {"field": "married", "equals": False}},
        },
    )
    spouse = form.field("spouse")
    assert is_visible(spouse, {"married": True})
    assert not is_visible(spouse, {"married": False})
    assert is_required(spouse, {"married": True})
    assert not is_required(spouse, {"married": False})
    assert spouse.visible_if.to_dict() == {"field": "married", "equals": True}


def test_is_filled():
    assert not is_filled(None)
    assert not is_filled(False)
    assert is_filled(True)
    assert is_filled({"family": "山田"})
