from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "madoguchi.portal"
    verbose_name = "住民向けポータル"
