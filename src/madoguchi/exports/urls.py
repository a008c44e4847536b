from django.urls import path

from . import views

app_name = "exports"

urlpatterns = [
    path("", views.job_list, name="job_list"),
    path("new/", views.new_export, name="new"),
    path("<int:job_id>/", views.job_detail, name="job_detail"),
    path("<int:job_id>/download/", views.job_download, name="job_download"),
]
