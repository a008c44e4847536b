# Trust anchors and CRLs for JPKI signature verification (madoguchi.identity.trust_models).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="TrustAnchor",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=200, verbose_name="名前")),
                ("kind", models.CharField(choices=[("anchor", "信頼点（ルート認証局）"), ("intermediate", "中間認証局")], default="anchor", max_length=20, verbose_name="種類")),
                ("certificate_der", models.BinaryField(verbose_name="証明書（DER）")),
                ("fingerprint_sha256", models.CharField(max_length=64, unique=True, verbose_name="SHA-256フィンガープリント")),
                ("subject", models.TextField(verbose_name="主体者")),
                ("issuer", models.TextField(verbose_name="発行者")),
                ("serial", models.CharField(max_length=64, verbose_name="シリアル番号")),
                ("not_before", models.DateTimeField(verbose_name="有効期間の開始")),
                ("not_after", models.DateTimeField(verbose_name="有効期間の終了")),
                ("is_test", models.BooleanField(default=False, help_text="テスト用認証局は JPKI_ALLOW_TEST_CA が有効な環境でだけ信頼されます。", verbose_name="テスト用認証局")),
                ("is_active", models.BooleanField(default=True, verbose_name="有効")),
                ("note", models.TextField(blank=True, verbose_name="メモ")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="登録日時")),
            ],
            options={
                "verbose_name": "信頼する認証局",
                "verbose_name_plural": "信頼する認証局",
                "ordering": ["-is_active", "name", "pk"],
            },
        ),
        migrations.CreateModel(
            name="CertificateRevocationList",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("issuer", models.TextField(verbose_name="発行者")),
                ("crl_der", models.BinaryField(verbose_name="失効リスト（DER）")),
                ("sha256", models.CharField(max_length=64, unique=True)),
                ("crl_number", models.CharField(blank=True, max_length=64, verbose_name="CRL番号")),
                ("this_update", models.DateTimeField(verbose_name="発行日時")),
                ("next_update", models.DateTimeField(blank=True, null=True, verbose_name="次回更新予定")),
                ("revoked_count", models.PositiveIntegerField(default=0, verbose_name="失効した証明書の数")),
                ("source", models.CharField(blank=True, help_text="再読込（load_trust refresh）に使うファイルのパス", max_length=500, verbose_name="読込元")),
                ("loaded_at", models.DateTimeField(auto_now_add=True, verbose_name="読込日時")),
                ("issuer_anchor", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="crls", to="identity.trustanchor", verbose_name="発行した認証局")),
            ],
            options={
                "verbose_name": "失効リスト（CRL）",
                "verbose_name_plural": "失効リスト（CRL）",
                "ordering": ["-this_update", "-pk"],
            },
        ),
    ]
