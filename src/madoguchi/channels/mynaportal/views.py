"""Staff page: the マイナポータル connections of the user's municipalities and 「今すぐ取得」."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from madoguchi.channels.models import MynaportalConnection, QuarantinedPackage
from madoguchi.tenants import permissions
from madoguchi.tenants.decorators import handler_required
from madoguchi.tenants.models import StaffMembership

from . import checking
from .pull import pull


def _handled_municipality_ids(user) -> list[int]:
    return sorted(
        {
            m.municipality_id
            for m in permissions.memberships(user)
            if m.role in (StaffMembership.Role.ADMIN, StaffMembership.Role.HANDLER)
        }
    )


@never_cache
@require_GET
@handler_required
def index(request):
    ids = _handled_municipality_ids(request.user)
    connections = list(
        MynaportalConnection.objects.filter(municipality_id__in=ids).select_related("municipality")
    )
    quarantined = QuarantinedPackage.objects.filter(
        municipality_id__in=ids, state=QuarantinedPackage.State.QUARANTINED
    ).count()
    return render(
        request,
        "channels/mynaportal/index.html",
        {"connections": connections, "quarantined": quarantined},
    )


@require_POST
@handler_required
def pull_now(request):
    ids = _handled_municipality_ids(request.user)
    connections = MynaportalConnection.objects.filter(
        municipality_id__in=ids, is_active=True
    ).select_related("municipality")
    if not connections:
        messages.warning(request, _("マイナポータル接続設定がありません。"))
    try:
        for connection in connections:
            result = pull(connection)
            level = (
                messages.SUCCESS if not (result.failed or result.quarantined) else messages.WARNING
            )
            messages.add_message(
                request, level, f"{connection.municipality.name}: {result.summary()}"
            )
    finally:
        # A web server process does not keep verification workers between button presses
        # (a Celery worker, which pulls every 5 minutes, does).
        checking.shutdown()
    return redirect("mynaportal:index")
