from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "madoguchi.exports"
    verbose_name = "出力"

    def ready(self) -> None:
        from madoguchi.applications.signals import retention_due
        from madoguchi.ops import jobs

        from .retention import on_retention_due

        retention_due.connect(on_retention_due, dispatch_uid="exports.retention")
        jobs.register(
            jobs.Kind("export", "exports.ExportJob", "madoguchi.exports.tasks:run_export", True)
        )
