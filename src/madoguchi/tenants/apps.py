from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "madoguchi.tenants"
    verbose_name = "地方公共団体・担当課"
