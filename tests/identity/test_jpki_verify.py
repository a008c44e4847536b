"""Signed packages: valid, tampered data, tampered attachment, wrong CA, expired, not yet
valid, revoked, key usage, test-CA policy, intermediates, signing time."""

from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from madoguchi.identity import jpki
from madoguchi.identity.jpki import verify_package
from madoguchi_dev.testca import TestCA, sample_pki

DATA = "<申請 xmlns='urn:example:form'><氏名>髙橋　𠮷子</氏名><金額>1000</金額></申請>".encode()
FILES = {"住民票.pdf": b"%PDF-1.7 test" * 100, "photo.jpg": b"\xff\xd8\xff" + bytes(500)}


@pytest.fixture(scope="module")
def pki():
    return sample_pki()


@pytest.fixture(scope="module")
def trust(pki):
    return pki.trust()


@pytest.fixture(scope="module")
def signed(pki):
    return pki.card.sign(DATA, FILES)


def now():
    return datetime.now(UTC)


def test_valid_package(pki, trust, signed):
    result = verify_package(signed, FILES, trust=trust, at=now())
    assert result.valid, result.reason
    assert result.code == jpki.OK
    assert result.reason == "署名は有効です。"
    assert result.revocation_checked is True
    assert result.warnings == []
    assert result.certificate.serial == pki.card.serial
    assert result.certificate.basic_four.name == "髙橋　𠮷子"
    assert set(result.attachments) == set(FILES)
    root = etree.fromstring(result.data_xml)
    assert root.tag == "{urn:example:form}申請"
    assert root.findtext("{urn:example:form}氏名") == "髙橋　𠮷子"
    assert abs(result.signing_time - now()) < timedelta(minutes=1)
    identity = result.identity()
    assert identity["certificate_serial"] == pki.card.serial
    assert identity["signature_valid"] is True
    assert identity["basic_four"]["birth_date"] == "1985-04-01"


def test_package_without_attachments(pki, trust):
    signed = pki.card.sign(DATA, {})
    assert verify_package(signed, {}, trust=trust, at=now()).valid


def test_tampered_data(trust, signed):
    tampered = signed.replace(b"1000", b"9000")
    assert tampered != signed
    result = verify_package(tampered, FILES, trust=trust, at=now())
    assert not result.valid
    assert result.code == jpki.BAD_SIGNATURE
    assert "改ざん" in result.reason
    assert result.certificate is None and result.data_xml is None


def test_tampered_attachment_list(trust, signed):
    tampered = signed.replace(b'name="photo.jpg"', b'name="other.jpg"')
    result = verify_package(tampered, FILES, trust=trust, at=now())
    assert not result.valid and result.code == jpki.BAD_SIGNATURE


def test_tampered_signing_time(trust, signed):
    tree = etree.fromstring(signed)
    el = tree.find(f"{{{jpki.PACKAGE_NS}}}SigningTime")
    el.text = "2001-01-01T00:00:00+09:00"
    result = verify_package(etree.tostring(tree, encoding="UTF-8"), FILES, trust=trust, at=now())
    assert not result.valid and result.code == jpki.BAD_SIGNATURE


def test_tampered_attachment_names_the_file(trust, signed):
    files = dict(FILES, **{"住民票.pdf": FILES["住民票.pdf"] + b"x"})
    result = verify_package(signed, files, trust=trust, at=now())
    assert not result.valid
    assert result.code == jpki.ATTACHMENT_TAMPERED
    assert "添付書類「住民票.pdf」が改ざんされています" in result.reason
    assert result.certificate is None  # nothing from an unverified package is trusted


def test_missing_attachment(trust, signed):
    files = {"住民票.pdf": FILES["住民票.pdf"]}
    result = verify_package(signed, files, trust=trust, at=now())
    assert not result.valid and result.code == jpki.ATTACHMENT_MISSING
    assert "photo.jpg" in result.reason


def test_unsigned_extra_attachment(trust, signed):
    files = dict(FILES, **{"追加.pdf": b"x"})
    result = verify_package(signed, files, trust=trust, at=now())
    assert not result.valid and result.code == jpki.ATTACHMENT_UNSIGNED
    assert "追加.pdf" in result.reason


def test_wrong_ca(pki, trust):
    signed = pki.other_card.sign(DATA, FILES)
    result = verify_package(signed, FILES, trust=trust, at=now())
    assert not result.valid
    assert result.code == jpki.UNKNOWN_CA
    assert "信頼できる認証局として登録されていません" in result.reason
    assert result.certificate.serial == pki.other_card.serial  # shown to staff with the reason


def test_forged_certificate_with_same_issuer_name(pki, trust):
    """A CA with the same subject name as the trusted one but another key."""
    impostor = TestCA.create(common_name="madoguchi JPKI test signing CA", key=pki.card_key)
    card = impostor.issue_card(
        name="偽　物", sex="1", birth="319700101", address="東京都", key=pki.card_key
    )
    result = verify_package(card.sign(DATA), {}, trust=trust, at=now())
    assert not result.valid and result.code == jpki.UNKNOWN_CA


def test_expired(pki, trust):
    signed = pki.expired.sign(DATA, FILES)
    result = verify_package(signed, FILES, trust=trust, at=now())
    assert not result.valid and result.code == jpki.EXPIRED
    assert "有効期限" in result.reason


def test_expired_certificate_valid_at_reception_time(pki):
    """Received by マイナポータル while the certificate was valid: valid, whenever imported."""
    received = pki.expired.certificate.not_valid_after_utc - timedelta(days=1)
    signed = pki.expired.sign(DATA, FILES, signing_time=received - timedelta(minutes=1))
    result = verify_package(signed, FILES, trust=pki.trust(), at=received)
    assert result.valid, result.reason
    assert result.validated_at == received and result.validated_at_source == jpki.AT_RECEIVED


def test_not_yet_valid(pki, trust):
    signed = pki.not_yet_valid.sign(DATA, FILES)
    result = verify_package(signed, FILES, trust=trust, at=now())
    assert not result.valid and result.code == jpki.NOT_YET_VALID
    assert "有効期間の開始" in result.reason


def test_revoked(pki, trust):
    signed = pki.revoked.sign(DATA, FILES)
    result = verify_package(signed, FILES, trust=trust, at=now())
    assert not result.valid and result.code == jpki.REVOKED
    assert result.reason.startswith("失効した証明書で署名されています（失効日時：")


def test_revoked_is_unknown_without_crl(pki):
    trust = pki.trust(with_crl=False)
    result = verify_package(pki.revoked.sign(DATA), {}, trust=trust, at=now())
    assert result.valid and result.revocation_checked is False
    assert any("失効リストが読み込まれていない" in w for w in result.warnings)
    strict = pki.trust(with_crl=False, require_crl=True)
    result = verify_package(pki.card.sign(DATA), {}, trust=strict, at=now())
    assert not result.valid and result.code == jpki.NO_CRL


def test_stale_crl_warns(pki):
    from cryptography import x509

    old = datetime.now(UTC) - timedelta(days=30)
    crl = x509.load_der_x509_crl(pki.ca.crl(this_update=old, next_update=old + timedelta(days=7)))
    trust = jpki.TrustStore([pki.ca.certificate], crls=[crl], allow_test_ca=True)
    result = verify_package(pki.card.sign(DATA), {}, trust=trust, at=now())
    assert result.valid and any("次回更新日時" in w for w in result.warnings)


def test_wrong_key_usage(pki, trust):
    signed = pki.auth_only.sign(DATA, FILES)
    result = verify_package(signed, FILES, trust=trust, at=now())
    assert not result.valid and result.code == jpki.KEY_USAGE
    assert "鍵用途" in result.reason


def test_malformed_basic_four_is_reported(pki, trust):
    card = pki.issue(birth="919990101")
    result = verify_package(card.sign(DATA), {}, trust=trust, at=now())
    assert not result.valid and result.code == jpki.BAD_CERTIFICATE
    assert "生年月日" in result.reason


def test_test_ca_refused_without_setting(pki, settings):
    settings.JPKI_ALLOW_TEST_CA = False
    trust = jpki.TrustStore([pki.ca.certificate])
    result = verify_package(pki.card.sign(DATA), {}, trust=trust, at=now())
    assert not result.valid and result.code == jpki.TEST_CA_REFUSED
    assert "テスト用認証局" in result.reason
    settings.JPKI_ALLOW_TEST_CA = True
    trust = jpki.TrustStore([pki.ca.certificate])
    assert verify_package(pki.card.sign(DATA), {}, trust=trust, at=now()).valid


def test_unmarked_ca_is_a_normal_anchor(pki, settings):
    settings.JPKI_ALLOW_TEST_CA = False
    ca = TestCA.create(marker=False, key=pki.card_key)
    card = ca.issue_card(
        name="本番　想定", sex="1", birth="420000101", address="大阪府", key=pki.card_key
    )
    trust = jpki.TrustStore([ca.certificate])
    result = verify_package(card.sign(DATA), {}, trust=trust, at=now())
    assert result.valid, result.reason
    refused = jpki.TrustStore(test_anchors=[ca.certificate])  # loaded with is_test=True
    assert verify_package(card.sign(DATA), {}, trust=refused, at=now()).code == jpki.TEST_CA_REFUSED


def test_intermediate_from_key_info(pki, trust):
    signed = pki.intermediate_card.sign(DATA, FILES)
    result = verify_package(signed, FILES, trust=trust, at=now())
    assert result.valid, result.reason
    assert len(result.chain) == 3


def test_intermediate_from_trust_store(pki):
    from madoguchi_dev.testca import TestCard

    card = pki.intermediate_card
    bare = TestCard(card.key, card.certificate, chain=[])  # no intermediate in KeyInfo
    signed = bare.sign(DATA)
    without = pki.trust()
    assert verify_package(signed, {}, trust=without, at=now()).code == jpki.UNKNOWN_CA
    with_it = jpki.TrustStore(
        [pki.ca.certificate], intermediates=[pki.intermediate.certificate], allow_test_ca=True
    )
    assert verify_package(signed, {}, trust=with_it, at=now()).valid


def test_revoked_intermediate(pki):
    from cryptography import x509

    ca = TestCA(pki.ca.key, pki.ca.certificate)  # same CA, separate revocation list
    ca.revoke(pki.intermediate.certificate.serial_number)
    trust = jpki.TrustStore(
        [ca.certificate], crls=[x509.load_der_x509_crl(ca.crl())], allow_test_ca=True
    )
    result = verify_package(pki.intermediate_card.sign(DATA), {}, trust=trust, at=now())
    assert not result.valid and result.code == jpki.REVOKED
    assert "認証局の証明書" in result.reason


def test_signing_time_in_the_future(pki, trust):
    signed = pki.card.sign(DATA, signing_time=now() + timedelta(hours=1))
    result = verify_package(signed, {}, trust=trust, at=now())
    assert not result.valid and result.code == jpki.SIGNING_TIME


def test_signing_time_long_before_reception(pki, trust):
    signed = pki.card.sign(DATA, signing_time=now() - timedelta(hours=1))
    assert verify_package(signed, {}, trust=trust, at=now()).code == jpki.SIGNING_TIME


def test_package_without_signing_time_uses_at(pki, trust):
    tree = etree.fromstring(pki.card.sign(DATA))
    assert tree.find(f"{{{jpki.PACKAGE_NS}}}SigningTime") is not None
    # Built by hand: a package whose signed content has no SigningTime.
    root = jpki.build_unsigned_package(DATA, {}, signing_time=now())
    root.remove(root.find(f"{{{jpki.PACKAGE_NS}}}SigningTime"))
    signed = jpki._signer().sign(root, key=pki.card.key, cert=[pki.card.certificate])
    result = verify_package(etree.tostring(signed, encoding="UTF-8"), {}, trust=trust, at=now())
    assert result.valid and result.signing_time is not None


def test_wrapping_attack_is_refused(pki, trust, signed):
    """A second, unsigned SignedApplication around the signed one."""
    outer = etree.Element(f"{{{jpki.PACKAGE_NS}}}SignedApplication")
    outer.append(etree.fromstring(signed))
    result = verify_package(etree.tostring(outer, encoding="UTF-8"), FILES, trust=trust, at=now())
    assert not result.valid


def test_doctype_refused(trust, signed):
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]>' + signed.split(b"?>", 1)[1]
    result = verify_package(evil, FILES, trust=trust, at=now())
    assert not result.valid and "DOCTYPE" in result.reason


def test_sign_rejects_bad_data(pki):
    with pytest.raises(jpki.PackageError):
        pki.card.sign(b"not xml")


def test_short_rsa_key_refused(pki, trust):
    from madoguchi_dev.testca import new_key

    card = pki.issue(key=new_key(1024))
    result = verify_package(card.sign(DATA), {}, trust=trust, at=now())
    assert not result.valid and result.code == jpki.WEAK_ALGORITHM
    assert "2048" in result.reason


def test_a_trust_store_sent_to_another_process_decides_the_same(pki, trust, settings):
    """The intake checks signatures in worker processes: the store travels pickled (as DER)
    with its options and gives the same results there."""
    import pickle

    copy = pickle.loads(pickle.dumps(trust))
    assert copy.digest == trust.digest
    for card, code in [(pki.card, jpki.OK), (pki.revoked, jpki.REVOKED)]:
        signed = card.sign(DATA, FILES)
        assert verify_package(signed, FILES, trust=copy, at=now()).code == code
    # Options are carried, not re-read from the settings of the receiving process.
    settings.JPKI_ALLOW_TEST_CA = False
    settings.JPKI_SIGNING_TIME_BEFORE_MINUTES = 3
    settings.JPKI_SIGNING_POLICY_OIDS = ["1.2.3.4"]
    refused = jpki.TrustStore([pki.ca.certificate])
    settings.JPKI_ALLOW_TEST_CA = True
    settings.JPKI_SIGNING_TIME_BEFORE_MINUTES = 10
    settings.JPKI_SIGNING_POLICY_OIDS = None
    copy = pickle.loads(pickle.dumps(refused))
    assert copy.allow_test_ca is False
    assert copy.signing_time_before == timedelta(minutes=3)
    assert copy.signing_policies == ("1.2.3.4",)
    result = verify_package(pki.card.sign(DATA), {}, trust=copy, at=now())
    assert result.code == jpki.TEST_CA_REFUSED
    assert copy.digest != trust.digest
