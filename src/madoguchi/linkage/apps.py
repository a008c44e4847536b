from django.apps import AppConfig


class LinkageConfig(AppConfig):
    name = "madoguchi.linkage"
    verbose_name = "ファイル連携"

    def ready(self) -> None:
        from madoguchi.ops import jobs

        jobs.register(
            jobs.Kind("linkage_batch", "linkage.Batch", "madoguchi.linkage.tasks:run_batch", True)
        )
        jobs.register(
            jobs.Kind(
                "linkage_import",
                "linkage.ResultImport",
                "madoguchi.linkage.tasks:run_import",
                False,
            )
        )
