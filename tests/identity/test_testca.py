"""The test CA, `madoguchi jpki_testca`, `madoguchi load_trust`, and TrustStore.load()."""

from datetime import UTC, date, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from madoguchi.identity import jpki
from madoguchi.identity.trust_models import CertificateRevocationList, TrustAnchor
from madoguchi.identity.truststore import add_crl, add_trust_anchor
from madoguchi_dev.testca import TestCA, birth_raw, sample_pki

DATA = b"<Application><Item>1</Item></Application>"


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


def test_birth_raw():
    assert birth_raw(date(1985, 4, 1)) == "319850401"
    assert birth_raw(date(2019, 5, 1)) == "520190501"
    assert birth_raw(date(1989, 1, 7)) == "319890107"
    assert birth_raw("019500000") == "019500000"


def test_ca_on_disk_round_trip(tmp_path):
    ca = TestCA.create(tmp_path / "ca", key=sample_pki().card_key)
    card = ca.issue_card(
        name="𠮷田　一郎", sex="1", birth=date(2000, 1, 2), address="京都府", key=ca.key
    )
    reopened = TestCA.open(tmp_path / "ca")
    assert reopened.certificate == ca.certificate
    assert reopened.open_card(card.serial.lower()).certificate == card.certificate
    reopened.revoke(card.serial)
    assert card.certificate.serial_number in TestCA.open(tmp_path / "ca").revoked
    from cryptography import x509

    crl = x509.load_der_x509_crl(reopened.crl())
    assert crl.get_revoked_certificate_by_serial_number(card.certificate.serial_number)
    assert (tmp_path / "ca" / "crl.der").exists()
    assert oct((tmp_path / "ca" / "ca.key.pem").stat().st_mode)[-3:] == "600"


@pytest.mark.django_db
def test_commands_end_to_end(tmp_path, settings):
    directory = tmp_path / "testca"
    assert "作成しました" in run("jpki_testca", "init", str(directory))
    with pytest.raises(CommandError, match="既にテスト用認証局"):
        run("jpki_testca", "init", str(directory))
    out = run(
        "jpki_testca",
        "issue",
        str(directory),
        "--name",
        "髙橋　𠮷子",
        "--name-alt",
        "00010",
        "--sex",
        "2",
        "--birth",
        "1985-04-01",
        "--address",
        "東京都千代田区九段南１－２－１",
    )
    serial = out.split("シリアル番号: ")[1].split()[0]
    assert "氏名: 髙橋　𠮷子" in out and "性別: 女" in out and "319850401" in out

    (tmp_path / "data.xml").write_bytes(DATA)
    (tmp_path / "a.pdf").write_bytes(b"%PDF")
    run(
        "jpki_testca", "sign", str(directory), serial,
        "--data", str(tmp_path / "data.xml"),
        "--attach", str(tmp_path / "a.pdf"),
        "--out", str(tmp_path / "signed.xml"),
    )  # fmt: skip
    signed = (tmp_path / "signed.xml").read_bytes()

    # Trust: the anchor is registered as a test CA, refused unless allowed.
    assert "登録しました" in run("load_trust", "anchor", str(directory / "ca.cert.der"))
    anchor = TrustAnchor.objects.get()
    assert anchor.is_test is True  # the marker is enough
    assert "登録済み" in run("load_trust", "anchor", str(directory / "ca.cert.der"))

    settings.JPKI_ALLOW_TEST_CA = False
    result = jpki.verify_package(
        signed, {"a.pdf": b"%PDF"}, trust=jpki.TrustStore.load(), at=datetime.now(UTC)
    )
    assert result.code == jpki.TEST_CA_REFUSED

    settings.JPKI_ALLOW_TEST_CA = True
    result = jpki.verify_package(
        signed, {"a.pdf": b"%PDF"}, trust=jpki.TrustStore.load(), at=datetime.now(UTC)
    )
    assert result.valid and result.revocation_checked is False

    # Revoke, publish a CRL, load it: the package is now refused.
    run("jpki_testca", "revoke", str(directory), serial)
    run("jpki_testca", "crl", str(directory))
    assert "失効 1件" in run("load_trust", "crl", str(directory / "crl.der"))
    result = jpki.verify_package(
        signed, {"a.pdf": b"%PDF"}, trust=jpki.TrustStore.load(), at=datetime.now(UTC)
    )
    assert result.code == jpki.REVOKED
    assert "読込済み" in run("load_trust", "crl", str(directory / "crl.der"))

    # Refresh re-reads the recorded source.
    assert "変更はありません" in run("load_trust", "refresh")
    run("jpki_testca", "crl", str(directory))
    assert "更新しました" in run("load_trust", "refresh")
    assert CertificateRevocationList.objects.count() == 2
    assert "CRL" in run("load_trust", "list")


@pytest.mark.django_db
def test_revoke_unknown_serial(tmp_path):
    run("jpki_testca", "init", str(tmp_path))
    with pytest.raises(CommandError, match="テストカードはありません"):
        run("jpki_testca", "revoke", str(tmp_path), "ABCDEF")
    with pytest.raises(CommandError, match="テスト用認証局がありません"):
        run("jpki_testca", "crl", str(tmp_path / "missing"))


@pytest.mark.django_db
def test_load_trust_refusals(tmp_path):
    pki = sample_pki()
    (tmp_path / "card.der").write_bytes(pki.card.certificate.public_bytes(_der()))
    with pytest.raises(CommandError, match="認証局の証明書ではありません"):
        run("load_trust", "anchor", str(tmp_path / "card.der"))
    (tmp_path / "junk.der").write_bytes(b"junk")
    with pytest.raises(CommandError, match="証明書ファイルを読み取れません"):
        run("load_trust", "anchor", str(tmp_path / "junk.der"))
    (tmp_path / "crl.der").write_bytes(pki.ca.crl())
    with pytest.raises(CommandError, match="読み込めなかった失効リスト"):
        run("load_trust", "crl", str(tmp_path / "crl.der"))  # issuer not registered
    with pytest.raises(CommandError, match="読み込めなかった"):
        run("load_trust", "crl", str(tmp_path / "nothing.der"))


@pytest.mark.django_db
def test_older_crl_is_not_loaded():
    from datetime import timedelta

    pki = sample_pki()
    add_trust_anchor(pki.ca.certificate.public_bytes(_der()))
    now = datetime.now(UTC)
    add_crl(pki.ca.crl(this_update=now))
    with pytest.raises(jpki.CertificateError, match="新しい失効リスト"):
        add_crl(pki.ca.crl(this_update=now - timedelta(days=1)))


@pytest.mark.django_db
def test_production_anchor_cannot_be_a_test_ca():
    with pytest.raises(jpki.CertificateError, match="テスト用認証局"):
        add_trust_anchor(sample_pki().ca.certificate.public_bytes(_der()), is_test=False)


@pytest.mark.django_db
def test_inactive_anchor_is_not_trusted(settings):
    settings.JPKI_ALLOW_TEST_CA = True
    pki = sample_pki()
    row, _ = add_trust_anchor(pki.ca.certificate.public_bytes(_der()))
    signed = pki.card.sign(DATA)
    assert jpki.verify_package(signed, {}, trust=jpki.TrustStore.load(), at=datetime.now(UTC)).valid
    row.is_active = False
    row.save()
    result = jpki.verify_package(signed, {}, trust=jpki.TrustStore.load(), at=datetime.now(UTC))
    assert result.code == jpki.UNKNOWN_CA


@pytest.mark.django_db
def test_admin_upload(client, tmp_path, settings):
    from django.contrib.auth import get_user_model

    pki = sample_pki()
    admin = get_user_model().objects.create_superuser("root", password="x-test-password-123")
    from tests.conftest import login_with_2fa

    login_with_2fa(client, admin)
    url = "/admin/identity/trustanchor/add/"
    response = client.get(url)
    if response.status_code == 404:
        pytest.skip("admin is not mounted at /admin/")
    upload = tmp_path / "ca.der"
    upload.write_bytes(pki.ca.certificate.public_bytes(_der()))
    with upload.open("rb") as fh:
        response = client.post(
            url, {"upload": fh, "name": "", "kind": "anchor", "note": "", "is_test": ""}
        )
    assert response.status_code == 302, [
        line for line in response.content.decode().splitlines() if "error" in line.lower()
    ]
    assert TrustAnchor.objects.filter(is_test=True).count() == 1
    crl = tmp_path / "crl.der"
    crl.write_bytes(pki.ca.crl())
    with crl.open("rb") as fh:
        response = client.post("/admin/identity/certificaterevocationlist/add/", {"upload": fh})
    assert CertificateRevocationList.objects.count() == 1


def _der():
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER


def test_bench_verify_helper():
    from madoguchi_dev.testca import bench_verify

    report = bench_verify(5, attachment_size=1000)
    assert report["n"] == 5 and report["per_second"] > 0
