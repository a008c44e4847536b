"""The scanned paper form (紙の申請書) that comes with a paper (紙) application.

The upload is checked by the form engine's own file field — the type is detected from the
content (PDF, JPEG or PNG), never from the name — and stored as an Attachment with
field_key `_paper_scan` (a key no form can use: form keys start with a letter).
"""

from django.utils.translation import gettext as _

from madoguchi.applications import retention, services
from madoguchi.applications.models import Application, Channel
from madoguchi.formengine import rendering, validation
from madoguchi.formengine.schema import parse_form

PAPER_SCAN_KEY = "_paper_scan"
STEP_KEY = "scan"
FIELD_KEY = "paper_scan"


def scan_form():
    return parse_form(
        {
            "title": _("紙の申請書の登録"),
            "steps": [
                {
                    "key": STEP_KEY,
                    "title": _("紙の申請書"),
                    "fields": [
                        {
                            "key": FIELD_KEY,
                            "type": "file",
                            "label": _("紙の申請書のスキャンデータ"),
                            "help": _(
                                "窓口や郵送で受け取った申請書をスキャンしたファイル"
                                "（PDF、JPEG、PNG）を添付してください。"
                            ),
                            "required": True,
                            "accept": ["pdf", "jpeg", "png"],
                            "max_size_mb": 20,
                        }
                    ],
                }
            ],
        },
        "paper_scan",
    )


def render_scan_field(errors) -> str:
    return rendering.render_step(scan_form(), STEP_KEY, {}, errors, {})


def start_paper_draft(procedure, *, user, files) -> tuple[Application | None, list]:
    """A paper draft with its scan attached, or (None, errors) — then nothing is kept.

    The scan goes to storage (object storage in production: a network call) outside any
    database transaction, so a slow storage never holds a transaction open; a refused scan
    discards the draft it was meant for."""
    form = scan_form()
    application, _token = services.start_draft(procedure, channel=Channel.PAPER, entered_by=user)

    def store_file(field, uploaded, detected):
        return services.store_attachment(
            application, PAPER_SCAN_KEY, uploaded, content_type=detected.content_type
        )

    try:
        result = validation.validate_step(
            form,
            STEP_KEY,
            {},
            {},
            {FIELD_KEY: files.getlist(FIELD_KEY)},
            store_file,
        )
    except BaseException:
        retention.discard_draft(application)
        raise
    if not result.ok:
        retention.discard_draft(application)
        return None, list(result.errors)
    return application, []


def scan_of(application: Application):
    return application.attachments.filter(field_key=PAPER_SCAN_KEY).order_by("pk").last()


def missing_scan_errors(application: Application) -> list[str]:
    if application.channel == Channel.PAPER and scan_of(application) is None:
        return [_("紙の申請書のスキャンデータを添付してください。")]
    return []
