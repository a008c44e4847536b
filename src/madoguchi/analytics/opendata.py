"""Open data: online-procedure status across the catalogue (docs/opendata.md).

Public, no login: per procedure only counts by channel (small counts suppressed), never any
case. UTF-8 with BOM, CRLF, a header row; one row per procedure.
"""

from __future__ import annotations

import datetime as dt
import io

from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone

from madoguchi.applications.models import Application, Channel
from madoguchi.catalog.models import Procedure
from madoguchi.core.csvfile import CsvWriter
from madoguchi.jp.fiscal_year import fiscal_year_period, last_complete_fiscal_year
from madoguchi.tenants.models import Municipality

from .figures import CHANNELS, tz
from .tables import SUPPRESS_BELOW, SUPPRESSED

HEADER = [
    "団体コード",
    "団体名",
    "手続識別子",
    "手続名",
    "分類",
    "オンライン申請",
    "集計期間開始",
    "集計期間終了",
    "電子申請（ポータル）件数",
    "マイナポータル件数",
    "窓口件数",
    "紙件数",
    "合計件数",
    "オンライン件数",
    "オンライン利用率",
]


def _count(n: int) -> str:
    return SUPPRESSED if 0 < n < SUPPRESS_BELOW else str(n)


def rows(municipality: Municipality, start: dt.date, end: dt.date) -> list[list[str]]:
    start_at = dt.datetime.combine(start, dt.time.min, tzinfo=tz())
    end_at = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz())
    counts: dict[int, dict[str, int]] = {}
    for pid, channel, n in (
        Application.objects.filter(
            municipality=municipality, submitted_at__gte=start_at, submitted_at__lt=end_at
        )
        .values_list("procedure_id", "channel")
        .annotate(n=Count("id"))
        .order_by()
    ):
        counts.setdefault(pid, {})[channel] = n
    procedures = Procedure.objects.filter(municipality=municipality).filter(
        Q(is_published=True) | Q(pk__in=list(counts))
    )
    out = []
    for procedure in procedures.order_by("category", "reading", "pk"):
        c = counts.get(procedure.pk, {})
        values = [c.get(ch.value, 0) for ch in CHANNELS]
        total = sum(values)
        online = c.get(Channel.PORTAL, 0) + c.get(Channel.MYNAPORTAL, 0)
        if total == 0:
            online_rate = ""
        elif total < SUPPRESS_BELOW:
            online_rate = SUPPRESSED
        else:
            online_rate = f"{online / total * 100:.1f}"
        out.append(
            [
                municipality.lg_code,
                municipality.name,
                procedure.slug,
                procedure.name,
                procedure.get_category_display(),
                "1" if procedure.is_open() else "0",
                start.isoformat(),
                end.isoformat(),
                *(_count(v) for v in values),
                _count(total),
                _count(online),
                online_rate,
            ]
        )
    return out


def online_procedures(request, lg_code: str):
    municipality = get_object_or_404(Municipality, lg_code=lg_code)
    fiscal = request.GET.get("fiscal_year", "")
    if fiscal:
        if not (fiscal.isdigit() and 2000 <= int(fiscal) <= 2100):
            raise Http404("fiscal_year")
        year = int(fiscal)
    else:
        year = last_complete_fiscal_year(timezone.localdate())
    start, end = fiscal_year_period(year)
    raw = io.BytesIO()
    writer = CsvWriter(raw, "utf-8-sig")
    writer.write_row(HEADER)
    for row in rows(municipality, start, end):
        writer.write_row(row)
    writer.close()
    response = HttpResponse(raw.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{lg_code}_online_procedures_FY{year}.csv"'
    )
    response["Access-Control-Allow-Origin"] = "*"
    return response
