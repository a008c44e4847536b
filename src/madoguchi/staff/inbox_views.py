"""受付一覧: the department chooser, a department's inbox and its bulk actions.

Filters are GET parameters, so a filter is saved by bookmarking or sharing its URL. Bulk
actions are an ordinary POST form (works without JavaScript); the result summary is shown
once on the inbox after the redirect (post/redirect/get)."""

from html import escape as html_escape
from typing import NamedTuple

from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from madoguchi.applications import staff_actions
from madoguchi.applications.inbox import (
    INBOX_STATUSES,
    SEARCH_COUNT_CAP,
    SORT_LABELS,
    InboxFilter,
    inbox_page,
    inbox_scope,
    search_kind,
)
from madoguchi.applications.models import FINISHED_STATUSES, Application, Channel, Status
from madoguchi.audit.log import log_access
from madoguchi.audit.models import AccessLog
from madoguchi.catalog.models import Procedure
from madoguchi.core.boundary import parse_db_int
from madoguchi.core.prepared import PreparedQuery
from madoguchi.tenants.decorators import staff_required
from madoguchi.tenants.permissions import memberships, seeing_memberships, staff_departments

from .common import (
    HANDLING_ROLES,
    assignable_choices,
    assignable_staff,
    get_department,
    staff_display_name,
)

BULK_RESULT_KEY = "madoguchi_staff_bulk_result"
# Targets offered in the bulk status form; the workflow refuses the ones that do not apply.
BULK_STATUS_TARGETS = [Status.IN_PROGRESS, Status.RETURNED, Status.COMPLETED, Status.REJECTED]
PAGE_SIZE = 50


def can_handle_department(user, department) -> bool:
    """May assign and change status in this inbox (管理者 or 担当者 covering it)."""
    for m in memberships(user):
        if m.role not in HANDLING_ROLES:
            continue
        if department is None:
            return True
        if m.municipality_id == department.municipality_id and m.department_id in (
            None,
            department.pk,
        ):
            return True
    return False


def _export_url(department, filter_query: str) -> str:
    """「一覧を出力」: the export form of this department's inbox with the same filters (the
    export chooses its rows again from them). Only on a department's inbox: a member of
    several municipalities cannot export the combined one. Empty when the deployment leaves
    exports out (MADOGUCHI_ROLE)."""
    if department is None:
        return ""
    try:
        url = reverse("exports:new")
    except NoReverseMatch:
        return ""
    query = f"department={department.pk}"
    return f"{url}?{query}&{filter_query}" if filter_query else f"{url}?{query}"


def _inbox_url(department) -> str:
    if department is None:
        return reverse("staff:inbox_all")
    return reverse("staff:inbox", args=[department.pk])


@staff_required
def department_list(request):
    """The departments whose inbox the user may open, with their open cases."""
    departments = staff_departments(request.user)
    if len(departments) == 1:
        # Nothing to choose: a member of one department goes straight to its inbox (the
        # login lands here too). With several, the chooser shows each one's open count.
        return HttpResponseRedirect(reverse("staff:inbox", args=[departments[0].pk]))
    open_statuses = [s for s in INBOX_STATUSES if s not in FINISHED_STATUSES]
    counts = dict(
        Application.objects.filter(
            status__in=open_statuses,
            procedure__departments__in=[d.pk for d in departments],
        )
        .values("procedure__departments")
        .annotate(n=Count("pk"))
        .values_list("procedure__departments", "n")
    )
    for department in departments:
        department.open_count = counts.get(department.pk, 0)
    return render(
        request,
        "applications/staff/departments.html",
        {
            "departments": departments,
            "several_municipalities": len({d.municipality_id for d in departments}) > 1,
        },
    )


def _has_several_departments(user, known: list) -> bool:
    """Whether /staff/ offers a choice (it sends a member of one department to its inbox).
    Only the memberships that see applications count: the chooser lists no department of a
    様式作成者 membership."""
    if len(known) > 1:
        return True
    rows = seeing_memberships(user)
    if any(m.department_id is None for m in rows):
        return len(staff_departments(user)) > 1
    return len({m.department_id for m in rows}) > 1


class ProcedureChoice(NamedTuple):
    """A procedure of the filter's list (only what the list shows: a procedure row carries
    its whole public description)."""

    pk: int
    name: str


def _department_procedures(department):
    return (
        Procedure.objects.filter(departments=department)
        .order_by("reading", "pk")
        .values_list("pk", "name")
    )


def _departments_procedures(departments):
    return (
        Procedure.objects.filter(departments__in=departments)
        .distinct()
        .order_by("reading", "pk")
        .values_list("pk", "name", "reading")
    )


# Their SQL compiled once per process (madoguchi.core.prepared): built at every display of
# the inbox; the rows are read each time.
_procedures_of_department = PreparedQuery(Procedure, _department_procedures, ("department",))
_procedures_of_departments = PreparedQuery(Procedure, _departments_procedures, ("departments",))


def _procedures_for(user, department) -> list[ProcedureChoice]:
    """The procedures of the filter's list: those of `department`, else of every department
    whose inbox the user may open."""
    if department is not None:
        rows = _procedures_of_department.rows(department=department.pk)
    else:
        departments = [d.pk for d in staff_departments(user)]
        if not departments:
            return []
        rows = _procedures_of_departments.rows(departments=departments)
    return [ProcedureChoice(row[0], row[1]) for row in rows]


def escape(value) -> str:
    """django.utils.html.escape without its lazy-string wrapper (the same characters)."""
    return html_escape(str(value))


def _rows_html(rows, *, can_handle: bool, procedure_names: dict[int, str]) -> str:
    """The table rows of the page (applications.inbox.InboxRow), built here as one string:
    through the template engine (a variable lookup, an escape and a localize call per cell)
    the 50 rows were the larger part of the request's CPU time. Every value is escaped as the
    template escaped it. `procedure_names`: those of the filter's list; a procedure not in it
    (a municipality-wide member's procedure of no department) is read here."""
    now = timezone.now()
    # The active time zone once for the page (timezone.localtime looks it up per value).
    zone = timezone.get_current_timezone()
    detail = reverse("staff:application_detail", args=[0])[: -len("0/")]
    statuses = {value: escape(str(label)) for value, label in Status.choices}
    channels = {value: escape(str(label)) for value, label in Channel.choices}
    select = _("%(number)sを選択")
    resubmitted = escape(_("再申請"))
    overdue_label = escape(_("期限超過"))
    open_statuses = (Status.RECEIVED, Status.IN_PROGRESS)
    names = {pk: escape(name) for pk, name in procedure_names.items()}
    missing = {row.procedure_id for row in rows} - names.keys()
    if missing:
        found = Procedure.objects.filter(pk__in=missing).values_list("pk", "name")
        names.update({pk: escape(name) for pk, name in found})
    out = []
    for row in rows:
        pk = row.pk
        procedure = names[row.procedure_id]
        overdue = bool(row.due_at and row.due_at < now and not row.is_finished)
        receipt = escape(row.receipt_number)
        check = (
            f'<td class="staff-col-check"><input type="checkbox" name="ids" value="{pk}" '
            f'id="select-{pk}" aria-label="{escape(select % {"number": row.receipt_number})}">'
            "</td>"
            if can_handle
            else ""
        )
        name = escape(row.applicant_name) if row.applicant_name else "—"
        if row.applicant_name_kana:
            name += (
                f'<br><span class="dads-small dads-muted">{escape(row.applicant_name_kana)}</span>'
            )
        status = escape(row.status)
        status_cell = (
            f'<span class="dads-badge dads-badge--{status}">'
            f"{statuses.get(row.status, status)}</span>"
        )
        if row.resubmitted_at and row.status in open_statuses:
            status_cell += (
                f' <span class="dads-badge staff-resubmitted" id="resubmitted-{pk}">'
                f"{resubmitted}</span>"
            )
        assignee = escape(row.assignee_name)
        submitted = (
            row.submitted_at.astimezone(zone).strftime("%Y/%m/%d %H:%M") if row.submitted_at else ""
        )
        if row.due_at:
            due = row.due_at.astimezone(zone).strftime("%Y/%m/%d")
            if overdue:
                due += f' <strong class="staff-overdue">{overdue_label}</strong>'
        else:
            due = "—"
        row_class = ' class="staff-row--overdue"' if overdue else ""
        out.append(
            f'<tr id="row-{pk}"{row_class}>'
            f"{check}"
            f'<td class="staff-nowrap"><a href="{detail}{pk}/" class="staff-receipt-link">'
            f"{receipt}</a></td>"
            f'<td class="staff-nowrap">{submitted}</td>'
            f'<td><span class="staff-col-procedure">{procedure}</span></td>'
            f'<td class="staff-name">{name}</td>'
            f'<td><span class="staff-col-channel">'
            f"{channels.get(row.channel) or escape(row.channel)}</span></td>"
            f"<td>{status_cell}</td>"
            f'<td class="staff-name">{assignee or "—"}</td>'
            f'<td class="staff-nowrap">{due}</td>'
            "</tr>\n"
        )
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped


@staff_required
def inbox(request, department_id=None):
    user = request.user
    department = get_department(user, department_id) if department_id is not None else None
    inbox_filter = InboxFilter.from_query(request.GET)
    procedures = _procedures_for(user, department)
    page = inbox_page(
        user,
        department,
        inbox_filter,
        page_size=PAGE_SIZE,
        # get_department checked the user may open the department: its procedures are
        # those of the filter's list, no second query.
        procedure_ids=[p.pk for p in procedures] if department is not None else None,
    )
    if inbox_filter.q:
        # The 閲覧ログ keeps that a search was made and how, never the searched name.
        log_access(
            request,
            AccessLog.Action.SEARCH,
            municipality=department.municipality_id if department else None,
            object_ref=f"inbox:{department.pk if department else 'all'}",
            search=search_kind(inbox_filter.q),
            results_on_page=len(page.rows),
        )
    handles = can_handle_department(user, department)
    filter_query = inbox_filter.querystring(cursor="")
    departments_for_staff = [department] if department else staff_departments(user)
    status_tabs = [
        {
            "value": value,
            "label": Status(value).label,
            "count": page.counts_by_status.get(value, 0),
            "capped": value in page.capped,
            "selected": value in inbox_filter.statuses,
            "query": inbox_filter.querystring(statuses=(value,), cursor=""),
        }
        for value in INBOX_STATUSES
    ]
    return render(
        request,
        "applications/staff/inbox.html",
        {
            "department": department,
            "can_choose_department": _has_several_departments(user, departments_for_staff),
            "page": page,
            "filter": inbox_filter,
            "filter_query": filter_query,
            "export_url": _export_url(department, filter_query),
            "all_statuses_query": inbox_filter.querystring(statuses=(), cursor=""),
            "next_query": inbox_filter.querystring(cursor=page.next_cursor),
            "prev_query": inbox_filter.querystring(cursor=page.prev_cursor),
            "first_query": inbox_filter.querystring(cursor=""),
            "status_tabs": status_tabs,
            "all_count": sum(page.counts_by_status.values()),
            "all_capped": bool(page.capped),
            # A search's count per status stops at the cap (applications.inbox._counts).
            "cap_label": _("%(count)s件以上") % {"count": f"{SEARCH_COUNT_CAP:,}"},
            "procedure_choices": [(p.pk, p.name) for p in procedures],
            "channels": Channel.choices,
            "sorts": list(SORT_LABELS.items()),
            "can_handle": handles,
            # The bulk form (and its list of staff) is shown only with rows.
            "assignable": assignable_choices(departments_for_staff, exclude=user)
            if handles and page.rows
            else [],
            "bulk_targets": [(s.value, s.label) for s in BULK_STATUS_TARGETS],
            "bulk_url": reverse("staff:inbox_bulk_all")
            if department is None
            else reverse("staff:inbox_bulk", args=[department.pk]),
            "bulk_result": request.session.pop(BULK_RESULT_KEY, None),
            "inbox_url": request.build_absolute_uri(_inbox_url(department)),
            "rows_html": _rows_html(
                page.rows,
                can_handle=handles,
                procedure_names={p.pk: p.name for p in procedures},
            ),
        },
        # A filter value that was refused (shown next to its field) makes the answer a 400.
        status=400 if inbox_filter.errors else 200,
    )


def _selected_ids(values) -> list[int]:
    ids = [parse_db_int(value, minimum=1) for value in values]
    return [pk for pk in ids if pk is not None][:500]


@staff_required
@require_POST
def inbox_bulk(request, department_id=None):
    """担当者の割り当て or 状況の一括変更 for the checked rows of an inbox."""
    user = request.user
    department = get_department(user, department_id) if department_id is not None else None
    if not can_handle_department(user, department):
        raise PermissionDenied
    back_query = InboxFilter.from_query(_back_params(request.POST.get("back", ""))).querystring()
    back_url = _inbox_url(department) + (f"?{back_query}" if back_query else "")
    ids = _selected_ids(request.POST.getlist("ids"))
    action = request.POST.get("action", "")
    result: dict = {"action": action, "changed": [], "refused": [], "error": ""}
    applications = list(
        inbox_scope(user, department)
        .filter(pk__in=ids)
        .select_related("procedure", "municipality")
        .order_by("submitted_at", "pk")
    )
    if not applications:
        result["error"] = _("対象の申請を一覧のチェックボックスで選んでください。")
    elif action == "assign":
        choice = request.POST.get("assignee", "")
        if choice == "me":
            assignee = user
        elif choice == "none":
            assignee = None
        else:
            assignee = next(
                (
                    u
                    for u in assignable_staff(
                        [department] if department else staff_departments(user)
                    )
                    if str(u.pk) == choice
                ),
                False,
            )
        if assignee is False:
            result["error"] = _("割り当てる職員を選んでください。")
        else:
            outcome = staff_actions.bulk_assign(applications, assignee, user=user)
            result["title"] = (
                _("担当者を「%(name)s」にしました。") % {"name": staff_display_name(assignee)}
                if assignee
                else _("担当者の割り当てを解除しました。")
            )
            result["changed"] = [a.receipt_number for a in outcome.changed]
            result["refused"] = [list(r) for r in outcome.refused]
    elif action == "status":
        to_status = request.POST.get("to_status", "")
        message = request.POST.get("message", "").strip()
        if to_status not in {s.value for s in BULK_STATUS_TARGETS}:
            result["error"] = _("変更後の状況を選んでください。")
        else:
            outcome = staff_actions.bulk_change_status(
                applications, to_status, user=user, message=message
            )
            result["title"] = _("状況を「%(status)s」に変更しました。") % {
                "status": Status(to_status).label
            }
            result["changed"] = [a.receipt_number for a in outcome.changed]
            result["refused"] = [list(r) for r in outcome.refused]
    else:
        result["error"] = _("操作を選んでください。")
    request.session[BULK_RESULT_KEY] = result
    return HttpResponseRedirect(back_url)


def _back_params(query: str):
    from django.http import QueryDict

    return QueryDict(query[:2000])
