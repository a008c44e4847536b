from django.urls import path

from . import views

app_name = "webhooks"

urlpatterns = [
    path("", views.subscription_list, name="list"),
    path("new/", views.subscription_new, name="new"),
    path("hosts/", views.host_list, name="hosts"),
    path("hosts/<int:allowed_host_id>/delete/", views.host_delete, name="host_delete"),
    path("<int:subscription_id>/", views.subscription_detail, name="detail"),
    path("<int:subscription_id>/enable/", views.subscription_enable, name="enable"),
    path("<int:subscription_id>/disable/", views.subscription_disable, name="disable"),
    path("<int:subscription_id>/rotate-secret/", views.subscription_rotate, name="rotate"),
    path("<int:subscription_id>/ping/", views.subscription_ping, name="ping"),
]
