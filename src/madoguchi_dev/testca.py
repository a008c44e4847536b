"""A test certification authority for development, tests, the simulator and benchmarks.

Never for production: keys are stored unencrypted (PEM) in the directory, and every certificate
of this CA carries the marker O="madoguchi test CA" that `TrustStore` refuses unless
settings.JPKI_ALLOW_TEST_CA is true.

    ca = TestCA.create(directory)                       # or TestCA.create() in memory
    card = ca.issue_card(name="髙橋　𠮷子", sex="2", birth=date(1985, 4, 1),
                         address="東京都千代田区九段南１－２－１")
    signed = card.sign(b"<Application>...</Application>", {"a.pdf": b"..."})
    ca.revoke(card.serial); crl_der = ca.crl()
    trust = ca.trust_store()                             # anchors + CRL, test CA allowed
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from madoguchi.identity import jpki
from madoguchi.jp.wareki import to_wareki

__test__ = False  # not a pytest test class despite the name

ERA_DIGITS = {"明治": "1", "大正": "2", "昭和": "3", "平成": "4", "令和": "5"}
SIGNING_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=True,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)
#: The key usage of a 利用者証明用電子証明書 (authentication only): not for signing packages.
AUTH_KEY_USAGE = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
CA_KEY_USAGE = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
#: The certificate policy a 署名用電子証明書 carries (the card's, see jpki.JPKI_SIGNING_POLICIES).
SIGNING_POLICY = jpki.JPKI_SIGNING_POLICIES[0]
#: The policy of a 利用者証明用電子証明書 (authentication).
AUTH_POLICY = "1.2.392.200149.8.5.1.3.30"


def certificate_policies(*oids: str) -> x509.CertificatePolicies:
    return x509.CertificatePolicies(
        [x509.PolicyInformation(x509.ObjectIdentifier(oid), None) for oid in oids]
    )


def new_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def birth_raw(birth: date | str) -> str:
    """EYYYYMMDD: era digit + Gregorian date (an EYYYYMMDD string is returned as given)."""
    if isinstance(birth, str):
        return birth
    try:
        era = ERA_DIGITS[to_wareki(birth)[0]]
    except Exception:
        era = "0"
    return f"{era}{birth:%Y%m%d}"


def _utf8(text: str) -> bytes:
    """DER UTF8String."""
    body = text.encode("utf-8")
    n = len(body)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return b"\x0c" + length + body


def basic_four_san(
    *,
    name: str,
    sex: str,
    birth: date | str,
    address: str,
    name_alt: str | None = None,
    address_alt: str | None = None,
    raw: Mapping[str, bytes] | None = None,
) -> x509.SubjectAlternativeName:
    """subjectAltName with the 基本4情報 otherName entries (order as on real cards: .1 .4 .3
    .5 .2 .6). `raw` replaces an entry's DER value by OID dotted string (for malformed tests)."""
    values = [
        (jpki.OID_NAME, name),
        (jpki.OID_BIRTH_DATE, birth_raw(birth)),
        (jpki.OID_SEX, sex),
        (jpki.OID_ADDRESS, address),
        (jpki.OID_NAME_ALT, "0" * len(name) if name_alt is None else name_alt),
        (jpki.OID_ADDRESS_ALT, "0" * len(address) if address_alt is None else address_alt),
    ]
    raw = dict(raw or {})
    names = []
    for oid, text in values:
        if oid.dotted_string in raw:
            value = raw.pop(oid.dotted_string)
            if value is None:
                continue
        else:
            value = _utf8(text)
        names.append(x509.OtherName(oid, value))
    for dotted, value in raw.items():
        names.append(x509.OtherName(x509.ObjectIdentifier(dotted), value))
    return x509.SubjectAlternativeName(names)


def _pem_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class TestCard:
    """A test card's 署名用電子証明書 and its private key."""

    __test__ = False

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    chain: list[x509.Certificate] = field(default_factory=list)

    @property
    def serial(self) -> str:
        return jpki.serial_hex(self.certificate.serial_number)

    def sign(
        self,
        data_xml: bytes,
        attachments: Mapping[str, bytes] | None = None,
        *,
        signing_time: datetime | None = None,
    ) -> bytes:
        return jpki.sign_package(
            data_xml,
            attachments or {},
            key=self.key,
            certificate=self.certificate,
            signing_time=signing_time,
            chain=self.chain,
        )


class TestCA:
    __test__ = False

    def __init__(
        self,
        key: rsa.RSAPrivateKey,
        certificate: x509.Certificate,
        directory: Path | None = None,
        *,
        revoked: dict[int, datetime] | None = None,
        chain: list[x509.Certificate] | None = None,
    ):
        self.key = key
        self.certificate = certificate
        self.directory = Path(directory) if directory else None
        self.revoked: dict[int, datetime] = dict(revoked or {})
        self.chain = list(chain or [])  # issuer … root of a subordinate CA; [] for a root

    # -- creation --

    @classmethod
    def create(
        cls,
        directory: Path | str | None = None,
        *,
        common_name: str = "madoguchi JPKI test signing CA",
        key: rsa.RSAPrivateKey | None = None,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        marker: bool = True,
    ) -> TestCA:
        """A self-signed root (RSA-2048, SHA-256). `marker=False` leaves out the test-CA
        marker (only for tests of the trust policy)."""
        key = key or new_key()
        now = datetime.now(UTC)
        name = cls._name(common_name, marker)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            # Backdated so that cards signed "in the past" (expiry tests) chain to a valid CA.
            .not_valid_before(not_before or now - timedelta(days=3650))
            .not_valid_after(not_after or now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(CA_KEY_USAGE, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        ca = cls(key, cert, Path(directory) if directory else None)
        ca.save()
        return ca

    @staticmethod
    def _name(common_name: str, marker: bool) -> x509.Name:
        attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "JP")]
        attrs.append(
            x509.NameAttribute(
                NameOID.ORGANIZATION_NAME, jpki.TEST_CA_MARKER if marker else "madoguchi unit test"
            )
        )
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
        return x509.Name(attrs)

    @classmethod
    def open(cls, directory: Path | str) -> TestCA:
        directory = Path(directory)
        try:
            key = serialization.load_pem_private_key((directory / "ca.key.pem").read_bytes(), None)
            cert = x509.load_pem_x509_certificate((directory / "ca.cert.pem").read_bytes())
        except FileNotFoundError:
            raise FileNotFoundError(
                f"{directory} にテスト用認証局がありません（先に jpki_testca init を実行してください）。"
            ) from None
        state = {}
        if (directory / "state.json").exists():
            state = json.loads((directory / "state.json").read_text())
        revoked = {
            int(serial, 16): datetime.fromisoformat(when)
            for serial, when in state.get("revoked", {}).items()
        }
        return cls(key, cert, directory, revoked=revoked)

    def save(self) -> None:
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "cards").mkdir(exist_ok=True)
        key_path = self.directory / "ca.key.pem"
        key_path.write_bytes(_pem_key(self.key))
        key_path.chmod(0o600)
        (self.directory / "ca.cert.pem").write_bytes(_pem_cert(self.certificate))
        (self.directory / "ca.cert.der").write_bytes(
            self.certificate.public_bytes(serialization.Encoding.DER)
        )
        self._save_state()

    def _save_state(self) -> None:
        if self.directory is None:
            return
        state = {"revoked": {jpki.serial_hex(s): t.isoformat() for s, t in self.revoked.items()}}
        (self.directory / "state.json").write_text(json.dumps(state, indent=2))

    # -- issuing --

    def issue_subordinate(
        self, common_name: str = "madoguchi JPKI test intermediate CA", *, key=None
    ) -> TestCA:
        """An intermediate CA (in memory) signed by this CA; its cards carry it in `chain`."""
        key = key or new_key()
        cert = (
            x509.CertificateBuilder()
            .subject_name(self._name(common_name, jpki.is_test_certificate(self.certificate)))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.certificate.not_valid_before_utc)
            .not_valid_after(self.certificate.not_valid_after_utc)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(CA_KEY_USAGE, critical=True)
            .sign(self.key, hashes.SHA256())
        )
        return TestCA(key, cert, None, chain=[self.certificate, *self.chain])

    def issue_card(
        self,
        *,
        name: str,
        sex: str,
        birth: date | str,
        address: str,
        name_alt: str | None = None,
        address_alt: str | None = None,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        key: rsa.RSAPrivateKey | None = None,
        key_usage: x509.KeyUsage | None = SIGNING_KEY_USAGE,
        raw_san: Mapping[str, bytes] | None = None,
        san: x509.SubjectAlternativeName | None = None,
        hash_algorithm: hashes.HashAlgorithm | None = None,
        policies: tuple[str, ...] | None = None,
        extensions: tuple[tuple[x509.ExtensionType, bool], ...] = (),
    ) -> TestCard:
        """A 署名用電子証明書 with 基本4情報 (`birth`: a date or an EYYYYMMDD string;
        `name_alt`/`address_alt`: the 代替文字 position flags, zeros by default; `policies`:
        the certificatePolicies OIDs, the JPKI signing policy by default, () for none;
        `extensions`: more (extension, critical) pairs)."""
        key = key or new_key()
        now = datetime.now(UTC)
        serial = x509.random_serial_number()
        builder = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, jpki.TEST_CA_MARKER),
                        x509.NameAttribute(NameOID.COMMON_NAME, f"JPKI test card {serial:X}"),
                    ]
                )
            )
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(not_before or now - timedelta(days=1))
            .not_valid_after(not_after or now + timedelta(days=5 * 365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                san
                or basic_four_san(
                    name=name,
                    sex=sex,
                    birth=birth,
                    address=address,
                    name_alt=name_alt,
                    address_alt=address_alt,
                    raw=raw_san,
                ),
                critical=False,
            )
        )
        if key_usage is not None:
            builder = builder.add_extension(key_usage, critical=True)
        if policies is None:
            policies = (AUTH_POLICY,) if key_usage == AUTH_KEY_USAGE else (SIGNING_POLICY,)
        if policies:
            # Critical on real cards, as in the J-LIS profile.
            builder = builder.add_extension(certificate_policies(*policies), critical=True)
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        cert = builder.sign(self.key, hash_algorithm or hashes.SHA256())
        card = TestCard(key, cert, chain=self.chain_for_cards)
        if self.directory is not None:
            cards = self.directory / "cards"
            cards.mkdir(parents=True, exist_ok=True)
            key_path = cards / f"{card.serial}.key.pem"
            key_path.write_bytes(_pem_key(key))
            key_path.chmod(0o600)
            (cards / f"{card.serial}.cert.pem").write_bytes(_pem_cert(cert))
        return card

    @property
    def chain_for_cards(self) -> list[x509.Certificate]:
        """Certificates a card of this CA sends with its signature (intermediates)."""
        if not self.chain:
            return []
        return [self.certificate, *self.chain[:-1]]

    def open_card(self, serial: str) -> TestCard:
        if self.directory is None:
            raise FileNotFoundError("メモリ上の認証局のカードは開けません。")
        serial = jpki.normalize_serial(serial)
        cards = self.directory / "cards"
        try:
            key = serialization.load_pem_private_key(
                (cards / f"{serial}.key.pem").read_bytes(), None
            )
            cert = x509.load_pem_x509_certificate((cards / f"{serial}.cert.pem").read_bytes())
        except FileNotFoundError:
            raise FileNotFoundError(f"シリアル番号 {serial} のテストカードはありません。") from None
        return TestCard(key, cert, chain=self.chain_for_cards)

    # -- revocation --

    def revoke(self, serial: str | int, *, at: datetime | None = None) -> None:
        number = serial if isinstance(serial, int) else int(jpki.normalize_serial(serial), 16)
        self.revoked[number] = at or datetime.now(UTC)
        self._save_state()

    def crl(
        self, *, this_update: datetime | None = None, next_update: datetime | None = None
    ) -> bytes:
        """A DER CRL of every revoked serial (written to DIR/crl.der for a CA on disk)."""
        now = this_update or datetime.now(UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(now)
            .next_update(next_update or now + timedelta(days=7))
            .add_extension(x509.CRLNumber(int(time.time() * 1000)), critical=False)
        )
        for serial, when in sorted(self.revoked.items()):
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(min(when, now))
                .build()
            )
        der = builder.sign(self.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
        if self.directory is not None:
            (self.directory / "crl.der").write_bytes(der)
        return der

    def trust_store(self, *, with_crl: bool = True, **options) -> jpki.TrustStore:
        """An in-memory TrustStore trusting this CA (test CA allowed unless told otherwise)."""
        options.setdefault("allow_test_ca", True)
        crls = [x509.load_der_x509_crl(self.crl())] if with_crl else []
        return jpki.TrustStore([self.root_certificate], crls=crls, **options)

    @property
    def root_certificate(self) -> x509.Certificate:
        return self.chain[-1] if self.chain else self.certificate


def bench_verify(n: int = 500, *, attachment_size: int = 200_000) -> dict:
    """Bare verification rate: one package (one attachment) verified `n` times."""
    ca = TestCA.create()
    card = ca.issue_card(
        name="髙橋　𠮷子", sex="2", birth=date(1985, 4, 1), address="東京都千代田区九段南１－２－１"
    )
    attachment = bytes(range(256)) * (attachment_size // 256)
    data = b"<Application><Item name='x'>\xe5\x80\xa4</Item></Application>"
    signed = card.sign(data, {"a.pdf": attachment})
    trust = ca.trust_store()
    at = datetime.now(UTC)
    start = time.perf_counter()
    for _ in range(n):
        result = jpki.verify_package(signed, {"a.pdf": attachment}, trust=trust, at=at)
        assert result.valid, result.reason
    seconds = time.perf_counter() - start
    return {"n": n, "seconds": seconds, "per_second": n / seconds if seconds else float("inf")}


@dataclass
class SamplePKI:
    """A test CA with cards for every verification outcome (see `sample_pki`)."""

    ca: TestCA
    card: TestCard  # valid, 基本4情報 with 髙 and 𠮷 (𠮷 flagged as 代替文字)
    revoked: TestCard
    expired: TestCard
    not_yet_valid: TestCard
    auth_only: TestCard  # key usage digitalSignature only (利用者証明用)
    other_ca: TestCA  # not trusted
    other_card: TestCard
    intermediate: TestCA  # signed by `ca`
    intermediate_card: TestCard
    card_key: rsa.RSAPrivateKey

    def trust(self, **options) -> jpki.TrustStore:
        """Trusts `ca` (test CA allowed unless told otherwise) with its current CRL."""
        return self.ca.trust_store(**options)

    def issue(self, **overrides) -> TestCard:
        """Another card of `ca` with the shared card key (no key generation)."""
        values = dict(SAMPLE_BASIC_FOUR, key=self.card_key)
        values.update(overrides)
        return self.ca.issue_card(**values)


SAMPLE_BASIC_FOUR = {
    "name": "髙橋　𠮷子",
    "name_alt": "00010",
    "sex": "2",
    "birth": date(1985, 4, 1),
    "address": "東京都千代田区九段南１－２－１",
}

_SAMPLE: SamplePKI | None = None


def sample_pki() -> SamplePKI:
    """One in-memory test PKI per process (RSA key generation is slow): for tests, the
    simulator and benchmarks. Every card shares one key; the CAs have their own."""
    global _SAMPLE
    if _SAMPLE is None:
        now = datetime.now(UTC)
        ca = TestCA.create()
        card_key = new_key()

        def issue(issuer: TestCA, **overrides) -> TestCard:
            values = dict(SAMPLE_BASIC_FOUR, key=card_key)
            values.update(overrides)
            return issuer.issue_card(**values)

        revoked = issue(ca, name="失効　花子", name_alt=None)
        ca.revoke(revoked.serial, at=now - timedelta(hours=1))
        other_ca = TestCA.create(common_name="madoguchi JPKI other test CA")
        intermediate = ca.issue_subordinate(key=card_key)
        _SAMPLE = SamplePKI(
            ca=ca,
            card=issue(ca),
            revoked=revoked,
            expired=issue(
                ca, not_before=now - timedelta(days=800), not_after=now - timedelta(days=400)
            ),
            not_yet_valid=issue(ca, not_before=now + timedelta(days=30)),
            auth_only=issue(ca, key_usage=AUTH_KEY_USAGE),
            other_ca=other_ca,
            other_card=issue(other_ca),
            intermediate=intermediate,
            intermediate_card=issue(intermediate, name="中間　次郎", name_alt=None, sex="1"),
            card_key=card_key,
        )
    return _SAMPLE
