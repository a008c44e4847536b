from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("download/", views.download, name="download"),
    path("feedback/<int:event_id>/handled/", views.feedback_handled, name="feedback_handled"),
    path("baselines/", views.baselines, name="baselines"),
]
