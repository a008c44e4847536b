from django.urls import path

from . import views

app_name = "account"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/code/", views.verify_view, name="verify"),
    path("login/enroll/", views.enroll_view, name="enroll"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("members/", views.member_list, name="member_list"),
    path(
        "members/<int:user_id>/reset-2fa/",
        views.member_reset_two_factor,
        name="member_reset_two_factor",
    ),
    path("members/<int:user_id>/unlock/", views.member_unlock, name="member_unlock"),
]
