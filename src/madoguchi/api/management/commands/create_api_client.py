"""Register a core system as an API client and print its secret (once).

    madoguchi create_api_client --municipality 990019 --name 児童手当システム \
        --client-id 990019-jidou --procedure jidou_teate_nintei \
        --grant read,attachments,ack,status,notes

Without --procedure the grant covers every procedure of the municipality. 個人番号 is only
readable with the explicit grant "individual_number"."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.text import slugify

from madoguchi.api.credentials import set_secret
from madoguchi.api.models import ApiClient, ApiGrant
from madoguchi.catalog.models import Procedure
from madoguchi.tenants.models import Municipality

GRANTS = {
    "read": "can_read_applications",
    "attachments": "can_read_attachments",
    "ack": "can_acknowledge",
    "status": "can_write_status",
    "notes": "can_write_notes",
    "individual_number": "can_read_individual_number",
}


class Command(BaseCommand):
    help = "APIクライアント（連携先システム）を登録し、シークレットを一度だけ表示します。"

    def add_arguments(self, parser):
        parser.add_argument("--municipality", required=True, help="全国地方公共団体コード")
        parser.add_argument("--name", required=True, help="連携先システム名")
        parser.add_argument("--client-id", default="", help="省略時は名前とコードから作成")
        parser.add_argument(
            "--procedure",
            action="append",
            default=[],
            help="手続の識別子（複数可、省略時は全手続）",
        )
        parser.add_argument(
            "--grant",
            default="read",
            help=f"付与する権限（カンマ区切り）: {', '.join(GRANTS)}",
        )
        parser.add_argument("--rate-limit", type=int, default=600, help="1分あたりの上限")
        parser.add_argument("--contact-email", default="")

    @transaction.atomic
    def handle(self, *args, **options):
        municipality = Municipality.objects.filter(lg_code=options["municipality"]).first()
        if municipality is None:
            raise CommandError(f"団体コード {options['municipality']} の団体はありません。")
        names = [g.strip() for g in options["grant"].split(",") if g.strip()]
        unknown = [g for g in names if g not in GRANTS]
        if unknown:
            raise CommandError(
                f"不明な権限: {', '.join(unknown)}（使えるもの: {', '.join(GRANTS)}）"
            )
        procedures = []
        for slug in options["procedure"]:
            procedure = Procedure.objects.filter(municipality=municipality, slug=slug).first()
            if procedure is None:
                raise CommandError(f"手続「{slug}」はこの団体にありません。")
            procedures.append(procedure)
        client_id = options["client_id"] or (
            f"{municipality.lg_code}-{slugify(options['name']) or 'client'}"
        )
        base, n = client_id, 1
        while ApiClient.objects.filter(client_id=client_id).exists():
            n += 1
            client_id = f"{base}-{n}"
        client = ApiClient.objects.create(
            municipality=municipality,
            name=options["name"],
            client_id=client_id,
            rate_limit_per_minute=options["rate_limit"],
            contact_email=options["contact_email"],
        )
        flags = {field: (key in names) for key, field in GRANTS.items()}
        for procedure in procedures or [None]:
            ApiGrant.objects.create(client=client, procedure=procedure, **flags)
        secret = set_secret(client)
        self.stdout.write(f"client_id:     {client.client_id}")
        self.stdout.write(f"client_secret: {secret}")
        self.stdout.write(
            "このシークレットは二度と表示されません。安全な方法で連携先に伝えてください。"
        )
