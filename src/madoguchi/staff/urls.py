from django.urls import path

from . import inbox_views, review_views

app_name = "staff"

urlpatterns = [
    # /staff/ : choose a department (the login lands here)
    path("", inbox_views.department_list, name="application_list"),
    path("all/", inbox_views.inbox, name="inbox_all"),
    path("all/bulk/", inbox_views.inbox_bulk, name="inbox_bulk_all"),
    path("d/<int:department_id>/", inbox_views.inbox, name="inbox"),
    path("d/<int:department_id>/bulk/", inbox_views.inbox_bulk, name="inbox_bulk"),
    path("applications/<int:pk>/", review_views.application_detail, name="application_detail"),
    path("applications/<int:pk>/print/", review_views.application_print, name="application_print"),
    path(
        "applications/<int:pk>/status/", review_views.application_status, name="application_status"
    ),
    path(
        "applications/<int:pk>/departments/<int:department_id>/status/",
        review_views.department_status,
        name="department_status",
    ),
    path(
        "applications/<int:pk>/assign/", review_views.application_assign, name="application_assign"
    ),
    path(
        "applications/<int:pk>/identify/",
        review_views.application_identify,
        name="application_identify",
    ),
    path("applications/<int:pk>/notes/", review_views.application_note, name="application_note"),
    path(
        "applications/<int:pk>/messages/",
        review_views.application_message,
        name="application_message",
    ),
    path(
        "applications/<int:pk>/attachments/<str:uid>/",
        review_views.attachment_download,
        name="attachment_download",
    ),
    path(
        "applications/<int:pk>/attachments/<str:uid>/preview/",
        review_views.attachment_preview,
        name="attachment_preview",
    ),
]
