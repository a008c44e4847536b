from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "madoguchi.channels"
    verbose_name = "申請経路（窓口・紙・代理申請・マイナポータル）"

    def ready(self) -> None:
        # マイナポータル 申請処理状況登録: the event receiver and the outbox sender.
        from madoguchi.ops import jobs
        from madoguchi.ops.metrics import register_gauges

        from .metrics import quarantine_gauges
        from .mynaportal import status_sync

        status_sync.register_with_outbox()
        register_gauges(quarantine_gauges)
        jobs.register(
            jobs.Kind(
                "pullrun",
                "channels.PullRun",
                "madoguchi.channels.mynaportal.tasks:run_pull_task",
                True,
            )
        )
