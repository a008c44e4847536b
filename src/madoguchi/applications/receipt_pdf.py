"""申請受付票 (receipt) as an A4 PDF: the same layout for the portal (the resident saves it
after submitting) and the counter (staff print it for the visitor).

Japanese text is drawn with the project's embedded TrueType font (madoguchi.core.pdf_font:
IPAmj明朝, subset-embedded), so a name with 𠮷, 𩸽, 髙 or 﨑 is printed as the resident typed
it. The 受付番号 is drawn in Helvetica (it is ASCII), which keeps it searchable and copyable as
plain text in any reader.
"""

import io
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from madoguchi.core.pdf_font import pdf_font
from madoguchi.jp.check_digits import mask_individual_number
from madoguchi.jp.wareki import format_date

PRIMARY = colors.HexColor("#0017C1")
TEXT = colors.HexColor("#1A1A1A")
LINE = colors.HexColor("#CCCCCC")
SHADE = colors.HexColor("#F2F2F2")


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle(
        "base",
        fontName=font,
        fontSize=10,
        leading=15,
        textColor=TEXT,
        alignment=TA_LEFT,
        wordWrap="CJK",
    )
    return {
        "base": base,
        "title": ParagraphStyle("title", parent=base, fontSize=20, leading=28, spaceAfter=4 * mm),
        "muni": ParagraphStyle("muni", parent=base, fontSize=12, leading=18),
        "h2": ParagraphStyle(
            "h2", parent=base, fontSize=13, leading=20, spaceBefore=6 * mm, spaceAfter=2 * mm
        ),
        "label": ParagraphStyle("label", parent=base, fontSize=9.5, leading=14),
        "number": ParagraphStyle(
            "number", parent=base, fontName="Helvetica-Bold", fontSize=22, leading=28
        ),
        "small": ParagraphStyle("small", parent=base, fontSize=8.5, leading=13),
        "url": ParagraphStyle(
            "url", parent=base, fontName="Helvetica", fontSize=8.5, leading=12, wordWrap=None
        ),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text or "").replace("\n", "<br/>"), style)


def _mask(value: str) -> str:
    """Defence in depth: a bare 12-digit number in a summary is treated as a 個人番号."""
    digits = (value or "").strip()
    if len(digits) == 12 and digits.isdigit():
        return mask_individual_number(digits)
    return value


def _answer_rows(sections, styles, depth: int = 0) -> list[list]:
    rows: list[list] = []
    indent = "　" * depth
    for row in getattr(sections, "rows", sections):
        label = f"{indent}{row.label}"
        children = getattr(row, "children", None)
        if children:
            rows.append([_p(label, styles["label"]), _p(_mask(row.value or ""), styles["base"])])
            for child in children:
                rows.append([_p(f"{indent}　{child.title}", styles["label"]), ""])
                rows.extend(_answer_rows(child.rows, styles, depth + 2))
        else:
            rows.append([_p(label, styles["label"]), _p(_mask(row.value or ""), styles["base"])])
    return rows


def received_text(application) -> str:
    received = timezone.localtime(application.submitted_at)
    return f"{format_date(received.date(), 'both')} {received:%H時%M分}"


def build_receipt_pdf(application, *, status_url: str) -> bytes:
    """The receipt of a submitted application: municipality, procedure, 受付番号, 受付日時
    (和暦 and 西暦), a summary of the answers (個人番号 masked) and the status page URL."""
    from madoguchi.formengine.display import review_sections

    font = pdf_font()
    styles = _styles(font)
    buffer = io.BytesIO()
    municipality = application.municipality
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=_("申請受付票") + f" {application.receipt_number}",
        author=municipality.name,
        subject=f"receipt {application.receipt_number}",
        creator="madoguchi",
    )
    width = A4[0] - 36 * mm
    story: list = [
        _p(f"{municipality.name}　" + _("電子申請"), styles["muni"]),
        _p(_("申請受付票"), styles["title"]),
    ]
    head = Table(
        [
            [
                _p(_("受付番号"), styles["label"]),
                Paragraph(escape(application.receipt_number), styles["number"]),
            ],
            [_p(_("受付日時"), styles["label"]), _p(received_text(application), styles["base"])],
            [_p(_("手続"), styles["label"]), _p(application.procedure.name, styles["base"])],
            [_p(_("申請先"), styles["label"]), _p(municipality.name, styles["base"])],
            [
                _p(_("申請者"), styles["label"]),
                _p(application.applicant_name or "", styles["base"]),
            ],
        ],
        colWidths=[32 * mm, width - 32 * mm],
    )
    head.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.2, PRIMARY),
                ("LINEBELOW", (0, 0), (-1, -2), 0.5, LINE),
                ("BACKGROUND", (0, 0), (0, -1), SHADE),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )
    story += [head, Spacer(1, 4 * mm)]
    story.append(
        _p(
            _(
                "お問い合わせの際は受付番号をお伝えください。審査の状況は次のページで確認できます"
                "（このアドレスを知っている人は申請の内容を見ることができます。取り扱いにご注意ください）。"
            ),
            styles["small"],
        )
    )
    story.append(Paragraph(escape(status_url), styles["url"]))

    story.append(_p(_("申請内容"), styles["h2"]))
    sections = review_sections(application.form_version.form, application.answers)
    for section in sections:
        rows = _answer_rows(section.rows, styles)
        if not rows:
            continue
        table = Table(
            [[_p(section.title, styles["label"]), ""], *rows],
            colWidths=[58 * mm, width - 58 * mm],
            repeatRows=1,
        )
        table.setStyle(
            TableStyle(
                [
                    ("SPAN", (0, 0), (-1, 0)),
                    ("BACKGROUND", (0, 0), (-1, 0), SHADE),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.4, LINE),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("TOPPADDING", (0, 0), (-1, -1), 3),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ]
            )
        )
        story += [table, Spacer(1, 3 * mm)]

    story.append(Spacer(1, 4 * mm))
    issued = timezone.localtime()
    story.append(
        _p(
            _("この受付票は %(when)s に作成しました。個人番号は下4桁のみ表示しています。")
            % {"when": f"{format_date(issued.date(), 'both')} {issued:%H時%M分}"},
            styles["small"],
        )
    )

    def _footer(canvas, doc):
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.setFillColor(colors.HexColor("#4D4D4D"))
        canvas.drawString(18 * mm, 9 * mm, f"{municipality.name}　" + _("申請受付票"))
        canvas.setFont("Helvetica", 8)
        canvas.drawRightString(A4[0] - 18 * mm, 9 * mm, f"{application.receipt_number}  {doc.page}")
        canvas.restoreState()

    document.build(story, onFirstPage=_footer, onLaterPages=_footer)
    return buffer.getvalue()
