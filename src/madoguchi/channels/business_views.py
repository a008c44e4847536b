"""The business portal (代理申請): registered businesses such as 介護事業所 file applications
for residents and follow them (seed §7.2).

Members log in with a password (Django auth through django-axes, so repeated failures lock the
account; two-factor authentication is optional for them). They see only the applications their
business filed; anything else is a 404. The form pages are the portal's form engine, reached by
application id behind the login instead of a resume token (see `entry`).
"""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.db.models import OuterRef, Subquery
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from madoguchi.applications import services
from madoguchi.applications.models import ApplicationEvent, Status
from madoguchi.catalog.models import Procedure
from madoguchi.formengine.display import review_sections

from . import access, entry

LAYOUT = "channels/business/base.html"


class BusinessLoginView(auth_views.LoginView):
    template_name = "channels/business/login.html"
    next_page = reverse_lazy("business:home")
    redirect_authenticated_user = False


class BusinessLogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("business:login")


def _pages() -> entry.EntryPages:
    return entry.EntryPages(
        step_url=lambda app, key: reverse("business:step", args=[app.pk, key]),
        confirm_url=lambda app: reverse("business:confirm", args=[app.pk]),
        leave_url=lambda app: reverse("business:home"),
        layout=LAYOUT,
        submit_label=_("この内容で申請する"),
        save_label=_("一時保存して一覧に戻る"),
    )


def _last_message():
    return Subquery(
        ApplicationEvent.objects.filter(
            application=OuterRef("pk"), kind=ApplicationEvent.Kind.MESSAGE
        )
        .order_by("-created_at", "-pk")
        .values("message")[:1]
    )


def _last_message_at():
    return Subquery(
        ApplicationEvent.objects.filter(
            application=OuterRef("pk"), kind=ApplicationEvent.Kind.MESSAGE
        )
        .order_by("-created_at", "-pk")
        .values("created_at")[:1]
    )


STATUS_FILTERS = [(value, label) for value, label in Status.choices if value != Status.DRAFT]


@never_cache
@require_GET
@access.business_required
def home(request):
    """The cases the business filed, newest first, with a filter by status; unfinished
    drafts separately so they can be continued."""
    status = request.GET.get("status", "")
    if status not in dict(STATUS_FILTERS):
        status = ""
    cases = (
        access.business_applications(request.user)
        .exclude(status=Status.DRAFT)
        .select_related("procedure", "proxy_business", "proxy_user")
        .annotate(last_message=_last_message(), last_message_at=_last_message_at())
        .order_by("-submitted_at", "-pk")
    )
    if status:
        cases = cases.filter(status=status)
    drafts = (
        access.business_applications(request.user)
        .filter(status=Status.DRAFT)
        .select_related("procedure")
        .order_by("-updated_at")[:50]
    )
    return render(
        request,
        "channels/business/home.html",
        {
            "businesses": request.businesses,
            "cases": cases[:200],
            "drafts": drafts,
            "status": status,
            "status_filters": STATUS_FILTERS,
        },
    )


@never_cache
@require_GET
@access.business_required
def case(request, pk):
    """One case: status, the history the applicant sees (never internal notes) and the
    messages from the municipality, and what was sent."""
    application = access.get_business_application(request.user, pk, draft=False)
    form = application.form_version.form
    history = services.status_history(application)
    return render(
        request,
        "channels/business/case.html",
        {
            "application": application,
            "procedure": application.procedure,
            "history": history,
            "messages_from_municipality": [
                e for e in history if e.kind == ApplicationEvent.Kind.MESSAGE
            ],
            "sections": review_sections(form, application.answers),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
@access.business_required
def new(request):
    """「新しい代理申請」: choose a procedure that accepts proxy filing."""
    choices = [
        (business, list(access.proxy_procedures(business))) for business in request.businesses
    ]
    error = ""
    status = 200
    if request.method == "POST":
        business = _chosen_business(request)
        procedure = _chosen_procedure(request, business)
        try:
            application, _token = services.start_draft(
                procedure, proxy_business=business, proxy_user=request.user
            )
        except services.ApplicationStateError as exc:
            error = exc.message
            status = 400
        else:
            _form, steps = entry.visible_steps(application)
            return redirect("business:step", application.pk, steps[0].key)
    return render(
        request,
        "channels/business/new.html",
        {"choices": choices, "error": error, "several": len(choices) > 1},
        status=status,
    )


def _chosen_business(request):
    value = request.POST.get("business", "")
    businesses = request.businesses
    if not value and len(businesses) == 1:
        return businesses[0]
    for business in businesses:
        if str(business.pk) == value:
            return business
    raise Http404("business")


def _chosen_procedure(request, business):
    """The chosen procedure of the business's municipality (open, published). Whether it
    accepts proxy filing is checked by `services.start_draft`, which refuses with a message."""
    value = request.POST.get("procedure", "")
    procedure = (
        Procedure.objects.for_municipality(business.municipality)
        .open_now()
        .filter(pk=value if value.isdigit() else None)
        .first()
    )
    if procedure is None:
        raise Http404("procedure")
    return procedure


@never_cache
@require_http_methods(["GET", "POST"])
@access.business_required
def step(request, pk, step_key):
    application = access.get_business_application(request.user, pk, draft=True)
    return entry.step_page(request, application, step_key, _pages())


@never_cache
@require_http_methods(["GET", "POST"])
@access.business_required
def confirm(request, pk):
    application = access.get_business_application(request.user, pk, draft=True)

    def on_submit(submitted, _status_token):
        messages.success(
            request,
            _("申請を受け付けました。受付番号は %(number)s です。")
            % {"number": submitted.receipt_number},
        )
        return redirect("business:case", submitted.pk)

    return entry.confirm_page(request, application, _pages(), on_submit=on_submit)
