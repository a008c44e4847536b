from django.db import migrations, models


def fill_scope(apps, schema_editor):
    """CRLs loaded before the scope was recorded: read it from each CRL (a CRL with an
    issuing distribution point covers only its partition of the issuer's certificates)."""
    from cryptography import x509

    from madoguchi.identity.jpki import crl_scope

    CertificateRevocationList = apps.get_model("identity", "CertificateRevocationList")
    for row in CertificateRevocationList.objects.only("pk", "crl_der").iterator(chunk_size=20):
        try:
            scope = crl_scope(x509.load_der_x509_crl(bytes(row.crl_der)))
        except ValueError:
            continue
        if scope:
            CertificateRevocationList.objects.filter(pk=row.pk).update(scope=scope[:1000])


def serial_links_were_hexadecimal(apps, schema_editor):
    """Files imported before the notation was recorded were read as hexadecimal."""
    IdentityImportBatch = apps.get_model("identity", "IdentityImportBatch")
    IdentityImportBatch.objects.filter(
        kind__in=["serial_links_full", "serial_links_diff"], result__in=["applied", "partial"]
    ).update(serial_notation="hex")


class Migration(migrations.Migration):
    dependencies = [
        ("identity", "0002_serial_links"),
    ]

    operations = [
        migrations.AddField(
            model_name="certificaterevocationlist",
            name="scope",
            field=models.CharField(
                blank=True,
                help_text=(
                    "分割された失効リスト（発行分布点つき）の対象。空欄は認証局のすべての証明書を"
                    "対象とする失効リストです。"
                ),
                max_length=1000,
                verbose_name="対象",
            ),
        ),
        migrations.AddField(
            model_name="identityimportbatch",
            name="serial_notation",
            field=models.CharField(
                blank=True,
                choices=[("hex", "16進"), ("dec", "10進")],
                max_length=3,
                verbose_name="シリアル番号の表記",
            ),
        ),
        migrations.RunPython(fill_scope, migrations.RunPython.noop),
        migrations.RunPython(serial_links_were_hexadecimal, migrations.RunPython.noop),
    ]
