from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("staff/account/", include("madoguchi.tenants.urls")),
    path("staff/counter/", include("madoguchi.channels.staff_urls")),
    path("staff/exports/", include("madoguchi.exports.urls")),
    path("staff/audit/", include("madoguchi.audit.urls")),
    path("staff/webhooks/", include("madoguchi.webhooks.urls")),
    path("staff/outbox/", include("madoguchi.outbox.urls")),
    path("staff/linkage/", include("madoguchi.linkage.urls")),
    path("staff/analytics/", include("madoguchi.analytics.urls")),
    path("staff/translations/", include("madoguchi.translations.urls")),
    path("staff/builder/", include("madoguchi.builder.urls")),
    path("staff/mynaportal/", include("madoguchi.channels.mynaportal.urls")),
    path("api/v1/", include("madoguchi.api.urls")),
    path("opendata/", include("madoguchi.analytics.public_urls")),
    path("staff/", include("madoguchi.staff.urls")),
    path("business/", include("madoguchi.channels.business_urls")),
    path("", include("madoguchi.portal.urls")),
]
