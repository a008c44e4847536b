"""The one font every PDF of madoguchi draws Japanese text with.

What a resident typed is what is printed: names hold kanji outside JIS X 0208 and outside the
BMP (𠮷 U+20BB7, 𩸽 U+29E3D, 髙, 﨑). reportlab's built-in CID fonts (HeiseiKakuGo) stop at
Adobe-Japan1 as the reader maps it and draw those as blanks, so the PDF embeds a TrueType
font instead: IPAmj明朝 (Debian `fonts-ipamj-mincho`, IPA Font License), which covers the
MJ character set of about 58,000 ideographs (JIS X 0213 and more). reportlab embeds only
the glyphs used (a subset per 256 characters), so a receipt stays small.

reportlab embeds TrueType (glyf) outlines only, not CFF: Noto Sans CJK (OTF) cannot be used.
`MADOGUCHI_PDF_FONT` (setting `PDF_FONT_PATH`) names another TrueType file. The font is
installed by tools/ensure-fonts.sh (CI, tests), the Dockerfile and docs/deploy.md; a machine
without it gets `PdfFontMissing` naming the package, and `manage.py check` warns at start.
"""

from __future__ import annotations

import threading
from pathlib import Path

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from reportlab.pdfbase import pdfmetrics, ttfonts

FONT_NAME = "MadoguchiMincho"
DEFAULT_FONT_FILES = (
    "/usr/share/fonts/truetype/ipamj/ipamjm.ttf",  # Debian/Ubuntu fonts-ipamj-mincho
    "/usr/share/fonts/ipamj-mincho/ipamjm.ttf",
)
DEBIAN_PACKAGE = "fonts-ipamj-mincho"

_lock = threading.Lock()
_registered: str | None = None


class PdfFontMissing(ImproperlyConfigured):
    pass


def font_file() -> Path | None:
    """The TrueType file PDFs are drawn with: the setting when given, else the Debian path."""
    configured = getattr(settings, "PDF_FONT_PATH", "")
    candidates = (configured,) if configured else DEFAULT_FONT_FILES
    for candidate in candidates:
        path = Path(candidate)
        if path.is_file():
            return path
    return None


def missing_message() -> str:
    configured = getattr(settings, "PDF_FONT_PATH", "")
    where = f"MADOGUCHI_PDF_FONT={configured}" if configured else ", ".join(DEFAULT_FONT_FILES)
    return (
        f"PDF用フォントがありません（{where}）。"
        f"Debian/Ubuntu では `apt-get install {DEBIAN_PACKAGE}`（tools/ensure-fonts.sh）で"
        "入れるか、MADOGUCHI_PDF_FONT に JIS X 0213 と 𠮷 などを含む TrueType フォントの"
        "パスを指定してください。 / No PDF font: install Debian's "
        f"{DEBIAN_PACKAGE} or set MADOGUCHI_PDF_FONT to a TrueType (glyf) font file."
    )


def pdf_font() -> str:
    """Register the font with reportlab (once per process) and return its name."""
    global _registered
    if _registered is not None:
        return _registered
    with _lock:
        if _registered is None:
            path = font_file()
            if path is None:
                raise PdfFontMissing(missing_message())
            _patch_to_unicode()
            pdfmetrics.registerFont(ttfonts.TTFont(FONT_NAME, str(path)))
            _registered = FONT_NAME
    return _registered


def _to_unicode_cmap(fontname: str, subset: list[int]) -> str:
    """reportlab's ToUnicode CMap for a TrueType subset, with every code point written as
    UTF-16BE as the PDF specification requires. reportlab (up to 5.x at least) writes
    `<20BB7>` for a character outside the BMP, which readers reject: 𠮷 is drawn but cannot
    be copied or searched. Same layout as reportlab's `makeToUnicodeCMap` otherwise."""
    lines = [
        "/CIDInit /ProcSet findresource begin",
        "12 dict begin",
        "begincmap",
        "/CIDSystemInfo",
        f"<< /Registry ({fontname})",
        f"/Ordering ({fontname})",
        "/Supplement 0",
        ">> def",
        f"/CMapName /{fontname} def",
        "/CMapType 2 def",
        "1 begincodespacerange",
        f"<00> <{len(subset) - 1:02X}>",
        "endcodespacerange",
        f"{len(subset)} beginbfchar",
        *(f"<{i:02X}> <{chr(v).encode('utf-16-be').hex().upper()}>" for i, v in enumerate(subset)),
        "endbfchar",
        "endcmap",
        "CMapName currentdict /CMap defineresource pop",
        "end",
        "end",
    ]
    return "\n".join(lines)


def _patch_to_unicode() -> None:
    # reportlab looks the function up in its module at each document build.
    ttfonts.makeToUnicodeCMap = _to_unicode_cmap


@checks.register(checks.Tags.compatibility)
def check_pdf_font(app_configs=None, **kwargs):
    """At start (runserver, migrate, check): say that receipts cannot be made without it."""
    if font_file() is not None:
        return []
    return [
        checks.Warning(
            missing_message(),
            hint="申請受付票（PDF）の作成が失敗します。 / Receipt PDFs cannot be made.",
            id="madoguchi.core.W001",
        )
    ]
