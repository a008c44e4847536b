"""Who may enter applications at the counter (窓口・紙) and file them for residents (代理申請).

Staff: a 管理者 of the municipality, or a 担当者 of a department that handles the procedure
(a municipality-wide 担当者 covers every procedure). 閲覧者 never enter anything. Drafts that
staff entered are reached by id under /staff/counter/, so every request checks these rights
again; anything outside them is a 404 (existence is never revealed).

Businesses: a logged-in member of an active, registered business (tenants.Business) of an
active municipality. A business sees only the applications it filed.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.db.models import Q
from django.http import Http404
from django.urls import reverse

from madoguchi.applications.models import Application, Channel, Status
from madoguchi.catalog.models import Procedure
from madoguchi.tenants.models import Business, StaffMembership
from madoguchi.tenants.permissions import memberships

Role = StaffMembership.Role

STAFF_CHANNELS = (Channel.COUNTER, Channel.PAPER)


# ----------------------------------------------------------------------------- staff


def _entry_scope(user) -> Q:
    """Q over Procedure rows the user may enter applications for."""
    scope = Q(pk__in=[])
    for m in memberships(user):
        if m.role not in {Role.ADMIN, Role.HANDLER}:
            continue
        if m.department_id is None:
            scope |= Q(municipality_id=m.municipality_id)
        else:
            scope |= Q(municipality_id=m.municipality_id, departments=m.department_id)
    return scope


def enterable_procedures(user):
    """Published procedures (with a current form) the user may enter at the counter."""
    return (
        Procedure.objects.filter(_entry_scope(user))
        .filter(is_published=True, current_version__isnull=False, municipality__is_active=True)
        .distinct()
        .select_related("municipality")
        .order_by("municipality__lg_code", "category", "reading", "pk")
    )


def can_enter(user, procedure: Procedure) -> bool:
    return enterable_procedures(user).filter(pk=procedure.pk).exists()


def get_enterable_procedure(user, pk: int) -> Procedure:
    try:
        return enterable_procedures(user).get(pk=pk)
    except Procedure.DoesNotExist as exc:
        raise Http404("procedure") from exc


def get_staff_draft(user, pk: int) -> Application:
    """A counter or paper draft the user may continue (any member of staff with entry rights
    on its procedure, so a colleague can finish it); 404 otherwise."""
    application = (
        Application.objects.filter(pk=pk, status=Status.DRAFT, channel__in=STAFF_CHANNELS)
        .select_related("procedure", "form_version", "municipality")
        .first()
    )
    if application is None or not can_enter(user, application.procedure):
        raise Http404("draft")
    return application


def get_staff_entered(user, pk: int) -> Application:
    """A submitted counter or paper application of a procedure the user may enter."""
    application = (
        Application.objects.submitted()
        .filter(pk=pk, channel__in=STAFF_CHANNELS)
        .select_related("procedure", "form_version", "municipality")
        .first()
    )
    if application is None or not can_enter(user, application.procedure):
        raise Http404("application")
    return application


# ----------------------------------------------------------------------------- businesses


def user_businesses(user) -> list[Business]:
    if not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, "_madoguchi_businesses", None)
    if cached is None:
        cached = list(
            Business.objects.filter(
                members__user=user, is_active=True, municipality__is_active=True
            )
            .select_related("municipality")
            .order_by("municipality__lg_code", "name_kana", "name")
            .distinct()
        )
        user._madoguchi_businesses = cached
    return cached


def business_required(view):
    """A logged-in member of a registered business (two-factor authentication optional).
    Not logged in: the business login page; logged in but no business: 404."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("business:login"))
        businesses = user_businesses(request.user)
        if not businesses:
            raise Http404("not a member of a business")
        request.businesses = businesses
        return view(request, *args, **kwargs)

    return wrapper


def business_applications(user):
    """Applications filed by the user's businesses (drafts included)."""
    ids = [b.pk for b in user_businesses(user)]
    return Application.objects.filter(proxy_business_id__in=ids)


def get_business_application(
    user, pk: int, *, draft: bool | None = None, editable: bool = False
) -> Application:
    """One application of the user's businesses: a draft (`draft=True`), a submitted one
    (`draft=False`), or one the business may edit with the form (`editable`: a draft, or an
    application returned for correction, 要再申請); 404 otherwise."""
    qs = business_applications(user).select_related(
        "procedure", "form_version", "municipality", "proxy_business"
    )
    if editable:
        qs = qs.filter(status__in=[Status.DRAFT, Status.RETURNED])
    elif draft is True:
        qs = qs.filter(status=Status.DRAFT)
    elif draft is False:
        qs = qs.exclude(status=Status.DRAFT)
    application = qs.filter(pk=pk).first()
    if application is None:
        raise Http404("application")
    return application


def proxy_procedures(business: Business):
    """Open procedures of the business's municipality that accept proxy filing."""
    return (
        Procedure.objects.for_municipality(business.municipality)
        .open_now()
        .filter(allows_proxy=True)
        .order_by("category", "reading", "pk")
    )
