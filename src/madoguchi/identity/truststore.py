"""Loading trust anchors and CRLs into the database (admin form, `madoguchi load_trust`)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from django.db import transaction

from madoguchi.identity.jpki import (
    CertificateError,
    crl_problem,
    crl_scope,
    fingerprint,
    is_test_certificate,
    load_certificate,
    load_crl,
    serial_hex,
)
from madoguchi.identity.trust_models import CertificateRevocationList, TrustAnchor

_DER = Encoding.DER


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def add_trust_anchor(
    data: bytes,
    *,
    name: str = "",
    kind: str = TrustAnchor.Kind.ANCHOR,
    is_test: bool | None = None,
    note: str = "",
) -> tuple[TrustAnchor, bool]:
    """Register a CA certificate (DER or PEM). Returns (row, created). Raises CertificateError.

    A certificate carrying the test-CA marker is always registered with is_test=True."""
    cert = load_certificate(data)
    if not _is_ca(cert):
        raise CertificateError("認証局の証明書ではありません（基本制約 cA が設定されていません）。")
    marked = is_test_certificate(cert)
    if is_test is False and marked:
        raise CertificateError("テスト用認証局の証明書です。本番の信頼点としては登録できません。")
    fp = fingerprint(cert)
    existing = TrustAnchor.objects.filter(fingerprint_sha256=fp).first()
    if existing is not None:
        return existing, False
    subject = cert.subject.rfc4514_string()
    row = TrustAnchor.objects.create(
        name=name or _common_name(cert) or subject,
        kind=kind,
        certificate_der=cert.public_bytes(_DER),
        fingerprint_sha256=fp,
        subject=subject,
        issuer=cert.issuer.rfc4514_string(),
        serial=serial_hex(cert.serial_number),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        is_test=bool(is_test) or marked,
        note=note,
    )
    return row, True


def _common_name(cert: x509.Certificate) -> str:
    from cryptography.x509.oid import NameOID

    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def add_crl(data: bytes, *, source: str = "") -> tuple[CertificateRevocationList, bool]:
    """Register a CRL (DER). Its signature must verify with a registered CA certificate.
    Returns (row, created); the same file twice is one row. Raises CertificateError."""
    crl = load_crl(data)
    problem = crl_problem(crl)
    if problem:
        raise CertificateError(problem)
    scope = crl_scope(crl)
    der = crl.public_bytes(_DER)
    digest = hashlib.sha256(der).hexdigest()
    existing = CertificateRevocationList.objects.filter(sha256=digest).first()
    if existing is not None:
        if source and existing.source != source:
            existing.source = source
            existing.save(update_fields=["source"])
        return existing, False
    issuer_row = None
    for row in TrustAnchor.objects.filter(is_active=True):
        cert = x509.load_der_x509_certificate(bytes(row.certificate_der))
        if cert.subject != crl.issuer:
            continue
        try:
            if crl.is_signature_valid(cert.public_key()):
                issuer_row = row
                break
        except (TypeError, ValueError):
            continue
    if issuer_row is None:
        raise CertificateError(
            f"失効リストの発行者（{crl.issuer.rfc4514_string()}）が登録済みの認証局ではないか、"
            "失効リストの署名が正しくありません。先に認証局の証明書を登録してください。"
        )
    newest = (
        CertificateRevocationList.objects.filter(issuer_anchor=issuer_row, scope=scope[:1000])
        .order_by("-this_update")
        .first()
    )
    if newest is not None and newest.this_update > crl.last_update_utc:
        raise CertificateError(
            "読み込んだ失効リストより新しい失効リストが登録済みです（古い失効リストは読み込みません）。"
        )
    try:
        number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        number = ""
    with transaction.atomic():
        row = CertificateRevocationList.objects.create(
            issuer=crl.issuer.rfc4514_string(),
            issuer_anchor=issuer_row,
            crl_der=der,
            sha256=digest,
            crl_number=str(number),
            this_update=crl.last_update_utc,
            next_update=crl.next_update_utc,
            revoked_count=len(crl),
            scope=scope[:1000],
            source=source,
        )
    return row, True


def refresh_crls() -> list[tuple[str, str]]:
    """Re-read the source file of the newest CRL of every CA. Returns (source, message) pairs."""
    report = []
    sources = []
    for row in CertificateRevocationList.objects.exclude(source="").order_by("-this_update"):
        if row.source not in sources:
            sources.append(row.source)
    for source in sources:
        path = Path(source)
        try:
            data = path.read_bytes()
        except OSError as exc:
            report.append((source, f"読み込めません（{exc.strerror or exc}）"))
            continue
        try:
            row, created = add_crl(data, source=source)
        except CertificateError as exc:
            report.append((source, exc.message))
            continue
        report.append(
            (
                source,
                f"更新しました（失効 {row.revoked_count}件）" if created else "変更はありません",
            )
        )
    return report
