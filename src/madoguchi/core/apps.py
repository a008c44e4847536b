from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "madoguchi.core"
    verbose_name = "共通"

    def ready(self):
        from . import pdf_font  # noqa: F401 - registers the PDF font's system check
