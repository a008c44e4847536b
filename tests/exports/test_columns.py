"""The field columns compiled once per export give, cell by cell, the text `export_value` gives
for the same value: every field type, with values as the form stores them and values that do
not fit the definition."""

import itertools

from madoguchi.exports import columns as cols
from madoguchi.formengine.schema import parse_form

from .test_export_bytes import ANSWERS, BANK, EVERY_TYPE_FORM

FORM = parse_form(EVERY_TYPE_FORM, "test")

# Values of every JSON kind, blank and not, fitting some type and not others.
VALUES = [
    None,
    "",
    " ",
    "\u3000",
    "a",
    "b",
    "zz",
    "-12",
    "=1+1",
    "2024-02-29",
    "1000001",
    "12.50",
    0,
    1,
    -5,
    1500000,
    True,
    False,
    1.5,
    0.0,
    [],
    ["a", "b"],
    ["zz"],
    [{"attachment": "u", "name": "x.pdf", "size": 2048}],
    [{"name": "y"}],
    {},
    {"family": "", "given": ""},
    {"family": "髙﨑", "given": "花子", "family_kana": "タカサキ", "given_kana": "ハナコ"},
    {"year": 2000},
    BANK,
    "123456789018",
]


def slow(answers: dict, counts: dict) -> list[str]:
    return [c.get(answers) for c in cols.field_columns(FORM, counts)]


def test_each_field_and_value_gives_the_same_text():
    counts = {"children": 3, "cars": 2}
    headers, fast = cols.compile_row(FORM, counts)
    assert headers == [c.header for c in cols.field_columns(FORM, counts)]
    keys = [f.key for step in FORM.steps for f in step.fields if f.type != "repeat"]
    repeat = FORM.field("children")
    child_keys = [child.key for child in repeat.fields]
    for key, value in itertools.product(keys, VALUES):
        answers = {key: value}
        assert fast(answers) == slow(answers, counts), (key, value)
    for key, value in itertools.product(child_keys, VALUES):
        answers = {"children": [{key: value}, {}, {key: value}], "cars": [{"plate": value}]}
        assert fast(answers) == slow(answers, counts), (key, value)


def test_repeat_groups_of_any_shape_and_whole_answers():
    counts = {"children": 3, "cars": 2}
    _headers, fast = cols.compile_row(FORM, counts)
    shapes = [None, "x", [], ["x"], [None, 1, {}], [{"child_name": "a"}] * 5, {"0": {}}]
    for children, cars in itertools.product(shapes, shapes):
        answers = {"children": children, "cars": cars}
        assert fast(answers) == slow(answers, counts), (children, cars)
    for answers in [*ANSWERS, {}, None, [], "x"]:
        expected = slow(answers if isinstance(answers, dict) else {}, counts)
        assert fast(answers) == expected


def test_no_repeat_items_no_repeat_columns():
    headers, fast = cols.compile_row(FORM, {})
    assert not any(h.startswith(("児童", "車両")) for h in headers)
    assert fast(ANSWERS[0]) == slow(ANSWERS[0], {})
