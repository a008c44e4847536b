from csp.decorators import csp_update
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from . import problems, views

app_name = "api"


class DocsView(SpectacularRedocView):
    """ReDoc from the sidecar's static files with a template that has no inline script and
    no external fonts. ReDoc styles itself with styled-components (inline <style>), so this
    one page — public, with no personal data — also allows inline styles; scripts stay
    'self' only."""

    template_name = "api/redoc.html"


urlpatterns = [
    path("token", views.TokenView.as_view(), name="token"),
    path("applications", views.ApplicationListView.as_view(), name="application-list"),
    path(
        "applications/<str:receipt_number>",
        views.ApplicationDetailView.as_view(),
        name="application-detail",
    ),
    path(
        "applications/<str:receipt_number>/attachments/<str:uid>",
        views.AttachmentView.as_view(),
        name="attachment",
    ),
    path(
        "applications/<str:receipt_number>/acknowledge",
        views.AcknowledgeView.as_view(),
        name="acknowledge",
    ),
    path("applications/<str:receipt_number>/status", views.StatusView.as_view(), name="status"),
    path("applications/<str:receipt_number>/notes", views.NoteView.as_view(), name="notes"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "docs/",
        csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["'self'", "blob:"]})(
            DocsView.as_view(url_name="api:schema")
        ),
        name="docs",
    ),
    re_path(r"^.*$", problems.not_found),
]
