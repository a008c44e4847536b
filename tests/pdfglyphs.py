"""What a PDF really draws, beyond its text layer: the glyph outlines embedded for each
character, and the ink on a rasterised page where a character is placed.

The text layer alone proves nothing: a PDF can carry 𠮷 in its text while drawing a blank (as
reportlab's CID fonts did). These helpers read the embedded TrueType subsets (pypdf +
fontTools) and render pages (pypdfium2, PDFium)."""

from __future__ import annotations

import io
import re

import pypdf
import pypdfium2 as pdfium
from fontTools.ttLib import TTFont

_BFCHAR_RE = re.compile(r"<([0-9A-Fa-f]{2,4})>\s*<([0-9A-Fa-f]+)>")


def embedded_fonts(data: bytes) -> list[dict]:
    """Every font of every page: {"base_font", "subtype", "embedded": bool}."""
    out = []
    for page in pypdf.PdfReader(io.BytesIO(data)).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            descriptor = font.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            out.append(
                {
                    "base_font": str(font.get("/BaseFont")),
                    "subtype": str(font.get("/Subtype")),
                    "embedded": any(
                        k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")
                    ),
                }
            )
    return out


def drawn_characters(data: bytes) -> dict[str, int]:
    """Each character drawn with an embedded TrueType subset → the number of contours of the
    glyph that draws it (0: an empty glyph, i.e. a blank; -1: a composite glyph)."""
    drawn: dict[str, int] = {}
    for page in pypdf.PdfReader(io.BytesIO(data)).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            if font.get("/Subtype") != "/TrueType" or "/ToUnicode" not in font:
                continue
            to_unicode = font["/ToUnicode"].get_object().get_data().decode("latin-1")
            codes = {
                int(code, 16): bytes.fromhex(text).decode("utf-16-be")
                for block in re.findall(r"beginbfchar(.*?)endbfchar", to_unicode, re.S)
                for code, text in _BFCHAR_RE.findall(block)
            }
            program = font["/FontDescriptor"].get_object()["/FontFile2"].get_object().get_data()
            tt = TTFont(io.BytesIO(program))
            cmap = {}
            for table in tt["cmap"].tables:
                cmap.update(table.cmap)
            glyf = tt["glyf"]
            for code, char in codes.items():
                name = cmap.get(code)
                if name is None:
                    continue
                contours = glyf[name].numberOfContours
                if char not in drawn or drawn[char] == 0:
                    drawn[char] = contours
    return drawn


def ink_where(data: bytes, text: str, *, page_index: int = 0, scale: float = 3.0) -> int:
    """How many dark pixels the rasterised page has inside the boxes of the first place where
    `text` is drawn (found through the text layer, measured on the bitmap)."""
    document = pdfium.PdfDocument(data)
    try:
        page = document[page_index]
        textpage = page.get_textpage()
        # PDFium numbers the characters of a page in UTF-16 code units (𠮷 is two), and its
        # search does not find characters outside the BMP: look in the UTF-16 text instead.
        units = textpage.get_text_range(0, textpage.count_chars()).encode("utf-16-le")
        wanted = text.encode("utf-16-le")
        offset = next(
            (i for i in range(0, len(units) - len(wanted) + 1, 2) if units.startswith(wanted, i)),
            None,
        )
        if offset is None:
            raise AssertionError(f"{text!r} is not in the text layer")
        index, count = offset // 2, len(wanted) // 2
        image = page.render(scale=scale, grayscale=True).to_pil().convert("L")
        height = image.height
        dark = 0
        # Both halves of a surrogate pair share one box: count each box once.
        for left, bottom, right, top in dict.fromkeys(
            textpage.get_charbox(i) for i in range(index, index + count)
        ):
            box = (
                int(left * scale),
                int(height - top * scale),
                int(right * scale) + 1,
                int(height - bottom * scale) + 1,
            )
            if box[2] <= box[0] or box[3] <= box[1]:
                continue
            dark += sum(image.crop(box).histogram()[:128])
        return dark
    finally:
        document.close()
