"""Filling a procedure's form on behalf of someone: staff at the counter (窓口・紙) and
businesses filing for residents (代理申請).

The pages run THE SAME form engine as the resident portal — the same steps, conditions,
validations and messages (`formengine.validation`, `formengine.rendering`) and the same
draft storage (`applications.services.save_step`) — only the URLs (by application id, behind
a login and a permission check instead of a resume token) and the page frame differ.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from madoguchi.applications import services
from madoguchi.applications.models import Application
from madoguchi.formengine import rendering, validation
from madoguchi.formengine.display import review_sections


@dataclass
class EntryPages:
    """Where the pages of one entry channel live and how they look."""

    step_url: Callable[[Application, str], str]
    confirm_url: Callable[[Application], str]
    # Where 「前のステップに戻る」 on the first step and 「一時保存」 lead.
    leave_url: Callable[[Application], str]
    layout: str
    context: dict = field(default_factory=dict)
    submit_label: str = ""
    save_label: str = ""


def _with_return(url: str, return_to_confirm: bool) -> str:
    return f"{url}?return=confirm" if return_to_confirm else url


def visible_steps(application: Application):
    form = application.form_version.form
    return form, validation.visible_steps(form, application.answers)


def known_files(application: Application) -> dict[str, dict]:
    """Attachments of this draft by uid (files kept across an error or a later visit)."""
    return {a.uid: a.as_answer() for a in application.attachments.all()}


def step_key_of_error(steps, error) -> str | None:
    """The visible step an error of `validate_all` belongs to."""
    path = str(getattr(error, "path", "") or "")
    key = path.split(".")[0]
    if not key:
        key = (getattr(error, "input_id", "") or "").removeprefix("f-").split("__")[0]
    for step in steps:
        if any(f.key == key for f in step.fields):
            return step.key
    return None


def postal_base(application: Application) -> str:
    url = reverse("portal:postal", args=[application.municipality.lg_code, "0000000"])
    return url.removesuffix("0000000/")


def progress(pages: EntryPages, application: Application, steps, current_key: str | None):
    """Progress indicator (the portal's partial): every visible step, then the confirmation."""
    items = []
    furthest = application.furthest_step_index
    for index, step in enumerate(steps):
        items.append(
            {
                "number": index + 1,
                "title": step.title,
                "current": step.key == current_key,
                "done": index < furthest and step.key != current_key,
                "url": pages.step_url(application, step.key) if index <= furthest else "",
            }
        )
    items.append(
        {
            "number": len(steps) + 1,
            "title": _("入力内容の確認"),
            "current": current_key is None,
            "done": False,
            "url": pages.confirm_url(application) if furthest >= len(steps) else "",
        }
    )
    number = next(item["number"] for item in items if item["current"])
    total = len(items)
    percent = int(round(number / total * 20)) * 5
    return {"items": items, "number": number, "total": total, "percent": percent}


def _detected_content_type(detected, uploaded) -> str:
    return getattr(detected, "content_type", None) or "application/octet-stream"


def step_page(request, application: Application, step_key: str, pages: EntryPages):
    """GET: show a step (with what was typed before); POST: back / save / repeat and postal
    actions / validate and go on — exactly like the portal's step page."""
    form, steps = visible_steps(application)
    keys = [s.key for s in steps]
    if step_key not in keys:
        return redirect(pages.step_url(application, keys[0]))
    index = keys.index(step_key)
    current = steps[index]
    data = request.POST if request.method == "POST" else request.GET
    return_to_confirm = data.get("return") == "confirm"
    errors: list = []

    if request.method == "POST":
        raw = validation.collect_raw(current, request.POST)
        action = request.POST.get("_action", "next")
        if action in {"back", "save"}:
            services.save_step(
                application, step_key, raw=raw, answers=None, completed=False, step_index=index
            )
            if action == "save" or index == 0:
                return redirect(pages.leave_url(application))
            return redirect(pages.step_url(application, keys[index - 1]))
        if action.startswith(("add:", "remove:", "postal:")):
            raw, action_error = validation.apply_action_with_message(form, step_key, raw, action)
            services.save_step(
                application, step_key, raw=raw, answers=None, completed=False, step_index=index
            )
            if action_error is None:
                url = pages.step_url(application, step_key)
                return redirect(_with_return(url, return_to_confirm))
            errors = [action_error]
            return _render_step(
                request, application, pages, form, steps, index, raw, errors, return_to_confirm
            )

        def store_file(field, uploaded, detected):
            return services.store_attachment(
                application,
                field.key,
                uploaded,
                content_type=_detected_content_type(detected, uploaded),
            )

        result = validation.validate_step(
            form,
            step_key,
            raw,
            application.answers,
            {name: request.FILES.getlist(name) for name in request.FILES},
            store_file,
            known_files=known_files(application),
        )
        raw = result.raw or raw
        if result.ok:
            services.save_step(
                application,
                step_key,
                raw=raw,
                answers=result.answers,
                completed=True,
                step_index=index,
            )
            form, steps = visible_steps(application)
            keys = [s.key for s in steps]
            if return_to_confirm or step_key not in keys or keys.index(step_key) == len(keys) - 1:
                return redirect(pages.confirm_url(application))
            return redirect(pages.step_url(application, keys[keys.index(step_key) + 1]))
        services.save_step(
            application, step_key, raw=raw, answers=None, completed=False, step_index=index
        )
        errors = list(result.errors)
    else:
        raw = application.draft_values.get(step_key)
        if raw is None:
            raw = validation.raw_from_answers(form, step_key, application.answers)
        if request.GET.get("check") == "1":
            errors = [
                error
                for error in validation.validate_all(form, application.answers)
                if step_key_of_error(steps, error) == step_key
            ]
    return _render_step(
        request, application, pages, form, steps, index, raw, errors, return_to_confirm
    )


def _render_step(request, application, pages, form, steps, index, raw, errors, return_to_confirm):
    current = steps[index]
    fields_html = rendering.render_step(
        form,
        current.key,
        raw,
        errors,
        {
            "answers": application.answers,
            "known_files": known_files(application),
            "postal_url": postal_base(application),
        },
    )
    return render(
        request,
        "channels/entry_step.html",
        {
            **pages.context,
            "layout": pages.layout,
            "municipality": application.municipality,
            "application": application,
            "procedure": application.procedure,
            "form": form,
            "step": current,
            "is_first": index == 0,
            "is_last": index == len(steps) - 1,
            "fields_html": fields_html,
            "errors": errors,
            "progress": progress(pages, application, steps, current.key),
            "return_to_confirm": return_to_confirm,
            "postal_base": postal_base(application),
            "save_label": pages.save_label,
            "leave_url": pages.leave_url(application),
        },
    )


def confirm_page(
    request,
    application: Application,
    pages: EntryPages,
    *,
    on_submit: Callable[[Application, str], object],
    extra_errors: Callable[[Application], list[str]] | None = None,
    extra_context: dict | None = None,
):
    """The confirmation page; POST submits (`services.submit`) and calls `on_submit(application,
    status_token)` for the response. `extra_errors` adds channel-specific checks (e.g. the
    scanned paper form) that block the submission."""
    form, steps = visible_steps(application)
    errors = validation.validate_all(form, application.answers)
    if errors:
        step_key = step_key_of_error(steps, errors[0]) or steps[0].key
        url = pages.step_url(application, step_key)
        return redirect(f"{url}?check=1" if request.method == "POST" else url)
    problems = extra_errors(application) if extra_errors else []
    status = 200
    if request.method == "POST":
        if not problems:
            try:
                token = services.submit(application, base_url=_base_url())
            except services.ApplicationStateError as exc:
                problems = [exc.message]
                status = 409
            else:
                application.refresh_from_db()
                return on_submit(application, token)
        else:
            status = 400
    sections = [
        {
            "title": section.title,
            "rows": section.rows,
            "edit_url": _with_return(pages.step_url(application, section.step_key), True),
        }
        for section in review_sections(form, application.answers)
    ]
    return render(
        request,
        "channels/entry_confirm.html",
        {
            **pages.context,
            **(extra_context or {}),
            "layout": pages.layout,
            "municipality": application.municipality,
            "application": application,
            "procedure": application.procedure,
            "form": form,
            "sections": sections,
            "problems": problems,
            "progress": progress(pages, application, steps, None),
            "back_url": pages.step_url(application, steps[-1].key),
            "submit_label": pages.submit_label or _("この内容で申請する"),
        },
        status=status,
    )


def _base_url() -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/")
