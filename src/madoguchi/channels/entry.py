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
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from madoguchi.applications import form_flow, services
from madoguchi.applications.models import Application
from madoguchi.formengine import rendering
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
    return form_flow.visible_steps(application)


def postal_base(application: Application) -> str:
    url = reverse("portal:postal", args=[application.municipality.lg_code, "0000000"])
    return url.removesuffix("0000000/")


def progress(pages: EntryPages, application: Application, steps, current_key: str | None):
    """Progress indicator (the portal's partial): every visible step, then the confirmation."""
    return form_flow.build_progress(
        application,
        steps,
        current_key,
        step_url=lambda step_key: pages.step_url(application, step_key),
        confirm_url=lambda: pages.confirm_url(application),
    )


def step_page(request, application: Application, step_key: str, pages: EntryPages):
    """GET: show a step (with what was typed before); POST: back / save / repeat and postal
    actions / validate and go on — exactly like the portal's step page."""
    position = form_flow.locate_step(application, step_key)
    if not position.found:
        return redirect(pages.step_url(application, position.first_key))
    data = request.POST if request.method == "POST" else request.GET
    return_to_confirm = data.get("return") == "confirm"

    if request.method != "POST":
        raw, errors = form_flow.step_get_state(
            application, position, check=request.GET.get("check") == "1"
        )
        return _render_step(request, application, pages, position, raw, errors, return_to_confirm)

    outcome = form_flow.handle_step_post(application, position, request)
    if outcome.kind == form_flow.SAVE or (
        outcome.kind == form_flow.BACK and outcome.step_key is None
    ):
        return redirect(pages.leave_url(application))
    if outcome.kind in {form_flow.BACK, form_flow.NEXT}:
        return redirect(pages.step_url(application, outcome.step_key))
    if outcome.kind == form_flow.ACTION_DONE:
        url = pages.step_url(application, position.current.key)
        return redirect(_with_return(url, return_to_confirm))
    if outcome.kind == form_flow.CONFIRM:
        return redirect(pages.confirm_url(application))
    # ACTION_ERROR, INVALID: the step again, with what was typed and the errors.
    return _render_step(
        request, application, pages, position, outcome.raw, outcome.errors, return_to_confirm
    )


def _render_step(request, application, pages, position, raw, errors, return_to_confirm):
    form, steps, current = position.form, position.steps, position.current
    fields_html = rendering.render_step(
        form,
        current.key,
        raw,
        errors,
        {
            "answers": services.editable_answers(application),
            "known_files": form_flow.known_files(application),
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
            "is_first": position.is_first,
            "is_last": position.is_last,
            "fields_html": fields_html,
            "errors": errors,
            "progress": progress(pages, application, steps, current.key),
            "return_to_confirm": return_to_confirm,
            "postal_base": postal_base(application),
            "save_label": pages.save_label,
            "leave_url": pages.leave_url(application),
            **correction_context(application),
        },
    )


def correction_context(application: Application) -> dict:
    """For an application returned for correction (要再申請): what staff asked to fix."""
    if not services.is_correction(application):
        return {"correction": None}
    event = services.correction_request(application)
    return {"correction": {"message": event.message if event else ""}}


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
    status_token)` for the response — or, for an application returned for correction
    (要再申請), resubmits the corrected answers (`services.resubmit`) and calls
    `on_submit(application, "")`. `extra_errors` adds channel-specific checks (e.g. the
    scanned paper form) that block the submission."""
    correcting = services.is_correction(application)
    answers = services.editable_answers(application)
    form, steps = visible_steps(application)
    problems = extra_errors(application) if extra_errors else []
    status = 200
    if request.method == "POST":
        if not problems:
            try:
                if correcting:
                    services.resubmit(application, base_url=_base_url())
                    token = ""
                else:
                    token = services.submit(application, base_url=_base_url())
            except services.IncompleteApplication as exc:
                # The lifecycle refuses what the form refuses: the first step to correct,
                # with its errors shown.
                messages.error(request, exc.message)
                return redirect(f"{pages.step_url(application, exc.step_key)}?check=1")
            except services.ApplicationStateError as exc:
                problems = [exc.message]
                status = 409
            else:
                application.refresh_from_db()
                return on_submit(application, token)
        else:
            status = 400
    incomplete = services.incomplete(application, answers)
    if incomplete is not None:
        # Not everything filled in yet (e.g. a step became visible): continue there.
        return redirect(pages.step_url(application, incomplete.step_key))
    sections = [
        {
            "title": section.title,
            "rows": section.rows,
            "edit_url": _with_return(pages.step_url(application, section.step_key), True),
        }
        for section in review_sections(form, answers)
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
            "submit_label": (
                _("この内容で再申請する")
                if correcting
                else pages.submit_label or _("この内容で申請する")
            ),
            **correction_context(application),
        },
        status=status,
    )


def _base_url() -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/")
