"""`madoguchi load_trust anchor FILE [--test] [--intermediate] | crl FILE... | refresh | list`"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from madoguchi.identity.jpki import CertificateError
from madoguchi.identity.trust_models import CertificateRevocationList, TrustAnchor
from madoguchi.identity.truststore import add_crl, add_trust_anchor, refresh_crls


class Command(BaseCommand):
    help = (
        "署名検証に使う信頼点（JPKI署名用認証局の証明書）と失効リスト（CRL、DER形式）を読み込みます。"
        "refresh は登録済みの失効リストを読込元のファイルから読み直します（cron で定期実行できます）。"
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        anchor = sub.add_parser("anchor", help="認証局の証明書（DER/PEM）を登録します。")
        anchor.add_argument("file")
        anchor.add_argument("--name", default="")
        anchor.add_argument("--test", action="store_true", help="テスト用認証局として登録します。")
        anchor.add_argument(
            "--intermediate", action="store_true", help="中間認証局として登録します。"
        )
        crl = sub.add_parser("crl", help="失効リスト（DER）を読み込みます。")
        crl.add_argument("files", nargs="+")
        sub.add_parser("refresh", help="失効リストを読込元のファイルから読み直します。")
        sub.add_parser("list", help="登録済みの認証局と失効リストを表示します。")

    def handle(self, *args, action, **options):
        getattr(self, f"_{action}")(**options)

    def _read(self, path: str) -> bytes:
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise CommandError(f"{path} を読み込めません（{exc.strerror or exc}）。") from exc

    def _anchor(self, *, file, name, test, intermediate, **_):
        kind = TrustAnchor.Kind.INTERMEDIATE if intermediate else TrustAnchor.Kind.ANCHOR
        try:
            row, created = add_trust_anchor(
                self._read(file), name=name, kind=kind, is_test=True if test else None
            )
        except CertificateError as exc:
            raise CommandError(exc.message) from exc
        verb = "登録しました" if created else "登録済みです"
        self.stdout.write(f"{row}（{row.get_kind_display()}）を{verb}。")

    def _crl(self, *, files, **_):
        failed = 0
        for file in files:
            try:
                row, created = add_crl(self._read(file), source=str(Path(file).resolve()))
            except (CertificateError, CommandError) as exc:
                failed += 1
                self.stderr.write(f"{file}: {getattr(exc, 'message', exc)}")
                continue
            verb = "読み込みました" if created else "読込済みです"
            self.stdout.write(f"{file}: {verb}（発行者 {row.issuer}、失効 {row.revoked_count}件）")
        if failed:
            raise CommandError(f"読み込めなかった失効リストが{failed}件あります。")

    def _refresh(self, **_):
        report = refresh_crls()
        if not report:
            self.stdout.write("読込元が記録された失効リストはありません。")
        for source, message in report:
            self.stdout.write(f"{source}: {message}")

    def _list(self, **_):
        for row in TrustAnchor.objects.all():
            state = "有効" if row.is_active else "無効"
            self.stdout.write(
                f"[{state}] {row}（{row.get_kind_display()}） {row.subject} "
                f"{row.not_before:%Y-%m-%d}〜{row.not_after:%Y-%m-%d}"
            )
        for crl in CertificateRevocationList.objects.all():
            scope = f" 対象 {crl.scope}" if crl.scope else ""
            self.stdout.write(
                f"CRL {crl.issuer}{scope} 発行 {crl.this_update:%Y-%m-%d %H:%M} "
                f"失効 {crl.revoked_count}件"
            )
