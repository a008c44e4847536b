from django.urls import path

from . import staff_views

app_name = "staff"

urlpatterns = [
    path("", staff_views.application_list, name="application_list"),
    path("applications/<int:pk>/", staff_views.application_detail, name="application_detail"),
    path(
        "applications/<int:pk>/attachments/<str:uid>/",
        staff_views.attachment_download,
        name="attachment_download",
    ),
]
