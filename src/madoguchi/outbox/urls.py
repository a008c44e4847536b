from django.urls import path

from . import views

app_name = "outbox"

urlpatterns = [
    path("", views.failed_list, name="failed"),
    path("resend/", views.resend_all, name="resend_all"),
]
