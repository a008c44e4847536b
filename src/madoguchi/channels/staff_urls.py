from django.urls import path

from . import staff_views

app_name = "counter"

urlpatterns = [
    path("", staff_views.index, name="index"),
    path("businesses/", staff_views.business_list, name="business_list"),
    path("start/<int:procedure_pk>/", staff_views.start_counter, name="start"),
    path("paper/<int:procedure_pk>/", staff_views.start_paper, name="start_paper"),
    path("<int:pk>/confirm/", staff_views.confirm, name="confirm"),
    path("<int:pk>/done/", staff_views.done, name="done"),
    path("<int:pk>/receipt.pdf", staff_views.receipt_pdf, name="receipt_pdf"),
    path("<int:pk>/<slug:step_key>/", staff_views.step, name="step"),
]
