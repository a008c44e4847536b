from django.contrib import admin

from .models import AllowedWebhookHost, WebhookDelivery, WebhookSubscription


@admin.register(AllowedWebhookHost)
class AllowedWebhookHostAdmin(admin.ModelAdmin):
    list_display = ["host", "municipality", "created_at"]
    list_filter = ["municipality"]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["client", "url", "is_active", "consecutive_failures", "disabled_at"]
    list_filter = ["is_active"]
    exclude = ["secret"]  # shown once to the 管理者 on the staff page, never again


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "subscription", "event_kind", "receipt_number", "state", "attempts"]
    list_filter = ["state", "event_kind"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
