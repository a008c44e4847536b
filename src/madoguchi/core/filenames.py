"""The name a stored file is downloaded under: the applicant's name for it, with the
extension of the type detected from its content (Attachment.content_type), never the one
they typed. A file that is a PDF and an HTML page at once must open as the PDF it was
accepted as, not as a page in the browser from the local disk."""

from __future__ import annotations

import mimetypes
import os

# Types whose extension would let the file act (run script, render markup) when opened.
ACTIVE_TYPES = {
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",
    "text/javascript",
    "application/javascript",
    "application/x-msdownload",
    "application/hta",
    "text/xml",
    "application/xml",
}
KNOWN = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/heic": ".heic",
    "image/tiff": ".tif",
    "text/csv": ".csv",
    "text/plain": ".txt",
}


def extension_for(content_type: str | None) -> str:
    content_type = (content_type or "").split(";")[0].strip().lower()
    if content_type in KNOWN:
        return KNOWN[content_type]
    if not content_type or content_type in ACTIVE_TYPES:
        return ".bin"
    return mimetypes.guess_extension(content_type) or ".bin"


def download_name(original_name: str | None, content_type: str | None) -> str:
    base = os.path.basename((original_name or "").replace("\\", "/"))
    stem = os.path.splitext(base)[0].strip() or "file"
    return stem + extension_for(content_type)
