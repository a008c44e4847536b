"""Small builders shared by the form engine tests."""

import datetime

from madoguchi.formengine.schema import parse_form
from madoguchi.formengine.validation import validate_step

TODAY = datetime.date(2024, 6, 15)


def form_of(*fields, steps=None, **form_attrs):
    """A one-step form (step key "s") with the given field dicts."""
    data = {"title": "テスト様式", **form_attrs}
    data["steps"] = steps or [{"key": "s", "title": "ステップ", "fields": list(fields)}]
    return parse_form(data, source="test")


def check(field, raw, *, answers=None, uploads=None, store_file=None, known_files=None):
    """Validate a one-field form; returns (answers, [messages])."""
    form = form_of(field)
    result = validate_step(
        form,
        "s",
        raw,
        answers or {},
        uploads or {},
        store_file,
        known_files=known_files,
        today=TODAY,
    )
    return result.answers, [e.message for e in result.errors]


def messages(field, raw, **kwargs):
    return check(field, raw, **kwargs)[1]


def value(field, raw, **kwargs):
    answers, errors = check(field, raw, **kwargs)
    assert errors == []
    return answers.get(field["key"])
