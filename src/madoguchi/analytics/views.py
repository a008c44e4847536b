"""KPI dashboard (業務改革の指標) for staff, its CSV/XLSX download, marking residents' comments
as handled, and the 管理者's pre-BPR baselines."""

from __future__ import annotations

import datetime as dt
import io

from django import forms
from django.contrib import messages
from django.core.validators import MaxValueValidator, MinValueValidator
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from madoguchi.applications.models import ApplicationEvent
from madoguchi.catalog.models import Procedure
from madoguchi.core.boundary import BIGINT_MAX, FILTER_DATE_MAX, FILTER_DATE_MIN
from madoguchi.core.csvfile import CsvWriter
from madoguchi.exports.writers import XlsxRowWriter
from madoguchi.jp.fiscal_year import fiscal_year_label, fiscal_year_of, fiscal_year_period
from madoguchi.tenants.decorators import staff_required
from madoguchi.tenants.permissions import Role, is_admin, memberships

from . import charts, figures, tables
from .models import FeedbackReview, ProcedureBaseline


class FilterForm(forms.Form):
    # Bounded so that no filter reaches the database as an out-of-range value.
    start = forms.DateField(
        label=gettext_lazy("期間（から）"),
        required=False,
        validators=[MinValueValidator(FILTER_DATE_MIN), MaxValueValidator(FILTER_DATE_MAX)],
    )
    end = forms.DateField(
        label=gettext_lazy("期間（まで）"),
        required=False,
        validators=[MinValueValidator(FILTER_DATE_MIN), MaxValueValidator(FILTER_DATE_MAX)],
    )
    procedure = forms.IntegerField(
        label=gettext_lazy("手続"), required=False, min_value=1, max_value=BIGINT_MAX
    )
    department = forms.IntegerField(
        label=gettext_lazy("担当課"), required=False, min_value=1, max_value=BIGINT_MAX
    )
    municipality = forms.CharField(required=False)


def default_period(today: dt.date) -> tuple[dt.date, dt.date]:
    """The last 12 months including the current one."""
    first = today.replace(day=1)
    for _i in range(11):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return first, today


def _municipality(request, requested: str = ""):
    choices = figures.viewer_municipalities(request.user)
    if not choices:
        raise Http404("no municipality")
    if requested:
        for municipality in choices:
            if municipality.lg_code == requested:
                return municipality, choices
        raise Http404("municipality")
    return choices[0], choices


def filter_refused_message() -> str:
    return _("集計の条件を正しく入力してください（日付は 2026-04-01 の形式）。")


def _scope(request):
    """The period, municipality, department and procedure asked for; `refused` when the
    filters could not be read (out-of-range dates or ids): the page then answers 400 with
    the defaults and a message."""
    form = FilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    municipality, choices = _municipality(request, data.get("municipality") or "")
    start, end = default_period(timezone.localdate())
    start = data.get("start") or start
    end = data.get("end") or end
    errors = []
    refused = bool(request.GET) and not form.is_valid()
    if refused:
        errors.append(filter_refused_message())
    if start > end:
        errors.append(_("期間の開始日は終了日より前にしてください。"))
        start, end = end, start
    if (end - start).days > 366 * 5:
        errors.append(_("期間は5年以内にしてください。"))
        start = end - dt.timedelta(days=366 * 5)
    scope = figures.build_scope(
        request.user,
        municipality,
        start=start,
        end=end,
        department_id=data.get("department"),
        procedure_id=data.get("procedure"),
    )
    return scope, choices, errors, refused


def _filter_query(scope, *, start: dt.date | None = None, end: dt.date | None = None) -> str:
    """The dashboard's filters as a query string (another period when given)."""
    from urllib.parse import urlencode

    params = {
        "municipality": scope.municipality.lg_code,
        "start": (start or scope.start).isoformat(),
        "end": (end or scope.end).isoformat(),
    }
    if scope.department:
        params["department"] = scope.department.pk
    if scope.procedure:
        params["procedure"] = scope.procedure.pk
    return urlencode(params)


def fiscal_year_links(scope, today: dt.date) -> list[dict]:
    """今年度 (so far) and 前年度: the periods municipalities plan and report in."""
    current = fiscal_year_of(today)
    this_start, _this_end = fiscal_year_period(current)
    last_start, last_end = fiscal_year_period(current - 1)
    return [
        {
            "id": "kpi-period-this-fy",
            "label": _("今年度（%(label)s）") % {"label": fiscal_year_label(current)},
            "query": _filter_query(scope, start=this_start, end=today),
        },
        {
            "id": "kpi-period-last-fy",
            "label": _("前年度（%(label)s）") % {"label": fiscal_year_label(current - 1)},
            "query": _filter_query(scope, start=last_start, end=last_end),
        },
    ]


@staff_required
def dashboard(request):
    scope, municipalities, errors, refused = _scope(request)
    data = figures.dashboard(scope)
    table_list = tables.build(data)
    by_key = {t.key: t for t in table_list}
    visible = figures.visible_procedure_ids(request.user, scope.municipality)
    procedures = Procedure.objects.filter(pk__in=visible).order_by("reading")
    can_handle = any(
        m.role in {Role.ADMIN, Role.HANDLER} and m.municipality_id == scope.municipality.pk
        for m in memberships(request.user)
    )
    query = _filter_query(scope)
    return render(
        request,
        "analytics/dashboard.html",
        {
            "scope": scope,
            "figures": data,
            "tables": by_key,
            "chart_data": charts.chart_data(data),
            "municipalities": municipalities,
            "procedures": procedures,
            "departments": figures.visible_departments(request.user, scope.municipality),
            "errors": errors,
            "query": query,
            "fiscal_years": fiscal_year_links(scope, timezone.localdate()),
            "can_handle": can_handle,
            "is_admin": is_admin(request.user, scope.municipality),
            "analytics_municipality": scope.municipality,
        },
        status=400 if refused else 200,
    )


@staff_required
def download(request):
    """?format=csv|xlsx plus the dashboard's filters."""
    file_format = request.GET.get("format", "csv")
    if file_format not in {"csv", "xlsx"}:
        raise Http404("format")
    scope, _municipalities, _errors, refused = _scope(request)
    if refused:
        return HttpResponseBadRequest(
            filter_refused_message(), content_type="text/plain; charset=utf-8"
        )
    table_list = tables.build(figures.dashboard(scope))
    raw = io.BytesIO()
    writer = CsvWriter(raw, "utf-8-sig") if file_format == "csv" else XlsxRowWriter(raw, "KPI")
    write_tables(writer, scope, table_list)
    writer.close()
    name = f"kpi-{scope.municipality.lg_code}-{scope.start:%Y%m%d}-{scope.end:%Y%m%d}.{file_format}"
    content_type = (
        "text/csv; charset=utf-8"
        if file_format == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response = HttpResponse(raw.getvalue(), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def write_tables(writer, scope, table_list) -> None:
    """Every table one after the other: a title row, the header row, the rows (with
    small-count suppression), a blank row."""
    filters = [
        _("団体"),
        f"{scope.municipality.lg_code} {scope.municipality.name}",
        _("期間"),
        f"{scope.start.isoformat()}〜{scope.end.isoformat()}",
        _("担当課"),
        scope.department.name if scope.department else _("すべて"),
        _("手続"),
        scope.procedure.name if scope.procedure else _("すべて"),
    ]
    writer.write_row([_("業務改革の指標"), *filters])
    writer.write_row([_("5件未満の件数と、5件未満から計算した割合・日数は「*」で表示しています。")])
    writer.write_row([])
    for table in table_list:
        writer.write_row([f"■ {table.title}"])
        writer.write_row(list(table.headers))
        for row in table.display_rows(suppress=True):
            writer.write_row(row)
        if table.note:
            writer.write_row([f"※ {table.note}"])
        writer.write_row([])


def _feedback_event(request, event_id: int):
    """A feedback event the user may handle (管理者 or 担当者 over its procedure), else 404."""
    event = (
        ApplicationEvent.objects.filter(pk=event_id, kind=ApplicationEvent.Kind.FEEDBACK)
        .select_related("application", "municipality")
        .first()
    )
    if event is None:
        raise Http404("feedback")
    handlers = [
        m
        for m in memberships(request.user)
        if m.municipality_id == event.municipality_id and m.role in {Role.ADMIN, Role.HANDLER}
    ]
    procedure_id = event.application.procedure_id
    if not any(m.department_id is None for m in handlers):
        departments = {m.department_id for m in handlers}
        if not Procedure.objects.filter(pk=procedure_id, departments__in=departments).exists():
            raise Http404("feedback")
    return event


@staff_required
@require_POST
def feedback_handled(request, event_id: int):
    event = _feedback_event(request, event_id)
    note = (request.POST.get("note") or "").strip()[:1000]
    if request.POST.get("undo"):
        FeedbackReview.objects.filter(event=event).delete()
    else:
        FeedbackReview.objects.update_or_create(
            event=event,
            defaults={
                "municipality_id": event.municipality_id,
                "handled_by": request.user,
                "handled_at": timezone.now(),
                "note": note,
            },
        )
    # No flash message: the comment itself now shows 対応済み / 未対応 where the user is.
    back = request.POST.get("next") or ""
    if not back.startswith(reverse("analytics:dashboard")):
        back = reverse("analytics:dashboard")
    return redirect(back + "#comments")


class BaselineForm(forms.Form):
    procedure = forms.ModelChoiceField(
        label=gettext_lazy("手続"), queryset=Procedure.objects.none()
    )
    minutes_per_case = forms.IntegerField(
        label=gettext_lazy("1件あたりの処理時間（分）"), min_value=0, max_value=100000
    )
    yearly_cases = forms.IntegerField(
        label=gettext_lazy("年間件数"), min_value=0, max_value=100_000_000
    )
    note = forms.CharField(label=gettext_lazy("備考"), required=False, max_length=500)

    def __init__(self, *args, municipality, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["procedure"].queryset = Procedure.objects.filter(
            municipality=municipality
        ).order_by("reading")
        self.fields["procedure"].error_messages["required"] = _("手続を選択してください。")
        for name, f in self.fields.items():
            f.widget.attrs["class"] = "dads-select" if name == "procedure" else "dads-input"
        for name in ("minutes_per_case", "yearly_cases"):
            self.fields[name].error_messages.update(
                {
                    "required": _("%(label)sを入力してください。")
                    % {"label": self.fields[name].label},
                    "invalid": _("%(label)sは整数で入力してください。")
                    % {"label": self.fields[name].label},
                }
            )


@staff_required
def baselines(request):
    municipality, _choices = _municipality(request, request.GET.get("municipality", ""))
    if not is_admin(request.user, municipality):
        raise Http404("not an administrator")
    form = BaselineForm(request.POST or None, municipality=municipality)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        ProcedureBaseline.objects.update_or_create(
            procedure=data["procedure"],
            defaults={
                "municipality": municipality,
                "minutes_per_case": data["minutes_per_case"],
                "yearly_cases": data["yearly_cases"],
                "note": data["note"],
                "updated_by": request.user,
            },
        )
        messages.success(
            request,
            _("「%(procedure)s」の改革前の業務量を保存しました。")
            % {"procedure": data["procedure"].name},
        )
        return redirect(f"{reverse('analytics:baselines')}?municipality={municipality.lg_code}")
    return render(
        request,
        "analytics/baselines.html",
        {
            "form": form,
            "baselines": ProcedureBaseline.objects.filter(municipality=municipality)
            .select_related("procedure", "updated_by")
            .order_by("procedure__reading"),
            "analytics_municipality": municipality,
        },
    )
