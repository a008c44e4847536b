from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "madoguchi.outbox"
    verbose_name = "送信待ち"
