"""申請データの取り込み: pull → verify → map → one case per マイナポータル受付番号.

Guarantees:
- the same 受付番号 imported twice makes one case (lookup first, and the database's unique
  constraint on (municipality, channel, source_reference) if two pulls race: the batch is
  then written again package by package and the loser finds the winner's case);
- every package is all-or-nothing: a batch is written in one transaction (`writing`), and if
  that fails each package is written in its own transaction; attachment files written by a
  transaction that rolls back are deleted, so a failed import leaves no half case and no
  orphan file, and the next pull picks the package up again (it is not in the database
  yet). A process killed mid-write cannot delete its files: `sweep_orphan_attachments`
  (daily by Celery beat, or cron) removes stored files that no row refers to;
- a package that cannot be accepted (malformed, bad signature or certificate, unknown
  procedure, other municipality) is kept whole in `QuarantinedPackage` with its reason,
  without affecting the other packages of its batch;
- the 受付 status messages are written in the same transaction as their cases and handed to
  the outbox worker after commit (never delivered inline during the import).

`import_batch` is what `pull` uses: the signatures of a batch are checked in worker
processes (`checking`), the per-batch lookups (mapping, form, departments, trust store,
existing cases, 番号紐付) are made once per batch, and the rows are bulk-inserted.
"""

import datetime
import hashlib
import logging
from dataclasses import dataclass, field

from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.applications.models import Application, Channel
from madoguchi.channels.models import MynaportalMapping, QuarantinedPackage
from madoguchi.outbox import delivery

from . import checking, status_sync, writing
from .package import ApplicationData

logger = logging.getLogger(__name__)

IMPORTED = "imported"
DUPLICATE = "duplicate"
QUARANTINED = "quarantined"
FAILED = "failed"  # our side failed (database, storage): nothing kept, the next pull retries

# Packages written per transaction by `pull`: large enough to amortise the round trips,
# small enough that the 受付番号 counter (locked until commit) is held only briefly and a
# batch of big packages stays within memory (see also BATCH_BYTES).
BATCH_SIZE = 100
BATCH_BYTES = 64 * 1024 * 1024


@dataclass
class Outcome:
    kind: str
    application: Application | None = None
    quarantine: QuarantinedPackage | None = None
    error: BaseException | None = None
    # Outbox messages (申請処理状況登録 受付) written with a newly imported case.
    message_ids: list[int] = field(default_factory=list)

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
    departments: list = field(default_factory=list)
    answers: dict = field(default_factory=dict)
    unmapped: dict = field(default_factory=dict)
    # name → SHA-256 of each attachment, as the verification computed it.
    digests: dict = field(default_factory=dict)
    # The attachments as lifecycle.IncomingFile, once stored (writing.store_files).
    files: list = field(default_factory=list)


class Rejected(Exception):
    def __init__(self, reason: str, procedure_code: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.procedure_code = procedure_code


def _trust_store():
    """The trust store from the database, parsed once per process until it changes."""
    from madoguchi.identity.jpki import TrustStore

    return TrustStore.current()


def existing_application(municipality, source_reference: str) -> Application | None:
    if not source_reference:
        return None
    return Application.objects.filter(
        municipality=municipality, channel=Channel.MYNAPORTAL, source_reference=source_reference
    ).first()


def _existing_applications(municipality, references) -> dict[str, Application]:
    references = [r for r in references if r]
    if not references:
        return {}
    return {
        a.source_reference: a
        for a in Application.objects.filter(
            municipality=municipality,
            channel=Channel.MYNAPORTAL,
            source_reference__in=references,
        )
    }


def import_package(
    municipality,
    raw: bytes,
    *,
    source_reference: str = "",
    received_at: datetime.datetime | None = None,
    at: datetime.datetime | None = None,
    trust=None,
) -> Outcome:
    """Import one package; returns what happened. Raises only for failures of our own side
    (database, storage): then nothing is kept and the next pull tries again.

    `received_at`: マイナポータル's reception time of the application (the signature is judged
    at that time); without it, at `at` (the time of the pull, default now)."""
    outcome = import_batch(
        municipality, [(source_reference, raw, received_at)], at=at, trust=trust, hand_off=True
    )[0]
    if outcome.kind == FAILED:
        raise outcome.error
    return outcome


def import_batch(
    municipality,
    items: list[tuple[str, bytes]],
    *,
    at: datetime.datetime | None = None,
    trust=None,
    hand_off: bool = True,
    message_ids: list[int] | None = None,
) -> list[Outcome]:
    """Import [(source_reference, raw, received_at)] (source_reference may be "";
    received_at, マイナポータル's reception time, may be None or left out: such a package is
    judged at `at`, the time of the pull, default now); one Outcome per item, in order.
    Never raises for a package: our own failures are FAILED outcomes (a failure to reach the
    database at all still raises).

    The status messages written for the new cases are handed to the outbox worker after
    commit when `hand_off`; otherwise their ids are appended to `message_ids` for the caller
    to hand off once (a pull hands off after its last batch)."""
    started = _begin(municipality, items, at=at, trust=trust)
    return _finish(started, hand_off=hand_off, message_ids=message_ids)


def import_batches(
    municipality,
    batches,
    *,
    at: datetime.datetime | None = None,
    trust=None,
    message_ids: list[int],
):
    """`import_batch` over an iterable of batches, pipelined: while a batch is written, the
    next one is already being checked by the worker processes (and, in a pull, fetched).
    Yields (batch, outcomes) in order; a batch whose import raised yields FAILED outcomes
    and the next batch is still imported. Status message ids go to `message_ids`."""
    trust = trust if trust is not None else _trust_store()
    pending = None
    for items in batches:
        try:
            started = _begin(municipality, items, at=at, trust=trust)
        except Exception as exc:
            logger.exception("mynaportal: import of a batch failed; left for the next pull")
            started = _Failed(items, exc)
        if pending is not None:
            yield pending.items, _finish_safely(pending, message_ids)
        pending = started
    if pending is not None:
        yield pending.items, _finish_safely(pending, message_ids)


@dataclass
class _Started:
    municipality: object
    items: list
    outcomes: list
    todo: list[int]
    results: object  # checking.start(...): call for the check results of `todo`


@dataclass
class _Failed:
    items: list
    error: Exception


def _items(items) -> list[checking.Item]:
    """(reference, raw) or (reference, raw, received_at) → (reference, raw, received_at)."""
    normalised = []
    for item in items:
        ref, raw, *rest = item
        received = rest[0] if rest else None
        if received is not None and timezone.is_naive(received):
            raise ValueError("received_at must be timezone-aware")
        normalised.append((ref, raw, received))
    return normalised


def _begin(municipality, items, *, at, trust) -> _Started:
    """Find the packages already imported; start checking the others."""
    items = _items(items)
    outcomes: list = [None] * len(items)
    existing = _existing_applications(municipality, [ref for ref, _raw, _received in items])
    todo = []
    for index, (ref, _raw, _received) in enumerate(items):
        if ref in existing:
            outcomes[index] = Outcome(DUPLICATE, application=existing[ref])
        else:
            todo.append(index)
    results = None
    if todo:
        trust = trust if trust is not None else _trust_store()
        now = timezone.now()
        results = checking.start(
            [items[i] for i in todo], trust=trust, pulled_at=at or now, now=now
        )
    return _Started(municipality, items, outcomes, todo, results)


def _finish_safely(started, message_ids: list[int]) -> list[Outcome]:
    if isinstance(started, _Failed):
        return [Outcome(FAILED, error=started.error) for _item in started.items]
    try:
        return _finish(started, hand_off=False, message_ids=message_ids)
    except Exception as exc:
        logger.exception("mynaportal: import of a batch failed; left for the next pull")
        # What was decided before the failure stands (a committed case is imported); the
        # rest is left for the next pull.
        return [
            o if isinstance(o, Outcome) and o.kind != FAILED else Outcome(FAILED, error=exc)
            for o in started.outcomes
        ]


def _finish(started: _Started, *, hand_off: bool, message_ids: list[int] | None):
    """Map, quarantine the rejected, write the rest; hand off or collect the messages."""
    municipality, items, outcomes = started.municipality, started.items, started.outcomes
    if started.todo:
        lookups = _Lookups(municipality)
        ready: dict[int, Prepared] = {}
        for index, result in zip(started.todo, started.results(), strict=True):
            try:
                ready[index] = _prepare(municipality, result, lookups)
            except Rejected as exc:
                ref, raw, received = items[index]
                outcomes[index] = Outcome(
                    QUARANTINED,
                    quarantine=quarantine(
                        municipality,
                        raw,
                        reason=exc.reason,
                        source_reference=ref,
                        procedure_code=exc.procedure_code,
                        received_at=received,
                    ),
                )
        _write(municipality, ready, outcomes)
    new_ids = [pk for o in outcomes if o.kind == IMPORTED for pk in o.message_ids]
    if hand_off:
        transaction.on_commit(lambda: delivery.hand_off(new_ids))
    elif message_ids is not None:
        message_ids.extend(new_ids)
    _resolve_quarantines(municipality, outcomes)
    return outcomes


def _write(municipality, ready: dict[int, "Prepared"], outcomes: list) -> None:
    """Write the prepared packages: the whole batch in one transaction; if that fails, each
    package in its own (a race with another pull, or one package our side cannot store)."""
    # A 受付番号 already imported (by an earlier pull, or twice in this batch) is a duplicate.
    inner = _existing_applications(municipality, [p.data.receipt_number for p in ready.values()])
    batch: dict[int, Prepared] = {}
    seen: dict[str, int] = {}
    for index, prepared in ready.items():
        receipt = prepared.data.receipt_number
        if receipt in inner:
            outcomes[index] = Outcome(DUPLICATE, application=inner[receipt])
        elif receipt in seen:
            outcomes[index] = (seen[receipt], None)  # resolved after the write
        else:
            seen[receipt] = index
            batch[index] = prepared
    if batch:
        # The files first, outside any transaction (see `writing`); those of every package
        # that is not imported in the end are deleted again.
        stored: dict[int, list[str]] = {}
        try:
            _store_files(municipality, batch, outcomes, stored)
            _write_batch(municipality, batch, outcomes)
        finally:
            _delete_files(
                [
                    name
                    for index, names in stored.items()
                    if not (
                        isinstance(outcomes[index], Outcome) and outcomes[index].kind == IMPORTED
                    )
                    for name in names
                ]
            )
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, tuple):  # the same 受付番号 twice in one batch
            first = outcomes[outcome[0]]
            outcomes[index] = (
                Outcome(DUPLICATE, application=first.application)
                if first.application is not None
                else Outcome(first.kind, error=first.error)
            )


def _store_files(municipality, batch: dict[int, "Prepared"], outcomes: list, stored) -> None:
    """Store the attachments of every package of the batch at once (`stored`: index →
    names); a package whose files cannot all be stored fails (our side: the next pull tries
    it again) and leaves the batch."""
    names, failed = writing.store_files(municipality, batch)
    stored.update(names)
    for index, exc in failed.items():
        logger.error("mynaportal: storing the attachments of a package failed", exc_info=exc)
        outcomes[index] = Outcome(FAILED, error=exc)
        del batch[index]


def _write_batch(municipality, batch: dict[int, "Prepared"], outcomes: list) -> None:
    if not batch:
        return
    try:
        _write_atomically(municipality, batch, outcomes)
    except Exception:
        logger.warning("mynaportal: batch write failed; writing package by package")
        for index, prepared in batch.items():
            try:
                _write_atomically(municipality, {index: prepared}, outcomes)
            except IntegrityError as exc:
                # Another pull created the same case between our lookup and our insert.
                found = existing_application(municipality, prepared.data.receipt_number)
                outcomes[index] = (
                    Outcome(DUPLICATE, application=found)
                    if found is not None
                    else Outcome(FAILED, error=exc)
                )
            except Exception as exc:
                logger.exception("mynaportal: import of a package failed")
                outcomes[index] = Outcome(FAILED, error=exc)


def _write_atomically(municipality, batch: dict[int, "Prepared"], outcomes: list) -> None:
    with transaction.atomic():
        applications, messages = writing.write_applications(municipality, list(batch.values()))
    by_application: dict[str, list[int]] = {}
    for message in messages:
        by_application.setdefault(message.reference, []).append(message.pk)
    for index, application in zip(batch, applications, strict=True):
        outcomes[index] = Outcome(
            IMPORTED,
            application=application,
            message_ids=by_application.get(status_sync.reference_for(application), []),
        )


def _delete_files(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:  # the orphan sweep removes it later
            logger.exception("mynaportal: could not delete %s after a failed import", name)


class _Lookups:
    """What every package of a batch asks the database about: fetched once per batch."""

    def __init__(self, municipality):
        self.municipality = municipality
        self._mappings: dict[str, MynaportalMapping | None] = {}
        self._keys: dict[int, set[str]] = {}
        self._departments: dict[int, list] = {}

    def mapping(self, procedure_code: str) -> MynaportalMapping | None:
        if procedure_code not in self._mappings:
            self._mappings[procedure_code] = (
                MynaportalMapping.objects.filter(
                    municipality=self.municipality, procedure_code=procedure_code, is_active=True
                )
                .select_related("procedure", "procedure__current_version")
                .first()
            )
        return self._mappings[procedure_code]

    def form_keys(self, mapping: MynaportalMapping) -> set[str]:
        version = mapping.procedure.current_version
        if version.pk not in self._keys:
            self._keys[version.pk] = {f.key for f in version.form.all_fields()}
        return self._keys[version.pk]

    def departments(self, procedure) -> list:
        if procedure.pk not in self._departments:
            self._departments[procedure.pk] = list(procedure.departments.all())
        return self._departments[procedure.pk]


def _prepare(municipality, result, lookups: _Lookups) -> "Prepared":
    """A checked package → Prepared (mapped onto the form); raises Rejected(reason)."""
    if isinstance(result, checking.Rejected):
        raise Rejected(result.reason, result.procedure_code)
    data = result.data
    if data.lg_code != municipality.lg_code:
        raise Rejected(
            _("申請データの地方公共団体コード（%(code)s）がこの団体のものではありません。")
            % {"code": data.lg_code},
            data.procedure_code,
        )
    mapping = lookups.mapping(data.procedure_code)
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
    prepared = Prepared(
        data=data,
        mapping=mapping,
        attachments=result.attachments,
        identity=result.identity,
        certificate_serial=result.identity["certificate_serial"],
        departments=lookups.departments(mapping.procedure),
        digests=result.digests,
    )
    _map_items(prepared, lookups.form_keys(mapping))
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


def _map_items(prepared: Prepared, known_keys: set[str]) -> None:
    mapping = prepared.mapping
    table = mapping.items if isinstance(mapping.items, dict) else {}
    for item_id, value in prepared.data.items.items():
        key = table.get(item_id)
        if not key and mapping.same_keys and item_id.split(".")[0] in known_keys:
            key = item_id
        if key and isinstance(key, str):
            _set_path(prepared.answers, key, value)
        else:
            prepared.unmapped[item_id] = value


def quarantine(
    municipality,
    raw: bytes,
    *,
    reason: str,
    source_reference: str = "",
    procedure_code: str = "",
    received_at: datetime.datetime | None = None,
) -> QuarantinedPackage:
    """Keep a package that cannot be imported, whole, with its reason (and マイナポータル's
    reception time: reprocessing judges the signature at that same time)."""
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
        if received_at is not None:
            entry.received_at = received_at
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


def _resolve_quarantines(municipality, outcomes: list[Outcome]) -> None:
    """Mark the quarantine entries of packages that are now cases as resolved (one query to
    find them: in a pull there are usually none)."""
    cases = {
        o.application.source_reference: o.application
        for o in outcomes
        if o.kind in (IMPORTED, DUPLICATE) and o.application is not None
    }
    if not cases:
        return
    open_refs = QuarantinedPackage.objects.filter(
        municipality=municipality,
        source_reference__in=list(cases),
        state=QuarantinedPackage.State.QUARANTINED,
    ).values_list("source_reference", flat=True)
    for ref in list(open_refs):
        _resolve_quarantine(municipality, ref, cases[ref])


def reprocess(entry: QuarantinedPackage, *, trust=None) -> Outcome:
    """Import a quarantined package again (after its cause was fixed). The signature is
    judged at the package's reception time, as on its first import: a certificate that has
    expired or been revoked since does not refuse it, and a later CRL that no longer lists a
    certificate revoked before that time does not accept it."""
    outcome = import_package(
        entry.municipality,
        bytes(entry.raw_package),
        source_reference=entry.source_reference,
        received_at=entry.received_at,
        at=entry.created_at if entry.received_at is None else None,
        trust=trust,
    )
    if outcome.kind != QUARANTINED and not entry.source_reference:
        QuarantinedPackage.objects.filter(pk=entry.pk).update(
            state=QuarantinedPackage.State.RESOLVED, application=outcome.application
        )
    return outcome
