"""閲覧ログの検索 (管理者 only): by date range, member of staff, action and 受付番号; the result
can be downloaded as CSV (that download is itself logged as an export).

Only the log rows of the municipalities the user administers are searched; anyone who is not
a 管理者 gets a 404 (the page does not exist for them).
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from dataclasses import dataclass

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.core import csvfile
from madoguchi.core.boundary import (
    FILTER_DATE_MAX,
    FILTER_DATE_MIN,
    FilterDateError,
    parse_filter_date,
)
from madoguchi.tenants.decorators import staff_required
from madoguchi.tenants.models import Municipality
from madoguchi.tenants.permissions import admin_municipality_ids

from .log import log_access
from .models import AccessLog

PAGE_SIZE = 50


def _date(value: str, name: str, errors: dict) -> dt.date | None:
    """The date of filter parameter `name`; a malformed or out-of-range one is recorded in
    `errors` and ignored."""
    try:
        day = parse_filter_date(value)
    except FilterDateError:
        bounds = {"min": FILTER_DATE_MIN.isoformat(), "max": FILTER_DATE_MAX.isoformat()}
        if name == "date_from":
            message = _("期間（から）は %(min)s から %(max)s までの日付で入力してください。")
        else:
            message = _("期間（まで）は %(min)s から %(max)s までの日付で入力してください。")
        errors[name] = message % bounds
        return None
    if (value or "").strip() and day is None:
        if name == "date_from":
            errors[name] = _("期間（から）は 2026-04-01 の形で入力してください。")
        else:
            errors[name] = _("期間（まで）は 2026-04-30 の形で入力してください。")
    return day


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


@dataclass(slots=True)
class AuditSearch:
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    user: str = ""
    action: str = ""
    receipt_number: str = ""
    errors: dict | None = None

    @classmethod
    def from_query(cls, query) -> AuditSearch:
        errors: dict[str, str] = {}
        raw_from, raw_to = query.get("date_from", ""), query.get("date_to", "")
        date_from = _date(raw_from, "date_from", errors)
        date_to = _date(raw_to, "date_to", errors)
        if date_from and date_to and date_from > date_to:
            errors["date_to"] = _("期間（まで）は期間（から）以降の日付にしてください。")
        action = query.get("action", "")
        if action not in AccessLog.Action.values:
            action = ""
        receipt = unicodedata.normalize("NFKC", query.get("receipt_number", "")).strip()
        user = unicodedata.normalize("NFKC", query.get("user", "")).strip()
        return cls(date_from, date_to, user[:150], action, receipt[:20], errors)

    def apply(self, qs: QuerySet) -> QuerySet:
        if self.date_from:
            qs = qs.filter(created_at__gte=_midnight(self.date_from))
        if self.date_to:
            qs = qs.filter(created_at__lt=_midnight(self.date_to + dt.timedelta(days=1)))
        if self.user:
            qs = qs.filter(user__username__icontains=self.user)
        if self.action:
            qs = qs.filter(action=self.action)
        if self.receipt_number:
            qs = qs.filter(receipt_number=self.receipt_number)
        return qs

    def as_detail(self) -> dict:
        return {
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
            "user": self.user,
            "action": self.action,
            "receipt_number": self.receipt_number,
        }


def _search(request) -> tuple[AuditSearch, QuerySet, set[int]]:
    municipality_ids = admin_municipality_ids(request.user)
    if not municipality_ids:
        raise Http404("not an administrator")
    search = AuditSearch.from_query(request.GET)
    qs = AccessLog.objects.filter(municipality_id__in=municipality_ids).select_related("user")
    return search, search.apply(qs).order_by("-created_at", "-pk"), municipality_ids


@staff_required
def log_search(request):
    search, qs, _ids = _search(request)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/search.html",
        {
            "search": search,
            "page": page,
            "query": query.urlencode(),
            "actions": AccessLog.Action.choices,
        },
        # A filter value that was refused (shown next to its field) makes the answer a 400.
        status=400 if search.errors else 200,
    )


def _csv_rows(qs: QuerySet):
    yield [_("日時"), _("職員"), _("操作"), _("受付番号"), _("対象"), _("接続元"), _("詳細")]
    actions = {value: str(label) for value, label in AccessLog.Action.choices}
    rows = qs.values_list(
        "created_at",
        "user__username",
        "action",
        "receipt_number",
        "object_ref",
        "ip_address",
        "detail",
    )
    for created_at, username, action, receipt, ref, ip, detail in rows.iterator(chunk_size=2000):
        yield [
            timezone.localtime(created_at).strftime("%Y-%m-%d %H:%M:%S"),
            username or "",
            actions.get(action, action),
            receipt,
            ref,
            ip or "",
            json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else "",
        ]


@staff_required
def log_download(request):
    """The search result as CSV (UTF-8 with BOM), streamed row by row."""
    search, qs, municipality_ids = _search(request)
    for municipality in Municipality.objects.filter(pk__in=municipality_ids):
        log_access(
            request,
            AccessLog.Action.EXPORT,
            municipality=municipality,
            object_ref="audit-log",
            filters=search.as_detail(),
        )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(
        csvfile.stream(_csv_rows(qs)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="access-log-{stamp}.csv"'
    return response
