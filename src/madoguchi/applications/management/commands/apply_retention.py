"""`madoguchi apply_retention [--dry-run]`: delete applications past their retention period
(see madoguchi.applications.retention). Runs daily from Celery beat as well."""

from django.core.management.base import BaseCommand

from madoguchi.applications.retention import DRAFT_MAX_AGE_DAYS, apply_retention


class Command(BaseCommand):
    help = (
        "保存期間を過ぎた完了・却下・取り下げの申請（添付ファイルを含む）と、"
        f"{DRAFT_MAX_AGE_DAYS}日以上放置された入力中の申請を削除します。"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="削除せずに、削除される件数だけを表示します。",
        )

    def handle(self, *args, dry_run: bool = False, **options):
        report = apply_retention(dry_run=dry_run, stdout=self.stdout)
        for line in report.summary_lines():
            self.stdout.write(line)
        if report.failed:
            self.stderr.write(f"{report.failed}件を削除できませんでした。ログを確認してください。")
