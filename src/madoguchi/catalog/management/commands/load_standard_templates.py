"""`madoguchi load_standard_templates [--municipality LGCODE] [--template KEY ...] [--publish]`"""

from django.core.management.base import BaseCommand, CommandError

from madoguchi.catalog.loader import available_template_keys, load_standard_templates
from madoguchi.jp.lg_code import lg_code_error
from madoguchi.tenants.models import Municipality


class Command(BaseCommand):
    help = (
        "標準様式（手続と申請フォーム）を地方公共団体に読み込みます。ない手続は作成して第1版を公開し、"
        "標準様式が更新されていれば下書きの新しい版を作成します（--publish で公開まで行います）。"
        "公開済みの版と、団体が編集した手続の情報は変更しません。何度実行しても同じ結果になります。"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--municipality",
            dest="lg_codes",
            action="append",
            metavar="LGCODE",
            help="読み込む地方公共団体の全国地方公共団体コード（6桁）。複数指定できます。"
            "省略すると、有効なすべての地方公共団体に読み込みます。",
        )
        parser.add_argument(
            "--template",
            dest="keys",
            action="extend",
            nargs="+",
            metavar="KEY",
            help="読み込む標準様式の識別子（例: jidou_teate_nintei）。省略するとすべて読み込みます。",
        )
        parser.add_argument(
            "--publish",
            action="store_true",
            help="標準様式が更新されている場合、下書きにせず新しい版として公開します。",
        )

    def handle(self, *args, lg_codes=None, keys=None, publish=False, **options):
        municipalities = self._municipalities(lg_codes)
        if keys:
            available = available_template_keys()
            unknown = [k for k in keys if k not in available]
            if unknown:
                raise CommandError(
                    f"標準様式「{'」「'.join(unknown)}」はありません"
                    f"（ある標準様式: {', '.join(available)}）。"
                )

        reports = []
        for municipality in municipalities:
            reports.append(
                load_standard_templates(
                    municipality, keys=keys, stdout=self.stdout, publish=publish
                )
            )
            self.stdout.write("")

        failed = sum(len(r.failed) for r in reports)
        if len(reports) > 1:
            self.stdout.write(
                f"合計: {len(reports)}団体、"
                f"新規作成 {sum(len(r.created) for r in reports)}件、"
                f"公開 {sum(len(r.published) for r in reports)}件、"
                f"下書き作成 {sum(len(r.drafts) for r in reports)}件、"
                f"変更なし {sum(len(r.unchanged) for r in reports)}件、"
                f"失敗 {failed}件。"
            )
        drafts = sum(len(r.drafts) for r in reports)
        if drafts:
            self.stdout.write("下書きの版は、職員の管理画面で内容を確認してから公開してください。")
        if failed:
            raise CommandError(
                f"読み込めなかった標準様式が{failed}件あります（上の表示を確認してください）。"
            )
        self.stdout.write(self.style.SUCCESS("標準様式の読み込みが完了しました。"))

    def _municipalities(self, lg_codes):
        if not lg_codes:
            municipalities = list(Municipality.objects.filter(is_active=True).order_by("lg_code"))
            if not municipalities:
                raise CommandError(
                    "有効な地方公共団体が登録されていません。先に管理画面で地方公共団体を登録してください。"
                )
            return municipalities
        municipalities = []
        for code in dict.fromkeys(lg_codes):
            problem = lg_code_error(code)
            if problem:
                raise CommandError(problem)
            municipality = Municipality.objects.filter(lg_code=code).first()
            if municipality is None:
                raise CommandError(
                    f"全国地方公共団体コード「{code}」の地方公共団体は登録されていません。"
                )
            if not municipality.is_active:
                self.stderr.write(
                    f"注意: {municipality.name}（{code}）は無効になっていますが、指定されたため読み込みます。"
                )
            municipalities.append(municipality)
        return municipalities
