"""様式ライブラリ: browse, copy, share, take a source's update, export and import as files."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from madoguchi.catalog.models import Procedure
from madoguchi.tenants.permissions import is_admin

from . import library, schema_edit
from .access import (
    builder_municipalities,
    builder_required,
    get_municipality,
    get_procedure,
    own_departments,
)
from .models import FormCopy, SharedForm
from .views import template_document


@builder_required
def library_list(request):
    municipality = get_municipality(request.user, request.GET.get("m"))
    entries = library.entries(municipality)
    query = request.GET.get("q", "").strip()
    if query:
        entries = [e for e in entries if query in e.name or query in e.origin]
    return render(
        request,
        "builder/library.html",
        {
            "municipality": municipality,
            "municipalities": builder_municipalities(request.user),
            "entries": entries,
            "query": query,
            "can_import": is_admin(request.user, municipality),
        },
    )


@builder_required
@require_POST
def library_copy(request):
    municipality = get_municipality(request.user, request.POST.get("m"))
    entry = library.find_entry(
        municipality, request.POST.get("kind", ""), request.POST.get("ref", "")
    )
    if entry is None:
        raise Http404("no such library entry")
    procedure = library.copy_entry(entry, municipality, own_departments(request.user, municipality))
    messages.success(
        request,
        _(
            "%(origin)s「%(name)s」をコピーして、下書きを作りました。内容を確認して公開してください。"
        )
        % {"origin": entry.origin, "name": entry.name},
    )
    return redirect("builder:form_edit", procedure.pk)


def _copy_of(procedure: Procedure) -> FormCopy | None:
    return FormCopy.objects.filter(procedure=procedure).first()


@builder_required
def library_update(request, pk):
    """「更新があります」: the difference between the source as copied and its new version, and
    taking it into the draft in one step."""
    procedure = get_procedure(request.user, pk)
    copy = _copy_of(procedure)
    entry = library.pending_update(copy) if copy else None
    if entry is None:
        messages.info(request, _("コピー元に新しい更新はありません。"))
        return redirect("builder:form_edit", procedure.pk)
    if request.method == "POST":
        draft = library.take_update(copy, entry)
        messages.success(
            request,
            _("コピー元の更新を下書きの第%(number)s版に取り込みました。確認して公開してください。")
            % {"number": draft.number},
        )
        return redirect("builder:form_edit", procedure.pk)
    return render(
        request,
        "builder/library_update.html",
        {
            "procedure": procedure,
            "copy": copy,
            "entry": entry,
            "diff": schema_edit.diff(copy.source_schema, entry.form),
        },
    )


@builder_required
@require_POST
def share_toggle(request, pk):
    procedure = get_procedure(request.user, pk)
    if request.POST.get("share") == "1":
        SharedForm.objects.get_or_create(procedure=procedure, defaults={"shared_by": request.user})
        messages.success(
            request,
            _("この様式を他の団体と共有しました（公開中の版が様式ライブラリに表示されます）。"),
        )
    else:
        SharedForm.objects.filter(procedure=procedure).delete()
        messages.success(request, _("この様式の共有をやめました。"))
    return redirect("builder:form_edit", procedure.pk)


@builder_required
def library_export(request):
    """Every shared and imported form of the library as a zip of standard-template files."""
    municipality = get_municipality(request.user, request.GET.get("m"))
    documents = []
    for shared in SharedForm.objects.select_related("procedure__current_version"):
        procedure = shared.procedure
        if procedure.current_version is not None:
            documents.append(template_document(procedure, procedure.current_version.schema))
    from .models import ImportedForm

    seen = {d["key"] for d in documents}
    for item in ImportedForm.objects.all():
        if item.document.get("key") not in seen:
            documents.append(item.document)
            seen.add(item.document.get("key"))
    data = library.export_library(municipality, documents)
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="madoguchi-library.zip"'
    return response


@builder_required
@require_POST
def library_import(request):
    municipality = get_municipality(request.user, request.POST.get("m"))
    if not is_admin(request.user, municipality):
        raise Http404("only a 管理者 imports into the library")
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("読み込むファイルを選んでください。"))
    elif upload.size > library.MAX_LIBRARY_FILE:
        messages.error(request, _("ファイルが大きすぎます（%(limit)sまで）。") % {"limit": "20MB"})
    else:
        known = set(municipality.departments.values_list("code", flat=True))
        try:
            names = library.import_library(upload.read(), known)
        except library.LibraryFileError as exc:
            messages.error(request, _("読み込めません。%(problem)s") % {"problem": exc})
        else:
            messages.success(
                request,
                ngettext(
                    "様式ライブラリに%(count)s件を読み込みました。",
                    "様式ライブラリに%(count)s件を読み込みました。",
                    len(names),
                )
                % {"count": len(names)},
            )
    return redirect(reverse("builder:library") + f"?m={municipality.pk}")
