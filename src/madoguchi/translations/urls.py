from django.urls import path

from . import views

app_name = "translations"

urlpatterns = [
    path("", views.procedure_list, name="procedure_list"),
    path("<int:procedure_id>/", views.procedure_texts, name="procedure"),
]
