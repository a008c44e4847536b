"""The business portal (代理申請): registered businesses such as 介護事業所 file applications
for residents and follow them.

Members log in with a password (Django auth through django-axes, so repeated failures lock the
account; two-factor authentication is optional for them). They see only the applications their
business filed; anything else is a 404. The form pages are the portal's form engine, reached by
application id behind the login instead of a resume token (see `entry`).
"""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from madoguchi.applications import lifecycle, services
from madoguchi.applications.models import Status
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


def _leave_url(application) -> str:
    """A correction in progress is continued from its case page; a draft from the list."""
    if services.is_correction(application):
        return reverse("business:application", args=[application.pk])
    return reverse("business:home")


def _pages() -> entry.EntryPages:
    return entry.EntryPages(
        step_url=lambda app, key: reverse("business:step", args=[app.pk, key]),
        confirm_url=lambda app: reverse("business:confirm", args=[app.pk]),
        leave_url=_leave_url,
        layout=LAYOUT,
        submit_label=_("この内容で申請する"),
        save_label=_("一時保存して一覧に戻る"),
    )


STATUS_FILTERS = [(value, label) for value, label in Status.choices if value != Status.DRAFT]


@never_cache
@require_GET
@access.business_required
def home(request):
    """The applications the business filed, newest first, with a filter by status; unfinished
    drafts separately so they can be continued."""
    status = request.GET.get("status", "")
    if status not in dict(STATUS_FILTERS):
        status = ""
    applications = (
        access.business_applications(request.user)
        .exclude(status=Status.DRAFT)
        .select_related("procedure", "proxy_business", "proxy_user")
        .order_by("-submitted_at", "-pk")
    )
    applications = services.with_latest_notice(applications)
    if status:
        applications = applications.filter(status=status)
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
            "applications": applications[:200],
            "drafts": drafts,
            "status": status,
            "status_filters": STATUS_FILTERS,
        },
    )


@never_cache
@require_GET
@access.business_required
def application_detail(request, pk):
    """One case: status, the municipality's notices (the latest first: what to correct when
    it is 要再申請, every message), the history the applicant sees (never internal notes),
    what was sent, and what the business can do now (correct and resubmit, withdraw)."""
    application = access.get_business_application(request.user, pk, draft=False)
    form = application.form_version.form
    return render(
        request,
        "channels/business/application.html",
        {
            "application": application,
            "procedure": application.procedure,
            "history": services.status_history(application),
            "notices": services.notices(application),
            **entry.correction_context(application),
            "sections": review_sections(form, application.answers),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
@access.business_required
def withdraw(request, pk):
    """取り下げ of a case the business filed: a confirmation page, then the withdrawal."""
    application = access.get_business_application(request.user, pk, draft=False)
    application_url = reverse("business:application", args=[application.pk])
    context = {"application": application, "procedure": application.procedure}
    if not application.can_withdraw:
        context["not_allowed"] = _("この申請は「%(status)s」のため、取り下げできません。") % {
            "status": application.get_status_display()
        }
        status = 409 if request.method == "POST" else 200
        return render(request, "channels/business/withdraw.html", context, status=status)
    if request.method == "POST":
        reason = request.POST.get("reason", "").strip()[:2000]
        try:
            lifecycle.withdraw(
                application, reason=reason, actor=lifecycle.Actor.business(request.user)
            )
        except services.ApplicationStateError as exc:
            context["not_allowed"] = exc.message
            return render(request, "channels/business/withdraw.html", context, status=409)
        messages.success(request, _("申請を取り下げました。"))
        return redirect(application_url)
    return render(request, "channels/business/withdraw.html", context)


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
    application = access.get_business_application(request.user, pk, editable=True)
    return entry.step_page(request, application, step_key, _pages())


@never_cache
@require_http_methods(["GET", "POST"])
@access.business_required
def confirm(request, pk):
    """The confirmation page of a draft (submit) or of a correction (resubmit)."""
    application = access.get_business_application(request.user, pk, editable=True)

    def on_submit(submitted, _status_token):
        if submitted.resubmitted_at:  # a first submission never has one
            text = _("再申請を受け付けました。受付番号は %(number)s です。")
        else:
            text = _("申請を受け付けました。受付番号は %(number)s です。")
        messages.success(request, text % {"number": submitted.receipt_number})
        return redirect("business:application", submitted.pk)

    return entry.confirm_page(request, application, _pages(), on_submit=on_submit)
