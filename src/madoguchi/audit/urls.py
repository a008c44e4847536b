from django.urls import path

from . import views

app_name = "audit"

urlpatterns = [
    path("", views.log_search, name="search"),
    path("download/", views.log_download, name="download"),
]
