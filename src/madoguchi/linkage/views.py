"""File linkage screens (/staff/linkage/).

Who sees what (anything else is 404, never 403):

- a layout, its batches and its result imports: the 管理者 of the layout's municipality, and
  a 担当者 of a department that handles the layout's procedure (a municipality-wide 担当者
  too). They may run a batch, download its file and manifest, and import a result file.
  A 閲覧者 changes nothing and gets none of these pages.
- creating and editing a layout: the 管理者 of the municipality only.

Starting a batch and downloading its file are in the 閲覧ログ (`export`,
`download_export`, object ``linkage-batch:<id>``).
"""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from madoguchi.audit.log import log_access
from madoguchi.audit.models import AccessLog
from madoguchi.catalog.models import Procedure
from madoguchi.core.jobs import dispatch
from madoguchi.tenants.decorators import admin_required, handler_required
from madoguchi.tenants.permissions import Role, admin_municipality_ids, is_admin, memberships

from . import results, runner
from .forms import LayoutForm, ResultImportForm
from .models import Batch, Layout, ResultImport
from .tasks import run_import

MAX_ACTIVE = 3


def visible_layouts(user):
    """Layouts the user may open: 管理者 of the municipality, or 担当者 of the procedure."""
    scope = Q(pk__in=[])
    for m in memberships(user):
        if m.role == Role.ADMIN or (m.role == Role.HANDLER and m.department_id is None):
            scope |= Q(municipality_id=m.municipality_id)
        elif m.role == Role.HANDLER:
            scope |= Q(municipality_id=m.municipality_id, procedure__departments=m.department_id)
    return Layout.objects.filter(scope).distinct()


def _layout(request, layout_id: int) -> Layout:
    layout = (
        visible_layouts(request.user)
        .select_related("procedure", "municipality", "procedure__current_version")
        .filter(pk=layout_id)
        .first()
    )
    if layout is None:
        raise Http404
    return layout


def _batch(request, batch_id: int) -> Batch:
    batch = (
        Batch.objects.select_related("layout", "layout__procedure", "requested_by")
        .filter(pk=batch_id, layout__in=visible_layouts(request.user))
        .first()
    )
    if batch is None:
        raise Http404
    return batch


def _import(request, import_id: int) -> ResultImport:
    job = (
        ResultImport.objects.select_related("layout", "layout__procedure", "uploaded_by")
        .filter(pk=import_id, layout__in=visible_layouts(request.user))
        .first()
    )
    if job is None:
        raise Http404
    return job


def _admin_procedures(user):
    return (
        Procedure.objects.filter(municipality_id__in=admin_municipality_ids(user))
        .select_related("municipality")
        .order_by("municipality_id", "name")
    )


@handler_required
def layout_list(request):
    layouts = visible_layouts(request.user).select_related("procedure", "municipality")
    return render(
        request,
        "linkage/layout_list.html",
        {"layouts": layouts, "can_create": bool(admin_municipality_ids(request.user))},
    )


@admin_required
@require_http_methods(["GET", "POST"])
def layout_new(request):
    procedures = _admin_procedures(request.user)
    form = LayoutForm(
        request.POST if request.method == "POST" else None,
        procedures=procedures,
        instance=Layout(created_by=request.user),
    )
    if request.method == "POST" and form.is_valid():
        layout = form.save()
        messages.success(request, _("連携ファイルの様式を登録しました。"))
        return HttpResponseRedirect(reverse("linkage:layout_detail", args=[layout.pk]))
    return render(
        request,
        "linkage/layout_form.html",
        {"form": form, "layout": None, "procedures": procedures},
        status=400 if form.errors else 200,
    )


@admin_required
@require_http_methods(["GET", "POST"])
def layout_edit(request, layout_id: int):
    layout = _layout(request, layout_id)
    if not is_admin(request.user, layout.municipality_id):
        raise Http404
    form = LayoutForm(request.POST if request.method == "POST" else None, instance=layout)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("連携ファイルの様式を保存しました。"))
        return HttpResponseRedirect(reverse("linkage:layout_detail", args=[layout.pk]))
    return render(
        request,
        "linkage/layout_form.html",
        {"form": form, "layout": layout},
        status=400 if form.errors else 200,
    )


def _field_keys(layout: Layout) -> list[tuple[str, str]]:
    version = layout.procedure.current_version
    try:
        form = version.form if version else None
    except Exception:
        form = None
    if form is None:
        return []
    keys = []
    for f in form.all_fields():
        if f.type == "notice":
            continue
        if f.parent is not None:
            keys.append((f"{f.parent.key}.1.{f.key}", f"{f.parent.label} 1件目 {f.label}"))
        else:
            keys.append((f.key, f.label))
    return keys


@handler_required
def layout_detail(request, layout_id: int):
    layout = _layout(request, layout_id)
    return render(
        request,
        "linkage/layout_detail.html",
        {
            "layout": layout,
            "can_edit": is_admin(request.user, layout.municipality_id),
            "pending": runner.candidates(layout).count(),
            "batches": layout.batches.select_related("requested_by")[:20],
            "imports": layout.imports.select_related("uploaded_by")[:20],
            "columns_text": _columns_for_display(layout),
            "field_keys": _field_keys(layout),
            "import_form": ResultImportForm(),
        },
    )


def _columns_for_display(layout: Layout) -> str:
    from .spec import render as render_columns

    return render_columns(layout.columns)


@handler_required
@require_POST
def batch_start(request, layout_id: int):
    layout = _layout(request, layout_id)
    if not layout.is_active:
        messages.error(request, _("この様式は無効にしてあるため、作成できません。"))
        return HttpResponseRedirect(reverse("linkage:layout_detail", args=[layout.pk]))
    active = layout.batches.filter(state__in=[Batch.State.QUEUED, Batch.State.RUNNING]).count()
    if active >= MAX_ACTIVE:
        messages.error(
            request, _("作成中のファイルがあります。終わってから、もう一度お試しください。")
        )
        return HttpResponseRedirect(reverse("linkage:layout_detail", args=[layout.pk]))
    batch = runner.start(layout, trigger=Batch.Trigger.MANUAL, user=request.user)
    log_access(
        request,
        AccessLog.Action.EXPORT,
        municipality=layout.municipality,
        object_ref=f"linkage-batch:{batch.pk}",
        layout=layout.pk,
    )
    return HttpResponseRedirect(reverse("linkage:batch_detail", args=[batch.pk]))


@handler_required
def batch_detail(request, batch_id: int):
    batch = _batch(request, batch_id)
    return render(request, "linkage/batch_detail.html", {"batch": batch, "layout": batch.layout})


def _stored(request, batch: Batch, stored, *, filename: str, content_type: str):
    if batch.state != Batch.State.DONE or not stored:
        raise Http404
    log_access(
        request,
        AccessLog.Action.DOWNLOAD_EXPORT,
        municipality=batch.layout.municipality,
        object_ref=f"linkage-batch:{batch.pk}",
        rows=batch.exported,
    )
    return FileResponse(
        stored.open("rb"), as_attachment=True, filename=filename, content_type=content_type
    )


@handler_required
def batch_download(request, batch_id: int):
    batch = _batch(request, batch_id)
    name = (batch.manifest or {}).get("file") or f"linkage-{batch.pk}.{batch.layout.extension}"
    if batch.layout.format == Layout.Format.CSV:
        charset = "Shift_JIS" if batch.layout.encoding == Layout.Encoding.CP932 else "utf-8"
        content_type = f"text/csv; charset={charset}"
    else:
        content_type = "application/octet-stream"
    return _stored(request, batch, batch.file, filename=name, content_type=content_type)


@handler_required
def batch_manifest(request, batch_id: int):
    batch = _batch(request, batch_id)
    name = (batch.manifest or {}).get("file") or f"linkage-{batch.pk}"
    return _stored(
        request,
        batch,
        batch.manifest_file,
        filename=f"{name}.manifest.json",
        content_type="application/json",
    )


@handler_required
@require_POST
def import_new(request, layout_id: int):
    layout = _layout(request, layout_id)
    form = ResultImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(
            request,
            "linkage/import_form.html",
            {"layout": layout, "form": form},
            status=400,
        )
    upload = form.cleaned_data["file"]
    job = ResultImport(
        municipality_id=layout.municipality_id,
        layout=layout,
        uploaded_by=request.user,
        encoding=form.cleaned_data["encoding"],
        original_name=upload.name[:255],
    )
    job.file.save("result.csv", upload, save=False)
    try:
        job.save()
    except BaseException:
        job.file.delete(save=False)  # no stored file without its row
        raise
    dispatch(run_import, job.pk)
    return HttpResponseRedirect(reverse("linkage:import_detail", args=[job.pk]))


@handler_required
def import_detail(request, result_import_id: int):
    job = _import(request, result_import_id)
    return render(request, "linkage/import_detail.html", {"job": job, "layout": job.layout})


@handler_required
def import_report(request, result_import_id: int):
    job = _import(request, result_import_id)
    if job.running:
        raise Http404
    response = HttpResponse(results.report_csv(job), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="linkage-result-{job.pk}-report.csv"'
    return response
