"""Delete attachment files no row refers to, older than a grace period (cron or Celery beat)."""

import datetime

from django.core.management.base import BaseCommand

from madoguchi.channels import attachment_sweep


class Command(BaseCommand):
    help = (
        "どの申請からも参照されていない添付書類のファイル（取り込み中に停止したプロセスが"
        "残したもの）を、猶予期間を過ぎていれば削除します。"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--grace-hours",
            type=float,
            default=attachment_sweep.DEFAULT_GRACE.total_seconds() / 3600,
            help="この時間より新しいファイルは削除しません（既定 24 時間）。",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="削除せず、対象のファイルを表示します。"
        )

    def handle(self, *args, **options):
        result = attachment_sweep.sweep(
            grace=datetime.timedelta(hours=options["grace_hours"]), dry_run=options["dry_run"]
        )
        for name in result.deleted:
            self.stdout.write(("削除対象: " if options["dry_run"] else "削除: ") + name)
        for error in result.errors:
            self.stderr.write("エラー: " + error)
        self.stdout.write(result.summary())
        if result.errors:
            raise SystemExit(1)
