"""Drafts: what happens to an application before it is submitted — starting it, saving
each step, attachments, the e-mail check and the resume link — and what the applicant sees
of it afterwards (`status_history`, `notices`).

Everything from submission on (submit, resubmit, withdraw, staff and API changes) is in
`lifecycle`, re-exported here for the views that fill forms. Each operation is one
transaction, records its events through `lifecycle`'s builders, and sends e-mail only
through the durable outbox. See docs/contracts-applications.md.
"""

import hashlib
import uuid

from django.core.files.base import ContentFile, File
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from madoguchi.catalog.models import IdentityLevel, Procedure
from madoguchi.core import outbound
from madoguchi.core.prepared import PreparedQuery
from madoguchi.tenants.models import Municipality

from . import lifecycle, messages
from .lifecycle import (
    CORRECTION_KEY,
    ApplicationStateError,
    IncompleteApplication,
    applicant_from_answers,
    correction_request,
    editable_answers,
    incomplete,
    is_correction,
    needs_email_check,
    notify_applicant,
    resubmission_target,
    resubmit,
    search_name,
    submit,
    withdraw,
)
from .models import Application, ApplicationEvent, Attachment, Channel, Status
from .tokens import token_digest

# In a draft's `draft_values` (beside each step's raw input, whose keys start with a letter):
# the steps whose completion is recorded (a `step_completed` event), so that the event is
# recorded once per step without reading the event log. Gone with the draft values at
# submission.
COMPLETED_STEPS_KEY = "_completed_steps"

APPLICANT_VISIBLE_EVENTS = (
    ApplicationEvent.Kind.SUBMITTED,
    ApplicationEvent.Kind.STATUS_CHANGED,
    ApplicationEvent.Kind.MESSAGE,
    ApplicationEvent.Kind.WITHDRAWN,
    ApplicationEvent.Kind.RESUBMITTED,
)


def _mail(application: Application, to: str, subject_body, *, event) -> None:
    """Queue one e-mail to `to` and record `event` (one of the applicant's events)."""
    lifecycle.mail(application, to, subject_body)
    lifecycle.record(event)


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
    return _start_draft(
        procedure,
        channel=channel,
        entered_by=entered_by,
        proxy_business=proxy_business,
        proxy_user=proxy_user,
    )


def _start_draft(
    procedure: Procedure,
    *,
    channel: str = Channel.PORTAL,
    entered_by=None,
    proxy_business=None,
    proxy_user=None,
    verified_email: str = "",
) -> tuple[Application, str]:
    """`start_draft` in the caller's transaction."""
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
        verified_email=verified_email,
        draft_values={COMPLETED_STEPS_KEY: []},
    )
    # The rows the caller already holds, instead of reading them again.
    if Procedure.current_version.is_cached(procedure):
        application.form_version = procedure.current_version
    if Procedure.municipality.is_cached(procedure):
        application.municipality = procedure.municipality
    token = application.issue_resume_token()
    application.save()
    lifecycle.record(lifecycle.started_event(application, lifecycle.Actor.applicant()))
    return application, token


@transaction.atomic
def start_draft_with_email_check(procedure: Procedure, email: str, *, base_url: str) -> Application:
    """Identity level "email": the draft is only reachable through a link sent to `email`.

    The token is never shown in the browser; opening the e-mailed link proves the resident
    controls the address (`confirm_email`). Returns the draft (its token went by mail)."""
    application, token = _start_draft(procedure, verified_email=email)
    url = f"{base_url}/{application.municipality.lg_code}/apply/{token}/"
    _mail(
        application,
        email,
        messages.email_check(application, url),
        event=lifecycle.email_verification_sent_event(application),
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
    lifecycle.record(lifecycle.email_verified_event(application))
    return True


def _in(municipality, application: Application | None) -> Application | None:
    """The application found within `municipality`, holding that same object (instead of
    the row joined again)."""
    if application is not None and isinstance(municipality, Municipality):
        application.municipality = municipality
    return application


def _draft_query(municipality, token):
    return (
        Application.objects.for_municipality(municipality)
        .filter(resume_token_digest=token, status=Status.DRAFT)
        .select_related("procedure", "form_version")
    )


def _editable_query(municipality, token):
    return (
        Application.objects.for_municipality(municipality)
        .filter(
            Q(resume_token_digest=token, status=Status.DRAFT)
            | Q(status_token_digest=token, status=Status.RETURNED)
        )
        .select_related("procedure", "form_version")
    )


def _submitted_query(municipality, token):
    return (
        Application.objects.for_municipality(municipality)
        .filter(status_token_digest=token)
        .exclude(status=Status.DRAFT)
        .select_related("procedure", "form_version")
    )


# Run at every request of a resident: their SQL compiled once per process (core.prepared).
_find_draft = PreparedQuery(Application, _draft_query, ("municipality",), strings=("token",))
_find_editable = PreparedQuery(Application, _editable_query, ("municipality",), strings=("token",))
_find_submitted = PreparedQuery(
    Application, _submitted_query, ("municipality",), strings=("token",)
)


def find_draft(municipality, token: str) -> Application | None:
    return _in(
        municipality, _find_draft.first(municipality=municipality, token=token_digest(token))
    )


def find_editable(municipality, token: str) -> Application | None:
    """The application the resident may edit with the multi-step form: a draft by its resume
    token, or an application returned for correction (要再申請) by its status token — whoever
    holds the status link may correct and resubmit, so no second secret is needed."""
    return _in(
        municipality, _find_editable.first(municipality=municipality, token=token_digest(token))
    )


def find_by_status_token(municipality, token: str) -> Application | None:
    return _in(
        municipality, _find_submitted.first(municipality=municipality, token=token_digest(token))
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
        # The steps completed so far, noted in the draft since it was started (no read of
        # the event log); a draft without the note (an older one, or a correction) asks the
        # log.
        noted = draft_values.get(COMPLETED_STEPS_KEY)
        if isinstance(noted, list):
            already = step_key in noted
            if not already:
                draft_values[COMPLETED_STEPS_KEY] = [*noted, step_key]
        else:
            already = application.events.filter(
                kind=ApplicationEvent.Kind.STEP_COMPLETED, data__step=step_key
            ).exists()
        if not already:
            lifecycle.record(
                lifecycle.step_completed_event(application, step_key, step_index, reached)
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
    # In production the file goes to object storage: a network call, never made while a
    # database transaction is open.
    outbound.ensure_no_transaction("attachment upload")
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
    # The name holds a fresh uuid4: stored without first looking for a free name (on S3 a
    # HEAD request per upload, ops.file_storage.save_new).
    field = Attachment._meta.get_field("file")
    attachment.file = field.storage.save_new(
        field.generate_filename(attachment, attachment.uid), source
    )
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
        event=lifecycle.resume_link_sent_event(application),
    )
    return token


@transaction.atomic
def record_feedback(application: Application, *, rating: int | None, comment: str) -> None:
    if rating is None and not comment.strip():
        return
    if rating is not None and not 1 <= rating <= 5:
        raise ValueError("rating must be 1..5")
    lifecycle.record(lifecycle.feedback_event(application, rating, comment.strip()[:2000]))


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
    "needs_email_check",
    "resubmission_target",
    "ApplicationStateError",
    "IncompleteApplication",
    "correction_request",
    "editable_answers",
    "find_editable",
    "incomplete",
    "is_correction",
    "notify_applicant",
    "resubmit",
    "search_name",
    "applicant_from_answers",
    "confirm_email",
    "start_draft_with_email_check",
    "find_by_status_token",
    "find_draft",
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
