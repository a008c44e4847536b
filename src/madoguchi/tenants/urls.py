from django.contrib.auth import views as auth_views
from django.urls import path

app_name = "account"

# Replaced by the two-factor login flow (issue 3); plain password login until then.
urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="applications/staff/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="account:login"), name="logout"),
]
