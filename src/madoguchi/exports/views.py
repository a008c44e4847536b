"""Export screens: start an export from the inbox, follow its progress, download the file.

- Any member of staff who sees applications (管理者・担当者・閲覧者) may export what their inbox
  shows them; the rows are chosen again in the job from the stored filter and the requester's
  permissions. A 様式作成者 sees no application: these pages do not exist for them (404).
- A job (its page and its file) is visible to the requester (while they see applications of
  its municipality, and of its department when it was started from a department's inbox)
  and to a 管理者 of the same municipality; to anyone else it does not exist (404).
- Starting an export is logged (閲覧ログ `export`, with the filter); each download is logged
  (`download_export`).
"""

from __future__ import annotations

from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from madoguchi.applications.retention import EXPORT_FILE_MAX_AGE_DAYS
from madoguchi.audit.log import log_access
from madoguchi.audit.models import AccessLog
from madoguchi.catalog.models import FormVersion, Procedure
from madoguchi.core.boundary import parse_db_int
from madoguchi.core.jobs import dispatch
from madoguchi.tenants.decorators import staff_required
from madoguchi.tenants.models import Department, Municipality
from madoguchi.tenants.permissions import is_admin, seeing_memberships, staff_departments

from . import runner
from .models import ExportJob
from .tasks import run_export

# A member of staff may have this many exports waiting or running at the same time.
MAX_ACTIVE_JOBS = 3
CONTENT_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _department(request, value) -> Department | None:
    if value in (None, ""):
        return None
    department_id = parse_db_int(value)
    if department_id is None:
        raise Http404("not a department id")
    for department in staff_departments(request.user):
        if department.pk == department_id:
            return department
    raise Http404("department not open to this user")


def _municipality(request, department: Department | None) -> Municipality | None:
    if department is not None:
        return department.municipality
    ids = {m.municipality_id for m in seeing_memberships(request.user)}
    if len(ids) == 1:
        return Municipality.objects.get(pk=ids.pop())
    return None


def allowed_procedures(user, municipality: Municipality, department: Department | None):
    """Procedures whose applications the user may see (of `department` when given)."""
    qs = Procedure.objects.filter(municipality=municipality)
    if department is not None:
        return qs.filter(departments=department).distinct()
    mine = [m for m in seeing_memberships(user) if m.municipality_id == municipality.pk]
    if any(m.department_id is None for m in mine):
        return qs
    return qs.filter(departments__in=[m.department_id for m in mine]).distinct()


def _visible_job(request, job_id: int) -> ExportJob:
    job = (
        ExportJob.objects.select_related("procedure", "form_version", "requested_by")
        .filter(pk=job_id)
        .first()
    )
    if job is None:
        raise Http404
    if is_admin(request.user, job.municipality_id):
        return job
    if job.requested_by_id == request.user.pk and _requester_still_sees(request.user, job):
        return job
    raise Http404


def _requester_still_sees(user, job: ExportJob, open_departments: set[int] | None = None) -> bool:
    """The file holds what the requester saw when it was made: they reach it again while
    they still see applications of its municipality (not once they are only its
    様式作成者) and, for an export of a department's inbox, while they may still open that
    department's inbox (not once moved to another department). `open_departments`: the ids
    of staff_departments(user), when the caller has them."""
    if not any(m.municipality_id == job.municipality_id for m in seeing_memberships(user)):
        return False
    department_id = runner.job_department_id(job)
    if department_id is None:
        return True
    if open_departments is None:
        open_departments = {d.pk for d in staff_departments(user)}
    return str(department_id) in {str(pk) for pk in open_departments}


@staff_required
def job_list(request):
    seeing = {m.municipality_id for m in seeing_memberships(request.user)}
    if not seeing:
        raise Http404("sees no application")
    jobs = ExportJob.objects.filter(
        requested_by=request.user, municipality_id__in=seeing
    ).select_related("procedure", "form_version")[:30]
    # Only the jobs whose page the requester may still open (_visible_job).
    open_departments = {d.pk for d in staff_departments(request.user)}
    jobs = [job for job in jobs if _requester_still_sees(request.user, job, open_departments)]
    return render(request, "exports/job_list.html", {"jobs": jobs})


@staff_required
@require_http_methods(["GET", "POST"])
def new_export(request):
    source = request.POST if request.method == "POST" else request.GET
    department = _department(request, source.get("department"))
    municipality = _municipality(request, department)
    if municipality is None:
        # Member of several municipalities: the export must start from a department inbox.
        raise Http404("no municipality")
    filters = runner.filters_from_query(source)
    for name in ("csrfmiddlewaretoken", "procedure_choice"):
        filters.pop(name, None)
    # Only what the form lists (a procedure row carries its public description, a version
    # its whole form definition: decoding those was most of the start's time).
    procedures = list(
        allowed_procedures(request.user, municipality, department).only(
            "name", "municipality", "category", "reading"
        )
    )
    versions = list(
        FormVersion.objects.filter(procedure__in=procedures, status=FormVersion.Status.PUBLISHED)
        .select_related("procedure")
        .only("number", "procedure__name", "procedure__municipality", "procedure__category")
    )
    errors: dict[str, str] = {}
    chosen = {
        "format": source.get("format", ExportJob.Format.CSV),
        "encoding": source.get("encoding", ExportJob.Encoding.UTF8_BOM),
        # On the first display, the procedure of the inbox filter is preselected.
        "procedure": source.get(
            "procedure_choice",
            "" if request.method == "POST" else (filters.get("procedure") or [""])[0],
        ),
        "form_version": source.get("form_version", ""),
    }
    if request.method == "POST":
        if chosen["format"] not in ExportJob.Format.values:
            errors["format"] = _("ファイル形式を選んでください。")
        if chosen["encoding"] not in ExportJob.Encoding.values:
            errors["encoding"] = _("文字コードを選んでください。")
        procedure = next((p for p in procedures if str(p.pk) == chosen["procedure"]), None)
        if chosen["procedure"] and procedure is None:
            errors["procedure"] = _("選んだ手続は出力できません。")
        version = next((v for v in versions if str(v.pk) == chosen["form_version"]), None)
        if chosen["form_version"]:
            if version is None:
                errors["form_version"] = _("選んだ様式は出力できません。")
            elif procedure is None:
                procedure = version.procedure
            elif version.procedure_id != procedure.pk:
                errors["form_version"] = _("選んだ手続の様式を選んでください。")
        active = ExportJob.objects.filter(
            requested_by=request.user,
            state__in=[ExportJob.State.QUEUED, ExportJob.State.RUNNING],
        ).count()
        if active >= MAX_ACTIVE_JOBS:
            errors["__all__"] = _(
                "作成中の出力が%(count)d件あります。終わってから、もう一度お試しください。"
            ) % {"count": active}
        if not errors:
            stored = dict(filters)
            if department is not None:
                stored["department"] = department.pk
            job = ExportJob.objects.create(
                municipality=municipality,
                requested_by=request.user,
                filters=stored,
                procedure=procedure,
                form_version=version,
                format=chosen["format"],
                encoding=(
                    chosen["encoding"]
                    if chosen["format"] == ExportJob.Format.CSV
                    else ExportJob.Encoding.UTF8_BOM
                ),
            )
            log_access(
                request,
                AccessLog.Action.EXPORT,
                municipality=municipality,
                object_ref=f"export:{job.pk}",
                filters=stored,
                format=job.format,
                encoding=job.encoding,
                procedure=procedure.pk if procedure else None,
                form_version=version.pk if version else None,
            )
            dispatch(run_export, job.pk)
            return HttpResponseRedirect(reverse("exports:job_detail", args=[job.pk]))
    return render(
        request,
        "exports/new.html",
        {
            "department": department,
            "municipality": municipality,
            "filters": [(k, v) for k, values in filters.items() for v in values],
            "procedures": procedures,
            "versions": versions,
            "chosen": chosen,
            "errors": errors,
            "formats": ExportJob.Format.choices,
            "encodings": ExportJob.Encoding.choices,
        },
        status=400 if errors else 200,
    )


def _report_view(job: ExportJob) -> tuple[list[dict], int]:
    entries = [e for e in job.report if "omitted" not in e]
    omitted = sum(e.get("omitted", 0) for e in job.report if "omitted" in e)
    return entries, omitted


@staff_required
def job_detail(request, job_id: int):
    job = _visible_job(request, job_id)
    entries, omitted = _report_view(job)
    running = job.running
    return render(
        request,
        "exports/job_detail.html",
        {
            "job": job,
            "running": running,
            "keep_days": EXPORT_FILE_MAX_AGE_DAYS,
            "report": entries,
            "omitted": omitted,
            "filters": [
                (k, v)
                for k, values in job.filters.items()
                if k != "department"
                for v in (values if isinstance(values, list) else [values])
            ],
            "department": Department.objects.filter(
                Q(pk=job.filters.get("department") or 0), municipality=job.municipality
            ).first(),
        },
    )


@staff_required
def job_download(request, job_id: int):
    job = _visible_job(request, job_id)
    if job.state != ExportJob.State.DONE or not job.file:
        raise Http404
    log_access(
        request,
        AccessLog.Action.DOWNLOAD_EXPORT,
        municipality=job.municipality,
        object_ref=f"export:{job.pk}",
        rows=job.total_rows,
    )
    extension = runner.file_extension(job)
    content_type = CONTENT_TYPES[extension]
    if extension == "csv":
        charset = "Shift_JIS" if job.encoding == ExportJob.Encoding.CP932 else "utf-8"
        content_type += f"; charset={charset}"
    stamp = (job.finished_at or job.created_at).strftime("%Y%m%d")
    return FileResponse(
        job.file.open("rb"),
        as_attachment=True,
        filename=f"madoguchi-export-{job.pk}-{stamp}.{extension}",
        content_type=content_type,
    )
