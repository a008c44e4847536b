from django.contrib.auth import views as auth_views
from django.urls import path

from . import staff_views

app_name = "staff"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="applications/staff/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="staff:login"), name="logout"),
    path("", staff_views.application_list, name="application_list"),
    path("applications/<int:pk>/", staff_views.application_detail, name="application_detail"),
    path(
        "applications/<int:pk>/attachments/<str:uid>/",
        staff_views.attachment_download,
        name="attachment_download",
    ),
]
