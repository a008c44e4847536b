from django.urls import path

from . import views

app_name = "linkage"

urlpatterns = [
    path("", views.layout_list, name="layout_list"),
    path("new/", views.layout_new, name="layout_new"),
    path("<int:layout_id>/", views.layout_detail, name="layout_detail"),
    path("<int:layout_id>/edit/", views.layout_edit, name="layout_edit"),
    path("<int:layout_id>/run/", views.batch_start, name="batch_start"),
    path("<int:layout_id>/import/", views.import_new, name="import_new"),
    path("batches/<int:batch_id>/", views.batch_detail, name="batch_detail"),
    path("batches/<int:batch_id>/download/", views.batch_download, name="batch_download"),
    path("batches/<int:batch_id>/manifest/", views.batch_manifest, name="batch_manifest"),
    path("results/<int:result_import_id>/", views.import_detail, name="import_detail"),
    path("results/<int:result_import_id>/report/", views.import_report, name="import_report"),
]
