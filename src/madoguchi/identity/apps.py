from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "madoguchi.identity"
    verbose_name = "本人確認・番号紐付"
