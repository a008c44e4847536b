"""JPKI certificates and signed application packages.

- `parse_certificate`: serial number and 基本4情報 from a 署名用電子証明書 (subjectAltName otherName
  entries 1.2.392.200149.8.5.5.1–.6), key usage.
- `sign_package` / `verify_package`: an XML-DSig (signxml, RSA-SHA256, enveloped) over a package
  that carries the application data XML, the signing time and the SHA-256 of every attachment.
  Verification checks the signature, every attachment, the chain to the configured trust anchors,
  validity at the signing time, revocation (loaded DER CRLs), key usage and the test-CA policy.
  It never raises: any input ends in a `VerificationResult` with a Japanese reason.
- `TrustStore`: trust anchors, intermediate CA certificates and CRLs (from the database with
  `TrustStore.load()` — or `TrustStore.current()`, the same kept per process until the trust
  data or the policy settings change — or built in memory).

Which parts follow public material and which are this project's assumptions: docs/jpki.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtensionOID, NameOID
from lxml import etree

from madoguchi.jp.errors import JpValueError
from madoguchi.jp.wareki import to_wareki

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Certificate contents
# --------------------------------------------------------------------------------------------

OID_NAME = x509.ObjectIdentifier("1.2.392.200149.8.5.5.1")  # 氏名
OID_NAME_ALT = x509.ObjectIdentifier("1.2.392.200149.8.5.5.2")  # 氏名代替文字の使用位置情報
OID_SEX = x509.ObjectIdentifier("1.2.392.200149.8.5.5.3")  # 性別
OID_BIRTH_DATE = x509.ObjectIdentifier("1.2.392.200149.8.5.5.4")  # 生年月日
OID_ADDRESS = x509.ObjectIdentifier("1.2.392.200149.8.5.5.5")  # 住所
OID_ADDRESS_ALT = x509.ObjectIdentifier("1.2.392.200149.8.5.5.6")  # 住所代替文字の使用位置情報

BASIC_FOUR_OIDS: dict[x509.ObjectIdentifier, tuple[str, str]] = {
    OID_NAME: ("name", "氏名"),
    OID_NAME_ALT: ("name_alt", "氏名代替文字"),
    OID_SEX: ("sex", "性別"),
    OID_BIRTH_DATE: ("birth_date_raw", "生年月日"),
    OID_ADDRESS: ("address", "住所"),
    OID_ADDRESS_ALT: ("address_alt", "住所代替文字"),
}

#: 性別 codes in the certificate (1 男, 2 女, 3 不明 per the JPKI profile as publicly described;
#: 0 and 9 of JIS X 0303 are accepted too).
SEX_LABELS = {"1": "男", "2": "女", "3": "不明", "0": "不明", "9": "適用不能"}

#: Leading digit of 生年月日 (EYYYYMMDD): the era; the eight digits are the Gregorian date.
BIRTH_ERAS = {"0": None, "1": "明治", "2": "大正", "3": "昭和", "4": "平成", "5": "令和"}

#: Organisation name that marks a certificate of the project's test CA.
TEST_CA_MARKER = "madoguchi test CA"

#: Certificate policies of a 署名用電子証明書 (arc 1.2.392.200149.8.5.1.1, "署名用"), as the
#: J-LIS プロファイル仕様書 is publicly quoted: `.20` the card, `.40` the smartphone
#: (スマホ用電子証明書). `JPKI_SIGNING_POLICY_OIDS` replaces this list. The
#: 利用者証明用電子証明書 carries 1.2.392.200149.8.5.1.3.30 instead.
JPKI_SIGNING_POLICIES = ("1.2.392.200149.8.5.1.1.20", "1.2.392.200149.8.5.1.1.40")
#: The policy of J-LIS's test cards (検証用): accepted only with `JPKI_ALLOW_TEST_CA`.
JPKI_TEST_SIGNING_POLICIES = ("1.2.392.200149.8.5.1.0.20",)

MIN_RSA_BITS = 2048
_ACCEPTED_HASHES = (hashes.SHA256, hashes.SHA384, hashes.SHA512)


class CertificateError(ValueError):
    """A certificate (or one of its values) that cannot be accepted; `message` is Japanese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class BasicFour:
    """基本4情報 as written in the certificate (text kept as given)."""

    name: str
    name_alt: str
    sex: str
    birth_date: date | None
    birth_date_raw: str
    address: str
    address_alt: str
    # Why the 代替文字 flags could not be read ("" when they could). The flags only help staff
    # find the right character; a certificate whose flags do not line up with its text is
    # still accepted (the signature does not depend on them), and the review says so.
    name_alt_error: str = ""
    address_alt_error: str = ""

    @property
    def sex_label(self) -> str:
        return SEX_LABELS.get(self.sex, "")

    @property
    def birth_era(self) -> str | None:
        return BIRTH_ERAS.get(self.birth_date_raw[:1]) if self.birth_date_raw else None

    @property
    def name_alt_positions(self) -> list[int]:
        """1-based positions of 氏名 characters that are 代替文字 ([] when unreadable)."""
        return [] if self.name_alt_error else _flag_positions(self.name_alt)

    @property
    def address_alt_positions(self) -> list[int]:
        return [] if self.address_alt_error else _flag_positions(self.address_alt)

    @property
    def name_alt_characters(self) -> list[tuple[int, str]]:
        """(1-based position, character) of each 代替文字 in 氏名."""
        return [] if self.name_alt_error else alternative_characters(self.name, self.name_alt)

    @property
    def address_alt_characters(self) -> list[tuple[int, str]]:
        if self.address_alt_error:
            return []
        return alternative_characters(self.address, self.address_alt)

    @property
    def alternative_character_warnings(self) -> list[str]:
        """What could not be read of the 代替文字 information (Japanese), for the case."""
        return [e for e in (self.name_alt_error, self.address_alt_error) if e]

    @property
    def has_alternative_characters(self) -> bool:
        return bool(self.name_alt_positions or self.address_alt_positions)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "name_alt": self.name_alt,
            "sex": self.sex,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "birth_date_raw": self.birth_date_raw,
            "address": self.address,
            "address_alt": self.address_alt,
            "name_alt_error": self.name_alt_error,
            "address_alt_error": self.address_alt_error,
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> BasicFour:
        birth = data.get("birth_date")
        return cls(
            name=data.get("name", ""),
            name_alt=data.get("name_alt", ""),
            sex=data.get("sex", ""),
            birth_date=date.fromisoformat(birth) if birth else None,
            birth_date_raw=data.get("birth_date_raw", ""),
            address=data.get("address", ""),
            address_alt=data.get("address_alt", ""),
            name_alt_error=data.get("name_alt_error", ""),
            address_alt_error=data.get("address_alt_error", ""),
        )


def _flag_positions(flags: str) -> list[int]:
    return [i for i, c in enumerate(flags, start=1) if c == "1"]


def alternative_characters(text: str, flags: str) -> list[tuple[int, str]]:
    """(1-based position, character) of each character of `text` that its 代替文字 flags
    mark; nothing when the flags cannot be lined up with the text (`alt_flags_problem`)."""
    if alt_flags_problem(flags, text):
        return []
    return [(i, text[i - 1]) for i in _flag_positions(flags)]


def alt_flags_problem(flags: str, text: str) -> str:
    """Why 代替文字 flags cannot be lined up with their text ("" when they can): one digit,
    0 or 1, per character. Empty flags mean "no 代替文字"."""
    if not flags:
        return ""
    if not set(flags) <= {"0", "1"}:
        return "0と1のほかの文字が含まれています"
    if len(flags) != len(text):
        return f"桁数（{len(flags)}）が文字数（{len(text)}）と一致しません"
    return ""


@dataclass(frozen=True)
class CertificateInfo:
    serial: str  # upper-case hex, no leading zeros
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    basic_four: BasicFour
    key_usage_ok: bool
    fingerprint_sha256: str = ""
    is_test: bool = False
    policies: tuple[str, ...] = ()  # certificatePolicies OIDs (dotted)

    def to_dict(self) -> dict:
        return {
            "serial": self.serial,
            "subject": self.subject,
            "issuer": self.issuer,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "basic_four": self.basic_four.to_dict(),
            "key_usage_ok": self.key_usage_ok,
            "fingerprint_sha256": self.fingerprint_sha256,
            "is_test": self.is_test,
            "policies": list(self.policies),
        }


def serial_hex(serial: int) -> str:
    return f"{serial:X}"


def normalize_serial(text: str) -> str:
    """A certificate serial as typed or exported (`0a:1b`, `0x0A1B`, ` a1b `) → `A1B`.
    Raises ValueError (Japanese message) if it is not hexadecimal."""
    cleaned = "".join(str(text).split()).replace(":", "").replace("-", "")
    if cleaned[:2] in ("0x", "0X"):
        cleaned = cleaned[2:]
    try:
        value = int(cleaned, 16)
    except ValueError:
        raise ValueError(f"シリアル番号「{text}」は16進数ではありません。") from None
    if value < 0:
        raise ValueError(f"シリアル番号「{text}」は16進数ではありません。")
    return serial_hex(value)


def is_test_certificate(cert: x509.Certificate) -> bool:
    try:
        orgs = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    except ValueError:
        return False
    return any(a.value == TEST_CA_MARKER for a in orgs)


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex().upper()


# --- a tiny DER string decoder ---------------------------------------------------------------

_PRINTABLE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?")
_STRING_TAGS = {0x0C: "UTF8String", 0x13: "PrintableString", 0x16: "IA5String", 0x1E: "BMPString"}


def decode_der_string(data: bytes) -> str:
    """Decode one DER-encoded ASN.1 string (UTF8String, PrintableString, IA5String or
    BMPString) that makes up the whole of `data`. Raises ValueError (Japanese message)."""
    if not isinstance(data, bytes | bytearray) or len(data) < 2:
        raise ValueError("値が短すぎます")
    tag = data[0]
    if tag not in _STRING_TAGS:
        raise ValueError(f"文字列ではない値です（タグ 0x{tag:02X}）")
    first = data[1]
    offset = 2
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise ValueError("不定長の符号化はDERでは使えません")
    else:
        count = first & 0x7F
        if count > 4 or len(data) < 2 + count:
            raise ValueError("長さの符号化が正しくありません")
        length = int.from_bytes(data[2 : 2 + count], "big")
        offset = 2 + count
        if length < 0x80 or data[2] == 0:
            raise ValueError("長さの符号化が最短形式ではありません（DER違反）")
    if len(data) != offset + length:
        raise ValueError("長さと内容のバイト数が一致しません")
    content = bytes(data[offset:])
    try:
        if tag == 0x0C:
            text = content.decode("utf-8")
        elif tag == 0x1E:
            if len(content) % 2:
                raise ValueError("BMPStringのバイト数が奇数です")
            text = content.decode("utf-16-be")
            if any(ord(c) > 0xFFFF for c in text):
                raise ValueError("BMPStringにサロゲートペアは使えません")
        else:
            text = content.decode("ascii")
            if tag == 0x13 and not set(text) <= _PRINTABLE:
                raise ValueError("PrintableStringに使えない文字があります")
    except UnicodeDecodeError:
        raise ValueError(f"{_STRING_TAGS[tag]}として復号できません") from None
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in text):
        raise ValueError("制御文字が含まれています")
    return text


# --- parsing ---------------------------------------------------------------------------------


def _parse_birth(raw: str) -> date | None:
    if len(raw) != 9 or not raw.isascii() or not raw.isdigit():
        raise CertificateError(
            f"生年月日「{raw}」の形式が正しくありません（元号区分1桁と西暦年月日8桁の9桁の数字です）。"
        )
    era_digit, year, month, day = raw[0], int(raw[1:5]), int(raw[5:7]), int(raw[7:9])
    if era_digit not in BIRTH_ERAS:
        raise CertificateError(f"生年月日「{raw}」の元号区分「{era_digit}」は定義されていません。")
    if month == 0 or day == 0:  # 不明な月・日（住民票で生年月日の一部が不詳の場合）
        if year == 0 and (month or day):
            raise CertificateError(f"生年月日「{raw}」の年が不明なのに月日があります。")
        if month == 0 and day:
            raise CertificateError(f"生年月日「{raw}」の月が不明なのに日があります。")
        if month > 12:
            raise CertificateError(f"生年月日「{raw}」の月が正しくありません。")
        return None
    try:
        born = date(year, month, day)
    except ValueError:
        raise CertificateError(f"生年月日「{raw}」は存在しない日付です。") from None
    era = BIRTH_ERAS[era_digit]
    if era is not None:
        try:
            actual = to_wareki(born)[0]
        except JpValueError:
            actual = None
        if actual != era:
            raise CertificateError(
                f"生年月日「{raw}」の元号区分（{era}）と日付（{born.isoformat()}）が一致しません。"
            )
    return born


_ALT_KEYS = {"name_alt", "address_alt"}


def _alt_error(problem: str, label: str) -> str:
    return (
        f"{label}を読み取れませんでした（{problem}）。"
        "代替文字の位置は分からないため、氏名・住所は住民記録で確認してください。"
    )


def parse_basic_four(san: x509.SubjectAlternativeName) -> BasicFour:
    values: dict[str, str] = {}
    alt_problems: dict[str, str] = {}
    for other in san.get_values_for_type(x509.OtherName):
        spec = BASIC_FOUR_OIDS.get(other.type_id)
        if spec is None:
            continue
        key, label = spec
        if key in values or key in alt_problems:
            if key in _ALT_KEYS:
                # The 代替文字 flags only help staff: an unreadable entry never refuses the
                # certificate (it is reported on the case instead).
                alt_problems[key] = "複数記録されています"
                values.pop(key, None)
                continue
            raise CertificateError(f"証明書に{label}が複数記録されています。")
        try:
            values[key] = decode_der_string(other.value)
        except ValueError as exc:
            if key in _ALT_KEYS:
                alt_problems[key] = str(exc)
                continue
            raise CertificateError(f"証明書の{label}を読み取れません（{exc}）。") from None
    for key, label in (
        ("name", "氏名"),
        ("sex", "性別"),
        ("birth_date_raw", "生年月日"),
        ("address", "住所"),
    ):
        if not values.get(key, "").strip():
            raise CertificateError(f"証明書に{label}が記録されていません。")
    sex = values["sex"]
    if sex not in SEX_LABELS:
        raise CertificateError(f"性別「{sex}」は定義されていない値です（1: 男、2: 女、3: 不明）。")
    name_alt = values.get("name_alt", "")
    address_alt = values.get("address_alt", "")
    name_problem = alt_problems.get("name_alt") or alt_flags_problem(name_alt, values["name"])
    address_problem = alt_problems.get("address_alt") or alt_flags_problem(
        address_alt, values["address"]
    )
    raw_birth = values["birth_date_raw"]
    return BasicFour(
        name=values["name"],
        name_alt=name_alt,
        sex=sex,
        birth_date=_parse_birth(raw_birth),
        birth_date_raw=raw_birth,
        address=values["address"],
        address_alt=address_alt,
        name_alt_error=_alt_error(name_problem, "氏名代替文字の使用位置情報")
        if name_problem
        else "",
        address_alt_error=(
            _alt_error(address_problem, "住所代替文字の使用位置情報") if address_problem else ""
        ),
    )


def signing_key_usage_ok(cert: x509.Certificate) -> bool:
    """digitalSignature and nonRepudiation (contentCommitment) both asserted."""
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except (x509.ExtensionNotFound, ValueError):
        return False
    return bool(usage.digital_signature and usage.content_commitment)


def certificate_policies(cert: x509.Certificate) -> tuple[str, ...]:
    """The certificatePolicies OIDs of a certificate (dotted), () without the extension."""
    try:
        value = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(p.policy_identifier.dotted_string for p in value)


def key_usage_problem(cert: x509.Certificate) -> str | None:
    """Why `cert` is not usable as a 署名用電子証明書 by its key usage (Japanese), or None.

    A JPKI 署名用電子証明書 asserts digitalSignature and nonRepudiation (critical keyUsage;
    the 利用者証明用電子証明書 has digitalSignature only) and is an end-entity certificate."""
    prefix = "署名用電子証明書ではありません"
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is not None and constraints.ca:
        return f"{prefix}（認証局の証明書です）。"
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return f"{prefix}（鍵用途（keyUsage）の拡張がありません）。"
    missing = []
    if not usage.digital_signature:
        missing.append("電子署名（digitalSignature）")
    if not usage.content_commitment:
        missing.append("否認防止（nonRepudiation）")
    if missing:
        return f"{prefix}（鍵用途に{'・'.join(missing)}がありません）。"
    if usage.key_cert_sign or usage.crl_sign:
        return f"{prefix}（鍵用途に証明書・失効リストへの署名があり、認証局の鍵です）。"
    return None


#: Extensions whose meaning verification takes into account: a certificate carrying any
#: other extension marked critical must be refused (RFC 5280 §4.2).
_UNDERSTOOD_EXTENSIONS = frozenset(
    {
        ExtensionOID.KEY_USAGE,
        ExtensionOID.BASIC_CONSTRAINTS,
        ExtensionOID.CERTIFICATE_POLICIES,
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
        ExtensionOID.ISSUER_ALTERNATIVE_NAME,
        ExtensionOID.SUBJECT_KEY_IDENTIFIER,
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
        ExtensionOID.CRL_DISTRIBUTION_POINTS,
        ExtensionOID.AUTHORITY_INFORMATION_ACCESS,
    }
)


def unknown_critical_extension(cert: x509.Certificate) -> str | None:
    """The dotted OID of a critical extension verification does not understand, or None."""
    for extension in cert.extensions:
        if extension.critical and extension.oid not in _UNDERSTOOD_EXTENSIONS:
            return extension.oid.dotted_string
    return None


def parse_certificate(cert: x509.Certificate) -> CertificateInfo:
    """Serial, names, validity and 基本4情報 of a 署名用電子証明書. Raises CertificateError."""
    try:
        extensions = cert.extensions
        san = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise CertificateError(
            "証明書に基本4情報（subjectAltName）がありません。署名用電子証明書ではありません。"
        ) from None
    except ValueError as exc:
        raise CertificateError(f"証明書の拡張領域を読み取れません（{exc}）。") from None
    basic_four = parse_basic_four(san)
    try:
        subject = cert.subject.rfc4514_string()
        issuer = cert.issuer.rfc4514_string()
    except ValueError as exc:
        raise CertificateError(f"証明書の名前を読み取れません（{exc}）。") from None
    return CertificateInfo(
        serial=serial_hex(cert.serial_number),
        subject=subject,
        issuer=issuer,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        basic_four=basic_four,
        key_usage_ok=signing_key_usage_ok(cert),
        fingerprint_sha256=fingerprint(cert),
        is_test=is_test_certificate(cert),
        policies=certificate_policies(cert),
    )


def load_certificate(data: bytes) -> x509.Certificate:
    """A certificate from DER or PEM bytes. Raises CertificateError."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise CertificateError(
            "証明書ファイルを読み取れません（DERまたはPEM形式の証明書が必要です）。"
        ) from None


def load_crl(data: bytes) -> x509.CertificateRevocationList:
    """A CRL from DER (or PEM) bytes. Raises CertificateError."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError:
        raise CertificateError(
            "失効リストを読み取れません（DER形式の失効リストが必要です）。"
        ) from None


# --------------------------------------------------------------------------------------------
# Trust store
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Revocation:
    """One certificate listed in a CRL: from when it counts as revoked, and why."""

    at: datetime  # the revocation date, or the invalidity date when that is earlier
    reason: str  # the CRLReason name ("keyCompromise", ...), "" when the CRL states none

    @property
    def is_hold(self) -> bool:
        return self.reason == "certificateHold"


@dataclass
class _CRLEntry:
    crl: x509.CertificateRevocationList
    this_update: datetime
    next_update: datetime | None
    # IssuingDistributionPoint: the names of the partition this CRL covers (empty: every
    # certificate of the issuer), and whether it covers only end-entity or only CA ones.
    scope: frozenset[str] = frozenset()
    only_user: bool = False
    only_ca: bool = False
    _revoked: dict[int, Revocation] | None = None

    @property
    def revoked(self) -> dict[int, Revocation]:
        """serial → Revocation, read once (a JPKI CRL is large; most stores need one)."""
        if self._revoked is None:
            self._revoked = _revocations(self.crl)
        return self._revoked

    def covers(self, cert: x509.Certificate) -> bool:
        """Whether this CRL is the one that would list `cert` (partitioned CRLs)."""
        is_ca = _basic_ca(cert)
        if (self.only_user and is_ca) or (self.only_ca and not is_ca):
            return False
        if not self.scope:
            return True
        return bool(self.scope & _distribution_points(cert))


def _revocations(crl: x509.CertificateRevocationList) -> dict[int, Revocation]:
    found: dict[int, Revocation] = {}
    for entry in crl:
        reason = ""
        when = entry.revocation_date_utc
        try:
            extensions = entry.extensions
            try:
                reason = extensions.get_extension_for_class(x509.CRLReason).value.reason.name
            except x509.ExtensionNotFound:
                pass
            try:
                invalid = extensions.get_extension_for_class(x509.InvalidityDate).value
                invalid_at = invalid.invalidity_date_utc
                if invalid_at < when:
                    # The key was known to be compromised earlier than the revocation date.
                    when = invalid_at
            except x509.ExtensionNotFound:
                pass
        except ValueError:
            pass  # an unreadable entry extension: the entry still revokes, from its date
        if reason == "remove_from_crl":  # only meaningful in delta CRLs, which are not used
            continue
        reason = _CRL_REASON_NAMES.get(reason, reason)
        previous = found.get(entry.serial_number)
        if previous is None or when < previous.at:
            found[entry.serial_number] = Revocation(when, reason)
    return found


# cryptography's ReasonFlags names → the RFC 5280 names (shown in reasons and kept).
_CRL_REASON_NAMES = {
    "unspecified": "unspecified",
    "key_compromise": "keyCompromise",
    "ca_compromise": "cACompromise",
    "affiliation_changed": "affiliationChanged",
    "superseded": "superseded",
    "cessation_of_operation": "cessationOfOperation",
    "certificate_hold": "certificateHold",
    "privilege_withdrawn": "privilegeWithdrawn",
    "aa_compromise": "aACompromise",
}


def _general_names(names) -> frozenset[str]:
    out = set()
    for name in names or ():
        value = getattr(name, "value", name)
        out.add(value.rfc4514_string() if isinstance(value, x509.Name) else str(value))
    return frozenset(out)


def _distribution_points(cert: x509.Certificate) -> frozenset[str]:
    try:
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except (x509.ExtensionNotFound, ValueError):
        return frozenset()
    names: set[str] = set()
    for point in points:
        names |= _general_names(point.full_name)
    return frozenset(names)


def _basic_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except (x509.ExtensionNotFound, ValueError):
        return False


def crl_entry(crl: x509.CertificateRevocationList) -> _CRLEntry:
    """The CRL with what verification needs to know about its scope."""
    scope: frozenset[str] = frozenset()
    only_user = only_ca = False
    try:
        idp = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
        scope = _general_names(idp.full_name)
        only_user, only_ca = idp.only_contains_user_certs, idp.only_contains_ca_certs
    except x509.ExtensionNotFound:
        pass
    return _CRLEntry(
        crl, crl.last_update_utc, crl.next_update_utc, scope, bool(only_user), bool(only_ca)
    )


def crl_scope(crl: x509.CertificateRevocationList) -> str:
    """Which certificates of its issuer a CRL lists, as a key ("" for a complete CRL): CRLs
    of one issuer and scope replace each other; other scopes are other partitions."""
    entry = crl_entry(crl)
    parts = sorted(entry.scope)
    if entry.only_user:
        parts.append("onlyContainsUserCerts")
    if entry.only_ca:
        parts.append("onlyContainsCACerts")
    return " ".join(parts)


def crl_problem(crl: x509.CertificateRevocationList) -> str | None:
    """Why a CRL cannot be used (Japanese), or None: delta CRLs and CRLs that cover only
    attribute certificates or only some revocation reasons are not complete lists."""
    try:
        crl.extensions.get_extension_for_class(x509.DeltaCRLIndicator)
        return "差分失効リスト（delta CRL）は読み込めません。完全な失効リストを読み込んでください。"
    except x509.ExtensionNotFound:
        pass
    except ValueError as exc:
        return f"失効リストの拡張領域を読み取れません（{exc}）。"
    try:
        idp = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
    except x509.ExtensionNotFound:
        return None
    if idp.only_some_reasons or idp.only_contains_attribute_certs or idp.indirect_crl:
        return (
            "失効理由を限った失効リスト・属性証明書の失効リスト・間接失効リストは読み込めません。"
        )
    return None


class TrustStore:
    """Trust anchors (the JPKI signing CA certificates), intermediate CA certificates, CRLs
    and the verification policy (test CA, CRL requirement, signing-time window, accepted
    certificate policies).

    Anchors whose subject carries the test-CA marker (or loaded with is_test=True) are refused
    unless `allow_test_ca` (default: settings.JPKI_ALLOW_TEST_CA) is true."""

    def __init__(
        self,
        anchors: Iterable[x509.Certificate] = (),
        *,
        intermediates: Iterable[x509.Certificate] = (),
        crls: Iterable[x509.CertificateRevocationList] = (),
        test_anchors: Iterable[x509.Certificate] = (),
        allow_test_ca: bool | None = None,
        require_crl: bool | None = None,
        signing_time_before: timedelta | None = None,
        signing_time_after: timedelta | None = None,
        signing_policies: Iterable[str] | None = None,
    ):
        if allow_test_ca is None:
            allow_test_ca = _setting("JPKI_ALLOW_TEST_CA", False)
        if require_crl is None:
            require_crl = _setting("JPKI_REQUIRE_CRL", False)
        if signing_time_before is None:
            signing_time_before = timedelta(
                minutes=_setting("JPKI_SIGNING_TIME_BEFORE_MINUTES", 10)
            )
        if signing_time_after is None:
            signing_time_after = timedelta(minutes=_setting("JPKI_SIGNING_TIME_AFTER_MINUTES", 5))
        if signing_policies is None:
            signing_policies = _setting("JPKI_SIGNING_POLICY_OIDS", None) or JPKI_SIGNING_POLICIES
        self.allow_test_ca = bool(allow_test_ca)
        self.require_crl = bool(require_crl)
        self.signing_time_before = signing_time_before
        self.signing_time_after = signing_time_after
        self.signing_policies = tuple(dict.fromkeys(str(p) for p in signing_policies))
        anchors, intermediates, crls = list(anchors), list(intermediates), list(crls)
        test_anchors = list(test_anchors)
        # The inputs as DER, so the store can be sent to verification worker processes
        # (cryptography's objects cannot be pickled) and identified by a digest.
        self._spec = (
            tuple(c.public_bytes(serialization.Encoding.DER) for c in anchors),
            tuple(c.public_bytes(serialization.Encoding.DER) for c in intermediates),
            tuple(c.public_bytes(serialization.Encoding.DER) for c in crls),
            tuple(c.public_bytes(serialization.Encoding.DER) for c in test_anchors),
            self.allow_test_ca,
            self.require_crl,
            self.signing_time_before,
            self.signing_time_after,
            self.signing_policies,
        )
        self.anchors: dict[bytes, list[x509.Certificate]] = {}
        self.refused_test_anchors: dict[bytes, list[x509.Certificate]] = {}
        self.intermediates: dict[bytes, list[x509.Certificate]] = {}
        self._crls_by_issuer: dict[bytes, list[x509.CertificateRevocationList]] = {}
        self._crl_cache: dict[x509.Certificate, list[_CRLEntry]] = {}
        self._issued_by_cache: dict[tuple[x509.Certificate, x509.Certificate], bool] = {}
        self.anchor_fingerprints: set[str] = set()
        self.test_fingerprints: set[str] = set()
        for cert in [*anchors, *test_anchors]:
            is_test = is_test_certificate(cert) or any(cert is t for t in test_anchors)
            if is_test:
                self.test_fingerprints.add(fingerprint(cert))
            if is_test and not self.allow_test_ca:
                self.refused_test_anchors.setdefault(cert.subject.public_bytes(), []).append(cert)
                continue
            self.anchors.setdefault(cert.subject.public_bytes(), []).append(cert)
            self.anchor_fingerprints.add(fingerprint(cert))
        for cert in intermediates:
            self.intermediates.setdefault(cert.subject.public_bytes(), []).append(cert)
        for crl in crls:
            self._crls_by_issuer.setdefault(crl.issuer.public_bytes(), []).append(crl)

    def __reduce__(self):
        return (_trust_store_from_spec, (self._spec,))

    @property
    def digest(self) -> str:
        """Identifies the content (anchors, CRLs, options): equal stores, equal digests."""
        cached = self.__dict__.get("_digest")
        if cached is None or cached[0] is not self._spec:
            cached = (self._spec, hashlib.sha256(repr(self._spec).encode()).hexdigest())
            self.__dict__["_digest"] = cached
        return cached[1]

    @property
    def accepted_policies(self) -> tuple[str, ...]:
        """The certificate policies a 署名用電子証明書 may carry under this store's policy."""
        if self.allow_test_ca:
            return tuple(dict.fromkeys([*self.signing_policies, *JPKI_TEST_SIGNING_POLICIES]))
        return self.signing_policies

    @classmethod
    def load(cls, *, history_days: int | None = None, now: datetime | None = None, **options):
        """Active trust anchors, intermediates and the CRLs from the database: for each CA
        the newest CRL and those issued in the last `history_days` (default
        settings.JPKI_CRL_HISTORY_DAYS, 90). Older CRLs matter only for a certificate that
        has expired since (a CRL may drop it after its expiry), when a package received
        that long ago is imported."""
        from madoguchi.identity.trust_models import CertificateRevocationList, TrustAnchor

        if history_days is None:
            history_days = int(_setting("JPKI_CRL_HISTORY_DAYS", 90))
        since = (now or datetime.now(UTC)) - timedelta(days=max(history_days, 0))
        anchors, tests, intermediates, crls = [], [], [], []
        for row in TrustAnchor.objects.filter(is_active=True).order_by("pk"):
            try:
                cert = x509.load_der_x509_certificate(bytes(row.certificate_der))
            except ValueError:
                logger.warning("trust anchor %s cannot be parsed; skipped", row.pk)
                continue
            if row.kind == TrustAnchor.Kind.INTERMEDIATE:
                intermediates.append(cert)
            elif row.is_test:
                tests.append(cert)
            else:
                anchors.append(cert)
        newest_seen: set[tuple] = set()
        rows = CertificateRevocationList.objects.order_by("-this_update", "-pk").values_list(
            "pk", "issuer_anchor_id", "issuer", "scope", "this_update"
        )
        wanted = []
        for pk, anchor_id, issuer, scope, this_update in rows:
            key = (anchor_id, issuer, scope)
            if key not in newest_seen or this_update >= since:
                wanted.append(pk)
            newest_seen.add(key)
        for row in CertificateRevocationList.objects.filter(pk__in=wanted).order_by(
            "-this_update", "-pk"
        ):
            try:
                crls.append(x509.load_der_x509_crl(bytes(row.crl_der)))
            except ValueError:
                logger.warning("CRL %s cannot be parsed; skipped", row.pk)
        return cls(anchors, test_anchors=tests, intermediates=intermediates, crls=crls, **options)

    @classmethod
    def current(cls, *, now: datetime | None = None, **options) -> TrustStore:
        """`load(now=now, **options)`, kept in this process while nothing it is built from
        changes: the anchors (added, removed, activated, deactivated), the CRLs (added,
        removed), the JPKI_* policy settings, `options`, and the day the CRL history window
        starts on. Checking costs two small queries (ids and digests, no certificate or CRL
        bytes); a change loads and parses the store again. The store's own caches (CRL
        signatures checked, issuers verified) are kept with it."""
        if options.get("history_days") is None:
            options.pop("history_days", None)
            history_days = int(_setting("JPKI_CRL_HISTORY_DAYS", 90))
        else:
            history_days = options["history_days"]
        since = (now or datetime.now(UTC)) - timedelta(days=max(history_days, 0))
        key = (
            _trust_data_version(),
            since.date(),
            tuple(sorted((k, repr(v)) for k, v in options.items())),
            tuple(repr(_setting(name, None)) for name in _POLICY_SETTINGS),
        )
        with _current_lock:
            cached = _current.get("store")
        if cached is not None and cached[0] == key:
            return cached[1]
        store = cls.load(now=now, **options)
        with _current_lock:
            _current["store"] = (key, store)
        return store

    # -- helpers used by verification --

    # The caches below are keyed by the certificates themselves (equal DER, equal key; hashed
    # without a digest) and emptied when full: a store kept by a process for its lifetime
    # (`current`) sees a new signing certificate with almost every package.
    _CACHE_LIMIT = 4096

    def _issued_by(self, cert: x509.Certificate, issuer: x509.Certificate) -> bool:
        key = (cert, issuer)
        cached = self._issued_by_cache.get(key)
        if cached is None:
            try:
                cert.verify_directly_issued_by(issuer)
                cached = True
            except (ValueError, TypeError, InvalidSignature):
                cached = False
            if len(self._issued_by_cache) >= self._CACHE_LIMIT:
                self._issued_by_cache.clear()
            self._issued_by_cache[key] = cached
        return cached

    def crls_of(self, issuer: x509.Certificate) -> list[_CRLEntry]:
        """The usable CRLs issued (and validly signed) by `issuer`, newest first."""
        cached = self._crl_cache.get(issuer)
        if cached is not None:
            return cached
        entries = []
        for crl in self._crls_by_issuer.get(issuer.subject.public_bytes(), []):
            try:
                if not crl.is_signature_valid(issuer.public_key()):
                    continue
            except (TypeError, ValueError):
                continue
            if crl_problem(crl) is not None:
                continue
            entries.append(crl_entry(crl))
        entries.sort(key=lambda e: e.this_update, reverse=True)
        if len(self._crl_cache) >= self._CACHE_LIMIT:
            self._crl_cache.clear()
        self._crl_cache[issuer] = entries
        return entries

    def crl_for(self, issuer: x509.Certificate) -> _CRLEntry | None:
        """The newest usable CRL issued by `issuer` (any partition)."""
        entries = self.crls_of(issuer)
        return entries[0] if entries else None

    def revocation_status(
        self,
        cert: x509.Certificate,
        issuer: x509.Certificate,
        entries: list[_CRLEntry] | None = None,
    ) -> tuple[Revocation | None, _CRLEntry | None]:
        """(how `cert` is listed, the CRL that answers for it): the newest CRL of its
        partition that was issued while `cert` was still valid — a CRL issued after a
        certificate expired may leave it out (RFC 5280 §3.3), so a newer one cannot clear
        it — and, when listed, the newest CRL that lists it. (None, None): no such CRL."""
        if entries is None:
            entries = self.crls_of(issuer)
        covering = [e for e in entries if e.covers(cert)]
        if not covering:
            return None, None
        expiry = cert.not_valid_after_utc
        answering = next((e for e in covering if e.this_update <= expiry), None)
        for entry in covering:
            revocation = entry.revoked.get(cert.serial_number)
            if revocation is not None:
                # A revocation is permanent; a hold listed by a CRL issued after the
                # certificate expired cannot be known to have been released: both count.
                return revocation, entry
            if entry is answering:
                break  # older CRLs are older states of the same list
        return None, answering


_POLICY_SETTINGS = (
    "JPKI_ALLOW_TEST_CA",
    "JPKI_REQUIRE_CRL",
    "JPKI_SIGNING_TIME_BEFORE_MINUTES",
    "JPKI_SIGNING_TIME_AFTER_MINUTES",
    "JPKI_SIGNING_POLICY_OIDS",
    "JPKI_CRL_HISTORY_DAYS",
)
_current: dict[str, tuple[tuple, TrustStore]] = {}
_current_lock = threading.Lock()


def _trust_data_version() -> tuple:
    """What `TrustStore.load` reads, without the certificate and CRL bytes: the rows' ids
    with their content digests (a reused id after a rollback is still told apart) and the
    fields that decide how a row is used."""
    from madoguchi.identity.trust_models import CertificateRevocationList, TrustAnchor

    anchors = tuple(
        TrustAnchor.objects.order_by("pk").values_list(
            "pk", "fingerprint_sha256", "kind", "is_test", "is_active"
        )
    )
    crls = tuple(
        CertificateRevocationList.objects.order_by("pk").values_list(
            "pk", "sha256", "issuer_anchor_id", "issuer", "scope", "this_update"
        )
    )
    return anchors, crls


def _trust_store_from_spec(spec) -> TrustStore:
    (anchors, intermediates, crls, tests, allow_test_ca, require_crl, before, after, policies) = (
        spec
    )
    store = TrustStore(
        [x509.load_der_x509_certificate(d) for d in anchors],
        intermediates=[x509.load_der_x509_certificate(d) for d in intermediates],
        crls=[x509.load_der_x509_crl(d) for d in crls],
        test_anchors=[x509.load_der_x509_certificate(d) for d in tests],
        allow_test_ca=allow_test_ca,
        require_crl=require_crl,
        signing_time_before=before,
        signing_time_after=after,
        signing_policies=policies,
    )
    store._spec = spec
    return store


def _setting(name: str, default):
    try:
        from django.conf import settings

        return getattr(settings, name, default)
    except Exception:  # settings not configured (plain Python use)
        return default


# --------------------------------------------------------------------------------------------
# Packages: signing
# --------------------------------------------------------------------------------------------

PACKAGE_NS = "urn:madoguchi:jpki-package:1"
_P = f"{{{PACKAGE_NS}}}"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
PACKAGE_ROOT = f"{_P}SignedApplication"
MAX_PACKAGE_BYTES = 20 * 1024 * 1024
CLOCK_SKEW = timedelta(minutes=5)


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_blank_text=False,
    )


class PackageError(ValueError):
    def __init__(self, message: str, code: str = "malformed"):
        super().__init__(message)
        self.message = message
        self.code = code


def _parse_xml(data: bytes, what: str) -> etree._Element:
    if not isinstance(data, bytes | bytearray):
        raise PackageError(f"{what}がバイト列ではありません。")
    if len(data) > MAX_PACKAGE_BYTES:
        raise PackageError(f"{what}が大きすぎます（上限 {MAX_PACKAGE_BYTES // 1024 // 1024}MB）。")
    try:
        root = etree.fromstring(bytes(data), parser=_safe_parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise PackageError(f"{what}がXMLとして正しくありません（{_short(exc)}）。") from None
    if root is None:
        raise PackageError(f"{what}が空です。")
    if root.getroottree().docinfo.doctype:
        raise PackageError(f"{what}にDOCTYPE宣言は使えません。")
    return root


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def attachment_digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


MAX_ATTACHMENT_NAME = 200
# Characters a file name may not hold: control and format characters (a right-to-left
# override can disguise "txt.exe" as "exe.txt"), surrogates and line separators.
_FORBIDDEN_NAME_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def visible_name(name: str) -> str:
    """A name with its invisible characters written as U+XXXX, for messages."""
    return "".join(
        f"U+{ord(c):04X}" if unicodedata.category(c) in _FORBIDDEN_NAME_CATEGORIES else c
        for c in name[:MAX_ATTACHMENT_NAME]
    )


def attachment_name_problem(name: str) -> str | None:
    """Why `name` cannot be an attachment's file name (a Japanese sentence), or None.

    Refused: an empty name, one of only dots (".", ".."), one of only spaces, a path
    separator, a control or format character, more than 200 characters."""
    if not isinstance(name, str) or not name:
        return "添付書類の名前がありません。"
    shown = visible_name(name)
    for c in name:
        if unicodedata.category(c) in _FORBIDDEN_NAME_CATEGORIES:
            return f"添付書類の名前「{shown}」に制御文字（U+{ord(c):04X}）が含まれています。"
    if len(name) > MAX_ATTACHMENT_NAME:
        return f"添付書類の名前「{shown}…」が長すぎます（{MAX_ATTACHMENT_NAME}文字まで）。"
    if "/" in name or "\\" in name:
        return f"添付書類の名前「{shown}」に「/」や「\\」は使えません。"
    if set(name) == {"."}:
        return f"添付書類の名前「{shown}」は使えません（「.」だけの名前です）。"
    if not name.strip():
        return "添付書類の名前が空白だけです。"
    return None


def same_name(a: str, b: str) -> bool:
    """Two file names that read the same (equal after Unicode normalisation NFC)."""
    return unicodedata.normalize("NFC", a) == unicodedata.normalize("NFC", b)


def build_unsigned_package(
    data_xml: bytes, attachments: Mapping[str, bytes], *, signing_time: datetime
) -> etree._Element:
    data_root = _parse_xml(data_xml, "申請データ")
    if signing_time.tzinfo is None:
        raise ValueError("signing_time must be timezone-aware")
    root = etree.Element(PACKAGE_ROOT, nsmap={"pkg": PACKAGE_NS}, version="1")
    etree.SubElement(root, f"{_P}SigningTime").text = signing_time.isoformat(timespec="seconds")
    data = etree.SubElement(root, f"{_P}Data")
    data.append(data_root)
    listing = etree.SubElement(root, f"{_P}Attachments")
    for name, content in attachments.items():
        problem = attachment_name_problem(name)
        if problem:
            raise ValueError(problem)
        etree.SubElement(
            listing,
            f"{_P}Attachment",
            name=name,
            size=str(len(content)),
            sha256=attachment_digest(content),
        )
    return root


class _Utf8Serialisation:
    """signxml re-serialises nodes with lxml's default ASCII encoding, which turns non-ASCII
    element names (日本語のタグ名) into character references that cannot be parsed back."""

    def _tostring(self, xml_node, **kwargs):
        if "method" not in kwargs and "encoding" not in kwargs:
            kwargs["encoding"] = "UTF-8"
        return etree.tostring(xml_node, **kwargs)


_classes: dict[str, type] = {}  # signxml's classes with UTF-8 serialisation, made once


def _signer():
    from signxml import DigestAlgorithm, SignatureMethod, XMLSigner, methods

    signer = _classes.get("signer")
    if signer is None:
        signer = _classes["signer"] = type("Signer", (_Utf8Serialisation, XMLSigner), {})
    return signer(
        method=methods.enveloped,
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
    )


def _verifier():
    from signxml import XMLVerifier

    verifier = _classes.get("verifier")
    if verifier is None:
        verifier = _classes["verifier"] = type("Verifier", (_Utf8Serialisation, XMLVerifier), {})
    return verifier()


def sign_package(
    data_xml: bytes,
    attachments: Mapping[str, bytes],
    *,
    key,
    certificate,
    signing_time: datetime | None = None,
    chain: Iterable[x509.Certificate] = (),
) -> bytes:
    """A signed package (XML bytes): SigningTime, the data XML, the attachment digests and an
    enveloped XML-DSig (RSA-SHA256) with the signing certificate (and `chain`) in KeyInfo."""
    if isinstance(key, bytes | str):
        key = serialization.load_pem_private_key(
            key.encode() if isinstance(key, str) else key, None
        )
    if isinstance(certificate, bytes | str):
        certificate = load_certificate(
            certificate.encode() if isinstance(certificate, str) else certificate
        )
    root = build_unsigned_package(
        data_xml, attachments, signing_time=signing_time or datetime.now(UTC)
    )
    signed = _signer().sign(root, key=key, cert=[certificate, *chain])
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


# --------------------------------------------------------------------------------------------
# Packages: verification
# --------------------------------------------------------------------------------------------

# Result codes (stable, for quarantine categories and tests).
OK = "ok"
MALFORMED = "malformed"
BAD_SIGNATURE = "bad_signature"
ATTACHMENT_MISSING = "attachment_missing"
ATTACHMENT_UNSIGNED = "attachment_unsigned"
ATTACHMENT_TAMPERED = "attachment_tampered"
DUPLICATE_ENTRY = "duplicate_entry"
BAD_CERTIFICATE = "bad_certificate"
KEY_USAGE = "key_usage"
POLICY = "policy"
WEAK_ALGORITHM = "weak_algorithm"
UNKNOWN_CA = "unknown_ca"
TEST_CA_REFUSED = "test_ca_refused"
EXPIRED = "expired"
NOT_YET_VALID = "not_yet_valid"
CA_NOT_VALID = "ca_not_valid"
REVOKED = "revoked"
NO_CRL = "no_crl"
SIGNING_TIME = "signing_time"

# What the time a signature is judged at (`at`) is: マイナポータル's reception time of the
# application (受付日時, what the 受取等API reports), or, for a package without one, the
# time it was pulled.
AT_RECEIVED = "received_at"
AT_PULLED = "pulled_at"
AT_SOURCES = (AT_RECEIVED, AT_PULLED)


@dataclass
class VerificationResult:
    valid: bool
    reason: str
    certificate: CertificateInfo | None = None
    data_xml: bytes | None = None
    code: str = OK
    signing_time: datetime | None = None
    attachments: dict[str, str] = field(default_factory=dict)  # name → sha256 (as signed)
    warnings: list[str] = field(default_factory=list)
    revocation_checked: bool = False
    chain: list[str] = field(default_factory=list)  # subjects, leaf first
    # The time the certificate was judged at, and what that time is (AT_RECEIVED/AT_PULLED).
    validated_at: datetime | None = None
    validated_at_source: str = AT_RECEIVED
    # When the newest CRL that answered for the signing certificate was issued.
    crl_this_update: datetime | None = None
    # The application data element as verified (the root of `data_xml`), so that a reader
    # in the same process need not parse `data_xml` again; never pickled or compared.
    data_root: etree._Element | None = field(default=None, repr=False, compare=False)

    def __getstate__(self):
        return {**self.__dict__, "data_root": None}

    def identity(self, verified_at: datetime | None = None) -> dict:
        """The `Application.identity` fields this result provides (see the contract)."""
        cert = self.certificate
        return {
            "source": "jpki",
            "certificate_serial": cert.serial if cert else "",
            "basic_four": cert.basic_four.to_dict() if cert else {},
            "signature_valid": self.valid,
            "reason": self.reason,
            "code": self.code,
            "warnings": list(self.warnings),
            "signing_time": self.signing_time.isoformat() if self.signing_time else None,
            "validated_at": self.validated_at.isoformat() if self.validated_at else None,
            "validated_at_source": self.validated_at_source,
            "revocation_checked": self.revocation_checked,
            "crl_this_update": (self.crl_this_update.isoformat() if self.crl_this_update else None),
            "verified_at": (verified_at or datetime.now(UTC)).isoformat(),
        }


VALID_REASON = "署名は有効です。"


def _fmt(dt: datetime, *, seconds: bool = False) -> str:
    from zoneinfo import ZoneInfo

    local = dt.astimezone(ZoneInfo("Asia/Tokyo"))
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    return f"{local.year}年{local.month}月{local.day}日 {clock}"


def _minutes(delta: timedelta) -> str:
    minutes = delta.total_seconds() / 60
    return f"{minutes:.0f}分" if minutes == int(minutes) else f"{minutes:.1f}分"


def verify_package(
    signed_xml: bytes,
    attachments: Mapping[str, bytes],
    *,
    trust: TrustStore,
    at: datetime,
    at_source: str = AT_RECEIVED,
    now: datetime | None = None,
) -> VerificationResult:
    """Verify a signed package. Never raises; `reason` is Japanese.

    `at` is the time the signature is judged at: マイナポータル's reception time of the
    application (`at_source=AT_RECEIVED`), or the time of the pull for a package that came
    without one (`AT_PULLED`). Certificate validity and revocation are decided at `at`,
    never at the signer's own `SigningTime`, which must lie close to the reception time.
    `now` (default: the current time) decides only whether the CRL is past its nextUpdate."""
    try:
        return _verify(
            signed_xml,
            attachments,
            trust=trust,
            at=at,
            at_source=at_source,
            now=now or datetime.now(UTC),
        )
    except PackageError as exc:
        return VerificationResult(
            False, exc.message, code=exc.code, validated_at=at, validated_at_source=at_source
        )
    except CertificateError as exc:
        return VerificationResult(
            False, exc.message, code=BAD_CERTIFICATE, validated_at=at, validated_at_source=at_source
        )
    except Exception as exc:  # never let a hostile package crash the intake
        logger.warning(
            "unexpected error verifying a package: %s", type(exc).__name__, exc_info=True
        )
        return VerificationResult(
            False,
            f"署名付きデータを検証できませんでした（{type(exc).__name__}）。",
            code=MALFORMED,
            validated_at=at,
            validated_at_source=at_source,
        )


def _x509_from_signature(root: etree._Element) -> list[x509.Certificate]:
    certs = []
    for sig in root.findall(f"{{{DS_NS}}}Signature"):
        for element in sig.iter(f"{{{DS_NS}}}X509Certificate"):
            text = "".join((element.text or "").split())
            try:
                der = base64.b64decode(text, validate=True)
                certs.append(x509.load_der_x509_certificate(der))
            except (binascii.Error, ValueError):
                raise PackageError(
                    "署名に含まれる証明書を読み取れません。", BAD_CERTIFICATE
                ) from None
    return certs


def _at_label(at_source: str) -> str:
    return "マイナポータルの受付日時" if at_source == AT_RECEIVED else "取得日時"


def _verify(
    signed_xml, attachments, *, trust: TrustStore, at: datetime, at_source: str, now: datetime
) -> VerificationResult:
    from signxml import DigestAlgorithm, SignatureConfiguration, SignatureMethod
    from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidInput, InvalidSignature

    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    if at_source not in AT_SOURCES:
        raise ValueError(f"at_source must be one of {AT_SOURCES}")
    root = _parse_xml(signed_xml, "署名付きデータ")
    if root.tag != PACKAGE_ROOT:
        raise PackageError(
            "署名付きデータの形式が正しくありません（SignedApplication要素がありません）。"
        )
    signatures = root.findall(f"{{{DS_NS}}}Signature")
    if len(signatures) != 1:
        raise PackageError(
            "署名がありません。" if not signatures else "署名が複数あります。", BAD_SIGNATURE
        )
    certs = _x509_from_signature(root)
    if not certs:
        raise PackageError("署名に署名用電子証明書が含まれていません。", BAD_CERTIFICATE)
    leaf, extra = certs[0], certs[1:]

    config = SignatureConfiguration(
        require_x509=True,
        expect_references=1,
        signature_methods=frozenset({SignatureMethod.RSA_SHA256}),
        digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
        # Validity is checked below at `at`; signxml only gets a time inside it.
        verification_time=leaf.not_valid_before_utc,
    )
    try:
        verified = _verifier().verify(bytes(signed_xml), x509_cert=leaf, expect_config=config)
    except (InvalidSignature, InvalidDigest):
        raise PackageError(
            "署名が正しくありません。申請データが改ざんされているか、署名が壊れています。",
            BAD_SIGNATURE,
        ) from None
    except InvalidCertificate:
        raise PackageError("署名用電子証明書を検証に使えません。", BAD_CERTIFICATE) from None
    except (InvalidInput, etree.DocumentInvalid, etree.XMLSyntaxError) as exc:
        raise PackageError(
            f"署名の形式が正しくありません（{_short(exc)}）。", BAD_SIGNATURE
        ) from None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise PackageError(
            f"署名を検証できません（{type(exc).__name__}）。", BAD_SIGNATURE
        ) from None

    signed = verified.signed_xml
    if signed is None or signed.tag != PACKAGE_ROOT:
        raise PackageError("署名の対象が申請データ全体ではありません。", BAD_SIGNATURE)
    # Reference URI="" with the enveloped transform covers the whole document: the element
    # signxml returns is the signed document, and everything below is read from it only.
    signing_times = signed.findall(f"{_P}SigningTime")
    data_els = signed.findall(f"{_P}Data")
    listings = signed.findall(f"{_P}Attachments")
    if len(signing_times) > 1 or len(data_els) > 1 or len(listings) > 1:
        raise PackageError(
            "署名付きデータに署名日時・申請データ・添付書類の一覧のどれかが複数あります。",
            DUPLICATE_ENTRY,
        )
    signing_time_el = signing_times[0] if signing_times else None
    data_el = data_els[0] if data_els else None
    listing_el = listings[0] if listings else None
    if data_el is None or len(data_el) != 1 or listing_el is None:
        raise PackageError("署名付きデータに申請データまたは添付書類の一覧がありません。")
    data_root = data_el[0]
    if not isinstance(data_root.tag, str):
        raise PackageError("申請データの形式が正しくありません。")
    data_xml = etree.tostring(data_root, xml_declaration=True, encoding="UTF-8")

    signing_time = at
    if signing_time_el is not None:
        try:
            signing_time = datetime.fromisoformat((signing_time_el.text or "").strip())
        except ValueError:
            raise PackageError("署名日時（SigningTime）の形式が正しくありません。") from None
        if signing_time.tzinfo is None:
            raise PackageError("署名日時（SigningTime）に時差（タイムゾーン）がありません。")

    result = VerificationResult(
        False,
        "",
        data_xml=data_xml,
        data_root=data_root,
        signing_time=signing_time,
        validated_at=at,
        validated_at_source=at_source,
    )

    # Attachments: every signed digest recomputed; none missing, none extra, no name twice.
    signed_list: dict[str, str] = {}
    for item in listing_el.findall(f"{_P}Attachment"):
        name, digest = item.get("name") or "", (item.get("sha256") or "").lower()
        problem = attachment_name_problem(name)
        if problem:
            return _fail(result, MALFORMED, f"署名された添付書類の一覧：{problem}")
        if any(same_name(name, other) for other in signed_list):
            return _fail(
                result,
                DUPLICATE_ENTRY,
                f"署名された添付書類の一覧に「{name}」という名前の添付書類が2つあります。",
            )
        if len(digest) != 64 or not set(digest) <= set("0123456789abcdef"):
            return _fail(
                result,
                MALFORMED,
                f"署名された添付書類「{name}」のハッシュ値の形式が正しくありません。",
            )
        signed_list[name] = digest
    result.attachments = dict(signed_list)
    for name, digest in signed_list.items():
        if name not in attachments:
            return _fail(result, ATTACHMENT_MISSING, f"添付書類「{name}」がありません。")
        if attachment_digest(attachments[name]) != digest:
            return _fail(
                result,
                ATTACHMENT_TAMPERED,
                f"添付書類「{name}」が改ざんされています（ハッシュ値が署名時と一致しません）。",
            )
    for name in attachments:
        if name not in signed_list:
            return _fail(result, ATTACHMENT_UNSIGNED, f"添付書類「{name}」は署名されていません。")

    # Certificate contents and profile (a 署名用電子証明書 of the JPKI).
    try:
        info = parse_certificate(leaf)
    except CertificateError as exc:
        return _fail(result, BAD_CERTIFICATE, exc.message)
    result.certificate = info
    result.warnings.extend(info.basic_four.alternative_character_warnings)

    problem = _key_problem(leaf, "署名用電子証明書")
    if problem:
        return _fail(result, WEAK_ALGORITHM, problem)
    problem = key_usage_problem(leaf)
    if problem:
        return _fail(result, KEY_USAGE, problem)
    label = _at_label(at_source)

    # Path to a trust anchor.
    path, refused_test = _build_path(leaf, extra, trust)
    if path is None:
        if refused_test:
            return _fail(
                result,
                TEST_CA_REFUSED,
                "テスト用認証局の証明書で署名されています。この環境ではテスト用認証局を受け付けません"
                "（JPKI_ALLOW_TEST_CA が有効ではありません）。",
            )
        return _fail(
            result,
            UNKNOWN_CA,
            f"署名用電子証明書の発行者（{info.issuer}）が信頼できる認証局として登録されていません。",
        )
    result.chain = [c.subject.rfc4514_string() for c in path]

    # The JPKI signing certificate profile: its certificate policy, no unknown critical
    # extension (RFC 5280 §4.2).
    accepted = trust.accepted_policies
    if not set(info.policies) & set(accepted):
        expected = "、".join(accepted)
        if not info.policies:
            return _fail(
                result,
                POLICY,
                "署名用電子証明書に公的個人認証サービスの署名用の証明書ポリシー"
                f"（{expected}）がありません。",
            )
        return _fail(
            result,
            POLICY,
            f"署名用電子証明書の証明書ポリシー（{'、'.join(info.policies)}）に"
            f"公的個人認証サービスの署名用の証明書ポリシー（{expected}）がありません。",
        )
    unknown = unknown_critical_extension(leaf)
    if unknown:
        return _fail(
            result,
            BAD_CERTIFICATE,
            f"署名用電子証明書に処理できない重要（critical）な拡張（{unknown}）があります。",
        )

    # Validity at `at` (the reception time), never at the signer's SigningTime.
    if at < leaf.not_valid_before_utc:
        return _fail(
            result,
            NOT_YET_VALID,
            f"署名用電子証明書の有効期間の開始（{_fmt(leaf.not_valid_before_utc)}）が"
            f"{label}（{_fmt(at)}）より後です。",
        )
    if at > leaf.not_valid_after_utc:
        return _fail(
            result,
            EXPIRED,
            f"署名用電子証明書の有効期限（{_fmt(leaf.not_valid_after_utc)}）が"
            f"{label}（{_fmt(at)}）には切れています。",
        )
    for ca in path[1:]:
        if not (ca.not_valid_before_utc <= at <= ca.not_valid_after_utc):
            return _fail(
                result,
                CA_NOT_VALID,
                f"認証局の証明書（{ca.subject.rfc4514_string()}）が{label}（{_fmt(at)}）に"
                "有効期間外です。",
            )
        problem = _key_problem(ca, "認証局の証明書")
        if problem:
            return _fail(result, WEAK_ALGORITHM, problem)

    # Revocation of every certificate below the anchor, at `at`. A certificate listed as
    # revoked at or before `at` is refused whatever CRL lists it (older or newer than the
    # signing, past its nextUpdate or not): a stale CRL only ever adds a warning.
    unchecked: list[str] = []
    stale: list[_CRLEntry] = []
    for cert, issuer in zip(path, path[1:], strict=False):
        entries = trust.crls_of(issuer)
        revocation, entry = trust.revocation_status(cert, issuer, entries)
        whose = "署名用電子証明書" if cert is leaf else "認証局の証明書"
        if revocation is not None and revocation.at <= at:
            why = f"、理由：{revocation.reason}" if revocation.reason else ""
            if cert is leaf:
                return _fail(
                    result,
                    REVOKED,
                    f"失効した証明書で署名されています（失効日時：{_fmt(revocation.at)}{why}、"
                    f"{label}：{_fmt(at)}）。",
                )
            return _fail(
                result,
                REVOKED,
                f"認証局の証明書（{cert.subject.rfc4514_string()}）が{label}より前に失効して"
                f"います（失効日時：{_fmt(revocation.at)}{why}）。",
            )
        if revocation is not None:
            result.warnings.append(
                f"{whose}は{label}（{_fmt(at)}）の後（{_fmt(revocation.at)}）に失効しています。"
                f"{label}には有効だったため、署名は有効です。"
            )
        newest = entries[0] if entries else None
        if newest is None:
            unchecked.append("失効リストが読み込まれていないため、失効は確認していません。")
        elif entry is None:
            unchecked.append(
                f"{whose}の有効期限より後に発行された失効リストしか読み込まれていないため"
                "（有効期限の切れた証明書は失効リストから外れることがあります）、"
                "失効は確認していません。"
            )
        else:
            if cert is leaf:
                result.crl_this_update = entry.this_update
            if entry is not newest and entry.next_update is not None and entry.next_update < at:
                unchecked.append(
                    f"{label}に有効な失効リストが読み込まれていないため"
                    f"（{_fmt(entry.this_update)} 発行の失効リストの次の失効リストがありません）、"
                    "失効は確認していません。"
                )
        if newest is not None and newest.next_update is not None and newest.next_update < now:
            if not any(newest is s for s in stale):
                stale.append(newest)
    for entry in stale:
        result.warnings.append(
            f"失効リストの次回更新日時（{_fmt(entry.next_update)}）を過ぎています。"
            "最新の失効リストを読み込んでください。"
        )
    if stale and trust.require_crl:
        return _fail(result, NO_CRL, "失効リストが古いため、失効を確認できません。")
    result.revocation_checked = not unchecked
    if unchecked:
        if trust.require_crl:
            return _fail(
                result,
                NO_CRL,
                unchecked[0].replace("失効は確認していません", "失効を確認できません"),
            )
        result.warnings.extend(dict.fromkeys(unchecked))

    # Last, the signer's own SigningTime against the time the municipality can trust: the
    # certificate's own faults (expired, revoked) are the reasons staff need first.
    if signing_time > at + trust.signing_time_after:
        return _fail(
            result,
            SIGNING_TIME,
            f"署名日時（{_fmt(signing_time, seconds=True)}）が{label}"
            f"（{_fmt(at, seconds=True)}）より後になっています"
            f"（{_minutes(trust.signing_time_after)}までの時計のずれだけを認めます）。",
        )
    if at_source == AT_RECEIVED and signing_time < at - trust.signing_time_before:
        return _fail(
            result,
            SIGNING_TIME,
            f"署名日時（{_fmt(signing_time, seconds=True)}）が{label}"
            f"（{_fmt(at, seconds=True)}）の{_minutes(trust.signing_time_before)}より前です。"
            "署名日時は申請者の端末が記録した時刻のため、受付日時から離れた署名は受け付けません。",
        )
    if at_source == AT_PULLED:
        result.warnings.append(
            "マイナポータルから受付日時が届かなかったため、証明書の有効性は取得日時"
            f"（{_fmt(at)}）で判断しました。"
        )

    result.valid = True
    result.code = OK
    result.reason = VALID_REASON
    return result


def _fail(result: VerificationResult, code: str, reason: str) -> VerificationResult:
    result.valid = False
    result.code = code
    result.reason = reason
    return result


def _key_problem(cert: x509.Certificate, label: str) -> str | None:
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_RSA_BITS:
        return f"{label}の鍵がRSA {MIN_RSA_BITS}ビット以上ではありません。"
    algorithm = cert.signature_hash_algorithm
    if not isinstance(algorithm, _ACCEPTED_HASHES):
        return f"{label}の署名アルゴリズムがSHA-256以上ではありません。"
    return None


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        bc = cert.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value
    except x509.ExtensionNotFound:
        return False
    if not bc.ca:
        return False
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return bool(usage.key_cert_sign)


def _build_path(
    leaf: x509.Certificate, extra: list[x509.Certificate], trust: TrustStore, max_depth: int = 5
) -> tuple[list[x509.Certificate] | None, bool]:
    """[leaf, intermediates..., anchor] or (None, chains_to_a_refused_test_anchor)."""
    supplied: dict[bytes, list[x509.Certificate]] = {}
    for cert in extra:
        supplied.setdefault(cert.subject.public_bytes(), []).append(cert)
    refused_test = False

    def walk(cert: x509.Certificate, path: list[x509.Certificate]):
        nonlocal refused_test
        issuer_name = cert.issuer.public_bytes()
        for anchor in trust.anchors.get(issuer_name, []):
            if _is_ca(anchor) and trust._issued_by(cert, anchor):
                return [*path, anchor]
        for anchor in trust.refused_test_anchors.get(issuer_name, []):
            if trust._issued_by(cert, anchor):
                refused_test = True
        if len(path) >= max_depth:
            return None
        candidates = trust.intermediates.get(issuer_name, []) + supplied.get(issuer_name, [])
        for ca in candidates:
            if any(ca is p for p in path) or not _is_ca(ca):
                continue
            if trust._issued_by(cert, ca):
                found = walk(ca, [*path, ca])
                if found:
                    return found
        return None

    return walk(leaf, [leaf]), refused_test
