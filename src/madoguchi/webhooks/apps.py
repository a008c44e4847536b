from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "madoguchi.webhooks"
    verbose_name = "Webhook"

    def ready(self):
        from madoguchi.applications.signals import events_recorded

        from . import events, sending

        sending.register()
        events_recorded.connect(
            events.on_events_recorded, dispatch_uid="webhooks.on_events_recorded"
        )
