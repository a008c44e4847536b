from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from madoguchi.catalog.loader import load_standard_templates
from madoguchi_dev.demo import (
    DEMO_PASSWORD,
    demo_totp_secret,
    ensure_demo_accounts,
    ensure_demo_municipality,
    ensure_demo_totp_devices,
)


class Command(BaseCommand):
    help = "見本の団体（みほん市）、担当課、標準様式の手続、デモ用職員アカウントを用意します（既存データは保持）。"

    def add_arguments(self, parser):
        parser.add_argument(
            "--sample-cases",
            action="store_true",
            help=(
                "見本の申請（水道使用開始届の約6か月分の受付・処理の経過）を作成します。"
                "申請がまだ1件もない場合だけ作成します（架空の申請者で、メールは送りません）。"
            ),
        )
        parser.add_argument(
            "--demo-totp",
            action="store_true",
            help=(
                "自動デモ・ブラウザテスト用: デモ用職員アカウントに、固定の（公開されている）"
                "設定キーで2段階認証を登録します。誰でも確認コードを計算できるため、"
                "本番環境では絶対に使わないでください。"
            ),
        )

    def handle(self, *args, **options):
        municipality, created = ensure_demo_municipality()
        self.stdout.write(
            f"団体: {municipality.name}（{municipality.lg_code}）"
            + (" を作成しました" if created else " は登録済みです")
        )
        report = load_standard_templates(municipality, stdout=self.stdout)
        accounts = ensure_demo_accounts(municipality)
        if options["sample_cases"]:
            try:
                # Recorded on a set clock: time-machine, the `demo` extra.
                from madoguchi_dev.sample_applications import ensure_sample_applications
            except ModuleNotFoundError as error:
                if error.name != "time_machine":
                    raise
                raise CommandError(
                    "見本の申請を作成するには time-machine が必要です"
                    "（pip install 'madoguchi[demo]'、開発環境では make install）。"
                ) from error
            self.stdout.write("見本の申請を作成しています...")
            made = ensure_sample_applications(municipality)
            self.stdout.write(
                f"見本の申請: {made}件を作成しました（水道使用開始届、約6か月分）。"
                if made
                else "見本の申請: 申請がすでにあるため作成しませんでした。"
            )
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
        lines += [
            f" 初期パスワード   : {DEMO_PASSWORD}",
            " 2段階認証       : 初回ログイン時に表示されるQRコードを、認証アプリ",
            "                    （Google Authenticator、Microsoft Authenticator など）で読み取って登録します。",
        ]
        if options["demo_totp"]:
            ensure_demo_totp_devices(municipality)
            lines += [
                " 2段階認証（デモ用の固定設定キーを登録済み・本番使用禁止）:",
                f"   設定キー       : {demo_totp_secret()}",
                "   確認コード     : 認証アプリにこの設定キーを登録するか、",
                "                    madoguchi demo_totp_code で表示します。",
            ]
        else:
            lines.append(
                "   自動デモ・ブラウザテストでは seed_demo --demo-totp で固定の設定キーを"
                "登録できます（本番使用禁止）。"
            )
        lines += ["=" * 64, ""]
        self.stdout.write("\n".join(lines))
        if getattr(report, "failed", None):
            self.stderr.write("読み込めなかった標準様式があります（上の表示を確認してください）。")
