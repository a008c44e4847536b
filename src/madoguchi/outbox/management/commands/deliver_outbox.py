from django.core.management.base import BaseCommand

from madoguchi.outbox.delivery import deliver_due


class Command(BaseCommand):
    help = "送信待ちのメッセージのうち、送信時刻になったものを送信します（cron から実行）。"

    def handle(self, *args, **options):
        sent, failed = deliver_due()
        self.stdout.write(f"送信 {sent} 件、失敗 {failed} 件")
