"""送信状況 for 管理者 (/staff/outbox/): the messages that failed for good (after every retry,
e.g. a long mail outage) with their errors, and 「すべて再送」 to start them all again.

A 管理者 sees the messages of the municipalities they administer; messages of no
municipality (platform mail) are the operator's, in the Django admin. Nothing of a message's
content (addresses, names) is shown: kind, reference, attempts and the error only.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from madoguchi.tenants.decorators import admin_required
from madoguchi.tenants.permissions import admin_municipality_ids

from . import resend as resending

PAGE_SIZE = 100


@admin_required
def failed_list(request):
    municipality_ids = admin_municipality_ids(request.user)
    failed = resending.failed_in(municipality_ids).select_related("municipality")
    page = Paginator(failed.order_by("pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "outbox/failed.html",
        {"page": page, "several_municipalities": len(municipality_ids) > 1},
    )


@admin_required
@require_POST
def resend_all(request):
    count = resending.resend(
        resending.failed_in(admin_municipality_ids(request.user)), user=request.user
    )
    if count:
        messages.success(
            request,
            _("送信に失敗していた%(n)s件を再送します。結果はこの画面で確認できます。")
            % {"n": count},
        )
    else:
        messages.info(request, _("再送するメッセージはありません。"))
    return redirect("outbox:failed")
