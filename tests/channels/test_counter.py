"""Counter entry (窓口) and paper registration (紙) by staff, through the same form as the
portal (seed §7.3)."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from madoguchi.applications.models import (
    Application,
    ApplicationEvent,
    Attachment,
    Channel,
    Status,
)
from madoguchi.applications.permissions import visible_applications
from tests.conftest import login_with_2fa

from .conftest import (
    SMALL_PDF,
    SUIDO_STEPS,
    error_messages,
    html,
    location,
    walk,
)

pytestmark = pytest.mark.django_db

SUIDO = "suido_shiyou_kaishi"
STAFF_STEP_RE = r"^/staff/counter/(?P<pk>\d+)/(?P<step>[a-z0-9_]+)/"
PORTAL_STEP_RE = r"^/\d{6}/apply/[A-Za-z0-9_-]+/(?P<step>[a-z0-9_]+)/"
CUSTOMER_NUMBER_MESSAGE = "お客さま番号は、数字と「-」で入力してください。"
SCAN_MISSING = "紙の申請書のスキャンデータを添付してください。"
INCOMPLETE = (
    "入力が済んでいない項目か、誤りのある項目があるため、申請できません。"
    "この画面の項目を確認してください。"
)


def start_counter(client, procedure) -> str:
    return location(client.post(reverse("counter:start", args=[procedure.pk])))


def pk_of(url: str) -> int:
    return int(re.match(STAFF_STEP_RE, url).group("pk"))


def test_counter_entry_of_suido_through_every_step(chiyoda, procedure_of, make_staff):
    suido = procedure_of(SUIDO)
    clerk, client = make_staff("suido1", chiyoda, "suido")

    # The procedure is offered on the counter page.
    page = html(client.get(reverse("counter:index")))
    assert suido.name in page
    assert reverse("counter:start_paper", args=[suido.pk]) in page

    url = start_counter(client, suido)
    assert url == reverse("counter:step", args=[pk_of(url), "filer"])
    application = Application.objects.get(pk=pk_of(url))
    assert application.channel == Channel.COUNTER
    assert application.entered_by == clerk
    assert application.status == Status.DRAFT
    assert application.events.filter(
        kind=ApplicationEvent.Kind.ENTERED_BY_STAFF, actor_user=clerk
    ).exists()

    # The first step renders the form's own fields.
    page = html(client.get(url))
    assert "届け出る方" in page
    assert 'name="filer_type"' in page

    url = walk(client, url, SUIDO_STEPS[:1], url_re=STAFF_STEP_RE)
    # One invalid input: the same message as on the portal, next to the field and on top.
    place = dict(SUIDO_STEPS[1][1], customer_number="ABC")
    response = client.post(url, {**place, "_action": "next"})
    assert response.status_code == 200
    page = html(response)
    assert error_messages(page) == [CUSTOMER_NUMBER_MESSAGE]
    assert 'id="f-customer_number"' in page
    assert 'value="ABC"' in page  # what was typed is kept
    # Corrected, then the remaining steps.
    url = walk(client, url, SUIDO_STEPS[1:], url_re=STAFF_STEP_RE)
    assert url == reverse("counter:confirm", args=[application.pk])

    page = html(client.get(url))
    assert "入力内容の確認" in page
    assert "水野" in page
    assert "この内容で受け付ける" in page

    done = location(client.post(url))
    assert done == reverse("counter:done", args=[application.pk])
    application.refresh_from_db()
    assert application.status == Status.RECEIVED
    assert re.fullmatch(r"\d{4}-\d{6}", application.receipt_number)
    assert application.channel == Channel.COUNTER
    assert application.entered_by == clerk
    assert application.applicant_name == "水野　花子"
    page = html(client.get(done))
    assert application.receipt_number in page

    # The receipt for the visitor, with the link to their status page.
    pdf = client.get(reverse("counter:receipt_pdf", args=[application.pk]))
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")

    # The case is in the inbox of 水道課 and 下水道課 (seed §7.3), not of another department.
    water_user, _ = make_staff("suido2", chiyoda, "suido")
    sewer_user, _ = make_staff("gesuido1", chiyoda, "gesuido")
    child_user, _ = make_staff("kodomo1", chiyoda, "kodomo")
    assert application in visible_applications(water_user)
    assert application in visible_applications(sewer_user)
    assert application not in visible_applications(child_user)


def test_counter_shows_the_same_message_as_the_portal(chiyoda, procedure_of, make_staff):
    suido = procedure_of(SUIDO)
    place = dict(SUIDO_STEPS[1][1], customer_number="ABC")

    resident = Client()
    url = location(resident.post(f"/{chiyoda.lg_code}/procedures/{SUIDO}/start/"))
    url = walk(resident, url, SUIDO_STEPS[:1], url_re=PORTAL_STEP_RE)
    portal_page = html(resident.post(url, {**place, "_action": "next"}))

    _clerk, client = make_staff("suido1", chiyoda, "suido")
    url = walk(client, start_counter(client, suido), SUIDO_STEPS[:1], url_re=STAFF_STEP_RE)
    counter_page = html(client.post(url, {**place, "_action": "next"}))

    assert error_messages(counter_page) == error_messages(portal_page) == [CUSTOMER_NUMBER_MESSAGE]


def test_confirmation_sends_back_to_an_unfinished_step(chiyoda, procedure_of, make_staff):
    _clerk, client = make_staff("suido1", chiyoda, "suido")
    first = start_counter(client, procedure_of(SUIDO))
    url = walk(client, first, SUIDO_STEPS[:2], url_re=STAFF_STEP_RE)
    application = Application.objects.get(pk=pk_of(url))
    response = client.post(reverse("counter:confirm", args=[application.pk]))
    assert location(response) == reverse("counter:step", args=[application.pk, "user"]) + (
        "?check=1"
    )
    # The lifecycle refused the submission: the clerk reads why, with the step's errors.
    page = html(client.get(location(response)))
    assert f">{INCOMPLETE}</li>" in page
    assert error_messages(page)
    application.refresh_from_db()
    assert application.status == Status.DRAFT
    assert not application.receipt_number


def test_paper_registration_requires_the_scan(chiyoda, procedure_of, make_staff):
    suido = procedure_of(SUIDO)
    clerk, client = make_staff("suido1", chiyoda, "suido")
    paper_url = reverse("counter:start_paper", args=[suido.pk])
    assert client.get(paper_url).status_code == 200

    response = client.post(paper_url, {})
    assert response.status_code == 400
    assert error_messages(html(response)) == [SCAN_MISSING]

    fake = SimpleUploadedFile("申請書.pdf", "これはテキストです".encode(), "application/pdf")
    response = client.post(paper_url, {"paper_scan": fake})
    assert response.status_code == 400
    assert error_messages(html(response)) == [
        "紙の申請書のスキャンデータに添付できるのはPDF、JPEG、PNGのファイルです"
        "（「申請書.pdf」は対応していない形式です）。"
    ]
    assert not Application.objects.filter(channel=Channel.PAPER).exists()
    assert not Attachment.objects.exists()

    scan = SimpleUploadedFile("申請書.pdf", SMALL_PDF, "application/octet-stream")
    url = location(client.post(paper_url, {"paper_scan": scan}))
    application = Application.objects.get(pk=pk_of(url))
    assert application.channel == Channel.PAPER
    assert application.entered_by == clerk
    attachment = application.attachments.get()
    assert attachment.field_key == "_paper_scan"
    assert attachment.content_type == "application/pdf"
    assert attachment.sha256 == Attachment.digest(SMALL_PDF)

    url = walk(client, url, SUIDO_STEPS, url_re=STAFF_STEP_RE)
    page = html(client.get(url))
    assert "申請書.pdf" in page
    location(client.post(url))
    application.refresh_from_db()
    assert application.status == Status.RECEIVED
    assert application.channel == Channel.PAPER
    assert application.receipt_number


def test_paper_draft_without_scan_cannot_be_submitted(chiyoda, procedure_of, make_staff):
    """Defence in depth: a paper draft whose scan is gone is refused at submission."""
    _clerk, client = make_staff("suido1", chiyoda, "suido")
    scan = SimpleUploadedFile("scan.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png")
    url = location(
        client.post(
            reverse("counter:start_paper", args=[procedure_of(SUIDO).pk]), {"paper_scan": scan}
        )
    )
    url = walk(client, url, SUIDO_STEPS, url_re=STAFF_STEP_RE)
    application = Application.objects.get(channel=Channel.PAPER)
    application.attachments.all().delete()
    response = client.post(url)
    assert response.status_code == 400
    assert error_messages(html(response)) == [SCAN_MISSING]
    application.refresh_from_db()
    assert application.status == Status.DRAFT


def test_viewer_and_other_departments_and_towns_get_404(
    chiyoda, other_municipality, procedure_of, make_staff
):
    from madoguchi.catalog.loader import load_standard_templates

    load_standard_templates(other_municipality)
    suido = procedure_of(SUIDO)
    _clerk, client = make_staff("suido1", chiyoda, "suido")
    draft_url = start_counter(client, suido)
    pk = pk_of(draft_url)
    confirm_url = reverse("counter:confirm", args=[pk])

    outsiders = [
        make_staff("viewer1", chiyoda, "suido", role="viewer")[1],
        make_staff("kodomo1", chiyoda, "kodomo")[1],
        make_staff("admin2", other_municipality, role="admin")[1],
    ]
    for outsider in outsiders:
        assert reverse("counter:start", args=[suido.pk]) not in html(
            outsider.get(reverse("counter:index"))
        )
        assert outsider.post(reverse("counter:start", args=[suido.pk])).status_code == 404
        assert outsider.get(reverse("counter:start_paper", args=[suido.pk])).status_code == 404
        assert outsider.get(draft_url).status_code == 404
        assert outsider.post(draft_url, {"filer_type": "user"}).status_code == 404
        assert outsider.get(confirm_url).status_code == 404
        assert outsider.post(confirm_url).status_code == 404

    # An admin of the municipality may enter any of its procedures; so may 下水道課.
    for username, department, role in [
        ("admin1", None, "admin"),
        ("gesuido1", "gesuido", "handler"),
    ]:
        _user, insider = make_staff(username, chiyoda, department, role=role)
        assert insider.get(draft_url).status_code == 200

    # A resident portal link does not reach a staff draft (there is no token to use) and a
    # portal draft is not reachable under /staff/counter/.
    resident = Client()
    portal_url = location(resident.post(f"/{chiyoda.lg_code}/procedures/{SUIDO}/start/"))
    portal_draft = Application.objects.filter(channel=Channel.PORTAL).get()
    assert client.get(reverse("counter:step", args=[portal_draft.pk, "filer"])).status_code == 404
    assert portal_url.startswith(f"/{chiyoda.lg_code}/apply/")


def test_counter_requires_two_factor_login(chiyoda, procedure_of, django_user_model):
    from madoguchi.tenants.models import StaffMembership

    user = django_user_model.objects.create_user("suido1", password="x-test-password-123")
    StaffMembership.objects.create(user=user, municipality=chiyoda, role="admin")
    client = Client()
    response = client.get(reverse("counter:index"))
    assert response.status_code == 302
    client.force_login(user)  # password only, no second factor
    assert client.get(reverse("counter:index")).status_code == 302
    login_with_2fa(client, user)
    assert client.get(reverse("counter:index")).status_code == 200


def test_receipt_pdf_only_for_the_entering_session(chiyoda, procedure_of, make_staff):
    _clerk, client = make_staff("suido1", chiyoda, "suido")
    first = start_counter(client, procedure_of(SUIDO))
    url = walk(client, first, SUIDO_STEPS, url_re=STAFF_STEP_RE)
    location(client.post(url))
    application = Application.objects.get(channel=Channel.COUNTER)
    _colleague, other = make_staff("suido2", chiyoda, "suido")
    assert other.get(reverse("counter:done", args=[application.pk])).status_code == 200
    assert other.get(reverse("counter:receipt_pdf", args=[application.pk])).status_code == 404
