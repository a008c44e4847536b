"""`madoguchi rebuild_kpi_figures [--pending]`

Recomputes the KPI aggregates (per-case facts and daily counts) from the event log, with a
progress bar and a summary. They are kept up to date as events are recorded; a rebuild is
needed only after restoring a backup or editing the event log outside the application.
`--pending` folds only the cases whose events could not be folded when recorded (also done
every 10 minutes by the Celery beat task in production)."""

import sys
import time

from django.core.management.base import BaseCommand

from madoguchi.analytics import maintenance


def progress_bar(out, width: int = 30):
    started = time.monotonic()

    def show(done: int, total: int) -> None:
        share = min(done / total, 1.0) if total else 1.0
        filled = int(share * width)
        elapsed = time.monotonic() - started
        out.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} 件  {elapsed:,.0f} 秒",
            ending="",
        )
        out.flush()

    return show


class Command(BaseCommand):
    help = (
        "業務改革の指標（ダッシュボード）の集計値を申請の経過から作り直します。"
        "--pending は記録時に集計できなかった申請だけを集計します。"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--pending", action="store_true", help="集計できなかった申請だけを集計し直す"
        )

    def handle(self, *args, pending, **options):
        started = time.monotonic()
        if pending:
            done = maintenance.refold_pending()
            self.stdout.write(f"集計し直した申請: {done:,} 件")
            return
        show = (
            progress_bar(self.stdout) if sys.stdout.isatty() or options["verbosity"] > 1 else None
        )
        summary = maintenance.rebuild_all(progress=show)
        if show:
            self.stdout.write("")
        self.stdout.write(
            f"集計値を作り直しました: 申請 {summary['cases']:,} 件、"
            f"日ごとの集計 {summary['daily_counts']:,} 行（{time.monotonic() - started:,.1f} 秒）"
        )
