"""`madoguchi run_linkage [--layout ID]`: build the linkage files now (for cron).

Every active layout (or the one given) gets a batch, built in this process before the
command exits; the result of each is printed. Exit status 1 when a batch failed or was
refused, so cron can alert.
"""

from django.core.management.base import BaseCommand, CommandError

from madoguchi.linkage import runner
from madoguchi.linkage.models import Batch, Layout


class Command(BaseCommand):
    help = "ファイル連携の連携ファイルを作成します（cron 用）。"

    def add_arguments(self, parser):
        parser.add_argument("--layout", type=int, help="この様式（ID）だけを作成する")

    def handle(self, *args, layout=None, **options):
        layouts = Layout.objects.filter(is_active=True).select_related("procedure")
        if layout is not None:
            layouts = Layout.objects.filter(pk=layout)
            if not layouts.exists():
                raise CommandError(f"様式 {layout} はありません。")
        problems = 0
        for item in layouts:
            batch = runner.create_batch(item, trigger=Batch.Trigger.COMMAND)
            batch = runner.run(batch.pk) or batch
            if batch.state == Batch.State.DONE:
                self.stdout.write(
                    f"{item.pk} {item.name}: #{batch.pk} {batch.exported}件を出力"
                    f"（出力しなかった申請 {batch.skipped}件） {batch.file.name} "
                    f"sha256={batch.sha256}"
                )
            else:
                problems += 1
                self.stderr.write(f"{item.pk} {item.name}: #{batch.pk} {batch.error}")
        if problems:
            raise SystemExit(1)
