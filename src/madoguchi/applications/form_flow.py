"""The step-by-step form flow shared by every channel that fills a form: the resident portal
(by resume token) and staff/business entry (by application id).

Here is what a step page DOES — collect what was typed, run the back / save / repeat and
postal actions, validate, store uploads and save the draft (`services.save_step`) — without
knowing where it lives: each channel maps a `StepOutcome` to its own URLs and templates.

The answers being edited are `services.editable_answers` (a draft's answers, or the
corrected copy of a 要再申請 application).
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from madoguchi.applications import attachments, services
from madoguchi.applications.lifecycle import step_key_of_error
from madoguchi.applications.models import Application
from madoguchi.applications.signals import step_invalid
from madoguchi.core.client_address import client_address
from madoguchi.formengine.fields.file import UploadRefused

BACK = "back"
SAVE = "save"
ACTION_DONE = "action-done"
ACTION_ERROR = "action-error"
INVALID = "invalid"
NEXT = "next"
CONFIRM = "confirm"


def _validation():
    # Imported on first use (keeps URL loading independent of the form engine).
    from madoguchi.formengine import validation

    return validation


@dataclass(frozen=True)
class StepPosition:
    """The visible steps of an application's form and where `step_key` stands among them
    (`index` is -1 when that step is hidden by earlier answers or not in the form)."""

    form: object
    steps: list
    index: int

    @property
    def found(self) -> bool:
        return self.index >= 0

    @property
    def first_key(self) -> str:
        return self.steps[0].key

    @property
    def current(self):
        return self.steps[self.index]

    @property
    def is_first(self) -> bool:
        return self.index == 0

    @property
    def is_last(self) -> bool:
        return self.index == len(self.steps) - 1


@dataclass
class StepOutcome:
    """What a POST to a step came to.

    kind: BACK (`step_key` is the previous step, None on the first) / SAVE / ACTION_DONE /
    ACTION_ERROR / INVALID (show the step again with `raw` and `errors`) / NEXT (`step_key` is
    the step to go on to) / CONFIRM (go to the confirmation page)."""

    kind: str
    raw: dict | None = None
    errors: list = field(default_factory=list)
    step_key: str | None = None


def visible_steps(application: Application):
    """(form, visible steps) for the answers being edited."""
    form = application.form_version.form
    return form, _validation().visible_steps(form, services.editable_answers(application))


def locate_step(application: Application, step_key: str) -> StepPosition:
    form, steps = visible_steps(application)
    keys = [s.key for s in steps]
    return StepPosition(form, steps, keys.index(step_key) if step_key in keys else -1)


def known_files(application: Application, step=None) -> dict[str, dict]:
    """Attachments of this draft by uid (files kept across an error or a later visit). Only
    file fields read them: for a `step` without one, nothing (and no query)."""
    if step is not None and not step.has_files:
        return {}
    return {a.uid: a.as_answer() for a in application.attachments.all()}


def detected_content_type(detected, uploaded) -> str:
    for attribute in ("content_type", "mime", "mime_type"):
        value = getattr(detected, attribute, None)
        if value:
            return value
    return getattr(uploaded, "content_type", None) or "application/octet-stream"


def uploads(request) -> dict:
    return {name: request.FILES.getlist(name) for name in request.FILES}


def build_progress(
    application: Application,
    steps,
    current_key: str | None,
    *,
    step_url: Callable[[str], str],
    confirm_url: Callable[[], str],
) -> dict:
    """Progress indicator: every visible step, then the confirmation step."""
    items = []
    furthest = application.furthest_step_index
    for index, step in enumerate(steps):
        items.append(
            {
                "number": index + 1,
                "title": step.title,
                "current": step.key == current_key,
                "done": index < furthest and step.key != current_key,
                "url": step_url(step.key) if index <= furthest else "",
            }
        )
    items.append(
        {
            "number": len(steps) + 1,
            "title": _("入力内容の確認"),
            "current": current_key is None,
            "done": False,
            "url": confirm_url() if furthest >= len(steps) else "",
        }
    )
    current_number = next(item["number"] for item in items if item["current"])
    total = len(items)
    percent = int(round(current_number / total * 20)) * 5  # dads-w-0 … dads-w-100
    return {"items": items, "number": current_number, "total": total, "percent": percent}


def step_get_state(application: Application, position: StepPosition, *, check: bool):
    """(raw values, errors) to show a step: what was typed before (or the saved answers);
    with `check`, the errors of `validate_all` that belong to this step."""
    validation = _validation()
    form, step_key = position.form, position.current.key
    answers = services.editable_answers(application)
    raw = application.draft_values.get(step_key)
    if raw is None:
        raw = validation.raw_from_answers(form, step_key, answers)
    errors = []
    if check:
        errors = [
            error
            for error in validation.validate_all(form, answers)
            if step_key_of_error(position.steps, error) == step_key
        ]
    return raw, errors


def handle_step_post(application: Application, position: StepPosition, request) -> StepOutcome:
    """A POST to a visible step: back / save / repeat and postal actions / validate (storing
    the uploads) and go on. The draft is saved in every case."""
    validation = _validation()
    form, index = position.form, position.index
    step_key = position.current.key

    def save(raw, *, answers=None, completed=False, reached=None):
        services.save_step(
            application,
            step_key,
            raw=raw,
            answers=answers,
            completed=completed,
            step_index=index,
            reached=reached,
        )
        # A file replaced or removed on this step is referred to by nothing any more. A step
        # without file fields changes no reference (its raw values and answers hold none).
        if position.current.has_files:
            attachments.prune_unreferenced(application)

    raw = validation.collect_raw(position.current, request.POST)
    action = request.POST.get("_action", "next")
    if action in {BACK, SAVE}:
        save(raw)
        if action == SAVE:
            return StepOutcome(SAVE, raw)
        previous = position.steps[index - 1].key if index > 0 else None
        return StepOutcome(BACK, raw, step_key=previous)
    if action.startswith(("add:", "remove:", "postal:")):
        raw, action_error = validation.apply_action_with_message(form, step_key, raw, action)
        save(raw)
        if action_error is None:
            return StepOutcome(ACTION_DONE, raw)
        return StepOutcome(ACTION_ERROR, raw, errors=[action_error])

    def store_file(field, uploaded, detected):
        try:
            attachments.take_upload_quota(
                application, client_address(request), int(getattr(detected, "size", 0) or 0)
            )
        except attachments.QuotaExceeded as exc:
            raise UploadRefused(attachments.quota_message()) from exc
        return services.store_attachment(
            application,
            field.key,
            uploaded,
            content_type=detected_content_type(detected, uploaded),
        )

    result = validation.validate_step(
        form,
        step_key,
        raw,
        services.editable_answers(application),
        uploads(request),
        store_file,
        known_files=known_files(application, position.current),
    )
    raw = result.raw or raw
    if not result.ok:
        save(raw)
        # KPIs count which field failed which rule (never the value typed).
        step_invalid.send(
            sender=Application, application=application, form=form, errors=result.errors
        )
        return StepOutcome(INVALID, raw, errors=list(result.errors))
    # Where the applicant goes next depends on the answers just given (they may show or hide
    # later steps), so it is decided on those answers before the step is saved as done.
    answers = services.answers_with_step(application, step_key, result.answers)
    keys = [s.key for s in _validation().visible_steps(form, answers)]
    return_to_confirm = request.POST.get("return") == "confirm"
    if return_to_confirm or step_key not in keys or keys.index(step_key) == len(keys) - 1:
        outcome = StepOutcome(CONFIRM, raw)
        reached = len(form.steps)
    else:
        outcome = StepOutcome(NEXT, raw, step_key=keys[keys.index(step_key) + 1])
        reached = [s.key for s in form.steps].index(outcome.step_key)
    save(raw, answers=result.answers, completed=True, reached=reached)
    return outcome
