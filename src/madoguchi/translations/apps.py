from django.apps import AppConfig


class TranslationsConfig(AppConfig):
    name = "madoguchi.translations"
    verbose_name = "多言語化"

    def ready(self):
        from .languages import register_language_info

        register_language_info()
