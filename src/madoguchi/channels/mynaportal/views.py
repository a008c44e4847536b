"""Staff page: the マイナポータル connections of the user's municipalities and 「今すぐ取得」."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from madoguchi.channels.models import MynaportalConnection, PullRun, QuarantinedPackage
from madoguchi.tenants import permissions
from madoguchi.tenants.decorators import handler_required
from madoguchi.tenants.models import StaffMembership

from . import config_check
from .pull import start_pull

RECENT_RUNS = 10


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
    runs = list(
        PullRun.objects.filter(municipality_id__in=ids)
        .select_related("municipality", "requested_by")
        .order_by("-created_at", "-pk")[:RECENT_RUNS]
    )
    quarantined = QuarantinedPackage.objects.filter(
        municipality_id__in=ids, state=QuarantinedPackage.State.QUARANTINED
    ).count()
    trust = config_check.trust_findings(timezone.now())
    return render(
        request,
        "channels/mynaportal/index.html",
        {
            "connections": [(c, config_check.check(c, trust=trust)) for c in connections],
            "runs": runs,
            "running": any(run.running for run in runs),
            "quarantined": quarantined,
        },
    )


@require_POST
@handler_required
def pull_now(request):
    """Start a background pull of every active connection the user handles; the page then
    shows each run's progress (it never runs inside this request)."""
    ids = _handled_municipality_ids(request.user)
    connections = MynaportalConnection.objects.filter(
        municipality_id__in=ids, is_active=True
    ).select_related("municipality")
    if not connections:
        messages.warning(request, _("マイナポータル接続設定がありません。"))
    for connection in connections:
        _run, started = start_pull(connection, user=request.user)
        text = (
            _("%(name)s: 取得を開始しました。進み具合と結果は下の一覧に表示されます。")
            if started
            else _("%(name)s: 取得中です。終わるまでお待ちください。")
        )
        messages.info(request, text % {"name": connection.municipality.name})
    return redirect("mynaportal:index")
