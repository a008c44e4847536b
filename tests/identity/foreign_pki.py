"""A foreign PKI for tests, made here with `cryptography` alone: not the project's test CA
(no test marker, its own names, a profile like a JPKI 署名用電子証明書's)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from madoguchi.identity import jpki
from madoguchi.identity.jpki import TrustStore

SIGN_POLICY = "1.2.392.200149.8.5.1.1.20"
AUTH_POLICY = "1.2.392.200149.8.5.1.3.30"
CRL_URI = "http://crl.example.jp/sign/partition-1.crl"


def _utf8string(text: str) -> bytes:
    body = text.encode("utf-8")
    if len(body) < 0x80:
        return b"\x0c" + bytes([len(body)]) + body
    size = len(body).to_bytes((len(body).bit_length() + 7) // 8, "big")
    return b"\x0c" + bytes([0x80 | len(size)]) + size + body


def basic_four(name="渡邉　太郎", name_alt="01000", address="大阪府大阪市北区中之島１－３－２"):
    values = [
        ("1.2.392.200149.8.5.5.1", name),
        ("1.2.392.200149.8.5.5.4", "319700102"),
        ("1.2.392.200149.8.5.5.3", "1"),
        ("1.2.392.200149.8.5.5.5", address),
        ("1.2.392.200149.8.5.5.2", name_alt),
        ("1.2.392.200149.8.5.5.6", "0" * len(address)),
    ]
    return x509.SubjectAlternativeName(
        [x509.OtherName(x509.ObjectIdentifier(oid), _utf8string(v)) for oid, v in values]
    )


SIGNING = x509.KeyUsage(True, True, False, False, False, False, False, False, False)
CA_USAGE = x509.KeyUsage(False, False, False, False, False, True, True, False, False)


@dataclass
class Foreign:
    root_key: rsa.RSAPrivateKey
    root: x509.Certificate
    sub_key: rsa.RSAPrivateKey
    sub: x509.Certificate  # an intermediate CA under the root
    card_key: rsa.RSAPrivateKey


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Prefecture PKI"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def make_foreign() -> Foreign:
    root_key, sub_key, card_key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3)
    )
    start, end = datetime(2020, 1, 1, tzinfo=UTC), datetime(2040, 1, 1, tzinfo=UTC)
    root = (
        x509.CertificateBuilder()
        .subject_name(_name("Foreign Signing Root"))
        .issuer_name(_name("Foreign Signing Root"))
        .public_key(root_key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(CA_USAGE, critical=True)
        .sign(root_key, hashes.SHA256())
    )
    sub = (
        x509.CertificateBuilder()
        .subject_name(_name("Foreign Signing Sub CA"))
        .issuer_name(root.subject)
        .public_key(sub_key.public_key())
        .serial_number(2)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(CA_USAGE, critical=True)
        .sign(root_key, hashes.SHA256())
    )
    assert not jpki.is_test_certificate(root)
    return Foreign(root_key, root, sub_key, sub, card_key)


_serials = iter(range(1000, 10**6))


def card(
    pki: Foreign,
    *,
    not_before=datetime(2025, 1, 1, tzinfo=UTC),
    not_after=datetime(2030, 1, 1, tzinfo=UTC),
    policies=(SIGN_POLICY,),
    key_usage: x509.KeyUsage | None = SIGNING,
    ca: bool = False,
    extra=(),
    san=None,
    issuer: str = "root",
    crl_uri: str | None = None,
) -> x509.Certificate:
    issuer_cert = pki.root if issuer == "root" else pki.sub
    issuer_key = pki.root_key if issuer == "root" else pki.sub_key
    serial = next(_serials)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(f"card {serial}"))
        .issuer_name(issuer_cert.subject)
        .public_key(pki.card_key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(san or basic_four(), critical=False)
    )
    if key_usage is not None:
        builder = builder.add_extension(key_usage, critical=True)
    if policies:
        builder = builder.add_extension(
            x509.CertificatePolicies(
                [
                    x509.PolicyInformation(
                        x509.ObjectIdentifier(p), ["http://www.example.jp/cps.html"]
                    )
                    for p in policies
                ]
            ),
            critical=True,
        )
    if crl_uri:
        builder = builder.add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        [x509.UniformResourceIdentifier(crl_uri)], None, None, None
                    )
                ]
            ),
            critical=False,
        )
    for extension, critical in extra:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


def crl(
    pki: Foreign,
    revoked=(),
    *,
    this_update: datetime,
    next_update: datetime | None = None,
    issuer: str = "root",
    partition: str | None = None,
) -> x509.CertificateRevocationList:
    """revoked: (certificate, revocation time[, reason[, invalidity time]])."""
    issuer_cert = pki.root if issuer == "root" else pki.sub
    issuer_key = pki.root_key if issuer == "root" else pki.sub_key
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer_cert.subject)
        .last_update(this_update)
        .next_update(next_update or this_update + timedelta(days=1))
        .add_extension(x509.CRLNumber(int(this_update.timestamp())), critical=False)
    )
    if partition:
        builder = builder.add_extension(
            x509.IssuingDistributionPoint(
                full_name=[x509.UniformResourceIdentifier(partition)],
                relative_name=None,
                only_contains_user_certs=False,
                only_contains_ca_certs=False,
                only_some_reasons=None,
                indirect_crl=False,
                only_contains_attribute_certs=False,
            ),
            critical=True,
        )
    for item in revoked:
        cert, when, *rest = item
        entry = x509.RevokedCertificateBuilder().serial_number(cert.serial_number)
        entry = entry.revocation_date(when)
        if rest:
            entry = entry.add_extension(x509.CRLReason(rest[0]), critical=False)
        if len(rest) > 1:
            entry = entry.add_extension(x509.InvalidityDate(rest[1]), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(issuer_key, hashes.SHA256())


def store(pki: Foreign, crls=(), **options) -> TrustStore:
    options.setdefault("allow_test_ca", False)
    return TrustStore([pki.root], crls=list(crls), **options)
