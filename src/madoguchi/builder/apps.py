from django.apps import AppConfig


class BuilderConfig(AppConfig):
    name = "madoguchi.builder"
    verbose_name = "様式作成"
