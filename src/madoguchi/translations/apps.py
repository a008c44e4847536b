from django.apps import AppConfig


class TranslationsConfig(AppConfig):
    name = "madoguchi.translations"
    verbose_name = "多言語化"

    def ready(self):
        from madoguchi.catalog.loader import register_translations_block

        from .languages import register_language_info
        from .services import check_template_block, store_template_block

        register_language_info()
        register_translations_block(check_template_block, store_template_block)
