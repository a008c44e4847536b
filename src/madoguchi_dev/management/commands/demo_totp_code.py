from django.core.management.base import BaseCommand

from madoguchi_dev.demo import demo_totp_code


class Command(BaseCommand):
    help = (
        "デモ用の固定設定キー（seed_demo --demo-totp で登録）の現在の確認コードを表示します。"
        "本番環境では使いません。"
    )

    def handle(self, *args, **options):
        self.stdout.write(demo_totp_code())
