"""Drafts filled with answers their form accepts — for every test that submits.

`lifecycle.submit` and `lifecycle.resubmit` refuse answers the application's form refuses
(`IncompleteApplication`), exactly as the screens do. A test that needs a submitted
application therefore fills its draft with answers the form accepts:

    answers = filling.valid_answers(form, {"email": "hanako@example.jp"})
    filling.fill(application, {"applicant_name": NAME})       # the draft, step by step
    application, token = filling.submitted(procedure, {"email": "hanako@example.jp"})

The test's own values win (by field key); every other field the form requires is generated
around them by `formgen` (the minimum: optional fields stay empty, repeats at their `min`),
so conditions follow the test's values. The result is checked with the form engine here: a
value the form refuses fails at this line, naming the field, not later inside `submit`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from madoguchi.formengine import validation

from . import formgen


def _form(form_or_owner):
    """A FormSchema from a FormSchema, an Application or a Procedure (its current form)."""
    if hasattr(form_or_owner, "form_version"):  # an Application
        return form_or_owner.form_version.form
    if hasattr(form_or_owner, "current_version"):  # a Procedure
        return form_or_owner.current_version.form
    return form_or_owner


def problems(form_or_owner, answers: Mapping[str, Any]) -> list[str]:
    """What the form refuses in `answers` ("path: message"), empty when it accepts them."""
    form = _form(form_or_owner)
    return [f"{e.path}: {e.message}" for e in validation.validate_all(form, answers)]


def valid_answers(form_or_owner, given: Mapping[str, Any] | None = None, *, seed: int = 0) -> dict:
    """Complete answers for the form with `given` on top; asserts the form accepts them."""
    form = _form(form_or_owner)
    given = dict(given or {})
    generated = formgen.generate(form, seed, fill_optional=False, choices=given).answers
    answers = generated | given
    refused = problems(form, answers)
    assert not refused, f"the form refuses these test answers: {refused}"
    return answers


def fill(application, given: Mapping[str, Any] | None = None, *, seed: int = 0) -> dict:
    """Fill the draft (or the correction of a 要再申請 application) step by step, as the
    step pages save it, with `valid_answers`. Returns the answers."""
    from madoguchi.applications import services

    answers = valid_answers(application, given, seed=seed)
    form = application.form_version.form
    steps = validation.visible_steps(form, answers)
    for index, step in enumerate(steps):
        own = {f.key: answers[f.key] for f in step.fields if f.key in answers}
        services.save_step(
            application, step.key, raw={}, answers=own, completed=True, step_index=index
        )
    return answers


def submitted(
    procedure,
    given: Mapping[str, Any] | None = None,
    *,
    seed: int = 0,
    base_url: str = "http://testserver",
    **start,
):
    """A draft of `procedure` (`start`: channel, entered_by, proxy_business, ...) filled
    with `valid_answers` and submitted. Returns (application, status token)."""
    from madoguchi.applications import services

    application, _resume = services.start_draft(procedure, **start)
    fill(application, given, seed=seed)
    token = services.submit(application, base_url=base_url)
    application.refresh_from_db()
    return application, token
