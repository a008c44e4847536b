from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "madoguchi.exports"
    verbose_name = "出力"
