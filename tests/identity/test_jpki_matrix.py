"""The verification matrix with certificates made here, by `cryptography` alone, under a CA
that is not the project's test CA (no test marker, its own names and profile): each case is
refused with its exact reason, or accepted.

Every case is judged at マイナポータル's reception time `R`, never at the signer's own
SigningTime; `NOW` (when the CRL's freshness is judged) is a day later.
"""

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from lxml import etree

from madoguchi.identity import jpki
from madoguchi.identity.jpki import TrustStore, verify_package

from .foreign_pki import (
    AUTH_POLICY,
    CRL_URI,
    SIGN_POLICY,
    Foreign,
    basic_four,
    card,
    crl,
    make_foreign,
    store,
)

R = datetime(2026, 4, 1, 1, 0, tzinfo=UTC)  # 2026年4月1日 10:00 (JST)
NOW = R + timedelta(days=1)
DATA = "<申請 xmlns='urn:example:prefecture'><氏名>渡邉　太郎</氏名></申請>".encode()
FILES = {"住民票.pdf": b"%PDF-1.7 foreign" * 50}


def jst(dt: datetime) -> str:
    """How the reasons write a time (Japan time)."""
    local = dt.astimezone(jpki_jst())
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def jst_s(dt: datetime) -> str:
    local = dt.astimezone(jpki_jst())
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M:%S}"


def jpki_jst():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Tokyo")


@pytest.fixture(scope="module")
def pki() -> Foreign:
    return make_foreign()


def sign(pki: Foreign, cert, *, signing_time=None, chain=(), files=FILES) -> bytes:
    return jpki.sign_package(
        DATA,
        files,
        key=pki.card_key,
        certificate=cert,
        signing_time=signing_time or R - timedelta(minutes=1),
        chain=chain,
    )


def fresh_crl(pki, revoked=(), **kw):
    """Issued six hours before R, current at R and at NOW."""
    kw.setdefault("this_update", R - timedelta(hours=6))
    kw.setdefault("next_update", NOW + timedelta(days=1))
    return crl(pki, revoked, **kw)


def verify(signed, trust, *, at=R, files=FILES, **kw):
    kw.setdefault("now", NOW)
    return verify_package(signed, files, trust=trust, at=at, **kw)


# --- accepted --------------------------------------------------------------------------------


def test_valid_signature_of_a_foreign_ca(pki):
    cert = card(pki)
    result = verify(sign(pki, cert), store(pki, [fresh_crl(pki)]))
    assert result.valid, result.reason
    assert result.code == jpki.OK and result.reason == "署名は有効です。"
    assert result.revocation_checked and result.warnings == []
    assert result.validated_at == R and result.validated_at_source == jpki.AT_RECEIVED
    assert result.crl_this_update == R - timedelta(hours=6)
    assert result.certificate.policies == (SIGN_POLICY,)
    identity = result.identity(NOW)
    assert identity["validated_at"] == R.isoformat()
    assert identity["validated_at_source"] == "received_at"
    assert identity["revocation_checked"] is True


@pytest.mark.parametrize("minutes", [-10, -9, 0, 4, 5])
def test_signing_time_close_to_the_reception_time_is_accepted(pki, minutes):
    cert = card(pki)
    signed = sign(pki, cert, signing_time=R + timedelta(minutes=minutes))
    assert verify(signed, store(pki, [fresh_crl(pki)])).valid


def test_smartphone_signing_policy_is_accepted(pki):
    cert = card(pki, policies=("1.2.392.200149.8.5.1.1.40",))
    assert verify(sign(pki, cert), store(pki, [fresh_crl(pki)])).valid


def test_jlis_test_card_policy_only_with_test_ca_allowed(pki):
    cert = card(pki, policies=("1.2.392.200149.8.5.1.0.20",))
    signed = sign(pki, cert)
    assert verify(signed, store(pki, [fresh_crl(pki)], allow_test_ca=True)).valid
    assert verify(signed, store(pki, [fresh_crl(pki)])).code == jpki.POLICY


def test_certificate_revoked_after_reception_stays_valid(pki):
    cert = card(pki)
    later = crl(pki, [(cert, R + timedelta(hours=1))], this_update=R + timedelta(hours=2))
    result = verify(sign(pki, cert), store(pki, [later]))
    assert result.valid, result.reason
    assert result.warnings == [
        f"署名用電子証明書はマイナポータルの受付日時（{jst(R)}）の後"
        f"（{jst(R + timedelta(hours=1))}）に失効しています。"
        "マイナポータルの受付日時には有効だったため、署名は有効です。"
    ]


def test_expired_since_reception_stays_valid(pki):
    """Imported (or reprocessed) after the certificate expired: judged at reception."""
    cert = card(pki, not_after=R + timedelta(hours=1))
    old = fresh_crl(pki)
    result = verify(sign(pki, cert), store(pki, [old]), now=R + timedelta(days=30))
    assert result.valid, result.reason


def test_unreadable_alternative_characters_do_not_refuse(pki):
    cert = card(pki, san=basic_four(name_alt="0100"))  # 4 flags for 5 characters
    result = verify(sign(pki, cert), store(pki, [fresh_crl(pki)]))
    assert result.valid, result.reason
    assert result.warnings == [
        "氏名代替文字の使用位置情報を読み取れませんでした（桁数（4）が文字数（5）と一致しません）。"
        "代替文字の位置は分からないため、氏名・住所は住民記録で確認してください。"
    ]
    assert result.certificate.basic_four.name_alt_positions == []


def test_signxml_used_directly_with_the_foreign_ca(pki):
    """A package signed by signxml's own signer (not the project's wrapper; its ASCII
    re-serialisation cannot carry Japanese element names, so the data uses English ones)."""
    from signxml import DigestAlgorithm, SignatureMethod, XMLSigner, methods

    cert = card(pki)
    data = "<Application xmlns='urn:example:prefecture'><Name>渡邉　太郎</Name></Application>"
    root = jpki.build_unsigned_package(data.encode(), FILES, signing_time=R - timedelta(minutes=2))
    signer = XMLSigner(
        method=methods.enveloped,
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
    )
    signed = etree.tostring(signer.sign(root, key=pki.card_key, cert=[cert]), encoding="UTF-8")
    result = verify(signed, store(pki, [fresh_crl(pki)]))
    assert result.valid, result.reason


# --- the time the signature is judged at -----------------------------------------------------


def test_expired_and_backdated_is_refused(pki):
    """Expired before マイナポータル received it; SigningTime written inside the validity."""
    expiry = R - timedelta(days=31)
    cert = card(pki, not_after=expiry)
    signed = sign(pki, cert, signing_time=expiry - timedelta(days=1))
    result = verify(signed, store(pki, [fresh_crl(pki)]))
    assert not result.valid and result.code == jpki.EXPIRED
    assert result.reason == (
        f"署名用電子証明書の有効期限（{jst(expiry)}）がマイナポータルの受付日時（{jst(R)}）には"
        "切れています。"
    )


def test_expired_signed_honestly_is_refused(pki):
    expiry = R - timedelta(days=1)
    cert = card(pki, not_after=expiry)
    result = verify(sign(pki, cert), store(pki, [fresh_crl(pki)]))
    assert result.code == jpki.EXPIRED


def test_not_yet_valid_at_reception(pki):
    start = R + timedelta(days=2)
    cert = card(pki, not_before=start)
    result = verify(sign(pki, cert, signing_time=R), store(pki, [fresh_crl(pki)]))
    assert result.code == jpki.NOT_YET_VALID
    assert result.reason == (
        f"署名用電子証明書の有効期間の開始（{jst(start)}）がマイナポータルの受付日時（{jst(R)}）"
        "より後です。"
    )


def test_signing_time_long_before_reception_is_refused(pki):
    cert = card(pki)
    signing_time = R - timedelta(minutes=11)
    result = verify(sign(pki, cert, signing_time=signing_time), store(pki, [fresh_crl(pki)]))
    assert not result.valid and result.code == jpki.SIGNING_TIME
    assert result.reason == (
        f"署名日時（{jst_s(signing_time)}）がマイナポータルの受付日時（{jst_s(R)}）の10分より"
        "前です。署名日時は申請者の端末が記録した時刻のため、受付日時から離れた署名は"
        "受け付けません。"
    )


def test_signing_time_after_reception_is_refused(pki):
    cert = card(pki)
    signing_time = R + timedelta(minutes=6)
    result = verify(sign(pki, cert, signing_time=signing_time), store(pki, [fresh_crl(pki)]))
    assert result.code == jpki.SIGNING_TIME
    assert result.reason == (
        f"署名日時（{jst_s(signing_time)}）がマイナポータルの受付日時（{jst_s(R)}）より後に"
        "なっています（5分までの時計のずれだけを認めます）。"
    )


def test_signing_time_window_is_a_setting(pki, settings):
    settings.JPKI_SIGNING_TIME_BEFORE_MINUTES = 30
    cert = card(pki)
    signed = sign(pki, cert, signing_time=R - timedelta(minutes=20))
    assert verify(signed, store(pki, [fresh_crl(pki)])).valid
    settings.JPKI_SIGNING_TIME_BEFORE_MINUTES = 10
    assert verify(signed, store(pki, [fresh_crl(pki)])).code == jpki.SIGNING_TIME


def test_without_reception_time_the_pull_time_decides(pki):
    """A package the API reported without a reception time: the certificate is judged at
    the pull, an earlier SigningTime does not matter, a later one does."""
    pulled = R + timedelta(days=3)
    cert = card(pki)
    trust = store(pki, [fresh_crl(pki, next_update=pulled + timedelta(days=1))])
    result = verify(sign(pki, cert), trust, at=pulled, at_source=jpki.AT_PULLED, now=pulled)
    assert result.valid, result.reason
    assert result.validated_at_source == jpki.AT_PULLED
    assert result.warnings == [
        "マイナポータルから受付日時が届かなかったため、証明書の有効性は取得日時"
        f"（{jst(pulled)}）で判断しました。"
    ]
    expired = card(pki, not_after=R + timedelta(days=1))
    result = verify(sign(pki, expired), trust, at=pulled, at_source=jpki.AT_PULLED, now=pulled)
    assert result.code == jpki.EXPIRED
    assert result.reason.endswith(f"取得日時（{jst(pulled)}）には切れています。")


# --- revocation ------------------------------------------------------------------------------


def revoked_reason(revoked_at: datetime, reason: str = "") -> str:
    why = f"、理由：{reason}" if reason else ""
    return (
        f"失効した証明書で署名されています（失効日時：{jst(revoked_at)}{why}、"
        f"マイナポータルの受付日時：{jst(R)}）。"
    )


def test_revoked_before_reception_crl_older_than_the_signing(pki):
    cert = card(pki)
    revoked_at = R - timedelta(days=3)
    old = crl(pki, [(cert, revoked_at)], this_update=R - timedelta(days=2), next_update=NOW)
    result = verify(sign(pki, cert), store(pki, [old]))
    assert result.code == jpki.REVOKED and result.reason == revoked_reason(revoked_at)


def test_revoked_before_reception_crl_newer_than_the_signing(pki):
    cert = card(pki)
    revoked_at = R - timedelta(hours=1)
    new = crl(
        pki,
        [(cert, revoked_at, x509.ReasonFlags.key_compromise)],
        this_update=R + timedelta(hours=1),
        next_update=NOW + timedelta(days=1),
    )
    result = verify(sign(pki, cert), store(pki, [new]))
    assert result.code == jpki.REVOKED
    assert result.reason == revoked_reason(revoked_at, "keyCompromise")


def test_backdating_before_the_revocation_does_not_help(pki):
    cert = card(pki)
    revoked_at = R - timedelta(days=5)
    listing = fresh_crl(pki, [(cert, revoked_at)])
    signed = sign(pki, cert, signing_time=revoked_at - timedelta(days=1))
    assert verify(signed, store(pki, [listing])).code == jpki.REVOKED


def test_invalidity_date_before_the_revocation_date_counts(pki):
    cert = card(pki)
    listing = crl(
        pki,
        [(cert, R + timedelta(hours=2), x509.ReasonFlags.key_compromise, R - timedelta(hours=3))],
        this_update=R + timedelta(hours=3),
        next_update=NOW + timedelta(days=1),
    )
    result = verify(sign(pki, cert), store(pki, [listing]))
    assert result.code == jpki.REVOKED
    assert result.reason == revoked_reason(R - timedelta(hours=3), "keyCompromise")


def test_revoked_then_expired(pki):
    """Revoked, then expired, then used with a SigningTime from its valid days."""
    revoked_at, expiry = R - timedelta(days=60), R - timedelta(days=30)
    cert = card(pki, not_after=expiry)
    listing = crl(pki, [(cert, revoked_at)], this_update=revoked_at + timedelta(days=1))
    newest = fresh_crl(pki)  # issued after the expiry: the certificate is no longer listed
    signed = sign(pki, cert, signing_time=revoked_at - timedelta(days=1))
    result = verify(signed, store(pki, [listing, newest]))
    assert result.code == jpki.EXPIRED


def test_revoked_before_reception_and_expired_since_is_still_revoked(pki):
    """Reprocessed after the expiry: the newest CRL no longer lists the certificate (a CA
    may drop expired ones), an older one does: revoked, not valid."""
    revoked_at, expiry = R - timedelta(days=2), R + timedelta(days=2)
    cert = card(pki, not_after=expiry)
    during = crl(pki, [(cert, revoked_at)], this_update=R - timedelta(days=1))
    after_expiry = crl(
        pki, [], this_update=expiry + timedelta(days=3), next_update=NOW + timedelta(days=30)
    )
    later = NOW + timedelta(days=10)
    result = verify(sign(pki, cert), store(pki, [during, after_expiry]), now=later)
    assert result.code == jpki.REVOKED and result.reason == revoked_reason(revoked_at)
    # With only the CRL issued after the expiry, revocation cannot be known: never "valid
    # and checked" (a warning, or refused when CRLs are required).
    result = verify(sign(pki, cert), store(pki, [after_expiry]), now=later)
    assert result.valid and result.revocation_checked is False
    message = (
        "署名用電子証明書の有効期限より後に発行された失効リストしか読み込まれていないため"
        "（有効期限の切れた証明書は失効リストから外れることがあります）、"
    )
    assert result.warnings == [message + "失効は確認していません。"]
    strict = store(pki, [after_expiry], require_crl=True)
    result = verify(sign(pki, cert), strict, now=later)
    assert result.code == jpki.NO_CRL and result.reason == message + "失効を確認できません。"


def test_stale_crl_warns_and_never_clears_a_revocation(pki):
    cert, other = card(pki), card(pki)
    revoked_at = R - timedelta(days=3)
    stale = crl(
        pki,
        [(cert, revoked_at)],
        this_update=R - timedelta(days=2),
        next_update=R + timedelta(hours=3),
    )
    for require in (False, True):
        trust = store(pki, [stale], require_crl=require)
        result = verify(sign(pki, cert), trust)
        assert result.code == jpki.REVOKED and result.reason == revoked_reason(revoked_at)
    result = verify(sign(pki, other), store(pki, [stale]))
    assert result.valid
    assert result.warnings == [
        f"失効リストの次回更新日時（{jst(R + timedelta(hours=3))}）を過ぎています。"
        "最新の失効リストを読み込んでください。"
    ]
    result = verify(sign(pki, other), store(pki, [stale], require_crl=True))
    assert result.code == jpki.NO_CRL
    assert result.reason == "失効リストが古いため、失効を確認できません。"


def test_no_crl_at_all(pki):
    cert = card(pki)
    result = verify(sign(pki, cert), store(pki))
    assert result.valid and result.revocation_checked is False
    assert result.warnings == ["失効リストが読み込まれていないため、失効は確認していません。"]
    result = verify(sign(pki, cert), store(pki, require_crl=True))
    assert result.code == jpki.NO_CRL
    assert result.reason == "失効リストが読み込まれていないため、失効を確認できません。"


def test_partitioned_crls_answer_for_their_partition_only(pki):
    cert = card(pki, crl_uri=CRL_URI)
    other_partition = fresh_crl(
        pki, [(cert, R - timedelta(days=1))], partition="http://crl.example.jp/sign/partition-2.crl"
    )
    result = verify(sign(pki, cert), store(pki, [other_partition]))
    assert result.valid and result.revocation_checked is False  # that CRL is not its list
    own = fresh_crl(pki, [(cert, R - timedelta(days=1))], partition=CRL_URI)
    result = verify(sign(pki, cert), store(pki, [other_partition, own]))
    assert result.code == jpki.REVOKED


def test_intermediate_revoked_before_reception(pki):
    cert = card(pki, issuer="sub")
    revoked_at = R - timedelta(days=1)
    root_crl = fresh_crl(pki, [(pki.sub, revoked_at)])
    sub_crl = fresh_crl(pki, issuer="sub")
    result = verify(sign(pki, cert, chain=[pki.sub]), store(pki, [root_crl, sub_crl]))
    assert result.code == jpki.REVOKED
    assert result.reason == (
        f"認証局の証明書（{pki.sub.subject.rfc4514_string()}）がマイナポータルの受付日時より"
        f"前に失効しています（失効日時：{jst(revoked_at)}）。"
    )
    assert verify(sign(pki, cert, chain=[pki.sub]), store(pki, [fresh_crl(pki), sub_crl])).valid


# --- certificate profile ---------------------------------------------------------------------

ACCEPTED = "1.2.392.200149.8.5.1.1.20、1.2.392.200149.8.5.1.1.40"


def test_no_certificate_policy_is_refused_naming_it(pki):
    cert = card(pki, policies=())
    result = verify(sign(pki, cert), store(pki, [fresh_crl(pki)]))
    assert not result.valid and result.code == jpki.POLICY
    assert result.reason == (
        f"署名用電子証明書に公的個人認証サービスの署名用の証明書ポリシー（{ACCEPTED}）がありません。"
    )


def test_authentication_certificate_policy_is_refused(pki):
    cert = card(pki, policies=(AUTH_POLICY,))
    result = verify(sign(pki, cert), store(pki, [fresh_crl(pki)]))
    assert result.code == jpki.POLICY
    assert result.reason == (
        f"署名用電子証明書の証明書ポリシー（{AUTH_POLICY}）に公的個人認証サービスの署名用の"
        f"証明書ポリシー（{ACCEPTED}）がありません。"
    )


def _usage(**bits) -> x509.KeyUsage:
    names = [
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    ]
    return x509.KeyUsage(*(bits.get(n, False) for n in names))


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        (
            {"key_usage": _usage(digital_signature=True)},  # 利用者証明用
            "署名用電子証明書ではありません（鍵用途に否認防止（nonRepudiation）がありません）。",
        ),
        (
            {"key_usage": _usage(content_commitment=True)},
            "署名用電子証明書ではありません（鍵用途に電子署名（digitalSignature）がありません）。",
        ),
        (
            {"key_usage": _usage(key_encipherment=True)},
            "署名用電子証明書ではありません（鍵用途に電子署名（digitalSignature）・"
            "否認防止（nonRepudiation）がありません）。",
        ),
        (
            {"key_usage": None},
            "署名用電子証明書ではありません（鍵用途（keyUsage）の拡張がありません）。",
        ),
        (
            {
                "key_usage": _usage(
                    digital_signature=True, content_commitment=True, key_cert_sign=True
                )
            },
            "署名用電子証明書ではありません（鍵用途に証明書・失効リストへの署名があり、"
            "認証局の鍵です）。",
        ),
        (
            {"ca": True},
            "署名用電子証明書ではありません（認証局の証明書です）。",
        ),
    ],
)
def test_wrong_key_usage(pki, options, reason):
    cert = card(pki, **options)
    result = verify(sign(pki, cert), store(pki, [fresh_crl(pki)]))
    assert not result.valid and result.code == jpki.KEY_USAGE
    assert result.reason == reason


def test_unknown_critical_extension_is_refused(pki):
    unknown = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x05\x00")
    cert = card(pki, extra=[(unknown, True)])
    result = verify(sign(pki, cert), store(pki, [fresh_crl(pki)]))
    assert result.code == jpki.BAD_CERTIFICATE
    assert result.reason == (
        "署名用電子証明書に処理できない重要（critical）な拡張（1.3.6.1.4.1.99999.1）があります。"
    )
    # The same extension not marked critical is ignored.
    assert verify(
        sign(pki, card(pki, extra=[(unknown, False)])), store(pki, [fresh_crl(pki)])
    ).valid


def test_untrusted_ca_is_named_before_the_policy(pki):
    cert = card(pki, policies=())
    result = verify(sign(pki, cert), TrustStore([], allow_test_ca=False))
    assert result.code == jpki.UNKNOWN_CA


# --- the signed content ----------------------------------------------------------------------


def _signed_by_hand(pki, cert, mutate) -> bytes:
    root = jpki.build_unsigned_package(DATA, FILES, signing_time=R - timedelta(minutes=1))
    mutate(root)
    signed = jpki._signer().sign(root, key=pki.card_key, cert=[cert])
    return etree.tostring(signed, encoding="UTF-8")


def test_an_attachment_listed_twice_in_the_signed_content_is_refused(pki):
    cert = card(pki)

    def twice(root):
        listing = root.find(f"{{{jpki.PACKAGE_NS}}}Attachments")
        listing.append(etree.fromstring(etree.tostring(listing[0])))

    result = verify(_signed_by_hand(pki, cert, twice), store(pki, [fresh_crl(pki)]))
    assert result.code == jpki.DUPLICATE_ENTRY
    assert (
        result.reason
        == "署名された添付書類の一覧に「住民票.pdf」という名前の添付書類が2つあります。"
    )


def test_two_signing_times_are_refused(pki):
    cert = card(pki)

    def twice(root):
        first = root.find(f"{{{jpki.PACKAGE_NS}}}SigningTime")
        second = etree.fromstring(etree.tostring(first))
        second.text = (R - timedelta(days=100)).isoformat()
        root.insert(0, second)

    result = verify(_signed_by_hand(pki, cert, twice), store(pki, [fresh_crl(pki)]))
    assert result.code == jpki.DUPLICATE_ENTRY
    assert result.reason == (
        "署名付きデータに署名日時・申請データ・添付書類の一覧のどれかが複数あります。"
    )


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (".", "添付書類の名前「.」は使えません（「.」だけの名前です）。"),
        ("..", "添付書類の名前「..」は使えません（「.」だけの名前です）。"),
        ("....", "添付書類の名前「....」は使えません（「.」だけの名前です）。"),
        ("a\x07.pdf", "添付書類の名前「aU+0007.pdf」に制御文字（U+0007）が含まれています。"),
        ("a\x7f.pdf", "添付書類の名前「aU+007F.pdf」に制御文字（U+007F）が含まれています。"),
        ("a\u0085.pdf", "添付書類の名前「aU+0085.pdf」に制御文字（U+0085）が含まれています。"),
        (
            "請求書\u202efdp.exe",
            "添付書類の名前「請求書U+202Efdp.exe」に制御文字（U+202E）が含まれています。",
        ),
        ("../a.pdf", "添付書類の名前「../a.pdf」に「/」や「\\」は使えません。"),
        ("   ", "添付書類の名前が空白だけです。"),
    ],
)
def test_bad_attachment_names_are_refused(name, reason):
    assert jpki.attachment_name_problem(name) == reason
    with pytest.raises(ValueError, match="添付書類の名前"):
        jpki.build_unsigned_package(DATA, {name: b"x"}, signing_time=R)


@pytest.mark.parametrize(
    "name", ["住民票.pdf", ".hidden", "a..b", "ｶﾀｶﾅ 名前（写し）.PDF", "𠮷田.jpg"]
)
def test_ordinary_attachment_names_are_accepted(name):
    assert jpki.attachment_name_problem(name) is None
