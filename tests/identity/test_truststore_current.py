"""`TrustStore.current()`: the trust store parsed once per process, and parsed again as soon as
what it is built from changes (a CRL or an anchor loaded, an anchor deactivated, a policy
setting changed)."""

from datetime import UTC, date, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization

from madoguchi.identity import jpki
from madoguchi.identity.jpki import TrustStore
from madoguchi.identity.trust_models import TrustAnchor
from madoguchi.identity.truststore import add_crl, add_trust_anchor
from madoguchi_dev.testca import TestCA

pytestmark = pytest.mark.django_db
DATA = b"<Application><Item>x</Item></Application>"


@pytest.fixture
def ca(settings):
    settings.JPKI_ALLOW_TEST_CA = True
    ca = TestCA.create()
    add_trust_anchor(ca.certificate.public_bytes(serialization.Encoding.DER), is_test=True)
    return ca


def signed_by(ca):
    card = ca.issue_card(name="山田 花子", sex="2", birth=date(1985, 4, 1), address="東京都")
    at = datetime.now(UTC)
    return card, card.sign(DATA, signing_time=at), at


def test_the_store_is_kept_while_nothing_changes(ca):
    first = TrustStore.current()
    assert TrustStore.current() is first
    assert first.anchor_fingerprints == {jpki.fingerprint(ca.certificate)}


def test_a_crl_loaded_meanwhile_is_used_at_once(ca):
    card, signed, at = signed_by(ca)
    before = TrustStore.current()
    assert jpki.verify_package(signed, {}, trust=before, at=at).valid
    ca.revoke(card.serial, at=at - timedelta(minutes=1))
    add_crl(ca.crl())
    after = TrustStore.current()
    assert after is not before
    result = jpki.verify_package(signed, {}, trust=after, at=at)
    assert (result.valid, result.code) == (False, jpki.REVOKED)
    assert result.reason.startswith("失効した証明書で署名されています（失効日時：")


def test_a_deactivated_anchor_is_no_longer_trusted(ca):
    _card, signed, at = signed_by(ca)
    assert jpki.verify_package(signed, {}, trust=TrustStore.current(), at=at).valid
    TrustAnchor.objects.update(is_active=False)
    result = jpki.verify_package(signed, {}, trust=TrustStore.current(), at=at)
    assert (result.valid, result.code) == (False, jpki.UNKNOWN_CA)
    assert result.reason == (
        f"署名用電子証明書の発行者（{ca.certificate.subject.rfc4514_string()}）が"
        "信頼できる認証局として登録されていません。"
    )


def test_a_policy_setting_changed_makes_a_new_store(ca, settings):
    _card, signed, at = signed_by(ca)
    assert jpki.verify_package(signed, {}, trust=TrustStore.current(), at=at).valid
    settings.JPKI_ALLOW_TEST_CA = False
    result = jpki.verify_package(signed, {}, trust=TrustStore.current(), at=at)
    assert (result.valid, result.code) == (False, jpki.TEST_CA_REFUSED)
    assert result.reason.startswith("テスト用認証局の証明書で署名されています。")


def test_another_anchor_loaded_makes_a_new_store(ca):
    first = TrustStore.current()
    other = TestCA.create(common_name="madoguchi JPKI test signing CA 2")
    add_trust_anchor(other.certificate.public_bytes(serialization.Encoding.DER), is_test=True)
    second = TrustStore.current()
    assert second is not first
    assert jpki.fingerprint(other.certificate) in second.anchor_fingerprints
