"""Pull new applications from マイナポータル for every active connection (cron)."""

from django.core.management.base import BaseCommand

from madoguchi.channels.mynaportal.pull import pull_all


class Command(BaseCommand):
    help = "マイナポータルから新しい申請データを取り込みます（cron 用）。"

    def handle(self, *args, **options):
        results = pull_all()
        if not results:
            self.stdout.write("マイナポータル接続設定がありません。")
        failed = False
        for lg_code, result in results.items():
            self.stdout.write(f"{lg_code}: {result.summary()}")
            failed = failed or bool(result.failed)
        if failed:
            raise SystemExit(1)
