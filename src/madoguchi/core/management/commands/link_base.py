"""Print the address that links sent by e-mail use (PUBLIC_BASE_URL); `make run` calls it.

    madoguchi link_base [--serving 127.0.0.1:8000]

With --serving, also warn when the server is started at another host than the links use."""

from django.core.management.base import BaseCommand

from madoguchi.core.link_base import link_base, mismatch


class Command(BaseCommand):
    help = "メールに載せるリンクのアドレス（PUBLIC_BASE_URL）を表示します。"

    def add_arguments(self, parser):
        parser.add_argument(
            "--serving",
            default="",
            help="サーバーを起動するアドレス（host:port）。違えば警告します",
        )

    def handle(self, *args, **options):
        self.stdout.write(
            f"メールのリンクのアドレス: {link_base()}/ （PUBLIC_BASE_URL で変更できます）"
        )
        serving = options["serving"]
        if serving and (message := mismatch(serving)):
            self.stderr.write(self.style.WARNING(f"注意: {message}"))
