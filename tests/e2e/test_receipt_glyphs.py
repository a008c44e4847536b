"""A resident whose name holds kanji outside JIS X 0208 and outside the BMP (𠮷, 𩸽, 髙, 﨑)
applies on a phone: an emoji in the name is refused with a message naming it, the real name
is accepted, and the receipt PDF they download draws every character of it (embedded
glyph outlines and ink on the rendered page, not only the text layer)."""

from urllib.parse import urljoin

from playwright.sync_api import expect

from tests.pdfglyphs import drawn_characters, embedded_fonts, ink_where

from .journeys import (
    SODAI,
    fill_name,
    press_next,
    sodai_gomi_to_confirm,
    start,
    submit_confirmation,
)

EMAIL = "yoshino@example.jp"
NAME = ("𠮷野", "髙﨑𩸽子", "ヨシノ", "タカサキホッケコ")


def test_receipt_pdf_prints_the_name_as_typed(phone, chiyoda_live):
    page = phone
    start(page, chiyoda_live, SODAI)

    # An emoji is no part of a name: refused, naming it.
    fill_name(page, "applicant_name", "𠮷野😀", "髙﨑𩸽子", "ヨシノ", "タカサキホッケコ")
    press_next(page)
    message = "申込者の氏名の姓に使えない文字が含まれています（「😀」は使えません）。"
    expect(page.locator(".dads-error-summary")).to_contain_text(message)

    sodai_gomi_to_confirm(page, EMAIL, name=NAME)
    expect(page.locator("main")).to_contain_text("𠮷野")
    submit_confirmation(page)

    # The link opens the PDF inline, in Chromium's own viewer, whose page is not the file:
    # fetch what the link points at with the resident's browser context (same cookies).
    link = page.locator("#receipt-pdf-link")
    expect(link).to_be_visible()
    response = page.request.get(urljoin(page.url, link.get_attribute("href")))
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    data = response.body()
    assert data.startswith(b"%PDF")

    fonts = embedded_fonts(data)
    assert all(f["embedded"] for f in fonts if f["subtype"] == "/TrueType"), fonts
    drawn = drawn_characters(data)
    for char in "𠮷野髙﨑𩸽子":
        assert drawn.get(char, 0) != 0, (char, drawn.get(char))
    for char in ["𠮷", "𩸽", "髙", "﨑"]:
        assert ink_where(data, char) > 20, char
