"""Every standard template accepts complete answers generated from its own definition, and
refuses broken ones with the message a resident must read next to the field."""

import datetime

import pytest
from hypothesis import HealthCheck, given, settings

from madoguchi.catalog.loader import TEMPLATES_DIR, available_template_keys, load_template_file
from madoguchi.formengine.display import review_sections
from madoguchi.formengine.rendering import render_step
from madoguchi.formengine.validation import validate_all, validate_step
from tests import formgen

KEYS = available_template_keys()
TODAY = datetime.date(2025, 6, 16)  # a Monday; `min/max: today` are checked against it
SEEDS = [0, 1, 2, 3]


def form_of(key):
    return load_template_file(TEMPLATES_DIR / f"{key}.yaml").schema


def store_file(field, upload, detected):
    """What the portal stores for an accepted upload (the id differs, the rest must match)."""
    return {
        "attachment": f"stored-{upload.name}",
        "name": detected.name,
        "content_type": detected.content_type,
        "size": detected.size,
        "sha256": detected.sha256,
    }


def without_ids(value):
    if isinstance(value, dict):
        return {k: without_ids(v) for k, v in value.items() if k != "attachment"}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


def assert_posting_gives_the_answers(form, filled):
    """Posting each step (typed values and uploads, as a browser does) gives back exactly the
    generated answers, and the whole set passes the check made before submission."""
    for step_key in filled.step_keys:
        result = validate_step(
            form,
            step_key,
            filled.post_data(step_key),
            filled.answers,
            filled.uploads(step_key),
            store_file,
            today=TODAY,
        )
        assert result.errors == [], (step_key, result.errors)
        assert without_ids(result.answers) == without_ids(filled.step_answers(step_key))
    assert validate_all(form, filled.answers, today=TODAY) == []


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("seed", SEEDS)
def test_generated_answers_are_accepted(key, seed):
    form = form_of(key)
    filled = formgen.generate(form, seed, today=TODAY)
    assert filled.step_keys, key
    assert_posting_gives_the_answers(form, filled)
    # every step renders with the answers, and the confirmation page lists them
    for step_key in filled.step_keys:
        html = str(
            render_step(form, step_key, filled.raw(step_key), [], {"answers": filled.answers})
        )
        for f in form.step(step_key).fields:
            if f.key in filled.answers:
                assert f'id="field-{f.key}"' in html, (step_key, f.key)
    sections = review_sections(form, filled.answers)
    assert sum(len(s.rows) for s in sections) >= len(
        [k for k in filled.answers if form.field(k).type != "notice"]
    )


@pytest.mark.parametrize("key", KEYS)
def test_the_smallest_complete_answers_are_accepted(key):
    """Only what is required (repeats at their minimum, optional fields left empty)."""
    form = form_of(key)
    filled = formgen.generate(form, 7, today=TODAY, fill_optional=False)
    assert_posting_gives_the_answers(form, filled)


@pytest.mark.parametrize("key", KEYS)
def test_any_generated_answers_are_accepted(key):
    form = form_of(key)

    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(formgen.answers_strategy(form, today=TODAY))
    def check(filled):
        assert validate_all(form, filled.answers, today=TODAY) == []

    check()


@pytest.mark.parametrize("key", KEYS)
def test_broken_answers_are_refused_with_field_level_messages(key):
    form = form_of(key)
    cases = 0
    rules = set()
    for seed in (0, 1):
        filled = formgen.generate(form, seed, today=TODAY)
        for case in formgen.invalid_cases(form, filled):
            result = validate_step(
                form,
                case.step,
                case.raw,
                filled.answers,
                case.uploads,
                store_file,
                today=TODAY,
            )
            found = [(e.path, e.message) for e in result.errors]
            assert (case.path, case.message) in found, (str(case), found)
            if not case.affects_conditions:
                assert len(found) == 1, (str(case), found)
            error = next(e for e in result.errors if e.path == case.path)
            assert error.input_id.startswith("f-"), error
            cases += 1
            rules.add(case.rule)
    assert cases >= 10, key
    assert {"required", "choice"} <= rules, rules
