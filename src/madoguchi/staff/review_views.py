"""申請内容照会 (review screen), its action forms, attachments and the print view.

閲覧ログ: every display of the screen (including a re-display after a refused form), every
attachment preview or download and every print view writes one `audit.AccessLog` row. The
former `ApplicationEvent` 「閲覧」 rows are no longer written: the access log is the single
record of who saw what, and the event history (経過) stays a record of what happened to the
case.

Action forms post to their own URL and redirect back on success. A refused change (stale
screen, rule of the workflow) re-displays the screen with the fresh state, the reason and what
the user typed, so nothing is lost."""

from dataclasses import dataclass, field

from csp.decorators import csp_replace
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from madoguchi.applications import lifecycle, staff_actions, workflow
from madoguchi.applications.attachments import attachment_uids, submitted_uids
from madoguchi.applications.models import (
    AnswerRevision,
    Application,
    ApplicationEvent,
    Attachment,
    Channel,
    DepartmentProgress,
    Status,
)
from madoguchi.applications.permissions import can_handle
from madoguchi.audit.log import log_access
from madoguchi.audit.models import AccessLog
from madoguchi.core.boundary import parse_db_int
from madoguchi.core.filenames import download_name
from madoguchi.core.prepared import PreparedQuery
from madoguchi.formengine.display import review_sections
from madoguchi.identity import serial_links
from madoguchi.tenants.decorators import staff_required
from madoguchi.tenants.permissions import handled_departments

from .common import (
    assignable_choices,
    assignable_staff,
    can_handle_loaded,
    get_visible_application,
    procedure_departments,
    staff_display_name,
)

# Shown inline by the browser; anything else (HTML, SVG, Office files ...) is only downloaded.
INLINE_TYPES = {"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"}
MAX_TEXT = 4000


def _detail_url(application, anchor: str = "") -> str:
    url = reverse("staff:application_detail", args=[application.pk])
    return f"{url}#{anchor}" if anchor else url


def _of_application(model, *related: str) -> PreparedQuery:
    def build(application):
        rows = model.objects.filter(application=application)
        return rows.select_related(*related) if related else rows

    return PreparedQuery(model, build, ("application",))


# The screen's rows of the application (as its related managers read them, in the models'
# order), their SQL compiled once per process (core.prepared): four querysets compiled at
# every display were about 2 ms of CPU.
_revisions = _of_application(AnswerRevision)
_events = _of_application(ApplicationEvent, "actor_user")
_progress = _of_application(DepartmentProgress, "department", "updated_by")
_attachments = _of_application(Attachment)


def _rows_of(prepared: PreparedQuery, application) -> list:
    rows = prepared.objects(application=application.pk)
    for row in rows:
        row.application = application  # as the related manager sets it
    return rows


def _revision_view(application, requested: str | None):
    """(revisions, shown revision or None, answers shown, changed field keys)."""
    revisions = _rows_of(_revisions, application)
    shown = revisions[-1] if revisions else None
    if requested:
        shown = next((r for r in revisions if str(r.number) == requested), None)
        if shown is None:
            raise Http404("no such revision")
    is_latest = shown is None or shown is revisions[-1]
    answers = application.answers if is_latest else shown.answers
    changed: set[str] = set()
    if shown is not None and shown.number > 1:
        previous = next(r for r in revisions if r.number == shown.number - 1)
        keys = set(previous.answers) | set(shown.answers)
        changed = {k for k in keys if previous.answers.get(k) != shown.answers.get(k)}
    return revisions, shown, is_latest, answers, changed


# What the applicant does while filling the form, step by step: the review screen folds each
# run of these into one line, so the history leads with what staff act on.
FORM_EVENT_KINDS = frozenset(
    {
        ApplicationEvent.Kind.STARTED,
        ApplicationEvent.Kind.STEP_COMPLETED,
        ApplicationEvent.Kind.RESUME_LINK_SENT,
        ApplicationEvent.Kind.EMAIL_VERIFICATION_SENT,
        ApplicationEvent.Kind.EMAIL_VERIFIED,
    }
)


@dataclass
class HistoryItem:
    """One line of the review screen's history (経過): an event, or a run of the applicant's
    form events folded into one line (`folded`, oldest first)."""

    event: ApplicationEvent | None = None
    folded: list[ApplicationEvent] = field(default_factory=list)

    @property
    def first(self) -> ApplicationEvent:
        return self.event or self.folded[0]


def history_items(events: list[ApplicationEvent]) -> list[HistoryItem]:
    """The history newest first, each run of consecutive form events (`FORM_EVENT_KINDS`)
    folded into one item."""
    items: list[HistoryItem] = []
    for event in events:
        if event.kind in FORM_EVENT_KINDS:
            if items and items[-1].folded:
                items[-1].folded.append(event)
            else:
                items.append(HistoryItem(folded=[event]))
        else:
            items.append(HistoryItem(event=event))
    items.reverse()
    return items


def form_problems(application, answers: dict) -> list[str]:
    """What the form would refuse in answers received whole from マイナポータル: they are
    imported as its system validated them (`lifecycle.receive` never refuses one for its
    answers), and staff see here where they do not fit our form."""
    if application.channel != Channel.MYNAPORTAL:
        return []
    problem = lifecycle.incomplete(application, answers)
    return [error.message for error in problem.errors] if problem is not None else []


def _review_context(request, application, state: dict | None = None) -> dict:
    user = request.user
    state = state or {}
    revisions, shown, is_latest, answers, changed = _revision_view(
        application, request.GET.get("revision")
    )
    handles = can_handle_loaded(user, application)
    events = _rows_of(_events, application)
    progress = _rows_of(_progress, application)
    # Only files of a submitted version: an upload never submitted is not the staff's to see.
    # Read first: most applications have none, and then the submitted versions' files need
    # not be looked up (two statements).
    attachments = _rows_of(_attachments, application)
    if attachments:
        submitted = submitted_uids(application)
        attachments = [a for a in attachments if a.uid in submitted]
    current_uids = attachment_uids(application.answers)
    for attachment in attachments:
        attachment.inline_kind = _inline_kind(attachment)
        attachment.in_current_answers = attachment.uid in current_uids
    context = {
        "application": application,
        "procedure": application.procedure,
        "sections": review_sections(application.form_version.form, answers),
        "revisions": revisions,
        "shown_revision": shown,
        "is_latest_revision": is_latest,
        "changed_keys": changed,
        "events": events,
        "history": history_items(events),
        "notes": [e for e in events if e.kind == ApplicationEvent.Kind.NOTE],
        "applicant_messages": [e for e in events if e.kind == ApplicationEvent.Kind.MESSAGE],
        "attachments": attachments,
        "progress": progress,
        "assignee_name": staff_display_name(application.assigned_to),
        "can_handle": handles,
        "state": state,
        "identity_panel": serial_links.review_panel(application, can_confirm=handles),
        "form_problems": form_problems(application, answers),
    }
    step_titles = {step.key: step.title for step in application.form_version.form.steps}
    for event in events:
        event.label = event.get_kind_display()
        event.step_title = step_titles.get((event.data or {}).get("step"), "")
    if handles:
        context["status_targets"] = [
            (value, Status(value).label) for value in workflow.allowed_targets(application.status)
        ]
        # can_handle_loaded read the procedure's departments for both.
        departments = handled_departments(user, application, procedure_departments(application))
        handled_ids = {d.pk for d in departments}
        for row in progress:
            row.can_edit = len(progress) > 1 and row.department_id in handled_ids
        context["department_states"] = DepartmentProgress.State.choices
        context["assignable"] = assignable_choices(procedure_departments(application))
    return context


def _inline_kind(attachment) -> str:
    if attachment.content_type not in INLINE_TYPES:
        return ""
    return "pdf" if attachment.content_type == "application/pdf" else "image"


def _render_review(request, application, state=None, status=200):
    log_access(
        request,
        AccessLog.Action.VIEW_APPLICATION,
        application=application,
        object_ref=f"application:{application.pk}",
        revision=request.GET.get("revision") or "latest",
    )
    return render(
        request,
        "applications/staff/review.html",
        _review_context(request, application, state),
        status=status,
    )


@staff_required
def application_detail(request, pk):
    application = get_visible_application(request.user, pk)
    return _render_review(request, application)


def _handled_application(request, pk) -> Application:
    """The application for a change: 404 when not visible, 403 for a 閲覧者."""
    application = get_visible_application(request.user, pk)
    if not can_handle(request.user, application):
        raise PermissionDenied
    return application


def _expected_version(request) -> int | None:
    return parse_db_int(request.POST.get("expected_version", ""))


def _text(request, name: str) -> str:
    return request.POST.get(name, "").strip()[:MAX_TEXT]


@staff_required
@require_POST
def application_status(request, pk):
    application = _handled_application(request, pk)
    to_status = request.POST.get("to_status", "")
    message = _text(request, "message")
    state = {"status_message": message, "status_to": to_status}
    expected = _expected_version(request)
    if to_status not in Status.values:
        state["status_error"] = _("変更後の状況を選んでください。")
        return _render_review(request, application, state, status=400)
    if expected is None:
        state["status_error"] = _("画面を読み込み直してから、もう一度操作してください。")
        return _render_review(request, application, state, status=400)
    try:
        staff_actions.change_status(
            application, to_status, user=request.user, message=message, expected_version=expected
        )
    except staff_actions.StaleApplicationError as exc:
        fresh = get_visible_application(request.user, pk)
        state["status_error"] = _error_text(exc)
        state["stale"] = True
        return _render_review(request, fresh, state, status=409)
    except staff_actions.ERRORS as exc:
        state["status_error"] = _error_text(exc)
        return _render_review(request, application, state, status=400)
    messages.success(
        request, _("状況を「%(status)s」に変更しました。") % {"status": Status(to_status).label}
    )
    return HttpResponseRedirect(_detail_url(application, "status-change"))


def _error_text(exc) -> str:
    return str(getattr(exc, "message", "") or exc)


@staff_required
@require_POST
def department_status(request, pk, department_id):
    application = _handled_application(request, pk)
    department = next(
        (d for d in handled_departments(request.user, application) if d.pk == department_id),
        None,
    )
    if department is None:
        raise PermissionDenied
    to_status = request.POST.get("to_status", "")
    message = _text(request, "message")
    state = {"department_id": department.pk, "department_message": message}
    expected = _expected_version(request)
    if to_status not in DepartmentProgress.State.values or expected is None:
        state["department_error"] = _("担当課の処理状況を選んでください。")
        return _render_review(request, application, state, status=400)
    try:
        staff_actions.change_status(
            application,
            to_status,
            user=request.user,
            message=message,
            expected_version=expected,
            department=department,
        )
    except staff_actions.StaleApplicationError as exc:
        state["department_error"] = _error_text(exc)
        fresh = get_visible_application(request.user, pk)
        return _render_review(request, fresh, state, status=409)
    except staff_actions.ERRORS as exc:
        state["department_error"] = _error_text(exc)
        return _render_review(request, application, state, status=400)
    messages.success(
        request,
        _("%(department)sの処理状況を「%(state)s」にしました。")
        % {"department": department.name, "state": DepartmentProgress.State(to_status).label},
    )
    return HttpResponseRedirect(_detail_url(application, "department-progress"))


@staff_required
@require_POST
def application_assign(request, pk):
    application = _handled_application(request, pk)
    choice = request.POST.get("assignee", "")
    expected = _expected_version(request)
    if choice == "me":
        assignee = request.user
    elif choice == "none":
        assignee = None
    else:
        assignee = next(
            (
                u
                for u in assignable_staff(application.procedure.departments.all())
                if str(u.pk) == choice
            ),
            False,
        )
    if assignee is False or expected is None:
        state = {"assign_error": _("割り当てる職員を選んでください。")}
        return _render_review(request, application, state, status=400)
    try:
        staff_actions.assign(application, assignee, user=request.user, expected_version=expected)
    except staff_actions.StaleApplicationError as exc:
        fresh = get_visible_application(request.user, pk)
        return _render_review(request, fresh, {"assign_error": _error_text(exc)}, status=409)
    except staff_actions.ERRORS as exc:
        return _render_review(request, application, {"assign_error": _error_text(exc)}, status=400)
    if assignee is None:
        messages.success(request, _("担当者の割り当てを解除しました。"))
    else:
        messages.success(
            request, _("担当者を「%(name)s」にしました。") % {"name": staff_display_name(assignee)}
        )
    return HttpResponseRedirect(_detail_url(application, "assignment"))


@staff_required
@require_POST
def application_note(request, pk):
    application = _handled_application(request, pk)
    text = _text(request, "text")
    if not text:
        state = {"note_error": _("メモを入力してください。")}
        return _render_review(request, application, state, status=400)
    try:
        staff_actions.add_note(application, text, user=request.user)
    except staff_actions.ERRORS as exc:
        return _render_review(request, application, {"note_error": _error_text(exc)}, status=400)
    messages.success(request, _("職員へのメモを記録しました。"))
    return HttpResponseRedirect(_detail_url(application, "notes"))


@staff_required
@require_POST
def application_message(request, pk):
    application = _handled_application(request, pk)
    text = _text(request, "text")
    if not text:
        state = {"message_error": _("申請者へのメッセージを入力してください。")}
        return _render_review(request, application, state, status=400)
    try:
        staff_actions.send_message(application, text, user=request.user)
    except staff_actions.ERRORS as exc:
        state = {"message_error": _error_text(exc), "message_text": text}
        return _render_review(request, application, state, status=400)
    messages.success(request, _("申請者へメッセージを送りました。"))
    return HttpResponseRedirect(_detail_url(application, "applicant-messages"))


@staff_required
@require_POST
def application_identify(request, pk):
    """A member of staff confirms the applicant's 宛名番号 (a candidate of the registry)."""
    application = _handled_application(request, pk)
    atena_number = _text(request, "atena_number")
    expected = _expected_version(request)
    if not atena_number or expected is None:
        state = {"identify_error": _("特定する住民を候補から選んでください。")}
        return _render_review(request, application, state, status=400)
    try:
        serial_links.confirm_identity(
            application, atena_number, user=request.user, expected_version=expected
        )
    except staff_actions.StaleApplicationError as exc:
        fresh = get_visible_application(request.user, pk)
        state = {"identify_error": _error_text(exc), "stale": True}
        return _render_review(request, fresh, state, status=409)
    except staff_actions.ERRORS as exc:
        state = {"identify_error": _error_text(exc)}
        return _render_review(request, application, state, status=400)
    messages.success(
        request,
        _("申請者を宛名番号 %(atena)s の住民として特定しました。") % {"atena": atena_number},
    )
    return HttpResponseRedirect(_detail_url(application, "identity"))


def _attachment(request, pk, uid) -> tuple[Application, Attachment]:
    application = get_visible_application(request.user, pk)
    if uid not in submitted_uids(application):
        raise Http404("not a file of a submitted version")
    try:
        return application, application.attachments.get(uid=uid)
    except Attachment.DoesNotExist as exc:
        raise Http404 from exc


@staff_required
def attachment_download(request, pk, uid):
    application, attachment = _attachment(request, pk, uid)
    log_access(
        request,
        AccessLog.Action.DOWNLOAD_ATTACHMENT,
        application=application,
        object_ref=f"attachment:{attachment.uid}",
    )
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=download_name(attachment.original_name, attachment.content_type),
        content_type=attachment.content_type or "application/octet-stream",
    )


@staff_required
@xframe_options_sameorigin
@csp_replace({"frame-ancestors": ["'self'"]})
def attachment_preview(request, pk, uid):
    """The file with inline disposition, for <img>/<iframe> on the review screen. Only PDF and
    raster images; the browser must not sniff another type (nosniff is set globally)."""
    application, attachment = _attachment(request, pk, uid)
    if _inline_kind(attachment) == "":
        raise Http404("not previewable")
    log_access(
        request,
        AccessLog.Action.PREVIEW_ATTACHMENT,
        application=application,
        object_ref=f"attachment:{attachment.uid}",
    )
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=False,
        filename=download_name(attachment.original_name, attachment.content_type),
        content_type=attachment.content_type,
    )
    response["Cache-Control"] = "private, no-store"
    return response


@staff_required
def application_print(request, pk):
    application = get_visible_application(request.user, pk)
    log_access(
        request,
        AccessLog.Action.PRINT_APPLICATION,
        application=application,
        object_ref=f"application:{application.pk}",
    )
    sections = review_sections(application.form_version.form, application.answers)
    return render(
        request,
        "applications/staff/print.html",
        {
            "application": application,
            "rows": list(_flat_rows(sections)),
            "assignee_name": staff_display_name(application.assigned_to),
        },
    )


def _flat_rows(sections):
    """(section title, label, value, key) in form order; repeat items flattened with their
    item title, e.g. 「世帯員1人目」 / 氏名."""
    for section in sections:
        first = True
        for row in section.rows:
            if row.children:
                yield (section.title if first else "", row.label, row.value, row.key, 0)
                first = False
                for child in row.children:
                    for crow in child.rows:
                        yield ("", f"{child.title}　{crow.label}", crow.value, crow.key, 1)
                continue
            yield (section.title if first else "", row.label, row.value, row.key, 0)
            first = False
