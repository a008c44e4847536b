from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("staff/", include("madoguchi.applications.staff_urls")),
    path("", include("madoguchi.portal.urls")),
]
