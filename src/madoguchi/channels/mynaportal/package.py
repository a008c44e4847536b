"""The マイナポータル application package (申請データ一式) and its parser.

A package is a ZIP archive (see docs/mynaportal.md):

    signature.xml          XML-DSig made with the applicant's 署名用電子証明書 over the
                           application data (申請データ) and the SHA-256 of every attachment
                           (`madoguchi.identity.jpki.sign_package` / `verify_package`)
    attachments/<name>     the attached files (添付書類), byte for byte

The application data (the XML inside the signature, returned by `verify_package`):

    <ApplicationData xmlns="urn:madoguchi:mynaportal:application:1">
      <ReceiptNumber>マイナポータルの受付番号</ReceiptNumber>
      <LgCode>131016</LgCode>
      <ProcedureCode>手続の識別子</ProcedureCode>
      <SubmittedAt>2026-04-01T09:30:00+09:00</SubmittedAt>
      <Items><Item id="項目ID">値</Item> ...</Items>
      <Attachments><Attachment name="file.pdf" item="項目ID" contentType="application/pdf"
                    sha256="..."/> ...</Attachments>
    </ApplicationData>

Every malformed input raises `PackageError` with a Japanese reason — never anything else — so
the intake can quarantine it. No Django imports.
"""

import datetime
import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from madoguchi.identity.jpki import attachment_name_problem, same_name, visible_name

NAMESPACE = "urn:madoguchi:mynaportal:application:1"
SIGNATURE_NAME = "signature.xml"
ATTACHMENT_PREFIX = "attachments/"

MAX_PACKAGE_BYTES = 50 * 1024 * 1024
MAX_ENTRIES = 101
MAX_ENTRY_BYTES = 20 * 1024 * 1024
MAX_TOTAL_BYTES = 60 * 1024 * 1024
MAX_ITEMS = 2000
MAX_ITEM_CHARS = 10_000
RECEIPT_RE = re.compile(r"^[0-9A-Za-z-]{1,64}$")
PROCEDURE_RE = re.compile(r"^[0-9A-Za-z_.-]{1,80}$")
LG_CODE_RE = re.compile(r"^[0-9]{6}$")
ITEM_ID_RE = re.compile(r"^[0-9A-Za-z_.\-]{1,200}$")


class PackageError(Exception):
    """A package that cannot be accepted; `reason` is a Japanese sentence for the 管理者."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AttachmentInfo:
    name: str
    item: str
    content_type: str
    sha256: str


@dataclass
class RawPackage:
    """The ZIP opened: the signed XML and the attachments by name (not yet verified)."""

    signed_xml: bytes
    attachments: dict[str, bytes] = field(default_factory=dict)


@dataclass
class ApplicationData:
    receipt_number: str
    lg_code: str
    procedure_code: str
    submitted_at: datetime.datetime
    items: dict[str, str]
    attachments: list[AttachmentInfo]


# --- building (simulator, tests, bench) ------------------------------------------------------


def build_data_xml(
    *,
    receipt_number: str,
    lg_code: str,
    procedure_code: str,
    submitted_at: datetime.datetime,
    items: dict[str, str],
    attachments: list[AttachmentInfo],
) -> bytes:
    parts = [
        f'<ApplicationData xmlns="{NAMESPACE}">',
        f"<ReceiptNumber>{escape(receipt_number)}</ReceiptNumber>",
        f"<LgCode>{escape(lg_code)}</LgCode>",
        f"<ProcedureCode>{escape(procedure_code)}</ProcedureCode>",
        f"<SubmittedAt>{escape(submitted_at.isoformat())}</SubmittedAt>",
        "<Items>",
        *(f"<Item id={quoteattr(k)}>{escape(str(v))}</Item>" for k, v in items.items()),
        "</Items>",
        "<Attachments>",
        *(
            f"<Attachment name={quoteattr(a.name)} item={quoteattr(a.item)} "
            f"contentType={quoteattr(a.content_type)} sha256={quoteattr(a.sha256)}/>"
            for a in attachments
        ),
        "</Attachments>",
        "</ApplicationData>",
    ]
    return "".join(parts).encode("utf-8")


def attachment_infos(files: list[tuple[str, str, str, bytes]]) -> list[AttachmentInfo]:
    """[(name, item, content_type, content)] → the <Attachment> entries."""
    return [
        AttachmentInfo(name, item, content_type, hashlib.sha256(content).hexdigest())
        for name, item, content_type, content in files
    ]


def build_zip(signed_xml: bytes, attachments: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(SIGNATURE_NAME, signed_xml)
        for name, content in attachments.items():
            archive.writestr(ATTACHMENT_PREFIX + name, content)
    return buffer.getvalue()


# --- parsing ----------------------------------------------------------------------------------


def open_package(raw: bytes) -> RawPackage:
    """The ZIP → signed XML + attachments. Raises PackageError only."""
    if not isinstance(raw, bytes | bytearray) or not raw:
        raise PackageError("申請データが空です。")
    if len(raw) > MAX_PACKAGE_BYTES:
        raise PackageError("申請データが大きすぎます（上限 50MB）。")
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        infos = archive.infolist()
    except Exception as exc:  # zipfile raises many kinds on garbage input
        raise PackageError(
            f"申請データがZIP形式として読めません（{type(exc).__name__}）。"
        ) from exc
    if len(infos) > MAX_ENTRIES:
        raise PackageError("申請データのファイル数が多すぎます。")
    total = 0
    signed_xml = None
    attachments: dict[str, bytes] = {}
    seen: dict[str, str] = {}  # every entry name after NFC → as written
    for info in infos:
        # Two entries of one name (a second signature.xml, an attachment twice) make the
        # package ambiguous: which one was signed, which one would a reader open?
        key = unicodedata.normalize("NFC", info.filename.rstrip("/"))
        if key in seen:
            if key == SIGNATURE_NAME:
                raise PackageError("申請データに署名（signature.xml）が2つあります。")
            shown = visible_name(
                key[len(ATTACHMENT_PREFIX) :] if key.startswith(ATTACHMENT_PREFIX) else key
            )
            raise PackageError(f"申請データに「{shown}」という名前のファイルが2つあります。")
        seen[key] = info.filename
        if info.is_dir():
            continue
        if info.file_size > MAX_ENTRY_BYTES or info.flag_bits & 0x1:
            raise PackageError(f"申請データ内のファイル「{info.filename[:100]}」を読めません。")
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise PackageError("申請データの展開後の大きさが上限を超えています。")
        try:
            content = _read_limited(archive, info)
        except PackageError:
            raise
        except Exception as exc:
            raise PackageError(
                f"申請データ内のファイル「{info.filename[:100]}」が壊れています（{type(exc).__name__}）。"
            ) from exc
        name = info.filename
        if name == SIGNATURE_NAME:
            signed_xml = content
        elif name.startswith(ATTACHMENT_PREFIX):
            short = name[len(ATTACHMENT_PREFIX) :]
            problem = attachment_name_problem(short)
            if problem:
                raise PackageError(problem)
            attachments[short] = content
        else:
            raise PackageError(f"申請データに想定外のファイル「{name[:100]}」があります。")
    if signed_xml is None:
        raise PackageError("申請データに署名（signature.xml）がありません。")
    return RawPackage(signed_xml=signed_xml, attachments=attachments)


def _read_limited(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    with archive.open(info) as handle:
        content = handle.read(MAX_ENTRY_BYTES + 1)
    if len(content) > MAX_ENTRY_BYTES:
        raise PackageError(f"申請データ内のファイル「{info.filename[:100]}」が大きすぎます。")
    return content


_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False, remove_comments=True
)


def _q(tag: str) -> str:
    return f"{{{NAMESPACE}}}{tag}"


def _text(root, tag: str, label: str, pattern: re.Pattern | None = None) -> str:
    found = root.findall(_q(tag))
    if len(found) != 1:
        raise PackageError(f"申請データに{label}（{tag}）がちょうど1つありません。")
    value = (found[0].text or "").strip()
    if not value:
        raise PackageError(f"申請データの{label}（{tag}）が空です。")
    if pattern is not None and not pattern.match(value):
        raise PackageError(f"申請データの{label}（{tag}）の形式が正しくありません。")
    return value


def _clean_value(value: str) -> str:
    value = unicodedata.normalize("NFC", value)
    if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        raise PackageError("申請データの項目に使えない制御文字が含まれています。")
    return value


def parse_data(data_xml: bytes, attachments: dict[str, bytes]) -> ApplicationData:
    """The (verified) application data XML → ApplicationData; checks every listed attachment
    is present with its digest and that no file is unlisted. Raises PackageError only."""
    try:
        root = etree.fromstring(data_xml, _PARSER)
    except Exception as exc:
        raise PackageError(f"申請データのXMLが読めません（{type(exc).__name__}）。") from exc
    return parse_element(root, attachments)


def parse_element(
    root, attachments: dict[str, bytes], *, digests: dict[str, str] | None = None
) -> ApplicationData:
    """`parse_data` of the application data already parsed (the element the signature
    verification returned: the XML is parsed once). `digests`: name → SHA-256 (hex) of
    attachments whose content was already hashed (by the verification, from the same bytes);
    the others are hashed here. Raises PackageError only."""
    try:
        return _parse_root(root, attachments, digests or {})
    except PackageError:
        raise
    except Exception as exc:  # defensive: any surprise in odd XML is still a reason
        raise PackageError(f"申請データの内容が読めません（{type(exc).__name__}）。") from exc


def _parse_root(root, attachments: dict[str, bytes], digests: dict[str, str]) -> ApplicationData:
    if root.tag != _q("ApplicationData"):
        raise PackageError("申請データの形式が正しくありません（ApplicationData がありません）。")
    receipt = _text(root, "ReceiptNumber", "受付番号", RECEIPT_RE)
    lg_code = _text(root, "LgCode", "地方公共団体コード", LG_CODE_RE)
    procedure = _text(root, "ProcedureCode", "手続の識別子", PROCEDURE_RE)
    submitted_raw = _text(root, "SubmittedAt", "申請日時")
    try:
        submitted_at = datetime.datetime.fromisoformat(submitted_raw)
    except ValueError as exc:
        raise PackageError("申請データの申請日時（SubmittedAt）の形式が正しくありません。") from exc
    if submitted_at.tzinfo is None:
        raise PackageError("申請データの申請日時（SubmittedAt）にタイムゾーンがありません。")

    items: dict[str, str] = {}
    containers = root.findall(_q("Items"))
    if len(containers) != 1:
        raise PackageError("申請データに申請項目（Items）がちょうど1つありません。")
    elements = containers[0].findall(_q("Item"))
    if len(elements) > MAX_ITEMS:
        raise PackageError("申請項目が多すぎます。")
    for element in elements:
        item_id = element.get("id") or ""
        if not ITEM_ID_RE.match(item_id):
            raise PackageError(f"申請項目のID「{item_id[:50]}」が正しくありません。")
        if item_id in items:
            raise PackageError(f"申請項目「{item_id}」が重複しています。")
        value = element.text or ""
        if len(value) > MAX_ITEM_CHARS:
            raise PackageError(f"申請項目「{item_id}」の値が長すぎます。")
        items[item_id] = _clean_value(value)

    listed: list[AttachmentInfo] = []
    containers = root.findall(_q("Attachments"))
    if len(containers) > 1:
        raise PackageError("申請データに添付書類の一覧（Attachments）が複数あります。")
    for element in containers[0].findall(_q("Attachment")) if containers else []:
        info = AttachmentInfo(
            name=element.get("name") or "",
            item=element.get("item") or "",
            content_type=element.get("contentType") or "application/octet-stream",
            sha256=(element.get("sha256") or "").lower(),
        )
        problem = attachment_name_problem(info.name)
        if problem:
            raise PackageError(f"申請データの添付書類の一覧：{problem}")
        if any(same_name(a.name, info.name) for a in listed):
            raise PackageError(
                f"申請データの添付書類の一覧に「{info.name}」という名前の添付書類が2つあります。"
            )
        if info.item and not ITEM_ID_RE.match(info.item):
            raise PackageError(f"添付書類「{info.name}」の項目IDが正しくありません。")
        if info.name not in attachments:
            raise PackageError(f"添付書類「{info.name}」が申請データに含まれていません。")
        digest = digests.get(info.name) or hashlib.sha256(attachments[info.name]).hexdigest()
        if digest != info.sha256:
            raise PackageError(f"添付書類「{info.name}」の内容が申請時のものと一致しません。")
        listed.append(info)
    unlisted = set(attachments) - {a.name for a in listed}
    if unlisted:
        raise PackageError(f"一覧にない添付書類「{sorted(unlisted)[0][:100]}」が含まれています。")
    return ApplicationData(
        receipt_number=receipt,
        lg_code=lg_code,
        procedure_code=procedure,
        submitted_at=submitted_at,
        items=items,
        attachments=listed,
    )
