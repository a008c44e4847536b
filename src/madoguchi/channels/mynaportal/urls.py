from django.urls import path

from . import views

app_name = "mynaportal"

urlpatterns = [
    path("", views.index, name="index"),
    path("pull/", views.pull_now, name="pull"),
]
