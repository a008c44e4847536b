"""Application life-cycle operations used by the portal (and later counter entry and the API).

Each operation is one transaction, records an ApplicationEvent, and sends e-mail only
through the durable outbox. See docs/contracts-applications.md.
"""

import uuid

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from madoguchi.catalog.models import IdentityLevel, Procedure
from madoguchi.outbox.delivery import enqueue_email

from . import messages
from .models import (
    Application,
    ApplicationEvent,
    Attachment,
    Channel,
    Status,
    next_receipt_number,
)
from .tokens import token_digest

APPLICANT_VISIBLE_EVENTS = (
    ApplicationEvent.Kind.SUBMITTED,
    ApplicationEvent.Kind.STATUS_CHANGED,
    ApplicationEvent.Kind.MESSAGE,
    ApplicationEvent.Kind.WITHDRAWN,
)


class ApplicationStateError(Exception):
    """An operation that the application's current status does not allow."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def record_event(application: Application, kind: str, *, actor_type: str, **fields):
    return ApplicationEvent.objects.create(
        municipality_id=application.municipality_id,
        application=application,
        kind=kind,
        actor_type=actor_type,
        **fields,
    )


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
    if channel == Channel.PORTAL and procedure.identity_level == IdentityLevel.JPKI:
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
    subject, body = messages.email_check(application, url)
    enqueue_email(
        to=[email],
        subject=subject,
        body=body,
        municipality=application.municipality,
        reference=f"application:{application.pk}",
    )
    record_event(
        application,
        ApplicationEvent.Kind.EMAIL_VERIFICATION_SENT,
        actor_type=ApplicationEvent.Actor.APPLICANT,
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
) -> None:
    draft_values = dict(application.draft_values)
    draft_values[step_key] = raw
    application.draft_values = draft_values
    application.current_step = step_key
    update_fields = ["draft_values", "current_step", "updated_at"]
    if answers is not None:
        step = application.form_version.form.step(step_key)
        step_keys = {field.key for field in step.fields}
        merged = {k: v for k, v in application.answers.items() if k not in step_keys}
        merged.update(answers)
        application.answers = merged
        update_fields.append("answers")
    if completed:
        already = application.events.filter(
            kind=ApplicationEvent.Kind.STEP_COMPLETED, data__step=step_key
        ).exists()
        if not already:
            record_event(
                application,
                ApplicationEvent.Kind.STEP_COMPLETED,
                actor_type=ApplicationEvent.Actor.APPLICANT,
                data={"step": step_key, "index": step_index},
            )
        if step_index + 1 > application.furthest_step_index:
            application.furthest_step_index = step_index + 1
            update_fields.append("furthest_step_index")
    application.save(update_fields=update_fields)


def store_attachment(
    application: Application,
    field_key: str,
    uploaded_file,
    *,
    content_type: str,
    content: bytes | None = None,
) -> dict:
    if content is None:
        uploaded_file.seek(0)
        content = uploaded_file.read()
    attachment = Attachment(
        municipality_id=application.municipality_id,
        application=application,
        uid=uuid.uuid4().hex,
        field_key=field_key,
        original_name=(getattr(uploaded_file, "name", None) or "file")[:255],
        content_type=content_type,
        size=len(content),
        sha256=Attachment.digest(content),
    )
    attachment.file.save(attachment.uid, ContentFile(content), save=False)
    attachment.save()
    return attachment.as_answer()


@transaction.atomic
def send_resume_link(application: Application, email: str, *, base_url: str) -> str:
    application = Application.objects.select_for_update().get(pk=application.pk)
    if application.status != Status.DRAFT:
        raise ApplicationStateError("この申請はすでに送信されています。")
    token = application.issue_resume_token()
    application.save(update_fields=["resume_token_digest", "updated_at"])
    url = f"{base_url}/{application.municipality.lg_code}/apply/{token}/"
    subject, body = messages.resume_link(application, url)
    enqueue_email(
        to=[email],
        subject=subject,
        body=body,
        municipality=application.municipality,
        reference=f"application:{application.pk}",
    )
    record_event(
        application,
        ApplicationEvent.Kind.RESUME_LINK_SENT,
        actor_type=ApplicationEvent.Actor.APPLICANT,
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
    """(name, name_kana, email) from the first `name` and `email` fields outside repeats."""
    name = kana = email = ""
    for step in form.steps:
        for field in step.fields:
            value = answers.get(field.key)
            if not value:
                continue
            if field.type == "name" and not name and isinstance(value, dict):
                name = f"{value.get('family', '')}　{value.get('given', '')}".strip("　")
                kana = f"{value.get('family_kana', '')}　{value.get('given_kana', '')}".strip("　")
            elif field.type == "email" and not email:
                email = value
    return name, kana, email


@transaction.atomic
def submit(application: Application, *, base_url: str) -> str:
    application = (
        Application.objects.select_for_update()
        .select_related("municipality", "procedure", "form_version")
        .get(pk=application.pk)
    )
    if application.status != Status.DRAFT:
        raise ApplicationStateError("この申請はすでに送信されています。")
    if (
        application.procedure.identity_level == IdentityLevel.EMAIL
        and not application.email_is_verified
    ):
        raise ApplicationStateError(
            "メールアドレスの確認が済んでいません。お送りしたメールのリンクから申請を続けてください。"
        )
    form = application.form_version.form
    name, kana, email = applicant_from_answers(form, application.answers)
    application.applicant_name = name[:200]
    application.applicant_name_kana = kana[:200]
    # A verified address is the contact address: it is the one we know reaches the applicant.
    application.applicant_email = (
        application.verified_email if application.email_is_verified else email
    )
    email = application.applicant_email
    application.receipt_number = next_receipt_number(application.municipality)
    application.status = Status.RECEIVED
    application.submitted_at = timezone.now()
    application.resume_token_digest = ""
    application.draft_values = {}
    token = application.issue_status_token()
    application.save()
    record_event(
        application,
        ApplicationEvent.Kind.SUBMITTED,
        actor_type=ApplicationEvent.Actor.APPLICANT,
        from_status=Status.DRAFT,
        to_status=Status.RECEIVED,
        data={"receipt_number": application.receipt_number},
    )
    if email:
        url = f"{base_url}/{application.municipality.lg_code}/status/{token}/"
        subject, body = messages.submitted(application, url)
        enqueue_email(
            to=[email],
            subject=subject,
            body=body,
            municipality=application.municipality,
            reference=f"application:{application.pk}",
        )
    return token


@transaction.atomic
def withdraw(application: Application, *, reason: str = "") -> None:
    application = (
        Application.objects.select_for_update()
        .select_related("municipality", "procedure")
        .get(pk=application.pk)
    )
    if not application.can_withdraw:
        raise ApplicationStateError(
            f"この申請は「{application.get_status_display()}」のため、取り下げできません。"
        )
    previous = application.status
    application.status = Status.WITHDRAWN
    application.finished_at = timezone.now()
    application.save(update_fields=["status", "finished_at", "updated_at"])
    record_event(
        application,
        ApplicationEvent.Kind.WITHDRAWN,
        actor_type=ApplicationEvent.Actor.APPLICANT,
        from_status=previous,
        to_status=Status.WITHDRAWN,
        message=reason.strip()[:2000],
    )
    if application.applicant_email:
        subject, body = messages.withdrawn(application)
        enqueue_email(
            to=[application.applicant_email],
            subject=subject,
            body=body,
            municipality=application.municipality,
            reference=f"application:{application.pk}",
        )


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


def status_history(application: Application) -> list[ApplicationEvent]:
    return list(
        application.events.filter(kind__in=APPLICANT_VISIBLE_EVENTS).order_by("created_at", "pk")
    )


__all__ = [
    "ApplicationStateError",
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
    "status_history",
    "store_attachment",
    "submit",
    "token_digest",
    "withdraw",
]
