"""Packages signed by another tool: the XML is written here by hand and signed by Debian's
`xmlsec1` (libxmlsec1, OpenSSL) with a certificate of a foreign CA — nothing of the
project's signer, test CA or package builder is involved. `tools/ensure-xmlsec.sh` installs
xmlsec1 where the tests run; elsewhere the test is skipped (in CI it must run)."""

import base64
import hashlib
import os
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest
from cryptography.hazmat.primitives import serialization

from madoguchi.identity import jpki
from madoguchi.identity.jpki import verify_package

from .foreign_pki import card, crl, make_foreign, store
from .test_jpki_matrix import NOW, R, jst

XMLSEC = shutil.which("xmlsec1")
if XMLSEC is None and os.environ.get("CI") == "true":
    raise RuntimeError("xmlsec1 is required in CI (tools/ensure-xmlsec.sh)")
pytestmark = pytest.mark.skipif(XMLSEC is None, reason="xmlsec1 is not installed")

ATTACHMENT = ("申請書添付.pdf", b"%PDF-1.4 made elsewhere\n" * 40)

TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<pkg:SignedApplication xmlns:pkg="urn:madoguchi:jpki-package:1" version="1">
  <pkg:SigningTime>{signing_time}</pkg:SigningTime>
  <pkg:Data><Application xmlns="urn:example:other-tool"><Name>渡邉　太郎</Name><Reason>転居</Reason></Application></pkg:Data>
  <pkg:Attachments>
    <pkg:Attachment name={name} size="{size}" sha256="{sha256}"/>
  </pkg:Attachments>
  <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
    <ds:SignedInfo>
      <ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
      <ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>
      <ds:Reference URI="">
        <ds:Transforms>
          <ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>
          <ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
        </ds:Transforms>
        <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
        <ds:DigestValue/>
      </ds:Reference>
    </ds:SignedInfo>
    <ds:SignatureValue/>
    <ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo>
  </ds:Signature>
</pkg:SignedApplication>
"""


def xmlsec_sign(tmp: Path, key, certificate, *, signing_time) -> bytes:
    name, content = ATTACHMENT
    template = TEMPLATE.format(
        signing_time=signing_time.isoformat(timespec="seconds"),
        name=quoteattr(name),
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )
    (tmp / "template.xml").write_text(template, encoding="utf-8")
    (tmp / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (tmp / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    done = subprocess.run(
        [
            XMLSEC,
            "--sign",
            "--privkey-pem",
            f"{tmp / 'key.pem'},{tmp / 'cert.pem'}",
            "--output",
            str(tmp / "signed.xml"),
            str(tmp / "template.xml"),
        ],
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    signed = (tmp / "signed.xml").read_bytes()
    # The certificate in KeyInfo is the one xmlsec1 took from the PEM (not ours written in).
    assert base64.b64encode(certificate.public_bytes(serialization.Encoding.DER))[:40] in (
        signed.replace(b"\n", b"")
    )
    return signed


@pytest.fixture(scope="module")
def foreign():
    return make_foreign()


def test_a_package_signed_by_xmlsec1_verifies(foreign, tmp_path):
    cert = card(foreign)
    signed = xmlsec_sign(tmp_path, foreign.card_key, cert, signing_time=R - timedelta(minutes=2))
    listing = crl(foreign, this_update=R - timedelta(hours=1), next_update=NOW + timedelta(days=1))
    name, content = ATTACHMENT
    result = verify_package(signed, {name: content}, trust=store(foreign, [listing]), at=R, now=NOW)
    assert result.valid, result.reason
    assert result.certificate.serial == jpki.serial_hex(cert.serial_number)
    assert result.certificate.basic_four.name == "渡邉　太郎"
    assert b"urn:example:other-tool" in result.data_xml
    assert result.attachments == {name: hashlib.sha256(content).hexdigest()}


def test_xmlsec1_package_is_judged_at_reception_not_at_its_signing_time(foreign, tmp_path):
    expiry = R - timedelta(days=10)
    cert = card(foreign, not_after=expiry)
    signed = xmlsec_sign(tmp_path, foreign.card_key, cert, signing_time=expiry - timedelta(days=1))
    name, content = ATTACHMENT
    result = verify_package(signed, {name: content}, trust=store(foreign), at=R, now=NOW)
    assert result.code == jpki.EXPIRED
    assert result.reason == (
        f"署名用電子証明書の有効期限（{jst(expiry)}）がマイナポータルの受付日時（{jst(R)}）には"
        "切れています。"
    )


def test_xmlsec1_package_with_a_changed_attachment_is_refused(foreign, tmp_path):
    cert = card(foreign)
    signed = xmlsec_sign(tmp_path, foreign.card_key, cert, signing_time=R)
    name, content = ATTACHMENT
    result = verify_package(signed, {name: content + b"!"}, trust=store(foreign), at=R, now=NOW)
    assert result.code == jpki.ATTACHMENT_TAMPERED
    tampered = signed.replace("転居".encode(), "転出".encode())
    result = verify_package(tampered, {name: content}, trust=store(foreign), at=R, now=NOW)
    assert result.code == jpki.BAD_SIGNATURE
