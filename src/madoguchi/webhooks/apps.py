from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "madoguchi.webhooks"
    verbose_name = "Webhook"
