"""Attachments a resident sends before submitting: bounded, and kept only while something
refers to them.

- Quota: bytes and files per hour, per draft and per client address
  (ATTACHMENT_QUOTA_* settings), counted in the shared cache; an upload past it is refused
  with a message next to the field, and the step keeps everything else typed.
- An upload that nothing refers to any more — replaced or removed on its step, before
  submission — is deleted with its file (`prune_unreferenced`, after every save of a step
  with file fields).
- Staff and API clients see only files that were part of a submitted version
  (`submitted_uids`): an upload made while correcting and not yet resubmitted is not theirs.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from madoguchi.core import ratelimit

from .models import Application, Attachment, Channel, Status

logger = logging.getLogger("madoguchi.applications")
HOUR = 3600


def attachment_uids(value) -> set[str]:
    """The attachment uids named in answers (dicts with an "attachment" key), anywhere."""
    found: set[str] = set()

    def walk(item):
        if isinstance(item, dict):
            if isinstance(item.get("attachment"), str):
                found.add(item["attachment"])
            for sub in item.values():
                walk(sub)
        elif isinstance(item, list):
            for sub in item:
                walk(sub)

    walk(value)
    return found


def _strings(value) -> set[str]:
    found: set[str] = set()

    def walk(item):
        if isinstance(item, str):
            found.add(item)
        elif isinstance(item, dict):
            for sub in item.values():
                walk(sub)
        elif isinstance(item, list):
            for sub in item:
                walk(sub)

    walk(value)
    return found


def _form_managed_keys(application: Application) -> set[str] | None:
    """Field keys whose files come from the form's upload fields (so answers refer to them);
    None when no file of this application is managed that way (マイナポータル packages, whose
    files may be named by no answer). Other files (the paper scan) are always kept."""
    if application.channel == Channel.MYNAPORTAL:
        return None
    return {f.key for f in application.form_version.form.all_fields() if f.type == "file"}


def submitted_uids(application: Application) -> set[str]:
    """Uids of the files staff and API clients may see: those in a submitted version, and
    files that no form field manages (the paper scan, a マイナポータル package's files)."""
    if application.status == Status.DRAFT:
        return set()
    managed = _form_managed_keys(application)
    rows = application.attachments.values_list("uid", "field_key")
    if managed is None:
        return {uid for uid, _key in rows}
    uids = attachment_uids(application.answers)
    for answers in application.revisions.values_list("answers", flat=True):
        uids |= attachment_uids(answers)
    return uids | {uid for uid, key in rows if key not in managed}


def referenced_uids(application: Application) -> set[str]:
    """Uids something still refers to: the answers (being edited or submitted), what was
    typed on each step (files kept across an error), and every submitted version."""
    uids = attachment_uids(application.answers) | attachment_uids(application.draft_values)
    uids |= _strings(application.draft_values)  # "…__keep" lists hold bare uids
    for answers in application.revisions.values_list("answers", flat=True):
        uids |= attachment_uids(answers)
    return uids


def prune_unreferenced(application: Application) -> int:
    """Delete this application's attachments nothing refers to (files after commit)."""
    managed = _form_managed_keys(application)
    if not managed:
        return 0
    application.refresh_from_db(fields=["answers", "draft_values", "status"])
    keep = referenced_uids(application)
    orphans = list(application.attachments.filter(field_key__in=managed).exclude(uid__in=keep))
    for attachment in orphans:
        name = attachment.file.name
        storage = attachment.file.storage
        attachment.delete()
        transaction.on_commit(lambda n=name, s=storage: _delete_file(s, n))
    if orphans:
        logger.info(
            "unreferenced attachments deleted application_id=%s count=%s",
            application.pk,
            len(orphans),
        )
    return len(orphans)


def _delete_file(storage, name: str) -> None:
    try:
        storage.delete(name)
    except Exception:  # S3 errors are not OSErrors; the orphan sweep removes it later
        logger.warning("attachment file not deleted; left to the orphan sweep")


class QuotaExceeded(Exception):
    pass


def quota_message() -> str:
    return _(
        "短い時間に送られたファイルが多すぎるため、このファイルは受け付けられませんでした。"
        "入力した内容と、すでに添付したファイルは保存されています。"
        "1時間ほどたってから、もう一度添付してください。"
    )


def take_upload_quota(application: Application, client: str | None, size: int) -> None:
    """Count one upload of `size` bytes against the draft's and the client address's hourly
    quota; raises QuotaExceeded (nothing counted) when it does not fit."""
    draft = f"application:{application.pk}"
    checks = [
        ("upload-bytes", draft, settings.ATTACHMENT_QUOTA_BYTES_PER_DRAFT, HOUR, size),
        ("upload-files", draft, settings.ATTACHMENT_QUOTA_FILES_PER_DRAFT, HOUR, 1),
    ]
    if client:
        checks += [
            (
                "upload-bytes",
                f"ip:{client}",
                settings.ATTACHMENT_QUOTA_BYTES_PER_CLIENT,
                HOUR,
                size,
            ),
            ("upload-files", f"ip:{client}", settings.ATTACHMENT_QUOTA_FILES_PER_CLIENT, HOUR, 1),
        ]
    if not ratelimit.fits_all(checks):
        raise QuotaExceeded


def attachment_in_submitted_version(application: Application, uid: str) -> Attachment | None:
    if uid not in submitted_uids(application):
        return None
    return application.attachments.filter(uid=uid).first()
