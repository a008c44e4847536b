"""`madoguchi import_serial_links --municipality LGCODE (--full | --diff) FILE [--encoding ...]`

Exit status 0 when every line was imported, 1 when some lines (diff) or the file was refused;
the reasons are printed with their line numbers and kept in the import log."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from madoguchi.identity import serial_links
from madoguchi.tenants.models import Municipality


class Command(BaseCommand):
    help = (
        "住民記録システムが出力した番号紐付情報（シリアル番号と宛名番号の対応）の CSV を取り込みます。"
        "--full は全件（載っていない紐付は無効になります。1行でも誤りがあればファイル全体を取り込みません）、"
        "--diff は差分（異動区分 追加・変更・削除。誤りのある行だけを理由付きで取り込みません）。"
        "形式は docs/serial-links.md を参照してください。"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="取り込む CSV ファイル（UTF-8 または Shift_JIS）")
        parser.add_argument(
            "--municipality", required=True, metavar="LGCODE", help="全国地方公共団体コード（6桁）"
        )
        mode = parser.add_mutually_exclusive_group(required=True)
        mode.add_argument("--full", action="store_true", help="全件ファイルとして取り込む")
        mode.add_argument("--diff", action="store_true", help="差分ファイルとして取り込む")
        parser.add_argument(
            "--encoding",
            default="auto",
            help="文字コード（auto・utf-8・cp932）。既定は auto（自動判別）",
        )
        parser.add_argument(
            "--serial-notation",
            choices=["hex", "dec"],
            default=None,
            help=(
                "シリアル番号の表記（hex: 16進、dec: 10進）。見出しが「シリアル番号（16進）」"
                "「シリアル番号（10進）」のファイルでは不要です。見出しが「シリアル番号」だけの"
                "ファイルは、この指定がなければ取り込みません（推測はしません）"
            ),
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="取り込み済みのファイルと同じ内容でも取り込む",
        )

    def handle(
        self, *args, file, municipality, full, diff, encoding, serial_notation, force, **options
    ):
        try:
            target = Municipality.objects.get(lg_code=municipality)
        except Municipality.DoesNotExist as exc:
            raise CommandError(f"地方公共団体コード {municipality} の団体がありません。") from exc
        path = Path(file)
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"ファイル {file} を読めません：{exc}") from exc
        run = serial_links.import_full if full else serial_links.import_diff
        report = run(
            target,
            content,
            file_name=path.name,
            encoding=encoding,
            serial_notation=serial_notation,
            force=force,
        )
        self.stdout.write(report.summary())
        if not report.ok:
            raise CommandError(
                f"取り込めなかった行またはファイルがあります（取込番号 {report.batch.pk}）。",
                returncode=1,
            )
