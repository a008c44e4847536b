from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "madoguchi.analytics"
    verbose_name = "業務改革の指標"
