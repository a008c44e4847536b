from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "madoguchi.tenants"
    verbose_name = "地方公共団体・担当課"

    def ready(self):
        from .admin_site import install

        install()
