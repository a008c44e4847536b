"""Staff views for this stage: a plain list of received applications of the staff member's
municipalities (and departments), a read-only detail page and attachment download.
Every view of an application's personal data is recorded as an event (閲覧ログ)."""

from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import render

from madoguchi.formengine.display import review_sections
from madoguchi.tenants.decorators import staff_required
from madoguchi.tenants.permissions import visible_applications

from .models import Application, ApplicationEvent, Attachment


@staff_required
def application_list(request):
    applications = (
        visible_applications(request.user)
        .select_related("procedure", "municipality")
        .order_by("-submitted_at", "-pk")
    )
    page = Paginator(applications, 50).get_page(request.GET.get("page"))
    return render(request, "applications/staff/application_list.html", {"page": page})


def _get_visible(request, pk):
    try:
        return (
            visible_applications(request.user)
            .select_related("procedure", "form_version", "municipality")
            .get(pk=pk)
        )
    except Application.DoesNotExist as exc:
        raise Http404 from exc


@staff_required
def application_detail(request, pk):
    application = _get_visible(request, pk)
    ApplicationEvent.objects.create(
        municipality=application.municipality,
        application=application,
        kind=ApplicationEvent.Kind.VIEWED,
        actor_type=ApplicationEvent.Actor.STAFF,
        actor_user=request.user,
    )
    sections = review_sections(application.form_version.form, application.answers)
    return render(
        request,
        "applications/staff/application_detail.html",
        {
            "application": application,
            "sections": sections,
            "events": application.events.select_related("actor_user"),
            "attachments": application.attachments.all(),
        },
    )


@staff_required
def attachment_download(request, pk, uid):
    application = _get_visible(request, pk)
    try:
        attachment = application.attachments.get(uid=uid)
    except Attachment.DoesNotExist as exc:
        raise Http404 from exc
    ApplicationEvent.objects.create(
        municipality=application.municipality,
        application=application,
        kind=ApplicationEvent.Kind.ATTACHMENT_DOWNLOADED,
        actor_type=ApplicationEvent.Actor.STAFF,
        actor_user=request.user,
        data={"attachment": attachment.uid},
    )
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
