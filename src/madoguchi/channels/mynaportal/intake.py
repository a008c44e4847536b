"""申請データの取り込み: pull → verify → map → one case per マイナポータル受付番号.

Guarantees (issue 4 §4):
- the same 受付番号 imported twice makes one case (lookup first, and the database's unique
  constraint on (municipality, channel, source_reference) if two pulls race);
- one package = one transaction: the case, its answers, attachments, revision and events
  commit together; attachment files written during a transaction that rolls back are
  deleted, so a failed import leaves no half case and no orphan file, and the next pull
  picks the package up again (it is not in the database yet);
- a package that cannot be accepted (malformed, bad signature or certificate, unknown
  procedure, other municipality) is kept whole in `QuarantinedPackage` with its reason.
"""

import datetime
import hashlib
import logging
from dataclasses import dataclass, field

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.applications import services
from madoguchi.applications.models import (
    AnswerRevision,
    Application,
    ApplicationEvent,
    Channel,
    DepartmentProgress,
    Status,
    next_receipt_number,
)
from madoguchi.channels.models import MynaportalMapping, QuarantinedPackage

from .package import ApplicationData, PackageError, open_package, parse_data

logger = logging.getLogger(__name__)

IMPORTED = "imported"
DUPLICATE = "duplicate"
QUARANTINED = "quarantined"


@dataclass
class Outcome:
    kind: str
    application: Application | None = None
    quarantine: QuarantinedPackage | None = None

    @property
    def reason(self) -> str:
        return self.quarantine.reason if self.quarantine else ""


@dataclass
class Prepared:
    data: ApplicationData
    mapping: MynaportalMapping
    attachments: dict[str, bytes]
    identity: dict
    certificate_serial: str
    answers: dict = field(default_factory=dict)
    unmapped: dict = field(default_factory=dict)


class Rejected(Exception):
    def __init__(self, reason: str, procedure_code: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.procedure_code = procedure_code


def _trust_store():
    from madoguchi.identity.jpki import TrustStore

    return TrustStore.load()


def existing_case(municipality, source_reference: str) -> Application | None:
    if not source_reference:
        return None
    return Application.objects.filter(
        municipality=municipality, channel=Channel.MYNAPORTAL, source_reference=source_reference
    ).first()


def import_package(
    municipality,
    raw: bytes,
    *,
    source_reference: str = "",
    at: datetime.datetime | None = None,
    trust=None,
) -> Outcome:
    """Import one package; returns what happened. Raises only for failures of our own side
    (database, storage): then nothing is kept and the next pull tries again."""
    found = existing_case(municipality, source_reference)
    if found is not None:
        _resolve_quarantine(municipality, source_reference, found)
        return Outcome(DUPLICATE, application=found)
    try:
        prepared = prepare(municipality, raw, source_reference=source_reference, at=at, trust=trust)
    except Rejected as exc:
        return Outcome(
            QUARANTINED,
            quarantine=quarantine(
                municipality,
                raw,
                reason=exc.reason,
                source_reference=source_reference,
                procedure_code=exc.procedure_code,
            ),
        )
    found = existing_case(municipality, prepared.data.receipt_number)
    if found is not None:
        _resolve_quarantine(municipality, prepared.data.receipt_number, found)
        return Outcome(DUPLICATE, application=found)
    try:
        application = create_case(municipality, prepared)
    except IntegrityError:
        # Another pull created the same case between our lookup and our insert.
        found = existing_case(municipality, prepared.data.receipt_number)
        if found is None:
            raise
        return Outcome(DUPLICATE, application=found)
    _resolve_quarantine(municipality, prepared.data.receipt_number, application)
    return Outcome(IMPORTED, application=application)


def prepare(municipality, raw: bytes, *, source_reference="", at=None, trust=None):
    """Parse, verify and map; raises Rejected(reason) for anything not acceptable."""
    try:
        package = open_package(raw)
    except PackageError as exc:
        raise Rejected(exc.reason) from exc
    from madoguchi.identity import jpki

    try:
        result = jpki.verify_package(
            package.signed_xml,
            package.attachments,
            trust=trust if trust is not None else _trust_store(),
            at=at or timezone.now(),
        )
    except Exception as exc:  # a verifier surprise is a reason too, never a lost package
        logger.warning("mynaportal: verification raised %s", type(exc).__name__)
        raise Rejected(
            _("電子署名を検証できませんでした（%(error)s）。") % {"error": type(exc).__name__}
        ) from exc
    if not result.valid or result.data_xml is None:
        raise Rejected(result.reason or _("電子署名が正しくありません。"))
    try:
        data = parse_data(result.data_xml, package.attachments)
    except PackageError as exc:
        raise Rejected(exc.reason) from exc
    if source_reference and data.receipt_number != source_reference:
        raise Rejected(
            _("申請データの受付番号（%(inner)s）が取得した受付番号と一致しません。")
            % {"inner": data.receipt_number},
            data.procedure_code,
        )
    if data.lg_code != municipality.lg_code:
        raise Rejected(
            _("申請データの地方公共団体コード（%(code)s）がこの団体のものではありません。")
            % {"code": data.lg_code},
            data.procedure_code,
        )
    mapping = (
        MynaportalMapping.objects.filter(
            municipality=municipality, procedure_code=data.procedure_code, is_active=True
        )
        .select_related("procedure", "procedure__current_version")
        .first()
    )
    if mapping is None:
        raise Rejected(
            _(
                "手続コード「%(code)s」に対応する手続が設定されていません。"
                "マイナポータル項目対応を登録してから再処理してください。"
            )
            % {"code": data.procedure_code},
            data.procedure_code,
        )
    if mapping.procedure.current_version is None:
        raise Rejected(
            _("手続「%(name)s」に公開中の様式がありません。") % {"name": mapping.procedure.name},
            data.procedure_code,
        )
    identity = {**result.identity(timezone.now()), "atena_source": ""}
    # serial_links reads the signing date as "signed_at".
    identity["signed_at"] = identity.get("signing_time")
    prepared = Prepared(
        data=data,
        mapping=mapping,
        attachments=package.attachments,
        identity=identity,
        certificate_serial=identity["certificate_serial"],
    )
    _map_items(prepared)
    return prepared


def _set_path(answers: dict, path: str, value) -> None:
    parts = path.split(".")
    target = answers
    for part in parts[:-1]:
        nxt = target.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            target[part] = nxt
        target = nxt
    target[parts[-1]] = value


def _map_items(prepared: Prepared) -> None:
    mapping = prepared.mapping
    form = mapping.procedure.current_version.form
    known_keys = {f.key for f in form.all_fields()}
    table = mapping.items if isinstance(mapping.items, dict) else {}
    for item_id, value in prepared.data.items.items():
        key = table.get(item_id)
        if not key and mapping.same_keys and item_id.split(".")[0] in known_keys:
            key = item_id
        if key and isinstance(key, str):
            _set_path(prepared.answers, key, value)
        else:
            prepared.unmapped[item_id] = value


def create_case(municipality, prepared: Prepared) -> Application:
    """One transaction; attachment files written by a transaction that fails are removed."""
    written: list[str] = []
    try:
        with transaction.atomic():
            return _create_case(municipality, prepared, written)
    except BaseException:
        for name in written:
            try:
                default_storage.delete(name)
            except Exception:  # pragma: no cover - logged, the sweep of orphans is manual
                logger.exception("mynaportal: could not delete %s after a failed import", name)
        raise


class _Upload(ContentFile):
    pass


def _create_case(municipality, prepared: Prepared, written: list[str]) -> Application:
    from madoguchi.identity.serial_links import assign_atena_if_known

    data, mapping = prepared.data, prepared.mapping
    procedure = mapping.procedure
    now = timezone.now()
    application = Application(
        municipality=municipality,
        procedure=procedure,
        form_version=procedure.current_version,
        channel=Channel.MYNAPORTAL,
        status=Status.RECEIVED,
        source_reference=data.receipt_number,
        identity=prepared.identity,
        answers={},
        submitted_at=now,
    )
    if procedure.target_days:
        application.due_at = now + datetime.timedelta(days=procedure.target_days)
    application.receipt_number = next_receipt_number(municipality)
    application.issue_status_token()
    application.save()

    answers = dict(prepared.answers)
    for info in data.attachments:
        upload = _Upload(prepared.attachments[info.name], name=info.name)
        answer = services.store_attachment(
            application,
            info.item or "mynaportal_attachment",
            upload,
            content_type=info.content_type,
            content=prepared.attachments[info.name],
        )
        written.append(application.attachments.get(uid=answer["attachment"]).file.name)
        key = (mapping.items or {}).get(info.item) or (info.item if info.item else "")
        if key:
            existing = answers.get(key)
            answers[key] = [*existing, answer] if isinstance(existing, list) else [answer]
    application.answers = answers
    services._set_applicant(application, answers)  # name, reading, e-mail, search keys
    if not application.applicant_name:
        application.applicant_name = prepared.identity.get("basic_four", {}).get("name", "")[:200]
        application.search_name = services.search_name(application.applicant_name)
    application.save()
    AnswerRevision.objects.create(
        municipality_id=municipality.pk,
        application=application,
        number=1,
        answers=answers,
        submitted_at=now,
    )
    DepartmentProgress.objects.bulk_create(
        DepartmentProgress(municipality_id=municipality.pk, application=application, department=d)
        for d in procedure.departments.all()
    )
    services.record_event(
        application,
        ApplicationEvent.Kind.SUBMITTED,
        actor_type=ApplicationEvent.Actor.SYSTEM,
        from_status=Status.DRAFT,
        to_status=Status.RECEIVED,
        data={
            "receipt_number": application.receipt_number,
            "channel": Channel.MYNAPORTAL,
            "source_reference": data.receipt_number,
            "procedure_code": data.procedure_code,
            "mynaportal_submitted_at": data.submitted_at.isoformat(),
            # Items the mapping does not place in the form are kept here, never dropped.
            "unmapped_items": prepared.unmapped,
        },
    )
    assign_atena_if_known(application)
    return application


def quarantine(
    municipality, raw: bytes, *, reason: str, source_reference: str = "", procedure_code: str = ""
) -> QuarantinedPackage:
    digest = hashlib.sha256(raw or b"").hexdigest()
    with transaction.atomic():
        entry = None
        if source_reference:
            entry = (
                QuarantinedPackage.objects.select_for_update()
                .filter(municipality=municipality, source_reference=source_reference)
                .first()
            )
        if entry is None and not source_reference:
            entry = (
                QuarantinedPackage.objects.select_for_update()
                .filter(municipality=municipality, source_reference="", sha256=digest)
                .first()
            )
        if entry is None:
            entry = QuarantinedPackage(municipality=municipality, attempts=0)
        entry.source_reference = source_reference
        entry.procedure_code = procedure_code[:80] or entry.procedure_code
        entry.reason = reason
        entry.raw_package = bytes(raw or b"")
        entry.sha256 = digest
        entry.state = QuarantinedPackage.State.QUARANTINED
        entry.attempts += 1
        entry.save()
    logger.info("mynaportal: package %s quarantined", source_reference or digest[:12])
    return entry


def _resolve_quarantine(municipality, source_reference: str, application) -> None:
    if not source_reference:
        return
    QuarantinedPackage.objects.filter(
        municipality=municipality,
        source_reference=source_reference,
        state=QuarantinedPackage.State.QUARANTINED,
    ).update(
        state=QuarantinedPackage.State.RESOLVED, application=application, updated_at=timezone.now()
    )


def reprocess(entry: QuarantinedPackage, *, trust=None) -> Outcome:
    """Import a quarantined package again (after its cause was fixed)."""
    outcome = import_package(
        entry.municipality,
        bytes(entry.raw_package),
        source_reference=entry.source_reference,
        trust=trust,
    )
    if outcome.kind != QUARANTINED and not entry.source_reference:
        QuarantinedPackage.objects.filter(pk=entry.pk).update(
            state=QuarantinedPackage.State.RESOLVED, application=outcome.application
        )
    return outcome
