from django.conf import settings
from django.core.management.base import BaseCommand

from madoguchi.catalog.loader import load_standard_templates
from madoguchi.tenants.demo import DEMO_PASSWORD, ensure_demo_accounts, ensure_demo_municipality


class Command(BaseCommand):
    help = "見本の団体（みほん市）、担当課、標準様式の手続、デモ用職員アカウントを用意します（既存データは保持）。"

    def handle(self, *args, **options):
        municipality, created = ensure_demo_municipality()
        self.stdout.write(
            f"団体: {municipality.name}（{municipality.lg_code}）"
            + (" を作成しました" if created else " は登録済みです")
        )
        report = load_standard_templates(municipality, stdout=self.stdout)
        accounts = ensure_demo_accounts(municipality)
        base = settings.PUBLIC_BASE_URL
        lines = [
            "",
            "=" * 64,
            f" 住民向けポータル : {base}/{municipality.lg_code}/",
            f" 職員（申請管理） : {base}/staff/",
            f" 管理画面         : {base}/admin/",
            " デモ用職員アカウント（初期パスワードはすべて同じ）:",
        ]
        for account, _is_new in accounts:
            lines.append(f"   {account.username:<10} {account.description}")
        lines += [f" 初期パスワード   : {DEMO_PASSWORD}", "=" * 64, ""]
        self.stdout.write("\n".join(lines))
        if getattr(report, "failed", None):
            self.stderr.write("読み込めなかった標準様式があります（上の表示を確認してください）。")
