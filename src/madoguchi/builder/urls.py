from django.urls import path

from . import library_views, views

app_name = "builder"

urlpatterns = [
    path("", views.procedure_list, name="procedure_list"),
    path("new/", views.procedure_new, name="procedure_new"),
    path("p/<int:pk>/", views.procedure_edit, name="procedure_edit"),
    path("p/<int:pk>/preview/", views.procedure_preview, name="procedure_preview"),
    path("p/<int:pk>/form/", views.form_edit, name="form_edit"),
    path("p/<int:pk>/form/op/", views.form_op, name="form_op"),
    path("p/<int:pk>/form/settings/", views.form_settings, name="form_settings"),
    path("p/<int:pk>/form/field/<str:key>/", views.field_edit, name="field_edit"),
    path("p/<int:pk>/form/step/<str:key>/", views.step_edit, name="step_edit"),
    path("p/<int:pk>/form/preview/", views.form_preview, name="form_preview"),
    path("p/<int:pk>/form/preview/<str:step_key>/", views.form_preview, name="form_preview_step"),
    path("p/<int:pk>/form/try/", views.form_try_result, name="form_try_result"),
    path("p/<int:pk>/form/publish/", views.form_publish, name="form_publish"),
    path("p/<int:pk>/form/export/", views.form_export, name="form_export"),
    path("p/<int:pk>/form/import/", views.form_import, name="form_import"),
    path("library/", library_views.library_list, name="library"),
    path("library/copy/", library_views.library_copy, name="library_copy"),
    path("library/export/", library_views.library_export, name="library_export"),
    path("library/import/", library_views.library_import, name="library_import"),
    path("p/<int:pk>/update/", library_views.library_update, name="library_update"),
    path("p/<int:pk>/share/", library_views.share_toggle, name="share_toggle"),
]
