from django.urls import path

from . import business_views

app_name = "business"

urlpatterns = [
    path("", business_views.home, name="home"),
    path("login/", business_views.BusinessLoginView.as_view(), name="login"),
    path("logout/", business_views.BusinessLogoutView.as_view(), name="logout"),
    path("new/", business_views.new, name="new"),
    path("cases/<int:pk>/", business_views.application_detail, name="application"),
    path("cases/<int:pk>/withdraw/", business_views.withdraw, name="withdraw"),
    path("apply/<int:pk>/confirm/", business_views.confirm, name="confirm"),
    path("apply/<int:pk>/<slug:step_key>/", business_views.step, name="step"),
]
