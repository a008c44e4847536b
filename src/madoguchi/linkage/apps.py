from django.apps import AppConfig


class LinkageConfig(AppConfig):
    name = "madoguchi.linkage"
    verbose_name = "ファイル連携"
