"""Counter entry (窓口) and paper registration (紙) by staff, and the list of proxy businesses.

The 手順書 (総務省「自治体の行政手続のオンライン化に係る手順書【第3.0版】」, 7.3 水道使用開始届出等)
asks that when a resident comes to the counter, staff type the application straight into the
same online form, so the back office handles one kind of application whatever the channel. The
form, its steps and its messages are the portal's (see `entry`); only the frame differs.
"""

from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from madoguchi.applications import lifecycle, services
from madoguchi.applications.models import Application, Channel, Status
from madoguchi.applications.receipt_pdf import build_receipt_pdf
from madoguchi.audit.log import log_access
from madoguchi.audit.models import AccessLog
from madoguchi.tenants.decorators import staff_required
from madoguchi.tenants.models import Business
from madoguchi.tenants.permissions import admin_municipality_ids

from . import access, entry, paper

SESSION_STATUS_TOKENS = "counter_status_tokens"

LAYOUT = "channels/staff/base.html"


def _pages() -> entry.EntryPages:
    return entry.EntryPages(
        step_url=lambda app, key: reverse("counter:step", args=[app.pk, key]),
        confirm_url=lambda app: reverse("counter:confirm", args=[app.pk]),
        leave_url=lambda app: reverse("counter:index"),
        layout=LAYOUT,
        submit_label=_("この内容で受け付ける"),
        save_label=_("一時保存して窓口受付の一覧に戻る"),
    )


def _record_entered(application, user, channel) -> None:
    lifecycle.record(
        lifecycle.entered_by_staff_event(application, lifecycle.Actor.staff(user), channel)
    )


def _first_step_url(application) -> str:
    _form, steps = entry.visible_steps(application)
    return reverse("counter:step", args=[application.pk, steps[0].key])


@never_cache
@require_GET
@staff_required
def index(request):
    """Procedures the member of staff may enter, and their own unfinished entries."""
    procedures = list(access.enterable_procedures(request.user))
    drafts = list(
        Application.objects.filter(
            status=Status.DRAFT,
            channel__in=access.STAFF_CHANNELS,
            entered_by=request.user,
            procedure__in=[p.pk for p in procedures],
        )
        .select_related("procedure")
        .order_by("-updated_at")[:50]
    )
    return render(
        request,
        "channels/staff/index.html",
        {
            "procedures": procedures,
            "several_municipalities": len({p.municipality_id for p in procedures}) > 1,
            "drafts": drafts,
            "is_admin": bool(admin_municipality_ids(request.user)),
        },
    )


@require_POST
@staff_required
def start_counter(request, procedure_pk):
    procedure = access.get_enterable_procedure(request.user, procedure_pk)
    try:
        application, _token = services.start_draft(
            procedure, channel=Channel.COUNTER, entered_by=request.user
        )
    except services.ApplicationStateError as exc:
        messages.error(request, exc.message)
        return redirect("counter:index")
    _record_entered(application, request.user, Channel.COUNTER)
    return redirect(_first_step_url(application))


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required
def start_paper(request, procedure_pk):
    """「紙の申請書を登録」: the scanned paper form first, then its contents in the form."""
    procedure = access.get_enterable_procedure(request.user, procedure_pk)
    errors: list = []
    problem = ""
    if request.method == "POST":
        try:
            application, errors = paper.start_paper_draft(
                procedure, user=request.user, files=request.FILES
            )
        except services.ApplicationStateError as exc:
            application, problem = None, exc.message
        if application is not None:
            _record_entered(application, request.user, Channel.PAPER)
            return redirect(_first_step_url(application))
    return render(
        request,
        "channels/staff/paper_start.html",
        {
            "procedure": procedure,
            "errors": errors,
            "problem": problem,
            "fields_html": paper.render_scan_field(errors),
        },
        status=400 if (errors or problem) else 200,
    )


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required
def step(request, pk, step_key):
    application = access.get_staff_draft(request.user, pk)
    return entry.step_page(request, application, step_key, _pages())


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required
def confirm(request, pk):
    application = access.get_staff_draft(request.user, pk)

    def on_submit(submitted, status_token):
        tokens = dict(request.session.get(SESSION_STATUS_TOKENS) or {})
        tokens[str(submitted.pk)] = status_token
        # Only the latest few: the token lets the receipt show the visitor's status page.
        request.session[SESSION_STATUS_TOKENS] = dict(list(tokens.items())[-20:])
        return redirect("counter:done", submitted.pk)

    scan = paper.scan_of(application) if application.channel == Channel.PAPER else None
    return entry.confirm_page(
        request,
        application,
        _pages(),
        on_submit=on_submit,
        extra_errors=paper.missing_scan_errors,
        extra_context={"paper_scan": scan, "staff_entry": True},
    )


def _status_token(request, application) -> str:
    return (request.session.get(SESSION_STATUS_TOKENS) or {}).get(str(application.pk), "")


@never_cache
@require_GET
@staff_required
def done(request, pk):
    application = access.get_staff_entered(request.user, pk)
    return render(
        request,
        "channels/staff/done.html",
        {
            "application": application,
            "procedure": application.procedure,
            "can_print": bool(_status_token(request, application)),
            "paper_scan": paper.scan_of(application),
        },
    )


@never_cache
@require_GET
@staff_required
def receipt_pdf(request, pk):
    """The receipt (申請受付票) to hand to the visitor, with the link to their status page.
    Available in the session that entered the application (the status link exists only
    then: the database keeps just its digest)."""
    application = access.get_staff_entered(request.user, pk)
    token = _status_token(request, application)
    if not token:
        raise Http404("status token")
    status_url = (
        f"{entry._base_url()}"
        f"{reverse('portal:status', args=[application.municipality.lg_code, token])}"
    )
    pdf = build_receipt_pdf(application, status_url=status_url)
    log_access(request, AccessLog.Action.PRINT_APPLICATION, application=application)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{application.receipt_number}.pdf"'
    return response


@never_cache
@require_GET
@staff_required
def business_list(request):
    """Registered proxy businesses (代理申請事業者) of the 管理者's municipalities."""
    municipality_ids = admin_municipality_ids(request.user)
    if not municipality_ids:
        raise Http404("not an admin")
    businesses = (
        Business.objects.filter(municipality_id__in=municipality_ids)
        .select_related("municipality")
        .annotate(member_count=Count("members", distinct=True))
        .annotate(
            application_count=Count(
                "applications",
                filter=~Q(applications__status=Status.DRAFT),
                distinct=True,
            )
        )
        .order_by("municipality__lg_code", "name_kana", "name")
    )
    return render(
        request,
        "channels/staff/business_list.html",
        {
            "businesses": businesses,
            "can_use_admin": request.user.is_staff,
        },
    )
