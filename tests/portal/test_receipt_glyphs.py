"""The receipt PDF prints what the resident typed: kanji outside JIS X 0208 and outside the
BMP (𠮷 U+20BB7, 𩸽 U+29E3D, 髙, 﨑) are drawn by a subset-embedded TrueType font, checked in
the embedded glyph outlines and on the rasterised page, not only in the text layer."""

import io

import pypdf
import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from madoguchi.core import pdf_font
from tests.pdfglyphs import drawn_characters, embedded_fonts, ink_where

from .test_status import submitted  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

FAMILY, GIVEN = "𠮷野", "髙﨑𩸽子"
NAME = f"{FAMILY}\u3000{GIVEN}"


@pytest.fixture
def receipt(client, submitted):  # noqa: F811
    application, token = submitted
    answers = dict(application.answers)
    answers["claimant_name"] = {**answers["claimant_name"], "family": FAMILY, "given": GIVEN}
    application.answers = answers
    application.applicant_name = NAME
    application.save(update_fields=["answers", "applicant_name"])
    response = client.get(f"/131016/status/{token}/receipt.pdf")
    assert response.status_code == 200
    return application, response.content


def test_names_outside_jis_x_0208_are_printed(receipt):
    application, data = receipt
    # Every font that draws Japanese is an embedded TrueType subset ("ABCDEF+Name",
    # PDF 32000-1 §9.6.4); only the standard Helvetica of the 受付番号 (ASCII) is not embedded.
    fonts = embedded_fonts(data)
    japanese = [f for f in fonts if f["subtype"] == "/TrueType"]
    assert japanese, fonts
    for font in japanese:
        assert font["embedded"] and font["base_font"][7:8] == "+", font
    assert {f["base_font"] for f in fonts if not f["embedded"]} <= {
        "/Helvetica",
        "/Helvetica-Bold",
    }
    # The glyphs embedded for the name have outlines (a blank glyph has 0 contours).
    drawn = drawn_characters(data)
    for char in "𠮷野髙﨑𩸽子申請受付票":
        assert drawn.get(char, 0) != 0, (char, drawn.get(char))
    # The text layer (copy, search, screen readers) carries the name as typed.
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)
    assert FAMILY in text and GIVEN in text
    assert application.receipt_number in text
    # And the rasterised page has ink where each of them is placed.
    for char in ["𠮷", "𩸽", "髙", "﨑"]:
        assert ink_where(data, char) > 20, char


def test_a_missing_font_is_a_clear_error_and_a_startup_warning(settings, monkeypatch, tmp_path):
    settings.PDF_FONT_PATH = str(tmp_path / "nowhere.ttf")
    monkeypatch.setattr(pdf_font, "_registered", None)
    with pytest.raises(ImproperlyConfigured) as caught:
        pdf_font.pdf_font()
    assert "fonts-ipamj-mincho" in str(caught.value)
    assert "MADOGUCHI_PDF_FONT" in str(caught.value)
    warnings = [m for m in checks.run_checks() if m.id == "madoguchi.core.W001"]
    assert len(warnings) == 1
    assert "fonts-ipamj-mincho" in warnings[0].msg


def test_the_installed_font_covers_what_residents_type():
    from fontTools.ttLib import TTFont

    path = pdf_font.font_file()
    assert path is not None, pdf_font.missing_message()
    font = TTFont(str(path), lazy=True)
    assert "glyf" in font  # reportlab embeds TrueType outlines only
    cmap = font.getBestCmap()
    for char in "𠮷𩸽髙﨑塚𡈽々〆ヶ":
        assert ord(char) in cmap, char
