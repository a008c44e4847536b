"""`madoguchi import_resident_registry --municipality LGCODE FILE [--encoding ...]`

Replaces the municipality's resident-registry extract (used to offer candidates for an
unknown certificate serial). All or nothing: one bad line refuses the file."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from madoguchi.identity.registry import import_registry
from madoguchi.tenants.models import Municipality


class Command(BaseCommand):
    help = (
        "住民記録の抽出ファイル（宛名番号・氏名・フリガナ・生年月日・性別・住所の CSV）を取り込み、"
        "団体の抽出データを置き換えます。1行でも誤りがあればファイル全体を取り込みません。"
        "形式は docs/serial-links.md を参照してください。"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="取り込む CSV ファイル（UTF-8 または Shift_JIS）")
        parser.add_argument(
            "--municipality", required=True, metavar="LGCODE", help="全国地方公共団体コード（6桁）"
        )
        parser.add_argument(
            "--encoding",
            default="auto",
            help="文字コード（auto・utf-8・cp932）。既定は auto（自動判別）",
        )

    def handle(self, *args, file, municipality, encoding, **options):
        try:
            target = Municipality.objects.get(lg_code=municipality)
        except Municipality.DoesNotExist as exc:
            raise CommandError(f"地方公共団体コード {municipality} の団体がありません。") from exc
        path = Path(file)
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"ファイル {file} を読めません：{exc}") from exc
        report = import_registry(target, content, file_name=path.name, encoding=encoding)
        self.stdout.write(report.summary())
        if not report.ok:
            raise CommandError(
                f"取り込みませんでした（取込番号 {report.batch.pk}）。", returncode=1
            )
