"""Validation of one step, actions without JavaScript, and stored-answer checks (pure).

Raw values are keyed by HTML input name (docs/contracts-formengine.md, "Input naming"):
`key`, `key__part`, `repeatkey__i__childkey[__part]`, `repeatkey__count`, `filekey__keep`.
Answers are keyed by field key and normalised per docs/form-schema.md.
"""

from __future__ import annotations

import datetime
import re
from collections import ChainMap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from madoguchi.jp import postal
from madoguchi.jp.errors import JpValueError

from .conditions import evaluate, is_required
from .fields import (
    TYPES,
    Ctx,
    DetectedFile,
    FieldError,
    Loc,
    SummaryLine,
    UploadedFileLike,
    error_summary,
)
from .fields.base import child_loc, counted, top_loc
from .schema import REPEAT_HARD_MAX, Field, FormSchema, Step

__all__ = [
    "DetectedFile",
    "FieldError",
    "StepResult",
    "UploadedFileLike",
    "apply_action",
    "SummaryLine",
    "apply_action_with_message",
    "collect_raw",
    "error_summary",
    "known_files_in",
    "raw_from_answers",
    "repeat_count",
    "validate_all",
    "validate_step",
    "visible_steps",
]

StoreFile = Callable[[Field, Any, DetectedFile], dict]


@dataclass(slots=True)
class StepResult:
    answers: dict  # normalised answers of this step; hidden fields omitted
    errors: list[FieldError]
    # The raw values with the attachment ids of files stored during this call added to
    # `key__keep`, so a resident never uploads a file twice when another field has an error.
    raw: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


# --------------------------------------------------------------------------------------------
# Raw values


def _getter(data: Any) -> Callable[[str], list[str]]:
    if hasattr(data, "getlist"):
        return lambda name: [str(v) for v in data.getlist(name)]

    def get(name: str) -> list[str]:
        value = data.get(name)
        if value is None:
            return []
        if isinstance(value, list | tuple):
            return [str(v) for v in value]
        return [str(value)]

    return get


def repeat_count(f: Field, raw: Mapping[str, Any], name: str | None = None) -> int:
    """How many items of repeat `f` are shown (`key__count`), clamped to a sane range."""
    value = raw.get(f"{name or f.key}__count")
    if isinstance(value, list | tuple):
        value = value[-1] if value else None
    try:
        count = int(str(value).strip())
    except (TypeError, ValueError):
        return f.min or 0
    return max(0, min(count, f.max or REPEAT_HARD_MAX, REPEAT_HARD_MAX))


def collect_raw(step: Step, data: Any) -> dict[str, str | list[str]]:
    """Everything the resident typed in this step (POST data or a mapping of lists), by name."""
    get = _getter(data)
    out: dict[str, str | list[str]] = {}
    for f in step.fields:
        _collect(f, top_loc(f), get, out)
    return out


def _collect(f: Field, loc: Loc, get, out: dict) -> None:
    if f.type == "repeat":
        values = get(f"{loc.name}__count")
        count = repeat_count(f, {f"{loc.name}__count": values[-1] if values else None})
        out[f"{loc.name}__count"] = str(count)
        for i in range(count):
            for child in f.fields:
                _collect(child, child_loc(f, i, child), get, out)
        return
    for name, is_list in TYPES[f.type].input_names(f, loc):
        values = get(name)
        out[name] = values if is_list else (values[-1] if values else "")


def raw_from_answers(form: FormSchema, step_key: str, answers: Mapping[str, Any]) -> dict:
    """Raw input values that reproduce stored answers (going back to an earlier step)."""
    step = _step(form, step_key)
    out: dict = {}
    for f in step.fields:
        value = answers.get(f.key)
        if value is None:
            continue
        if f.type == "repeat":
            items = value if isinstance(value, list) else []
            out[f"{f.key}__count"] = str(len(items))
            for i, item in enumerate(items):
                for child in f.fields:
                    if item.get(child.key) is not None:
                        TYPES[child.type].to_raw(
                            child, item[child.key], child_loc(f, i, child), out
                        )
        else:
            TYPES[f.type].to_raw(f, value, top_loc(f), out)
    return out


# --------------------------------------------------------------------------------------------
# Validation


def known_files_in(answers: Any) -> dict[str, dict]:
    """Every attachment answer (`{"attachment": uid, …}`) found in stored answers, by uid."""
    found: dict[str, dict] = {}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("attachment"), str):
                found[value["attachment"]] = value
            else:
                for v in value.values():
                    walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(answers)
    return found


def _step(form: FormSchema, step_key: str) -> Step:
    step = form.step(step_key)
    if step is None:
        raise KeyError(f"unknown step {step_key!r}")
    return step


def _walk(fields: list[Field], ctx: Ctx, scope: Mapping, out: dict, loc_for, states) -> None:
    for f in fields:
        loc = loc_for(f)
        visible = evaluate(f.visible_if, scope)
        required = visible and is_required(f, scope)
        if states is not None:
            states[loc.path] = (visible, required)
        if not visible:
            continue
        if f.type == "repeat":
            value = _validate_repeat(f, loc, ctx, scope, required, states)
        else:
            value = TYPES[f.type].validate(f, loc, ctx, required)
        if value is not None:
            out[f.key] = value


def _validate_repeat(f: Field, loc: Loc, ctx: Ctx, scope, required: bool, states) -> Any:
    count = repeat_count(f, ctx.raw, loc.name)
    errors_before = len(ctx.errors)
    items: list[dict] = []
    for i in range(count):
        item: dict = {}
        _walk(
            f.fields,
            ctx,
            ChainMap(item, scope),
            item,
            lambda child, i=i: child_loc(f, i, child),
            states,
        )
        items.append(item)
    label = f.item_label
    if count < f.min:
        ctx.error(
            loc,
            _("%(label)sは%(n)s以上入力してください。")
            % {"label": label, "n": counted(f.min, f.item_counter)},
            rule="min_items",
        )
    elif f.max is not None and count > f.max:
        ctx.error(
            loc,
            _("%(label)sは%(n)sまで入力できます。")
            % {"label": label, "n": counted(f.max, f.item_counter)},
            rule="max_items",
        )
    if len(ctx.errors) > errors_before:
        return None
    return items


def validate_step(
    form: FormSchema,
    step_key: str,
    raw: Mapping[str, Any],
    answers_so_far: Mapping[str, Any],
    uploads: Mapping[str, list[UploadedFileLike]] | None = None,
    store_file: StoreFile | None = None,
    *,
    known_files: Mapping[str, dict] | None = None,
    today: datetime.date | None = None,
) -> StepResult:
    """Validate and normalise one step.

    `answers_so_far`: answers of the other steps (this step's own stored answers are ignored).
    `uploads`: new files by input name (`request.FILES` lists). `store_file(field, upload,
    detected)` is called for each file that passed and returns its answer dict.
    `known_files` (optional): attachment uid -> answer dict of files this application already
    has; a posted `key__keep` uid is only honoured if it is known (defaults to the attachments
    found in `answers_so_far`). `today` overrides the date used for `min`/`max: today`.
    """
    step = _step(form, step_key)
    own = {f.key for f in step.fields}
    base = {k: v for k, v in answers_so_far.items() if k not in own}
    known = known_files_in(answers_so_far)
    if known_files:
        known.update(known_files)
    ctx = Ctx(
        raw=raw,
        uploads=uploads or {},
        store_file=store_file,
        known_files=known,
        raw_out=dict(raw),
        today=today,
    )
    answers: dict = {}
    _walk(step.fields, ctx, ChainMap(answers, base), answers, top_loc, None)
    return StepResult(answers=answers, errors=ctx.errors, raw=ctx.raw_out)


def peek_step(
    form: FormSchema,
    step_key: str,
    raw: Mapping[str, Any],
    answers: Mapping[str, Any],
    known_files: Mapping[str, dict] | None = None,
) -> tuple[dict, dict[str, tuple[bool, bool]]]:
    """Best-effort values of a step being edited and, per field path, (visible, required) —
    for rendering. Nothing is stored and no error is kept."""
    step = _step(form, step_key)
    own = {f.key for f in step.fields}
    base = {k: v for k, v in answers.items() if k not in own}
    ctx = Ctx(raw=raw, known_files=dict(known_files or {}), peek=True)
    values: dict = {}
    states: dict[str, tuple[bool, bool]] = {}
    _walk(step.fields, ctx, ChainMap(values, base), values, top_loc, states)
    return values, states


def visible_steps(form: FormSchema, answers: Mapping[str, Any]) -> list[Step]:
    """Steps with at least one visible field, in order."""
    return [
        step
        for step in form.steps
        if any(f.visible_if is None or evaluate(f.visible_if, answers) for f in step.fields)
    ]


def _never_store(field: Field, upload: Any, detected: DetectedFile) -> dict:
    raise RuntimeError("validate_all never stores files")


def validate_all(
    form: FormSchema, answers: Mapping[str, Any], *, today: datetime.date | None = None
) -> list[FieldError]:
    """Re-check stored answers before submission: every visible step is validated again from
    its answers (required fields present, conditions, formats, limits)."""
    errors: list[FieldError] = []
    known = known_files_in(answers)
    for step in visible_steps(form, answers):
        raw = raw_from_answers(form, step.key, answers)
        result = validate_step(
            form, step.key, raw, answers, {}, _never_store, known_files=known, today=today
        )
        errors.extend(result.errors)
    return errors


# --------------------------------------------------------------------------------------------
# Actions (buttons that work without JavaScript)


def apply_action(form: FormSchema, step_key: str, raw: Mapping[str, Any], action: str) -> dict:
    """`add:repeatkey`, `remove:repeatkey:i`, `postal:fieldname`; other actions (`next`,
    `back`, `save`) leave the raw values unchanged. Returns new raw values."""
    return apply_action_with_message(form, step_key, raw, action)[0]


def apply_action_with_message(
    form: FormSchema, step_key: str, raw: Mapping[str, Any], action: str
) -> tuple[dict, FieldError | None]:
    """Like `apply_action`, plus a message for the resident when a postal-code lookup failed
    (invalid code, or no address known for it)."""
    new = dict(raw)
    step = form.step(step_key)
    if step is None or not isinstance(action, str):
        return new, None
    kind, _sep, arg = action.partition(":")
    if kind == "add":
        f = _top_repeat(step, arg)
        if f is not None:
            count = repeat_count(f, new)
            if count < (f.max or REPEAT_HARD_MAX):
                new[f"{f.key}__count"] = str(count + 1)
        return new, None
    if kind == "remove":
        key, _sep, index = arg.partition(":")
        f = _top_repeat(step, key)
        if f is not None and index.isdigit():
            _remove_item(f, new, int(index))
        return new, None
    if kind == "postal":
        return new, _postal_lookup(form, step, new, arg)
    return new, None


def _top_repeat(step: Step, key: str) -> Field | None:
    for f in step.fields:
        if f.key == key and f.type == "repeat":
            return f
    return None


def _remove_item(f: Field, raw: dict, index: int) -> None:
    count = repeat_count(f, raw)
    if index >= count:
        return
    pattern = re.compile(rf"{re.escape(f.key)}__(\d+)__(.+)")
    moved: dict = {}
    for name in list(raw):
        match = pattern.fullmatch(name)
        if not match:
            continue
        value = raw.pop(name)
        i = int(match.group(1))
        if i < index:
            moved[name] = value
        elif i > index:
            moved[f"{f.key}__{i - 1}__{match.group(2)}"] = value
    raw.update(moved)
    raw[f"{f.key}__count"] = str(count - 1)


_ITEM_NAME_RE = re.compile(r"([a-z][a-z0-9_]*?)__(\d+)__([a-z][a-z0-9_]*)")


def _postal_lookup(form: FormSchema, step: Step, raw: dict, name: str) -> FieldError | None:
    match = _ITEM_NAME_RE.fullmatch(name)
    if match:
        repeat = _top_repeat(step, match.group(1))
        f = form.field(match.group(3))
        if repeat is None or f is None or f.parent is not repeat:
            return None
        loc = child_loc(repeat, int(match.group(2)), f)
        prefix = f"{repeat.key}__{match.group(2)}__"
    else:
        f = form.field(name)
        if f is None or f.step_key != step.key or f.parent is not None:
            return None
        loc = top_loc(f)
        prefix = ""
    if f.type != "postal_code" or not f.address_field:
        return None
    value = raw.get(loc.name, "")
    if isinstance(value, list | tuple):
        value = value[-1] if value else ""
    try:
        code = postal.check_postal_code(str(value))
    except JpValueError as exc:
        return FieldError(loc.path, loc.input_id(), loc.label, exc.message, exc.code)
    address = postal.lookup_address(code)
    if not address:
        # The code exists but covers several municipalities: nothing sure to fill in.
        raw[loc.name] = postal.format_postal_code(code)
        return None
    raw[loc.name] = postal.format_postal_code(code)
    raw[prefix + f.address_field] = address
    return None
