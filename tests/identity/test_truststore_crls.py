"""Loading CRLs of a foreign CA into the database: partitions, delta CRLs, the history the
trust store keeps, and what `load_trust list` shows."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from django.core.management import call_command

from madoguchi.identity import jpki
from madoguchi.identity.jpki import CertificateError, TrustStore
from madoguchi.identity.trust_models import CertificateRevocationList
from madoguchi.identity.truststore import add_crl, add_trust_anchor

from .foreign_pki import CRL_URI, card, crl, make_foreign

pytestmark = pytest.mark.django_db
OTHER_PARTITION = "http://crl.example.jp/sign/partition-2.crl"


@pytest.fixture(scope="module")
def pki():
    return make_foreign()


@pytest.fixture
def anchor(pki):
    add_trust_anchor(pki.root.public_bytes(serialization.Encoding.PEM), name="foreign")


def der(value: x509.CertificateRevocationList) -> bytes:
    return value.public_bytes(serialization.Encoding.DER)


def test_partitions_are_kept_apart(pki, anchor):
    now = datetime.now(UTC)
    first = crl(pki, this_update=now - timedelta(hours=2), partition=CRL_URI)
    second = crl(pki, this_update=now - timedelta(hours=5), partition=OTHER_PARTITION)
    row, created = add_crl(der(first))
    assert created and row.scope == CRL_URI
    # An older CRL of another partition is not "older than the one loaded".
    row, created = add_crl(der(second))
    assert created and row.scope == OTHER_PARTITION
    older = crl(pki, this_update=now - timedelta(hours=3), partition=CRL_URI)
    with pytest.raises(CertificateError, match="新しい失効リストが登録済み"):
        add_crl(der(older))
    out = StringIO()
    call_command("load_trust", "list", stdout=out)
    assert f"対象 {CRL_URI}" in out.getvalue() and f"対象 {OTHER_PARTITION}" in out.getvalue()


def test_delta_crl_is_refused(pki, anchor):
    now = datetime.now(UTC)
    delta = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(pki.root.subject)
        .last_update(now)
        .next_update(now + timedelta(days=1))
        .add_extension(x509.CRLNumber(5), critical=False)
        .add_extension(x509.DeltaCRLIndicator(4), critical=True)
        .sign(pki.root_key, hashes.SHA256())
    )
    with pytest.raises(CertificateError) as exc:
        add_crl(der(delta))
    assert exc.value.message == (
        "差分失効リスト（delta CRL）は読み込めません。完全な失効リストを読み込んでください。"
    )
    assert not CertificateRevocationList.objects.exists()


def test_the_store_keeps_the_newest_crl_and_those_within_the_history(pki, anchor, settings):
    """A revocation listed only by an older CRL (the certificate was dropped after it
    expired) is still found while that CRL is within the history."""
    now = datetime.now(UTC)
    cert = card(pki, not_after=now - timedelta(days=20))
    revoked_at = now - timedelta(days=40)
    received = now - timedelta(days=30)
    listing = crl(pki, [(cert, revoked_at)], this_update=now - timedelta(days=35))
    dropped = crl(pki, [], this_update=now - timedelta(days=1), next_update=now + timedelta(days=1))
    add_crl(der(listing))
    add_crl(der(dropped))
    signed = jpki.sign_package(
        b"<a/>", {}, key=pki.card_key, certificate=cert, signing_time=received
    )
    settings.JPKI_CRL_HISTORY_DAYS = 90
    result = jpki.verify_package(signed, {}, trust=TrustStore.load(), at=received)
    assert result.code == jpki.REVOKED
    settings.JPKI_CRL_HISTORY_DAYS = 10  # the older CRL is no longer used
    result = jpki.verify_package(signed, {}, trust=TrustStore.load(), at=received)
    assert result.valid and result.revocation_checked is False
    assert len(TrustStore.load()._spec[2]) == 1  # only the newest
