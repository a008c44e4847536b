"""DB格納: write checked and mapped packages as cases, many per transaction.

`write_applications(municipality, batch, written)` must run inside `transaction.atomic()`; it
writes, for every package of the batch, the case with its 受付番号, answers, attachments
(files and rows), first revision, department progress, the 申請 event (and the 本人特定
event when the serial is linked) and the outbox messages its receivers make, with one
INSERT per table for the whole batch instead of ~27 statements per package. The names of
the files it stored are appended to `written` as soon as each is stored, so the caller can
delete them if the transaction does not commit (and the orphan sweep finds them if the
process is killed before it can: `madoguchi sweep_orphan_attachments`).

The receivers of `events_recorded` get the batch's events in one call (webhooks, the KPI
fold, 申請処理状況登録); the マイナポータル status messages are collected and inserted
together.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from madoguchi.applications import services
from madoguchi.applications.models import (
    AnswerRevision,
    Application,
    ApplicationEvent,
    Attachment,
    Channel,
    DepartmentProgress,
    ReceiptCounter,
    Status,
)
from madoguchi.applications.signals import announce
from madoguchi.identity import serial_links
from madoguchi.outbox.models import OutboxMessage

from . import status_sync


@dataclass
class _File:
    attachment: Attachment
    content: bytes


def allocate_receipt_numbers(municipality, count: int) -> list[str]:
    """`count` consecutive 受付番号 in the caller's transaction (the format and the counter of
    `applications.models.next_receipt_number`): the counter row is locked until commit and a
    rollback gives the numbers back, so a number is consumed only with its case."""
    year = timezone.localdate().year
    with transaction.atomic():
        counter, _created = ReceiptCounter.objects.select_for_update().get_or_create(
            municipality=municipality, year=year
        )
        first = counter.last_value + 1
        counter.last_value += count
        counter.save(update_fields=["last_value"])
    return [f"{year}-{value:06d}" for value in range(first, first + count)]


def write_applications(
    municipality, batch: list, written: list[str]
) -> tuple[list[Application], list[OutboxMessage]]:
    """batch: intake.Prepared items (distinct 受付番号, none imported yet). Returns the cases
    in the same order and the 申請処理状況登録 messages written for them. Raises on any
    failure; the caller's atomic block then rolls back."""
    now = timezone.now()
    numbers = allocate_receipt_numbers(municipality, len(batch))
    atenas = serial_links.atena_numbers_for(municipality, [p.identity for p in batch])

    applications: list[Application] = []
    files: list[list[_File]] = []
    for prepared, number, atena in zip(batch, numbers, atenas, strict=True):
        application, application_files = _new_application(
            municipality, prepared, number, atena, now
        )
        applications.append(application)
        files.append(application_files)
    Application.objects.bulk_create(applications)

    attachments = []
    for application, application_files in zip(applications, files, strict=True):
        for item in application_files:
            item.attachment.application = application
            name = item.attachment.file.field.generate_filename(
                item.attachment, item.attachment.uid
            )
            stored = default_storage.save(name, ContentFile(item.content), max_length=300)
            written.append(stored)
            item.attachment.file.name = stored
            attachments.append(item.attachment)
    Attachment.objects.bulk_create(attachments)

    AnswerRevision.objects.bulk_create(
        AnswerRevision(
            municipality_id=municipality.pk,
            application=a,
            number=1,
            answers=a.answers,
            submitted_at=now,
        )
        for a in applications
    )
    DepartmentProgress.objects.bulk_create(
        DepartmentProgress(municipality_id=municipality.pk, application=a, department=d)
        for prepared, a in zip(batch, applications, strict=True)
        for d in prepared.departments
    )
    events = []
    for prepared, application in zip(batch, applications, strict=True):
        events.append(_submitted_event(application, prepared))
        if application.atena_number:
            events.append(_identified_event(application))
    ApplicationEvent.objects.bulk_create(events)

    with status_sync.collecting() as messages:
        announce(events)  # once for the batch: receivers do one query per batch
    OutboxMessage.objects.bulk_create(messages)
    return applications, messages


def _new_application(municipality, prepared, number: str, atena: str | None, now):
    data, mapping = prepared.data, prepared.mapping
    procedure = mapping.procedure
    identity = dict(prepared.identity)
    if atena:
        identity["atena_source"] = serial_links.ATENA_SOURCE_SERIAL_LINK
    application = Application(
        municipality=municipality,
        procedure=procedure,
        form_version=procedure.current_version,
        channel=Channel.MYNAPORTAL,
        status=Status.RECEIVED,
        receipt_number=number,
        source_reference=data.receipt_number,
        identity=identity,
        atena_number=atena or "",
        submitted_at=now,
    )
    if procedure.target_days:
        application.due_at = now + datetime.timedelta(days=procedure.target_days)
    application.issue_status_token()

    answers = dict(prepared.answers)
    application_files = []
    for info in data.attachments:
        content = prepared.attachments[info.name]
        attachment = Attachment(
            municipality_id=municipality.pk,
            uid=uuid.uuid4().hex,
            field_key=info.item or "mynaportal_attachment",
            original_name=(info.name or "file")[:255],
            content_type=info.content_type,
            size=len(content),
            sha256=Attachment.digest(content),
        )
        application_files.append(_File(attachment, content))
        answer = attachment.as_answer()
        key = (mapping.items or {}).get(info.item) or (info.item if info.item else "")
        if key:
            existing = answers.get(key)
            answers[key] = [*existing, answer] if isinstance(existing, list) else [answer]
    application.answers = answers
    services._set_applicant(application, answers)  # name, reading, e-mail, search keys
    if not application.applicant_name:
        application.applicant_name = identity.get("basic_four", {}).get("name", "")[:200]
        application.search_name = services.search_name(application.applicant_name)
    return application, application_files


def _submitted_event(application: Application, prepared) -> ApplicationEvent:
    data = prepared.data
    return ApplicationEvent(
        municipality_id=application.municipality_id,
        application=application,
        kind=ApplicationEvent.Kind.SUBMITTED,
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


def _identified_event(application: Application) -> ApplicationEvent:
    # As `serial_links.assign_atena_if_known` records it.
    return ApplicationEvent(
        municipality_id=application.municipality_id,
        application=application,
        kind=serial_links.EVENT_KIND,
        actor_type=ApplicationEvent.Actor.SYSTEM,
        data={
            "source": serial_links.ATENA_SOURCE_SERIAL_LINK,
            "atena_number": application.atena_number,
        },
    )
