"""File uploads: type detected from the content (`filetype`), never from the name."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import filetype
from django.utils.translation import gettext as _

from ..schema import Field
from .base import Ctx, DetectedFile, FieldType, Loc

# kind -> (display name, content type, extension, filetype extensions that count as this kind)
KINDS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "pdf": ("PDF", "application/pdf", "pdf", ("pdf",)),
    "jpeg": ("JPEG", "image/jpeg", "jpg", ("jpg",)),
    "png": ("PNG", "image/png", "png", ("png",)),
    "heic": ("HEIC", "image/heic", "heic", ("heic",)),
}
_HEAD = 8192


class UploadRefused(Exception):
    """Raised by a `store_file` callback to refuse one upload (e.g. a quota) with the
    message shown next to the field; the step's other input is kept."""


_CHUNK = 64 * 1024


def kinds_text(f: Field) -> str:
    return "、".join(KINDS[k][0] for k in f.accept)


def accept_attr(f: Field) -> str:
    """The HTML accept attribute (a hint for the browser's file picker only)."""
    items: list[str] = []
    for kind in f.accept:
        _name, mime, ext, _extension = KINDS[kind]
        items += [f".{ext}", mime]
        if kind == "jpeg":
            items.append(".jpeg")
    return ",".join(items)


def format_mb(mb: float) -> str:
    return str(int(mb)) if float(mb).is_integer() else str(mb)


def format_size(size: int) -> str:
    if size < 1024:
        return f"{size}バイト"
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))}KB"
    return f"{size / (1024 * 1024):.1f}MB"


def safe_filename(name: str | None) -> str:
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    base = "".join(ch for ch in base if ch.isprintable())
    return base[:120] or "（名前のないファイル）"


def _read_all(upload) -> tuple[bytes, int, str]:
    """First bytes, size and sha256 of an upload (Django UploadedFile or any file-like)."""
    if hasattr(upload, "seek"):
        upload.seek(0)
    digest = hashlib.sha256()
    head = b""
    size = 0
    if hasattr(upload, "chunks"):
        chunks = upload.chunks(_CHUNK)
    else:
        chunks = iter(lambda: upload.read(_CHUNK), b"")
    for chunk in chunks:
        if len(head) < _HEAD:
            head += chunk[: _HEAD - len(head)]
        size += len(chunk)
        digest.update(chunk)
    if hasattr(upload, "seek"):
        upload.seek(0)
    return head, size, digest.hexdigest()


def detect(upload) -> tuple[str | None, bytes, int, str]:
    """(kind or None, head, size, sha256) from the content."""
    head, size, sha256 = _read_all(upload)
    guess = filetype.guess(head) if head else None
    kind = None
    if guess is not None:
        for name, (_label, _mime, _ext, exts) in KINDS.items():
            if guess.extension in exts:
                kind = name
                break
    return kind, head, size, sha256


class FileType(FieldType):
    list_inputs = ("keep",)

    def input_names(self, f: Field, loc: Loc) -> list[tuple[str, bool]]:
        # The uploads themselves arrive in request.FILES; only the kept attachment ids are raw.
        return [(loc.input_name("keep"), True)]

    def first_part(self, f: Field) -> str | None:
        return None

    def required_message(self, f: Field, loc: Loc) -> str:
        return _("%(label)sを添付してください。") % {"label": loc.label}

    def validate(self, f: Field, loc: Loc, ctx: Ctx, required: bool) -> Any:
        kept: list[dict] = []
        for uid in ctx.getlist(loc.input_name("keep")):
            info = ctx.known_files.get(uid)
            if info is not None and info not in kept:
                kept.append(info)
        uploads = [u for u in (ctx.uploads.get(loc.name) or []) if u is not None]
        if ctx.peek:
            return kept or None
        ok = True
        accepted: list[tuple[Any, DetectedFile]] = []
        max_bytes = int(f.max_size_mb * 1024 * 1024)
        for upload in uploads:
            name = safe_filename(getattr(upload, "name", ""))
            kind, _head, size, sha256 = detect(upload)
            if size == 0:
                ctx.error(
                    loc,
                    _("「%(name)s」は空のファイルです。内容のあるファイルを添付してください。")
                    % {"name": name},
                    rule="file_empty",
                )
                ok = False
                continue
            if size > max_bytes:
                mb = format_mb(f.max_size_mb)
                ctx.error(
                    loc,
                    _(
                        "「%(name)s」は%(mb)sMBを超えています。"
                        "%(mb)sMB以下のファイルを添付してください。"
                    )
                    % {"name": name, "mb": mb},
                    rule="file_size",
                )
                ok = False
                continue
            if kind is None or kind not in f.accept:
                ctx.error(
                    loc,
                    _(
                        "%(label)sに添付できるのは%(kinds)sのファイルです"
                        "（「%(name)s」は対応していない形式です）。"
                    )
                    % {"label": loc.label, "kinds": kinds_text(f), "name": name},
                    rule="file_type",
                )
                ok = False
                continue
            _label, mime, ext, _extension = KINDS[kind]
            accepted.append((upload, DetectedFile(kind, mime, ext, size, sha256, name)))
        if len(kept) + len(accepted) > f.max_files:
            ctx.error(
                loc,
                _(
                    "%(label)sは%(n)s件まで添付できます"
                    "（現在%(count)s件）。不要なファイルを外してください。"
                )
                % {"label": loc.label, "n": f.max_files, "count": len(kept) + len(accepted)},
                rule="file_count",
            )
            return None
        stored = list(kept)
        if ctx.store_file is not None:
            for upload, detected in accepted:
                try:
                    info = ctx.store_file(f, upload, detected)
                except UploadRefused as refused:
                    ctx.error(loc, str(refused), rule="file_quota")
                    ok = False
                    continue
                stored.append(info)
                ctx.known_files[info["attachment"]] = info
                if ctx.raw_out is not None:
                    keep_name = loc.input_name("keep")
                    keep = list(ctx.raw_out.get(keep_name) or [])
                    if isinstance(keep, str):
                        keep = [keep]
                    keep.append(info["attachment"])
                    ctx.raw_out[keep_name] = keep
        if not ok:
            return None
        if not stored:
            if required:
                ctx.error(loc, self.required_message(f, loc), rule="required")
            return None
        return stored

    def to_raw(self, f: Field, value: Any, loc: Loc, out: dict) -> None:
        out[loc.input_name("keep")] = [info["attachment"] for info in value or []]

    def display(self, f: Field, value: Any) -> str:
        return "、".join(
            f"{info.get('name', '')}（{format_size(int(info.get('size', 0)))}）"
            for info in value or []
        )
