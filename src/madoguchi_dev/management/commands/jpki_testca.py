"""`madoguchi jpki_testca init DIR | issue DIR ... | revoke DIR SERIAL | crl DIR | sign DIR SERIAL ...`

A test CA for development and demos only (keys unencrypted in DIR)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from madoguchi.identity import jpki
from madoguchi_dev.testca import TestCA


class Command(BaseCommand):
    help = (
        "開発・テスト用の認証局（テスト用認証局）を作成し、基本4情報を記録したテスト用の署名用電子証明書を"
        "発行・失効し、失効リスト（DER）を作成します。本番では使わないでください。"
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        init = sub.add_parser("init", help="テスト用認証局を作成します。")
        init.add_argument("directory")
        init.add_argument("--force", action="store_true", help="既存の認証局を上書きします。")

        issue = sub.add_parser("issue", help="テスト用の署名用電子証明書を発行します。")
        issue.add_argument("directory")
        issue.add_argument("--name", required=True, help="氏名（例: 髙橋　𠮷子）")
        issue.add_argument("--name-alt", help="氏名代替文字の使用位置情報（0/1を氏名の文字数分）")
        issue.add_argument("--sex", required=True, help="性別（1: 男、2: 女、3: 不明）")
        issue.add_argument("--birth", required=True, help="生年月日（2000-04-01 または EYYYYMMDD）")
        issue.add_argument("--address", required=True, help="住所")
        issue.add_argument("--address-alt", help="住所代替文字の使用位置情報")
        issue.add_argument("--days", type=int, default=5 * 365, help="有効日数（既定 1825日）")

        revoke = sub.add_parser("revoke", help="証明書を失効させます（失効リストは crl で作成）。")
        revoke.add_argument("directory")
        revoke.add_argument("serial")

        crl = sub.add_parser("crl", help="失効リスト（DIR/crl.der）を作成します。")
        crl.add_argument("directory")
        crl.add_argument("--days", type=int, default=7, help="次回更新までの日数（既定 7日）")

        sign = sub.add_parser("sign", help="申請データと添付書類に署名します。")
        sign.add_argument("directory")
        sign.add_argument("serial")
        sign.add_argument("--data", required=True, help="申請データ（XMLファイル）")
        sign.add_argument("--attach", action="append", default=[], help="添付書類（複数可）")
        sign.add_argument("--out", required=True, help="署名付きデータの出力先")

    def handle(self, *args, action, directory, **options):
        directory = Path(directory)
        try:
            getattr(self, f"_{action}")(directory, **options)
        except (FileNotFoundError, ValueError) as exc:
            raise CommandError(getattr(exc, "message", None) or str(exc)) from exc

    def _init(self, directory, *, force=False, **_):
        if (directory / "ca.key.pem").exists() and not force:
            raise CommandError(
                f"{directory} には既にテスト用認証局があります（--force で上書き）。"
            )
        ca = TestCA.create(directory)
        self.stdout.write(
            f"テスト用認証局を作成しました: {ca.certificate.subject.rfc4514_string()}"
        )
        self.stdout.write(f"  証明書: {directory / 'ca.cert.der'}")
        self.stdout.write(
            f"信頼点として登録するには: madoguchi load_trust anchor {directory / 'ca.cert.der'} --test"
        )

    def _issue(self, directory, *, name, name_alt, sex, birth, address, address_alt, days, **_):
        ca = TestCA.open(directory)
        if len(birth) == 10 and birth[4] == "-":
            try:
                birth = datetime.strptime(birth, "%Y-%m-%d").date()
            except ValueError:
                raise CommandError(f"生年月日「{birth}」は正しい日付ではありません。") from None
        now = datetime.now(UTC)
        card = ca.issue_card(
            name=name,
            name_alt=name_alt,
            sex=sex,
            birth=birth,
            address=address,
            address_alt=address_alt,
            not_after=now + timedelta(days=days),
        )
        try:
            info = jpki.parse_certificate(card.certificate)
        except jpki.CertificateError as exc:
            self.stderr.write(f"注意: 発行した証明書は検証で受け付けられません（{exc.message}）")
            info = None
        self.stdout.write(f"シリアル番号: {card.serial}")
        self.stdout.write(f"  証明書: {directory / 'cards' / (card.serial + '.cert.pem')}")
        self.stdout.write(f"  秘密鍵: {directory / 'cards' / (card.serial + '.key.pem')}")
        if info:
            bf = info.basic_four
            self.stdout.write(
                f"  氏名: {bf.name}／性別: {bf.sex_label}／生年月日: {bf.birth_date_raw}／住所: {bf.address}"
            )

    def _revoke(self, directory, *, serial, **_):
        ca = TestCA.open(directory)
        card = ca.open_card(serial)
        ca.revoke(card.serial)
        self.stdout.write(
            f"シリアル番号 {card.serial} を失効させました。失効リストは crl で作成します。"
        )

    def _crl(self, directory, *, days, **_):
        ca = TestCA.open(directory)
        now = datetime.now(UTC)
        ca.crl(this_update=now, next_update=now + timedelta(days=days))
        self.stdout.write(
            f"失効リストを作成しました: {directory / 'crl.der'}（失効 {len(ca.revoked)}件）"
        )

    def _sign(self, directory, *, serial, data, attach, out, **_):
        ca = TestCA.open(directory)
        card = ca.open_card(serial)
        attachments = {}
        for path in attach:
            p = Path(path)
            if p.name in attachments:
                raise CommandError(f"添付書類の名前「{p.name}」が重複しています。")
            attachments[p.name] = p.read_bytes()
        signed = card.sign(Path(data).read_bytes(), attachments)
        Path(out).write_bytes(signed)
        self.stdout.write(f"署名付きデータを書き出しました: {out}")
