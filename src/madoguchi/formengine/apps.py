from django.apps import AppConfig


class FormengineConfig(AppConfig):
    name = "madoguchi.formengine"
    verbose_name = "フォームエンジン"
