"""The application's lifecycle: every change of an application after its draft, whoever makes
it — the applicant, a member of staff, a registered business, a core system through the API,
or the system itself (`Actor`).

    receive / submit ──→ 受付 ──→ 処理中 ──→ 完了 / 却下
                          │  └──→ 要再申請 ──(resubmit)──→ the status before 要再申請
                          └──────────(withdraw, the applicant)──→ 取り下げ

`workflow` holds the rules (pure Python); this module applies them. Only a complete form is
submitted (`submit`, `resubmit` raise `IncompleteApplication`); `receive` takes whole
applications as their channel validated them and never refuses one for its answers. It is the only place
that writes `Application.status`, allocates 受付番号 and builds `ApplicationEvent`s (one named
builder per event kind, below). Every operation runs in one transaction, records its events
and announces them (`signals.events_recorded`: webhooks, KPIs, マイナポータル status messages)
in that transaction, and sends e-mail only through the durable outbox.

Optimistic locking for changes made from a screen (or an API call) that showed the
application at some `lock_version`: the change first *claims* the row with
``UPDATE … SET lock_version = lock_version + 1 WHERE id = … AND lock_version = <expected>``;
if no row matched, someone else changed the application in between and the change is refused
(`StaleApplicationError`) instead of silently overwriting theirs. Of two concurrent requests
with the same expected version exactly one matches (PostgreSQL re-checks the WHERE clause
after waiting for the first; SQLite serialises writers). Every later check runs on the
claimed row, and any refusal rolls the claim back.

Applications routed to several departments (`DepartmentProgress`): `change_status(...,
department=D)` moves D's part and derives the status the applicant sees with
`workflow.overall_status`. 要再申請 is always application-wide.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from functools import partial

from django.db import connections, router, transaction
from django.db.models import F, Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from madoguchi.catalog.models import IdentityLevel, Procedure
from madoguchi.core import bulk_insert
from madoguchi.core.prepared import PreparedQuery
from madoguchi.jp.kana import search_key
from madoguchi.ops import parallel_storage
from madoguchi.outbox.delivery import enqueue_email
from madoguchi.tenants.models import Department
from madoguchi.tenants.permissions import handled_departments

from . import messages, workflow
from .models import (
    AnswerRevision,
    Application,
    ApplicationEvent,
    Attachment,
    Channel,
    DepartmentProgress,
    ReceiptCounter,
    Status,
)
from .permissions import can_handle
from .signals import announce
from .workflow import TransitionError

Kind = ApplicationEvent.Kind
MAX_TEXT = 4000

# While an application is 要再申請, the answers the applicant is correcting are kept here (in
# `draft_values`, next to the raw input of each step) and `answers` keeps what was last
# submitted — what the staff are reviewing — until the resubmission. Step keys never start
# with "_", so this key cannot collide with a step.
CORRECTION_KEY = "_correction_answers"


# ----------------------------------------------------------------------------- who acts


@dataclass(frozen=True)
class Actor:
    """Who makes a change: `kind` is an `ApplicationEvent.Actor` value; `user` the member of
    staff (or of the business filing for a resident), `client` the API client."""

    kind: str
    user: object = None
    client: object = None

    @classmethod
    def applicant(cls, user=None) -> Actor:
        return cls(ApplicationEvent.Actor.APPLICANT, user=user)

    @classmethod
    def business(cls, user) -> Actor:
        """A member of the registered business that filed the application: it acts as the
        applicant (the event names the member)."""
        return cls(ApplicationEvent.Actor.APPLICANT, user=user)

    @classmethod
    def staff(cls, user) -> Actor:
        return cls(ApplicationEvent.Actor.STAFF, user=user)

    @classmethod
    def api_client(cls, client) -> Actor:
        return cls(ApplicationEvent.Actor.CLIENT, client=client)

    @classmethod
    def system(cls) -> Actor:
        return cls(ApplicationEvent.Actor.SYSTEM)

    @property
    def is_staff(self) -> bool:
        return self.kind == ApplicationEvent.Actor.STAFF

    def event_fields(self) -> dict:
        return {"actor_type": self.kind, "actor_user": self.user, "actor_client": self.client}


# ----------------------------------------------------------------------------- errors


class ApplicationStateError(Exception):
    """An applicant's operation that the application's current status does not allow."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ActionError(Exception):
    """A change that was refused; `message` is one Japanese sentence for the screen."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotAllowedError(ActionError):
    """The actor may not do this to this application (a view shows it as 404)."""


class StaleApplicationError(ActionError):
    """The application changed after the screen was opened (optimistic lock)."""


class IncompleteApplication(ActionError):
    """Submitted answers that the application's form refuses: a visible step (with its
    conditions and repeats) has a required field missing or an invalid value. `step_key` is
    the first such step; `errors` are the form engine's `FieldError`s of every visible step,
    in order (each has `path`, `label` and its own Japanese `message`).

    Only a complete form is submitted (`submit`, `resubmit`): the screens send the user to
    `step_key` with `message`; the REST API answers 422 with the field errors."""

    def __init__(self, step_key: str, errors: list) -> None:
        super().__init__(_(INCOMPLETE_MESSAGE))
        self.step_key = step_key
        self.errors = list(errors)

    def __str__(self) -> str:
        # Loud where nobody turns it into a screen: which step and fields (never a value).
        details = "; ".join(f"{error.path}: {error.message}" for error in self.errors)
        return f"{self.message} (step {self.step_key}: {details})"


# Every error a change may raise for a user to read (`.message`).
ERRORS = (ActionError, TransitionError)

INCOMPLETE_MESSAGE = gettext_noop(
    "入力が済んでいない項目か、誤りのある項目があるため、申請できません。"
    "この画面の項目を確認してください。"
)

STALE_MESSAGE = (
    "この申請は、画面を開いたあとにほかの職員が更新しました。"
    "最新の内容を確認してから、もう一度操作してください。"
)


# ----------------------------------------------------------------------------- events


def _event(application: Application, kind: str, actor: Actor, **fields) -> ApplicationEvent:
    return ApplicationEvent(
        municipality_id=application.municipality_id,
        application=application,
        kind=kind,
        **actor.event_fields(),
        **fields,
    )


def started_event(application, actor: Actor) -> ApplicationEvent:
    return _event(application, Kind.STARTED, actor)


def step_completed_event(application, step: str, index: int, reached: int | None):
    data = {"step": step, "index": index} | ({} if reached is None else {"reached": reached})
    return _event(application, Kind.STEP_COMPLETED, Actor.applicant(), data=data)


def resume_link_sent_event(application) -> ApplicationEvent:
    return _event(application, Kind.RESUME_LINK_SENT, Actor.applicant())


def email_verification_sent_event(application) -> ApplicationEvent:
    return _event(application, Kind.EMAIL_VERIFICATION_SENT, Actor.applicant())


def email_verified_event(application) -> ApplicationEvent:
    return _event(application, Kind.EMAIL_VERIFIED, Actor.applicant())


def entered_by_staff_event(application, actor: Actor, channel: str) -> ApplicationEvent:
    return _event(application, Kind.ENTERED_BY_STAFF, actor, data={"channel": channel})


def submitted_event(application, actor: Actor, **data) -> ApplicationEvent:
    return _event(
        application,
        Kind.SUBMITTED,
        actor,
        from_status=Status.DRAFT,
        to_status=Status.RECEIVED,
        data={"receipt_number": application.receipt_number, "channel": application.channel} | data,
    )


def resubmitted_event(application, actor: Actor, to_status: str, revision: int):
    return _event(
        application,
        Kind.RESUBMITTED,
        actor,
        from_status=Status.RETURNED,
        to_status=to_status,
        data={"revision": revision},
    )


def withdrawn_event(application, actor: Actor, from_status: str, reason: str):
    return _event(
        application,
        Kind.WITHDRAWN,
        actor,
        from_status=from_status,
        to_status=Status.WITHDRAWN,
        message=reason,
    )


def status_changed_event(application, actor, from_status, to_status, message, data=None):
    return _event(
        application,
        Kind.STATUS_CHANGED,
        actor,
        from_status=from_status,
        to_status=to_status,
        message=message,
        data=data or {},
    )


def department_status_changed_event(
    application, actor, department, from_state, to_state, message, overall_changed
):
    return _event(
        application,
        Kind.DEPARTMENT_STATUS_CHANGED,
        actor,
        from_status=from_state,
        to_status=to_state,
        message=message,
        data={
            "department": department.pk,
            "department_name": department.name,
            "overall_changed": overall_changed,
        },
    )


def assigned_event(application, actor: Actor, assigned_to, previous) -> ApplicationEvent:
    return _event(
        application, Kind.ASSIGNED, actor, data={"assigned_to": assigned_to, "previous": previous}
    )


def note_event(application, actor: Actor, text: str) -> ApplicationEvent:
    return _event(application, Kind.NOTE, actor, message=text)


def message_event(application, actor: Actor, text: str) -> ApplicationEvent:
    return _event(application, Kind.MESSAGE, actor, message=text)


def acknowledged_event(application, actor: Actor) -> ApplicationEvent:
    return _event(application, Kind.ACKNOWLEDGED, actor, data={"client_id": actor.client.client_id})


def identified_event(application, actor: Actor, **data) -> ApplicationEvent:
    return _event(application, Kind.IDENTIFIED, actor, data=data)


def feedback_event(application, rating: int | None, comment: str) -> ApplicationEvent:
    return _event(
        application, Kind.FEEDBACK, Actor.applicant(), data={"rating": rating, "comment": comment}
    )


def linked_event(application, actor: Actor, *, layout: int, batch: int) -> ApplicationEvent:
    return _event(application, Kind.LINKED, actor, data={"layout": layout, "batch": batch})


def record(*events: ApplicationEvent) -> ApplicationEvent | None:
    """Save events built above and tell subscribers (webhooks, ...) in the same transaction.
    Returns the last event."""
    if len(events) == 1:
        events[0].save()
    else:
        bulk_insert.insert(events)
    announce(list(events))
    return events[-1] if events else None


# ----------------------------------------------------------------------------- mail


def mail(application: Application, to: str, subject_body: tuple[str, str]) -> None:
    """Queue one e-mail (subject, body) about `application` to the address `to`."""
    subject, body = subject_body
    enqueue_email(
        to=[to],
        subject=subject,
        body=body,
        municipality=application.municipality,
        reference=f"application:{application.pk}",
    )


def notify_applicant(application: Application, subject: str, body: str) -> int:
    """Queue one e-mail to the applicant and, for a proxy filing, one to the business.
    Counter and paper applications may have no address: then nothing is sent.
    Returns the number of e-mails queued."""
    recipients = []
    if application.applicant_email:
        recipients.append(application.applicant_email)
    business = application.proxy_business
    if business is not None and business.email and business.email not in recipients:
        recipients.append(business.email)
    for address in recipients:
        mail(application, address, (subject, body))
    return len(recipients)


# ----------------------------------------------------------------------------- the applicant


def applicant_from_answers(form, answers: dict) -> tuple[str, str, str]:
    """(name, name_kana, email) of the person the application is for: the fields the form
    names in `applicant`, else the first `name` and `email` fields outside repeats."""
    name_value = answers.get(form.applicant_name_field) if form.applicant_name_field else None
    email = answers.get(form.applicant_email_field, "") if form.applicant_email_field else ""
    for step in form.steps:
        for item in step.fields:
            value = answers.get(item.key)
            if not value:
                continue
            if item.type == "name" and name_value is None and not form.applicant_name_field:
                name_value = value
            elif item.type == "email" and not email and not form.applicant_email_field:
                email = value
    name = kana = ""
    if isinstance(name_value, dict):
        name = f"{name_value.get('family', '')}　{name_value.get('given', '')}".strip("　")
        kana = f"{name_value.get('family_kana', '')}　{name_value.get('given_kana', '')}".strip(
            "　"
        )
    return name, kana, email if isinstance(email, str) else ""


def search_name(name: str) -> str:
    """The applicant's name for searching: NFKC, without any spaces (山田　花子 → 山田花子)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name or "")).casefold()


def set_applicant(application: Application, answers: dict, *, fallback_name: str = "") -> None:
    """Applicant name, reading, contact address and search keys, from the answers
    (`fallback_name` when the answers name nobody, e.g. the certificate's 氏名)."""
    form = application.form_version.form
    name, kana, email = applicant_from_answers(form, answers)
    name = name or fallback_name
    application.applicant_name = name[:200]
    application.applicant_name_kana = kana[:200]
    # A verified address is the contact address: it is the one we know reaches the applicant.
    application.applicant_email = (
        application.verified_email if application.email_is_verified else email
    )
    application.search_name = search_name(name)[:200]
    application.search_kana = search_key(kana)[:200]


def needs_email_check(application: Application) -> bool:
    """Identity level "email" is checked by mail only for residents applying on their own:
    at the counter staff see the person, and a registered business has logged in."""
    return (
        application.procedure.identity_level == IdentityLevel.EMAIL
        and application.channel == Channel.PORTAL
        and application.proxy_business_id is None
    )


# ----------------------------------------------------------------------------- completeness


def error_top_key(error) -> str:
    """The top-level field key a form engine error belongs to (the repeat key for repeat
    items)."""
    path = getattr(error, "path", "") or ""
    if isinstance(path, list | tuple):
        first = path[0] if path else ""
        return str(first)
    text = str(path)
    for separator in (".", "__", "[", "/"):
        text = text.split(separator)[0]
    if not text:
        input_id = getattr(error, "input_id", "") or ""
        text = input_id.removeprefix("f-").split("__")[0]
    return text


def step_key_of_error(steps, error) -> str | None:
    """The visible step an error of `validate_all` belongs to."""
    key = error_top_key(error)
    for step in steps:
        if any(f.key == key for f in step.fields):
            return step.key
    return None


def incomplete(application: Application, answers: dict | None = None):
    """`IncompleteApplication` when the application's form refuses `answers` (by default the
    answers being edited: a draft's, or the correction of a 要再申請 application) — every
    visible step is validated again, with its conditions and repeats — else None.

    This is the rule "only a complete form is submitted"; `submit` and `resubmit` raise what it
    returns, and a screen may ask it before offering to submit."""
    # Imported on first use, like the step flow does (URL loading stays independent of the
    # form engine's validation).
    from madoguchi.formengine import validation

    form = application.form_version.form
    if answers is None:
        answers = editable_answers(application)
    errors = validation.validate_all(form, answers)
    if not errors:
        return None
    steps = validation.visible_steps(form, answers)
    step_key = step_key_of_error(steps, errors[0]) or steps[0].key
    return IncompleteApplication(step_key, errors)


def require_complete(application: Application, answers: dict | None = None) -> None:
    """Raise `IncompleteApplication` unless the form accepts the answers (`incomplete`)."""
    problem = incomplete(application, answers)
    if problem is not None:
        raise problem


# ----------------------------------------------------------------------------- receiving


def allocate_receipt_numbers(municipality, count: int = 1) -> list[str]:
    """`count` consecutive 受付番号 (e.g. 2026-000123) — the one place they are issued.

    The counter row is locked until the caller's transaction ends, so concurrent receptions
    queue here, and a rollback gives the numbers back: a number is consumed only together
    with the application that carries it, and no two applications ever hold the same one."""
    year = timezone.localdate().year
    # One statement: the year's row is created or counted up, and locked (as by SELECT … FOR
    # UPDATE) until the caller's transaction ends. Concurrent first numbers of a year do not
    # collide: the second INSERT waits for the first and then updates its row.
    table = ReceiptCounter._meta.db_table
    connection = connections[router.db_for_write(ReceiptCounter)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (municipality_id, year, last_value) VALUES (%s, %s, %s) "
            f"ON CONFLICT (municipality_id, year) "
            f"DO UPDATE SET last_value = {table}.last_value + EXCLUDED.last_value "
            f"RETURNING last_value",
            [getattr(municipality, "pk", municipality), year, count],
        )
        (last,) = cursor.fetchone()
    return [f"{year}-{value:06d}" for value in range(last - count + 1, last + 1)]


@dataclass
class IncomingFile:
    """An attachment of an application received whole. `answer_key`: the answer it is
    listed in (appended to a list there); "" keeps it out of the answers."""

    field_key: str
    name: str
    content_type: str
    content: bytes
    answer_key: str = ""
    # The SHA-256 (hex) of `content` when the channel has already computed it from these
    # bytes (e.g. while verifying a signature over them); "" to have it computed here.
    sha256: str = ""
    # Set by `store_received_files`: the attachment's uid and its name in storage.
    uid: str = ""
    stored_name: str = ""


def received_file_name(municipality_id: int, uid: str) -> str:
    """Where a received attachment is stored: known before its application row exists (the
    resident's uploads go under their application's id, `models.attachment_path`), spread
    over 256 folders by the uid so that no folder grows with the municipality's history."""
    return f"attachments/{municipality_id}/received/{uid[:2]}/{uid}"


def store_received_files(municipality, groups: dict) -> tuple[dict, dict]:
    """Store the attachments of applications to receive: `groups` maps a key of the
    caller's (one application) to its `IncomingFile`s. Notes on each file stored its uid and
    stored name, for `receive`. Call it before the transaction that receives them, never
    inside: storage is a network call in production (S3), and `receive` holds the
    municipality's 受付番号 counter locked until its transaction ends, so an upload made
    there would hold every resident's submission of the municipality for as long as storage
    takes. The files of all groups are stored at once (`ops.parallel_storage`).

    Returns (stored, failed): key → the names stored for that group, and key → the first
    exception of a group one of whose files could not be stored (do not receive that one;
    delete the files of whatever is not received: the orphan sweep finds those of a killed
    process)."""
    municipality_id = getattr(municipality, "pk", municipality)
    todo = []
    for key, files in groups.items():
        for incoming in files:
            if not incoming.stored_name:
                uid = uuid.uuid4().hex
                todo.append((key, incoming, uid, received_file_name(municipality_id, uid)))
    results = parallel_storage.store_new_files([(name, f.content) for _k, f, _u, name in todo])
    stored: dict = {key: [] for key in groups}
    failed: dict = {}
    for (key, incoming, uid, _name), result in zip(todo, results, strict=True):
        if isinstance(result, Exception):
            failed.setdefault(key, result)
        else:
            stored[key].append(result)
            incoming.uid, incoming.stored_name = uid, result
    return stored, failed


@dataclass
class Incoming:
    """An application received whole from a channel that has no draft (マイナポータル, and
    later ones): the form's answers and what the channel knows about it.

    `received_at`: when the channel received it (the reception time its API reports); the
    受付日時 and the processing target count from it, not from the import."""

    procedure: object
    answers: dict
    channel: str
    received_at: datetime.datetime
    source_reference: str = ""
    identity: dict = field(default_factory=dict)
    atena_number: str = ""
    departments: list | None = None
    files: list[IncomingFile] = field(default_factory=list)
    # The applicant's name when the answers name nobody (e.g. the certificate's 氏名).
    fallback_name: str = ""
    # Kept on the 申請 event (e.g. the channel's own ids, items it could not place).
    event_data: dict = field(default_factory=dict)
    # The event of how the applicant was identified, when `atena_number` is set.
    identified_data: dict | None = None


def _due(received_at, procedure):
    if procedure.target_days:
        return received_at + datetime.timedelta(days=procedure.target_days)
    return None


def receive(municipality, items: list[Incoming], *, actor: Actor):
    """Receive whole applications (one or a batch) in the caller's transaction: 受付番号,
    the application rows, attachment rows, first revision, department progress, the 申請
    event (and the 本人特定 event when identified) — one INSERT per table for the batch.
    Events are announced once for the batch. The attachments' files must have been stored
    by `store_received_files` before the transaction. Returns the applications in order."""
    unstored = [f.name for item in items for f in item.files if not f.stored_name]
    if unstored:
        raise ValueError(f"store_received_files first: {len(unstored)} file(s) not stored")
    numbers = allocate_receipt_numbers(municipality, len(items))
    applications = []
    attachments: list[Attachment] = []
    for item, number in zip(items, numbers, strict=True):
        procedure = item.procedure
        application = Application(
            municipality=municipality,
            procedure=procedure,
            form_version=procedure.current_version,
            channel=item.channel,
            status=Status.RECEIVED,
            receipt_number=number,
            source_reference=item.source_reference,
            identity=item.identity,
            atena_number=item.atena_number,
            submitted_at=item.received_at,
            due_at=_due(item.received_at, procedure),
        )
        application.issue_status_token()
        answers = dict(item.answers)
        for incoming in item.files:
            attachment = Attachment(
                municipality_id=municipality.pk,
                uid=incoming.uid,
                field_key=incoming.field_key,
                original_name=(incoming.name or "file")[:255],
                content_type=incoming.content_type,
                size=len(incoming.content),
                sha256=incoming.sha256 or Attachment.digest(incoming.content),
            )
            attachment.file.name = incoming.stored_name
            attachment.application = application
            attachments.append(attachment)
            if incoming.answer_key:
                existing = answers.get(incoming.answer_key)
                listed = existing if isinstance(existing, list) else []
                answers[incoming.answer_key] = [*listed, attachment.as_answer()]
        application.answers = answers
        set_applicant(application, answers, fallback_name=item.fallback_name)
        applications.append(application)
    bulk_insert.insert(applications)

    for attachment in attachments:
        attachment.application_id = attachment.application.pk  # saved just now
    bulk_insert.insert(attachments)
    bulk_insert.insert(
        AnswerRevision(
            municipality_id=municipality.pk,
            application=a,
            number=1,
            answers=a.answers,
            submitted_at=a.submitted_at,
        )
        for a in applications
    )
    bulk_insert.insert(
        DepartmentProgress(municipality_id=municipality.pk, application=a, department=d)
        for item, a in zip(items, applications, strict=True)
        for d in (
            item.departments
            if item.departments is not None
            else list(item.procedure.departments.all())
        )
    )
    events = []
    for item, application in zip(items, applications, strict=True):
        events.append(submitted_event(application, actor, **item.event_data))
        if application.atena_number and item.identified_data is not None:
            events.append(identified_event(application, actor, **item.identified_data))
    record(*events)
    return applications


# What `submit` changes on the application row (`set_applicant` included).
SUBMITTED_FIELDS = [
    "applicant_name",
    "applicant_name_kana",
    "applicant_email",
    "search_name",
    "search_kana",
    "receipt_number",
    "status",
    "submitted_at",
    "due_at",
    "resume_token_digest",
    "draft_values",
    "status_token_digest",
    "updated_at",
]

# The rows of an application that `submit` reads beside it: taken from the caller's object
# when it holds them (the portal read them with the draft, in the same request), else joined.
_SUBMISSION_RELATED = ("municipality", "procedure", "form_version", "proxy_business")


def _locked_query(joined, *, pk):
    # FOR UPDATE OF the application's table alone: with joined rows locked too, every other
    # transaction writing for the municipality would wait for this one (see `submit`).
    query = Application.objects.select_for_update(of=("self",)).filter(pk=pk)
    return query.select_related(*joined) if joined else query


# The locked reads, per set of joined relations, their SQL compiled once per process
# (core.prepared): compiling a query that joins the procedure and the form version (about 70
# columns) costs about 1 ms of CPU, five times the query itself.
_LOCKED: dict[tuple, PreparedQuery] = {}


def _locked_for_submission(application: Application) -> Application:
    """The application's row read again and locked (FOR UPDATE of that row alone), with the
    related rows the caller's object already holds instead of joining them again."""
    held = {}
    joined = []
    for name in _SUBMISSION_RELATED:
        field = Application._meta.get_field(name)
        if field.is_cached(application):
            held[name] = field.get_cached_value(application)
        elif getattr(application, field.attname) is not None:
            joined.append(name)
    lookup = _LOCKED.get(tuple(joined))
    if lookup is None:
        lookup = _LOCKED.setdefault(
            tuple(joined),
            PreparedQuery(Application, partial(_locked_query, joined), ("pk",)),
        )
    locked = lookup.first(pk=application.pk)
    if locked is None:
        raise Application.DoesNotExist("Application matching query does not exist.")
    for name, related in held.items():
        field = Application._meta.get_field(name)
        # The same row only (a draft's procedure and form version never change; if they did,
        # the row is read when asked for).
        if getattr(locked, field.attname) == getattr(related, "pk", None):
            field.set_cached_value(locked, related)
    return locked


def _start_department_progress(application: Application) -> None:
    """A DepartmentProgress row per department of the procedure, in one statement (INSERT …
    SELECT from the procedure's departments, in the departments' order as before)."""
    progress = DepartmentProgress._meta
    links = Procedure.departments.through._meta
    departments = Department._meta
    connection = connections[router.db_for_write(DepartmentProgress)]
    state = progress.get_field("state").get_default()
    updated_at = progress.get_field("updated_at").get_db_prep_save(timezone.now(), connection)
    columns = ", ".join(
        progress.get_field(name).column
        for name in ("municipality", "application", "department", "state", "updated_at")
    )
    link_procedure = links.get_field("procedure").column
    link_department = links.get_field("department").column
    order = ", ".join(
        f"d.{departments.get_field(name).column}" for name in ("municipality", "code")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {progress.db_table} ({columns}) "
            f"SELECT %s, %s, d.{departments.pk.column}, %s, %s "
            f"FROM {links.db_table} l JOIN {departments.db_table} d "
            f"ON d.{departments.pk.column} = l.{link_department} "
            f"WHERE l.{link_procedure} = %s ORDER BY {order}, d.{departments.pk.column}",
            [
                application.municipality_id,
                application.pk,
                state,
                updated_at,
                application.procedure_id,
            ],
        )


@transaction.atomic
def submit(application: Application, *, base_url: str, actor: Actor | None = None) -> str:
    """Submit a draft filled with the step-by-step form (portal, counter, paper, business).
    Returns the new status token (its link goes in the 受付 mail). Raises
    `ApplicationStateError` (not a draft, e-mail not checked) or `IncompleteApplication`
    (answers the form refuses: only a complete form is submitted)."""
    # Lock this application's row only: with the joined municipality, procedure and form
    # version rows locked too, every other transaction writing an event or a message for the
    # municipality would wait for this one (a cycle with the status counts).
    application = _locked_for_submission(application)
    if application.status != Status.DRAFT:
        raise ApplicationStateError("この申請はすでに送信されています。")
    if needs_email_check(application) and not application.email_is_verified:
        raise ApplicationStateError(
            "メールアドレスの確認が済んでいません。お送りしたメールのリンクから申請を続けてください。"
        )
    require_complete(application, application.answers)
    set_applicant(application, application.answers)
    email = application.applicant_email
    (application.receipt_number,) = allocate_receipt_numbers(application.municipality)
    application.status = Status.RECEIVED
    application.submitted_at = timezone.now()
    application.due_at = _due(application.submitted_at, application.procedure)
    application.resume_token_digest = ""
    application.draft_values = {}
    token = application.issue_status_token()
    application.save(update_fields=SUBMITTED_FIELDS)
    AnswerRevision.objects.create(
        municipality_id=application.municipality_id,
        application=application,
        number=1,
        answers=application.answers,
        submitted_at=application.submitted_at,
    )
    _start_department_progress(application)
    if actor is None:
        by_staff = application.entered_by_id is not None
        actor = Actor.staff(application.entered_by) if by_staff else Actor.applicant()
    record(submitted_event(application, actor))
    if email:
        url = f"{base_url}/{application.municipality.lg_code}/status/{token}/"
        mail(application, email, messages.submitted(application, url))
    business = application.proxy_business
    if business is not None and business.email and business.email != email:
        # The business follows its filings on its own pages (behind its login), not by the
        # resident's status link.
        url = f"{base_url}{reverse('business:application', args=[application.pk])}"
        mail(application, business.email, messages.submitted(application, url))
    return token


# ----------------------------------------------------------------------------- correction


def is_correction(application: Application) -> bool:
    return application.status == Status.RETURNED


def editable_answers(application: Application) -> dict:
    """The answers the applicant is working on: a draft's answers, or for 要再申請 the
    corrected copy (starting from the answers last submitted)."""
    if is_correction(application):
        working = application.draft_values.get(CORRECTION_KEY)
        if isinstance(working, dict):
            return working
    return application.answers


def correction_request(application: Application) -> ApplicationEvent | None:
    """The staff's latest 要再申請 event (its message says what to correct)."""
    return (
        application.events.filter(kind=Kind.STATUS_CHANGED, to_status=Status.RETURNED)
        .order_by("-created_at", "-pk")
        .first()
    )


def resubmission_target(returned: ApplicationEvent | None) -> str:
    """The status a resubmitted application goes back to: the one staff left it in when they
    asked for the correction (受付 or 処理中), so nobody has to repeat a click the correction
    did not undo. 受付 when that is unknown."""
    previous = returned.from_status if returned is not None else ""
    return previous if previous in (Status.RECEIVED, Status.IN_PROGRESS) else Status.RECEIVED


@transaction.atomic
def resubmit(
    application: Application, *, base_url: str, status_token: str = "", actor: Actor | None = None
) -> None:
    """The applicant's corrected answers after 要再申請: they become `AnswerRevision` #n, the
    application goes back to the status it had before 要再申請 (`resubmission_target`),
    event `resubmitted`, mail to the applicant (and to the business that filed it).

    要再申請 leaves each department's progress alone, so it still says where each department
    was; only a return to 受付 sets every department back to 受付 as well.

    The processing target (`due_at`) is moved by the time the application spent waiting for
    the correction: like 行政手続法 §7, time the applicant takes to correct is not the
    department's. `status_token`: the raw status token when the caller knows it (the portal
    does), to put the status link in the e-mail. Corrected answers the form refuses raise
    `IncompleteApplication`, like `submit`."""
    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("municipality", "procedure", "form_version", "proxy_business")
        .get(pk=application.pk)
    )
    if application.status != Status.RETURNED:
        raise ApplicationStateError(
            f"この申請は「{application.get_status_display()}」のため、再申請できません。"
        )
    answers = editable_answers(application)
    require_complete(application, answers)
    now = timezone.now()
    returned = correction_request(application)
    target = resubmission_target(returned)
    workflow.check_transition(Status.RETURNED, target, actor=workflow.APPLICANT)
    application.answers = answers
    set_applicant(application, application.answers)
    if application.due_at and returned is not None:
        application.due_at += now - returned.created_at
    application.status = target
    application.resubmitted_at = now
    application.draft_values = {}
    application.resume_token_digest = ""
    application.lock_version += 1
    application.save()
    last = application.revisions.aggregate(n=Max("number"))["n"] or 0
    revision = AnswerRevision.objects.create(
        municipality_id=application.municipality_id,
        application=application,
        number=last + 1,
        answers=application.answers,
        submitted_at=now,
    )
    if target == Status.RECEIVED:
        DepartmentProgress.objects.filter(application=application).update(
            state=DepartmentProgress.State.RECEIVED, updated_by=None, updated_at=now
        )
    record(resubmitted_event(application, actor or Actor.applicant(), target, revision.number))
    url = (
        f"{base_url}/{application.municipality.lg_code}/status/{status_token}/"
        if status_token
        else ""
    )
    notify_applicant(application, *messages.resubmitted(application, url))


@transaction.atomic
def withdraw(application: Application, *, reason: str = "", actor: Actor | None = None) -> None:
    """The applicant (or the business that filed it) withdraws (取り下げ)."""
    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("municipality", "procedure", "proxy_business")
        .get(pk=application.pk)
    )
    if not application.can_withdraw:
        raise ApplicationStateError(
            f"この申請は「{application.get_status_display()}」のため、取り下げできません。"
        )
    previous = application.status
    workflow.check_transition(previous, Status.WITHDRAWN, actor=workflow.APPLICANT)
    application.status = Status.WITHDRAWN
    application.finished_at = timezone.now()
    application.draft_values = {}  # a correction in progress is dropped
    application.lock_version += 1  # a staff screen opened before this is now stale
    application.save(
        update_fields=["status", "finished_at", "draft_values", "lock_version", "updated_at"]
    )
    record(
        withdrawn_event(application, actor or Actor.applicant(), previous, reason.strip()[:2000])
    )
    notify_applicant(application, *messages.withdrawn(application))


# ----------------------------------------------------------------------------- staff and systems


def _translated(exc: TransitionError) -> TransitionError:
    """The workflow's message in the active language (msgids are the Japanese texts)."""
    params = {
        key: (_(workflow.label(value)) if key in {"from", "to"} else value)
        for key, value in exc.params.items()
    }
    translated = TransitionError(exc.template, **exc.params)
    translated.message = _(exc.template) % params if params else _(exc.template)
    translated.args = (translated.message,)
    return translated


def _check(check, *args, **kwargs) -> None:
    try:
        check(*args, **kwargs)
    except TransitionError as exc:
        raise _translated(exc) from None


def clean_text(text: str) -> str:
    return (text or "").strip()[:MAX_TEXT]


def _require_handle(actor: Actor, application: Application) -> None:
    """Staff must have the right to handle the application; an API client's scope is
    checked by the API before it calls."""
    if actor.is_staff and not can_handle(actor.user, application):
        raise NotAllowedError(_("この申請を処理する権限がありません。"))


def claim(application: Application, expected_version: int) -> Application:
    """Increment lock_version if it still is `expected_version`, else StaleApplicationError.
    Returns the current row (locked until the end of the transaction)."""
    claimed = Application.objects.filter(pk=application.pk, lock_version=expected_version).update(
        lock_version=F("lock_version") + 1, updated_at=timezone.now()
    )
    if claimed != 1:
        raise StaleApplicationError(_(STALE_MESSAGE))
    return Application.objects.select_related("municipality", "procedure", "proxy_business").get(
        pk=application.pk
    )


def _notify_status(application: Application, *, message: str, department_name: str = "") -> None:
    subject, body = messages.status_changed(
        application, message=message, department_name=department_name
    )
    notify_applicant(application, subject, body)


def _set_status(application: Application, to_status: str) -> None:
    """Write the new overall status (the row is claimed; lock_version already incremented)."""
    previous = application.status
    application.status = to_status
    update_fields = ["status", "updated_at"]
    if to_status in workflow.FINISHED:
        application.finished_at = timezone.now()
        update_fields.append("finished_at")
    if previous == Status.RETURNED:
        # Resolved otherwise: the applicant's unfinished correction is dropped.
        application.draft_values = {}
        application.resume_token_digest = ""
        update_fields += ["draft_values", "resume_token_digest"]
    application.save(update_fields=update_fields)


def change_status(
    application: Application,
    to_status: str,
    *,
    actor: Actor,
    message: str = "",
    expected_version: int | None,
    department=None,
) -> Application:
    """Move the application (or, with `department`, that department's part of it) to
    `to_status`. Raises NotAllowedError, StaleApplicationError or TransitionError.

    `expected_version` None (an API client that did not send one): the change is made
    against whatever version is current; a concurrent writer between reading and claiming
    the row makes it try again (three times)."""
    message = clean_text(message)
    _require_handle(actor, application)
    attempts = 1 if expected_version is not None else 3
    for attempt in range(attempts):
        version = expected_version
        if version is None:
            version = Application.objects.values_list("lock_version", flat=True).get(
                pk=application.pk
            )
        try:
            with transaction.atomic():
                current = claim(application, version)
                if department is not None:
                    _change_department(current, to_status, actor, message, department)
                else:
                    _change_application(current, to_status, actor, message)
            return current
        except StaleApplicationError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def _departments(application: Application) -> list:
    return list(application.procedure.departments.all())


def _change_application(application: Application, to_status: str, actor: Actor, message: str):
    """The application-wide change. A member of staff finishing an application routed to
    several departments must handle all of them; an API client's change is always
    application-wide."""
    from_status = application.status
    _check(workflow.check_transition, from_status, to_status, message=message)
    departments = _departments(application)
    finishing = to_status in (Status.COMPLETED, Status.REJECTED)
    if finishing and len(departments) > 1 and actor.is_staff:
        handled = {d.pk for d in handled_departments(actor.user, application)}
        if not {d.pk for d in departments} <= handled:
            raise NotAllowedError(
                _("この申請は複数の担当課で処理します。担当課ごとに処理状況を変更してください。")
            )
    _set_status(application, to_status)
    # Keep every department's row in line with an application-wide decision; a single
    # department simply mirrors the application (要再申請 is not a department state and
    # leaves rows alone).
    if to_status in DepartmentProgress.State.values and (finishing or len(departments) == 1):
        DepartmentProgress.objects.filter(application=application).exclude(
            state__in=[DepartmentProgress.State.COMPLETED, DepartmentProgress.State.REJECTED]
        ).update(state=to_status, updated_by=actor.user, updated_at=timezone.now())
    record(status_changed_event(application, actor, from_status, to_status, message))
    _notify_status(application, message=message)


def _change_department(application, to_status: str, actor: Actor, message: str, department):
    departments = _departments(application)
    if department.pk not in {d.pk for d in departments}:
        raise NotAllowedError(
            _("%(department)sはこの申請の担当課ではありません。") % {"department": department.name}
        )
    handled = handled_departments(actor.user, application) if actor.is_staff else []
    if department.pk not in {d.pk for d in handled}:
        raise NotAllowedError(
            _("%(department)sの処理状況を変更する権限がありません。")
            % {"department": department.name}
        )
    if to_status == Status.RETURNED:
        # 要再申請 is application-wide: the applicant corrects one application.
        raise TransitionError(
            _("要再申請は申請全体に対して行います。担当課を指定せずに変更してください。")
        )
    if to_status == Status.REJECTED and not message.strip():
        # A department's refusal reaches the applicant too: it must give its reasons.
        raise TransitionError(workflow.MSG_REJECT_NEEDS_REASON)
    progress, _created = DepartmentProgress.objects.select_for_update().get_or_create(
        application=application,
        department=department,
        defaults={"municipality_id": application.municipality_id},
    )
    from_state = progress.state
    _check(
        workflow.check_department_transition,
        application.status,
        from_state,
        to_status,
        department=department.name,
    )
    progress.state = to_status
    progress.updated_by = actor.user
    progress.save(update_fields=["state", "updated_by", "updated_at"])

    states = dict(
        DepartmentProgress.objects.filter(application=application).values_list(
            "department_id", "state"
        )
    )
    overall = workflow.overall_status(states.get(d.pk, Status.RECEIVED) for d in departments)
    previous = application.status
    overall_changed = overall is not None and overall != previous
    events = [
        department_status_changed_event(
            application, actor, department, from_state, to_status, message, overall_changed
        )
    ]
    if overall_changed:
        # Derived changes follow the same rules (they always do by construction).
        _check(workflow.check_transition, previous, overall, message=message)
        _set_status(application, overall)
        events.append(
            status_changed_event(
                application,
                actor,
                previous,
                overall,
                message,
                data={"department": department.pk, "department_name": department.name},
            )
        )
    for event in events:
        record(event)
    if overall_changed or message:
        _notify_status(application, message=message, department_name=department.name)


@dataclass
class BulkResult:
    changed: list[Application] = field(default_factory=list)
    # (受付番号, reason)
    refused: list[tuple[str, str]] = field(default_factory=list)


def bulk_change_status(
    applications, to_status: str, *, actor: Actor, message: str = "", department=None
) -> BulkResult:
    """`change_status` for each application, each in its own transaction, against the
    lock_version the given instance carries. One e-mail per application changed; refusals
    are reported with their reason and do not stop the others."""
    result = BulkResult()
    for application in applications:
        try:
            changed = change_status(
                application,
                to_status,
                actor=actor,
                message=message,
                expected_version=application.lock_version,
                department=department,
            )
        except ERRORS as exc:
            result.refused.append((application.receipt_number or "", exc.message))
        else:
            result.changed.append(changed)
    return result


def _display_name(user) -> str:
    return (user.get_full_name() or user.get_username()).strip()


def assign(application: Application, assignee, *, actor: Actor, expected_version: int):
    """Make `assignee` (or nobody, with None) the member of staff in charge."""
    _require_handle(actor, application)
    if assignee is not None and not can_handle(assignee, application):
        raise NotAllowedError(
            _("%(name)sさんはこの申請の担当者にできません（この申請を処理する権限がありません）。")
            % {"name": _display_name(assignee)}
        )
    new = assignee.pk if assignee is not None else None
    current = Application.objects.get(pk=application.pk)
    if current.lock_version != expected_version:
        raise StaleApplicationError(_(STALE_MESSAGE))
    if current.assigned_to_id == new:
        return current  # nothing to change
    with transaction.atomic():
        current = claim(application, expected_version)
        previous = current.assigned_to_id
        current.assigned_to = assignee
        current.save(update_fields=["assigned_to", "updated_at"])
        record(assigned_event(current, actor, new, previous))
    return current


def bulk_assign(applications, assignee, *, actor: Actor) -> BulkResult:
    result = BulkResult()
    for application in applications:
        try:
            changed = assign(
                application, assignee, actor=actor, expected_version=application.lock_version
            )
        except ERRORS as exc:
            result.refused.append((application.receipt_number or "", exc.message))
        else:
            result.changed.append(changed)
    return result


@transaction.atomic
def add_note(application: Application, text: str, *, actor: Actor) -> ApplicationEvent:
    """An internal note (職員へのメモ): in the staff history only, never shown or sent to the
    applicant. Does not change the application (no lock_version bump)."""
    text = clean_text(text)
    if not text:
        raise ActionError(_("メモを入力してください。"))
    _require_handle(actor, application)
    return record(note_event(application, actor, text))


@transaction.atomic
def send_message(application: Application, text: str, *, actor: Actor) -> ApplicationEvent:
    """A message to the applicant (申請者へのメッセージ): on the status page and by e-mail."""
    text = clean_text(text)
    if not text:
        raise ActionError(_("申請者へのメッセージを入力してください。"))
    _require_handle(actor, application)
    application = Application.objects.select_related(
        "municipality", "procedure", "proxy_business"
    ).get(pk=application.pk)
    if application.status == Status.DRAFT:
        raise ActionError(_("送信前の申請にはメッセージを送れません。"))
    event = record(message_event(application, actor, text))
    notify_applicant(application, *messages.message_sent(application, text))
    return event


def acknowledge(application: Application, *, actor: Actor) -> ApplicationEvent:
    """Record that a core system took the application into its system (連携済み); the
    caller keeps the acknowledgement itself (idempotence is the caller's)."""
    return record(acknowledged_event(application, actor))


def identify(
    application: Application,
    atena_number: str,
    *,
    actor: Actor,
    source: str,
    expected_version: int | None = None,
    refuse_same: str = "",
    **event_data,
) -> ApplicationEvent | None:
    """Set the applicant's 宛名番号 (identified by `source`: a 番号紐付 serial link, or a
    member of staff from the 住民記録) and record the 本人特定 event. With
    a member of staff, the change claims the row like a status change (with
    `expected_version`, a screen showing an older version is refused). `refuse_same`: the message when the application is already
    identified with this number by the same source (None is returned when it is empty)."""
    if actor.is_staff:
        # A member of staff acts from a screen: claim the row like a status change.
        claimed = Application.objects.filter(pk=application.pk)
        if expected_version is not None:
            claimed = claimed.filter(lock_version=expected_version)
        if claimed.update(lock_version=F("lock_version") + 1, updated_at=timezone.now()) != 1:
            raise StaleApplicationError(_(STALE_MESSAGE))
    current = Application.objects.select_for_update().get(pk=application.pk)
    identity = dict(current.identity or {})
    if current.atena_number == atena_number and identity.get("atena_source") == source:
        if refuse_same:
            raise ActionError(refuse_same)
        return None
    previous = current.atena_number
    identity["atena_source"] = source
    current.atena_number = atena_number
    current.identity = identity
    current.save(update_fields=["atena_number", "identity", "updated_at"])
    application.atena_number, application.identity = atena_number, identity
    application.lock_version = current.lock_version
    data = {"source": source, "atena_number": atena_number} | event_data
    if actor.is_staff:
        data["previous"] = previous
    return record(identified_event(current, actor, **data))


__all__ = [
    "CORRECTION_KEY",
    "ERRORS",
    "INCOMPLETE_MESSAGE",
    "ActionError",
    "Actor",
    "ApplicationStateError",
    "BulkResult",
    "Incoming",
    "IncomingFile",
    "IncompleteApplication",
    "NotAllowedError",
    "StaleApplicationError",
    "TransitionError",
    "acknowledge",
    "add_note",
    "allocate_receipt_numbers",
    "applicant_from_answers",
    "assign",
    "bulk_assign",
    "bulk_change_status",
    "change_status",
    "correction_request",
    "editable_answers",
    "identify",
    "incomplete",
    "is_correction",
    "notify_applicant",
    "receive",
    "received_file_name",
    "record",
    "resubmission_target",
    "require_complete",
    "resubmit",
    "search_name",
    "step_key_of_error",
    "send_message",
    "set_applicant",
    "store_received_files",
    "submit",
    "withdraw",
]
