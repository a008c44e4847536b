"""DB格納: checked and mapped packages become applications, many per transaction.

`store_files(municipality, batch)` stores the attachments of a batch's packages, all at
once, before and outside the transaction: storage is a network call in production (S3), and
the transaction holds the municipality's 受付番号 counter locked from its first application
to its commit. It returns the names stored per package, so the caller can delete those of a
package it does not import (and the orphan sweep finds them if the process is killed before
it can: `madoguchi sweep_orphan_attachments`).

`write_applications(municipality, batch)` must run inside `transaction.atomic()`; it turns
every package of the batch into an `applications.lifecycle.Incoming` (answers, the stored
attachments, identity, 宛名番号 when the serial is linked, マイナポータル's reception time) and
receives them all at once through `lifecycle.receive` — the one way applications come in —
with one INSERT per table for the whole batch.

The receivers of `events_recorded` get the batch's events in one call (webhooks, the KPI
fold, 申請処理状況登録); the マイナポータル status messages are collected and inserted
together.
"""

from __future__ import annotations

import datetime

from django.db import connection
from django.utils import timezone

from madoguchi.applications import lifecycle
from madoguchi.applications.models import Application, Channel
from madoguchi.core import bulk_insert, pgarrays
from madoguchi.identity import serial_links
from madoguchi.outbox.models import OutboxMessage

from . import status_sync


def store_files(municipality, batch: dict) -> tuple[dict, dict]:
    """Store the attachments of the batch's packages (`batch`: key → intake.Prepared), all
    at once, as `lifecycle.IncomingFile`s on each `prepared.files`; outside any transaction
    (see above). Returns (stored, failed) as `lifecycle.store_received_files` does: key →
    the names stored, key → the exception of a package whose files could not all be
    stored."""
    for prepared in batch.values():
        if not prepared.files:
            data, mapping = prepared.data, prepared.mapping
            prepared.files = [
                lifecycle.IncomingFile(
                    field_key=info.item or "mynaportal_attachment",
                    name=info.name,
                    content_type=info.content_type,
                    content=prepared.attachments[info.name],
                    answer_key=(mapping.items or {}).get(info.item) or info.item or "",
                    sha256=prepared.digests.get(info.name, ""),
                )
                for info in data.attachments
            ]
    return lifecycle.store_received_files(
        municipality, {key: prepared.files for key, prepared in batch.items()}
    )


def write_applications(municipality, batch: list) -> tuple[list[Application], list[OutboxMessage]]:
    """batch: intake.Prepared items (distinct 受付番号, none imported yet, their files
    stored by `store_files`). Returns the applications in the same order and the
    申請処理状況登録 messages written for them. Raises on any failure; the caller's atomic
    block then rolls back."""
    pgarrays.install(connection)  # the batch's columns go as arrays: escape them fast
    now = timezone.now()
    atenas = serial_links.atena_numbers_for(municipality, [p.identity for p in batch])
    incoming = [
        _incoming(prepared, atena, now) for prepared, atena in zip(batch, atenas, strict=True)
    ]
    with status_sync.collecting() as messages:
        applications = lifecycle.receive(municipality, incoming, actor=lifecycle.Actor.system())
    bulk_insert.insert(messages)
    return applications, messages


def received_at(prepared, now: datetime.datetime) -> datetime.datetime:
    """マイナポータル's reception time of the application, as its 受取等API reported it; the
    time of the pull for a package that came without one."""
    value = prepared.identity.get("received_at")
    if isinstance(value, str) and value:
        try:
            parsed = datetime.datetime.fromisoformat(value)
        except ValueError:
            return now
        return parsed if timezone.is_aware(parsed) else now
    return now


def _incoming(prepared, atena: str | None, now) -> lifecycle.Incoming:
    data, mapping = prepared.data, prepared.mapping
    identity = dict(prepared.identity)
    if atena:
        identity["atena_source"] = serial_links.ATENA_SOURCE_SERIAL_LINK
    return lifecycle.Incoming(
        procedure=mapping.procedure,
        answers=prepared.answers,
        channel=Channel.MYNAPORTAL,
        received_at=received_at(prepared, now),
        source_reference=data.receipt_number,
        identity=identity,
        atena_number=atena or "",
        departments=prepared.departments,
        files=prepared.files,
        fallback_name=identity.get("basic_four", {}).get("name", ""),
        event_data={
            "source_reference": data.receipt_number,
            "procedure_code": data.procedure_code,
            "mynaportal_submitted_at": data.submitted_at.isoformat(),
            # Items the mapping does not place in the form are kept here, never dropped.
            "unmapped_items": prepared.unmapped,
        },
        identified_data=(
            {"source": serial_links.ATENA_SOURCE_SERIAL_LINK, "atena_number": atena}
            if atena
            else None
        ),
    )
