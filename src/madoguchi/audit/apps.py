from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "madoguchi.audit"
    verbose_name = "閲覧ログ"
