"""Run the local マイナポータル simulator on a loopback port (its own process)."""

from django.core.management.base import BaseCommand

from madoguchi_dev.mynaportal_simulator import make_server


class Command(BaseCommand):
    help = "マイナポータル（電子申請等情報受取等API）のシミュレーターを起動します。"

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--data-dir", default="var/mynaportal-simulator")
        parser.add_argument("--login-id", default="madoguchi")
        parser.add_argument("--password", default="simulator")
        parser.add_argument("--verbose-log", action="store_true")
        parser.add_argument(
            "--status-delay",
            type=float,
            default=0.0,
            help="申請処理状況登録を記録してから応答するまで待つ秒数（試験用）。",
        )

    def handle(self, *args, **options):
        server = make_server(
            options["host"],
            options["port"],
            options["data_dir"],
            login_id=options["login_id"],
            password=options["password"],
            status_delay=options["status_delay"],
        )
        server.verbose = options["verbose_log"]
        host, port = server.server_address[:2]
        self.stdout.write(f"mynaportal-simulator listening on http://{host}:{port}/", ending="\n")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
