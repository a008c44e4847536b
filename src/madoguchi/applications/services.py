"""Application life-cycle operations used by the portal (and later counter entry and the API).

Each operation is one transaction, records an ApplicationEvent, and sends e-mail only
through the durable outbox. See docs/contracts-applications.md.
"""

import datetime
import hashlib
import re
import unicodedata
import uuid

from django.core.files.base import ContentFile, File
from django.db import transaction
from django.db.models import Max, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from madoguchi.catalog.models import IdentityLevel, Procedure
from madoguchi.jp.kana import search_key
from madoguchi.outbox.delivery import enqueue_email

from . import messages, workflow
from .models import (
    AnswerRevision,
    Application,
    ApplicationEvent,
    Attachment,
    Channel,
    DepartmentProgress,
    Status,
    next_receipt_number,
)
from .signals import announce
from .tokens import token_digest

APPLICANT_VISIBLE_EVENTS = (
    ApplicationEvent.Kind.SUBMITTED,
    ApplicationEvent.Kind.STATUS_CHANGED,
    ApplicationEvent.Kind.MESSAGE,
    ApplicationEvent.Kind.WITHDRAWN,
    ApplicationEvent.Kind.RESUBMITTED,
)

# While an application is 要再申請, the answers the resident is correcting are kept here (in
# `draft_values`, next to the raw input of each step) and `answers` keeps what was last
# submitted — what the staff are reviewing — until the resubmission. Step keys never start
# with "_", so this key cannot collide with a step.
CORRECTION_KEY = "_correction_answers"


class ApplicationStateError(Exception):
    """An operation that the application's current status does not allow."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def record_event(application: Application, kind: str, *, actor_type: str, **fields):
    """Append an event and tell subscribers (webhooks, ...) within the same transaction."""
    event = ApplicationEvent.objects.create(
        municipality_id=application.municipality_id,
        application=application,
        kind=kind,
        actor_type=actor_type,
        **fields,
    )
    announce([event])
    return event


def _mail(
    application: Application,
    to: str,
    subject_body: tuple[str, str],
    *,
    event: str | None = None,
) -> None:
    """Queue one e-mail (subject, body) about `application` to the address `to`; with
    `event`, then record that event (by the applicant) on the application."""
    subject, body = subject_body
    enqueue_email(
        to=[to],
        subject=subject,
        body=body,
        municipality=application.municipality,
        reference=f"application:{application.pk}",
    )
    if event is not None:
        record_event(application, event, actor_type=ApplicationEvent.Actor.APPLICANT)


@transaction.atomic
def start_draft(
    procedure: Procedure,
    *,
    channel: str = Channel.PORTAL,
    entered_by=None,
    proxy_business=None,
    proxy_user=None,
) -> tuple[Application, str]:
    """A new draft. `entered_by`: the member of staff entering a counter (窓口) or paper (紙)
    application; `proxy_business`/`proxy_user`: a registered business filing for a resident."""
    if procedure.current_version_id is None:
        raise ApplicationStateError("この手続は現在受け付けていません。")
    # The portal cannot take a マイナンバーカード signature: residents file these procedures
    # through マイナポータル. A registered business filing as a proxy (介護事業所) was
    # identified when the municipality registered it, and counter staff check identity in
    # person, so both may still file them.
    if (
        channel == Channel.PORTAL
        and proxy_business is None
        and procedure.identity_level == IdentityLevel.JPKI
    ):
        raise ApplicationStateError(
            "この手続はマイナンバーカードによる電子署名が必要なため、"
            "マイナポータル（ぴったりサービス）から申請してください。"
        )
    if proxy_business is not None and not procedure.allows_proxy:
        raise ApplicationStateError("この手続は代理申請を受け付けていません。")
    application = Application(
        municipality_id=procedure.municipality_id,
        procedure=procedure,
        form_version_id=procedure.current_version_id,
        channel=channel,
        status=Status.DRAFT,
        entered_by=entered_by,
        proxy_business=proxy_business,
        proxy_user=proxy_user,
        is_proxy=proxy_business is not None,
        proxy_name=proxy_business.name if proxy_business is not None else "",
    )
    token = application.issue_resume_token()
    application.save()
    record_event(
        application, ApplicationEvent.Kind.STARTED, actor_type=ApplicationEvent.Actor.APPLICANT
    )
    return application, token


@transaction.atomic
def start_draft_with_email_check(procedure: Procedure, email: str, *, base_url: str) -> Application:
    """Identity level "email": the draft is only reachable through a link sent to `email`.

    The token is never shown in the browser; opening the e-mailed link proves the resident
    controls the address (`confirm_email`). Returns the draft (its token went by mail)."""
    application, token = start_draft(procedure)
    application.verified_email = email
    application.save(update_fields=["verified_email", "updated_at"])
    url = f"{base_url}/{application.municipality.lg_code}/apply/{token}/"
    _mail(
        application,
        email,
        messages.email_check(application, url),
        event=ApplicationEvent.Kind.EMAIL_VERIFICATION_SENT,
    )
    return application


@transaction.atomic
def confirm_email(application: Application) -> bool:
    """Mark the draft's e-mail address verified (first opening of the e-mailed link).
    Returns True when this call verified it."""
    if not application.verified_email or application.email_verified_at:
        return False
    application.email_verified_at = timezone.now()
    application.save(update_fields=["email_verified_at", "updated_at"])
    record_event(
        application,
        ApplicationEvent.Kind.EMAIL_VERIFIED,
        actor_type=ApplicationEvent.Actor.APPLICANT,
    )
    return True


def find_draft(municipality, token: str) -> Application | None:
    return (
        Application.objects.for_municipality(municipality)
        .by_resume_token(token)
        .select_related("procedure", "form_version", "municipality")
        .first()
    )


def find_editable(municipality, token: str) -> Application | None:
    """The application the resident may edit with the multi-step form: a draft by its resume
    token, or an application returned for correction (要再申請) by its status token — whoever
    holds the status link may correct and resubmit, so no second secret is needed."""
    digest = token_digest(token)
    return (
        Application.objects.for_municipality(municipality)
        .filter(
            Q(resume_token_digest=digest, status=Status.DRAFT)
            | Q(status_token_digest=digest, status=Status.RETURNED)
        )
        .select_related("procedure", "form_version", "municipality")
        .first()
    )


def is_correction(application: Application) -> bool:
    return application.status == Status.RETURNED


def editable_answers(application: Application) -> dict:
    """The answers the resident is working on: a draft's answers, or for 要再申請 the
    corrected copy (starting from the answers last submitted)."""
    if is_correction(application):
        working = application.draft_values.get(CORRECTION_KEY)
        if isinstance(working, dict):
            return working
    return application.answers


def correction_request(application: Application) -> ApplicationEvent | None:
    """The staff's latest 要再申請 event (its message says what to correct)."""
    return (
        application.events.filter(
            kind=ApplicationEvent.Kind.STATUS_CHANGED, to_status=Status.RETURNED
        )
        .order_by("-created_at", "-pk")
        .first()
    )


def find_by_status_token(municipality, token: str) -> Application | None:
    return (
        Application.objects.for_municipality(municipality)
        .by_status_token(token)
        .exclude(status=Status.DRAFT)
        .select_related("procedure", "form_version", "municipality")
        .first()
    )


@transaction.atomic
def save_step(
    application: Application,
    step_key: str,
    *,
    raw: dict,
    answers: dict | None,
    completed: bool,
    step_index: int,
    reached: int | None = None,
) -> None:
    """Save what was typed on a step (always) and, for a valid step, its answers.

    `step_index` is the step's place among the steps visible to this applicant (the progress
    indicator). `reached`, for the KPI funnel, counts the form's steps (hidden ones included)
    that lie behind the applicant once this step is done: the index of the next visible step
    in the whole form, or the number of steps when the confirmation page comes next.
    """
    correcting = is_correction(application)
    if application.status != Status.DRAFT and not correcting:
        raise ApplicationStateError("この申請はすでに送信されています。")
    draft_values = dict(application.draft_values)
    draft_values[step_key] = raw
    application.current_step = step_key
    update_fields = ["draft_values", "current_step", "updated_at"]
    if answers is not None:
        merged = answers_with_step(application, step_key, answers)
        if correcting:
            draft_values[CORRECTION_KEY] = merged
        else:
            application.answers = merged
            update_fields.append("answers")
    application.draft_values = draft_values
    if completed:
        already = application.events.filter(
            kind=ApplicationEvent.Kind.STEP_COMPLETED, data__step=step_key
        ).exists()
        if not already:
            record_event(
                application,
                ApplicationEvent.Kind.STEP_COMPLETED,
                actor_type=ApplicationEvent.Actor.APPLICANT,
                data=(
                    {"step": step_key, "index": step_index}
                    | ({} if reached is None else {"reached": reached})
                ),
            )
        if step_index + 1 > application.furthest_step_index:
            application.furthest_step_index = step_index + 1
            update_fields.append("furthest_step_index")
    application.save(update_fields=update_fields)


def answers_with_step(application: Application, step_key: str, answers: dict) -> dict:
    """The answers being edited, with one step's answers replaced by `answers`."""
    step = application.form_version.form.step(step_key)
    step_keys = {field.key for field in step.fields}
    merged = {k: v for k, v in editable_answers(application).items() if k not in step_keys}
    merged.update(answers)
    return merged


def store_attachment(
    application: Application,
    field_key: str,
    uploaded_file,
    *,
    content_type: str,
    content: bytes | None = None,
) -> dict:
    """Keep one attachment of a draft. The upload is streamed: hashed in chunks, then handed
    to the storage as a file (multipart parts to object storage, chunked copies on disk), so
    a large file is never held whole in memory. `content` is for callers that already hold
    the bytes (small generated files)."""
    name = (getattr(uploaded_file, "name", None) or "file")[:255]
    source = ContentFile(content, name=name) if content is not None else File(uploaded_file)
    digest = hashlib.sha256()
    size = 0
    source.seek(0)
    for chunk in source.chunks(ATTACHMENT_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    source.seek(0)
    attachment = Attachment(
        municipality_id=application.municipality_id,
        application=application,
        uid=uuid.uuid4().hex,
        field_key=field_key,
        original_name=name,
        content_type=content_type,
        size=size,
        sha256=digest.hexdigest(),
    )
    attachment.file.save(attachment.uid, source, save=False)
    attachment.save()
    return attachment.as_answer()


ATTACHMENT_CHUNK = 1024 * 1024


@transaction.atomic
def send_resume_link(application: Application, email: str, *, base_url: str) -> str:
    application = Application.objects.select_for_update().get(pk=application.pk)
    if application.status != Status.DRAFT:
        raise ApplicationStateError("この申請はすでに送信されています。")
    token = application.issue_resume_token()
    application.save(update_fields=["resume_token_digest", "updated_at"])
    url = f"{base_url}/{application.municipality.lg_code}/apply/{token}/"
    _mail(
        application,
        email,
        messages.resume_link(application, url),
        event=ApplicationEvent.Kind.RESUME_LINK_SENT,
    )
    return token


def needs_email_check(application: Application) -> bool:
    """Identity level "email" is checked by mail only for residents applying on their own:
    at the counter staff see the person, and a registered business has logged in."""
    return (
        application.procedure.identity_level == IdentityLevel.EMAIL
        and application.channel == Channel.PORTAL
        and application.proxy_business_id is None
    )


def applicant_from_answers(form, answers: dict) -> tuple[str, str, str]:
    """(name, name_kana, email) of the person the application is for: the fields the form
    names in `applicant`, else the first `name` and `email` fields outside repeats."""
    name_value = answers.get(form.applicant_name_field) if form.applicant_name_field else None
    email = answers.get(form.applicant_email_field, "") if form.applicant_email_field else ""
    for step in form.steps:
        for field in step.fields:
            value = answers.get(field.key)
            if not value:
                continue
            if field.type == "name" and name_value is None and not form.applicant_name_field:
                name_value = value
            elif field.type == "email" and not email and not form.applicant_email_field:
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


def _set_applicant(application: Application, answers: dict) -> None:
    """Applicant name, reading, contact address and search keys, from the answers."""
    form = application.form_version.form
    name, kana, email = applicant_from_answers(form, answers)
    application.applicant_name = name[:200]
    application.applicant_name_kana = kana[:200]
    # A verified address is the contact address: it is the one we know reaches the applicant.
    application.applicant_email = (
        application.verified_email if application.email_is_verified else email
    )
    application.search_name = search_name(name)[:200]
    application.search_kana = search_key(kana)[:200]


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
        _mail(application, address, (subject, body))
    return len(recipients)


@transaction.atomic
def submit(application: Application, *, base_url: str) -> str:
    # Lock this application's row only: with the joined municipality, procedure and form
    # version rows locked too, every other transaction writing an event or a message for the
    # municipality would wait for this one (a cycle with the status counts).
    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("municipality", "procedure", "form_version", "proxy_business")
        .get(pk=application.pk)
    )
    if application.status != Status.DRAFT:
        raise ApplicationStateError("この申請はすでに送信されています。")
    if needs_email_check(application) and not application.email_is_verified:
        raise ApplicationStateError(
            "メールアドレスの確認が済んでいません。お送りしたメールのリンクから申請を続けてください。"
        )
    _set_applicant(application, application.answers)
    email = application.applicant_email
    application.receipt_number = next_receipt_number(application.municipality)
    application.status = Status.RECEIVED
    application.submitted_at = timezone.now()
    if application.procedure.target_days:
        application.due_at = application.submitted_at + datetime.timedelta(
            days=application.procedure.target_days
        )
    application.resume_token_digest = ""
    application.draft_values = {}
    token = application.issue_status_token()
    application.save()
    AnswerRevision.objects.create(
        municipality_id=application.municipality_id,
        application=application,
        number=1,
        answers=application.answers,
        submitted_at=application.submitted_at,
    )
    DepartmentProgress.objects.bulk_create(
        DepartmentProgress(
            municipality_id=application.municipality_id,
            application=application,
            department=department,
        )
        for department in application.procedure.departments.all()
    )
    by_staff = application.entered_by_id is not None
    record_event(
        application,
        ApplicationEvent.Kind.SUBMITTED,
        actor_type=ApplicationEvent.Actor.STAFF if by_staff else ApplicationEvent.Actor.APPLICANT,
        actor_user_id=application.entered_by_id,
        from_status=Status.DRAFT,
        to_status=Status.RECEIVED,
        data={"receipt_number": application.receipt_number, "channel": application.channel},
    )
    if email:
        url = f"{base_url}/{application.municipality.lg_code}/status/{token}/"
        _mail(application, email, messages.submitted(application, url))
    business = application.proxy_business
    if business is not None and business.email and business.email != email:
        # The business follows its filings on its own pages (behind its login), not by the
        # resident's status link.
        url = f"{base_url}{reverse('business:case', args=[application.pk])}"
        _mail(application, business.email, messages.submitted(application, url))
    return token


@transaction.atomic
def withdraw(application: Application, *, reason: str = "", user=None) -> None:
    """The applicant withdraws (取り下げ). `user`: the member of the business that filed the
    application, when it is the business that withdraws it."""
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
    record_event(
        application,
        ApplicationEvent.Kind.WITHDRAWN,
        actor_type=ApplicationEvent.Actor.APPLICANT,
        actor_user=user,
        from_status=previous,
        to_status=Status.WITHDRAWN,
        message=reason.strip()[:2000],
    )
    notify_applicant(application, *messages.withdrawn(application))


@transaction.atomic
def record_feedback(application: Application, *, rating: int | None, comment: str) -> None:
    if rating is None and not comment.strip():
        return
    if rating is not None and not 1 <= rating <= 5:
        raise ValueError("rating must be 1..5")
    record_event(
        application,
        ApplicationEvent.Kind.FEEDBACK,
        actor_type=ApplicationEvent.Actor.APPLICANT,
        data={"rating": rating, "comment": comment.strip()[:2000]},
    )


def resubmission_target(returned: ApplicationEvent | None) -> str:
    """The status a resubmitted application goes back to: the one staff left it in when they
    asked for the correction (受付 or 処理中), so nobody has to repeat a click the correction
    did not undo. 受付 when that is unknown."""
    previous = returned.from_status if returned is not None else ""
    return previous if previous in (Status.RECEIVED, Status.IN_PROGRESS) else Status.RECEIVED


@transaction.atomic
def resubmit(application: Application, *, base_url: str, status_token: str = "") -> None:
    """The applicant's corrected answers after 要再申請: they become `AnswerRevision` #n, the
    application goes back to the status it had before 要再申請 (`resubmission_target`),
    event `resubmitted`, mail to the applicant (and to the business that filed it).

    要再申請 leaves each department's progress alone, so it still says where each department
    was; only a return to 受付 sets every department back to 受付 as well.

    The processing target (`due_at`) is moved by the time the application spent waiting for
    the correction: like 行政手続法 §7, time the applicant takes to correct is not the
    department's. `status_token`: the raw status token when the caller knows it (the portal
    does), to put the status link in the e-mail."""
    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("municipality", "procedure", "form_version", "proxy_business")
        .get(pk=application.pk)
    )
    if application.status != Status.RETURNED:
        raise ApplicationStateError(
            f"この申請は「{application.get_status_display()}」のため、再申請できません。"
        )
    now = timezone.now()
    returned = correction_request(application)
    target = resubmission_target(returned)
    workflow.check_transition(Status.RETURNED, target, actor=workflow.APPLICANT)
    application.answers = editable_answers(application)
    _set_applicant(application, application.answers)
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
    record_event(
        application,
        ApplicationEvent.Kind.RESUBMITTED,
        actor_type=ApplicationEvent.Actor.APPLICANT,
        from_status=Status.RETURNED,
        to_status=target,
        data={"revision": revision.number},
    )
    url = (
        f"{base_url}/{application.municipality.lg_code}/status/{status_token}/"
        if status_token
        else ""
    )
    subject, body = messages.resubmitted(application, url)
    notify_applicant(application, subject, body)


def _applicant_visible() -> Q:
    """Events the applicant sees: submission, status changes, messages, resubmissions,
    withdrawal, and a department's progress when it came with a message that did not also
    change the overall status (that message is on the `status_changed` event then).
    Internal notes, views and downloads never."""
    department_with_message = (
        Q(kind=ApplicationEvent.Kind.DEPARTMENT_STATUS_CHANGED)
        & ~Q(message="")
        & Q(data__overall_changed=False)
    )
    return Q(kind__in=APPLICANT_VISIBLE_EVENTS) | department_with_message


def _notice() -> Q:
    """What the municipality told the applicant in words: a message, or the message that came
    with a status change (what to correct for 要再申請, the reasons of a refusal, ...). The
    applicant's own words (a withdrawal reason) are not a notice."""
    return _applicant_visible() & ~Q(message="") & ~Q(actor_type=ApplicationEvent.Actor.APPLICANT)


def status_history(application: Application) -> list[ApplicationEvent]:
    """What the applicant sees of the application's history (`_applicant_visible`)."""
    return list(application.events.filter(_applicant_visible()).order_by("created_at", "pk"))


def notices(application: Application) -> list[ApplicationEvent]:
    """Every notice to the applicant (`_notice`), newest first."""
    return list(application.events.filter(_notice()).order_by("-created_at", "-pk"))


def with_latest_notice(applications):
    """`applications` annotated with `latest_notice` (its text) and `latest_notice_at`, for
    lists that show each application's latest notice."""
    latest = ApplicationEvent.objects.filter(_notice(), application=OuterRef("pk")).order_by(
        "-created_at", "-pk"
    )
    return applications.annotate(
        latest_notice=Subquery(latest.values("message")[:1]),
        latest_notice_at=Subquery(latest.values("created_at")[:1]),
    )


__all__ = [
    "CORRECTION_KEY",
    "ApplicationStateError",
    "correction_request",
    "editable_answers",
    "find_editable",
    "is_correction",
    "notify_applicant",
    "resubmit",
    "search_name",
    "applicant_from_answers",
    "confirm_email",
    "start_draft_with_email_check",
    "find_by_status_token",
    "find_draft",
    "record_event",
    "record_feedback",
    "save_step",
    "send_resume_link",
    "start_draft",
    "notices",
    "status_history",
    "with_latest_notice",
    "store_attachment",
    "submit",
    "token_digest",
    "withdraw",
]
