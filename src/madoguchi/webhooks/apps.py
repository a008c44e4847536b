from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "madoguchi.webhooks"
    verbose_name = "Webhook"

    def ready(self):
        from madoguchi.applications.signals import event_recorded

        from . import events, sending

        sending.register()
        event_recorded.connect(events.on_event_recorded, dispatch_uid="webhooks.on_event_recorded")
