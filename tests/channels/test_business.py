"""Proxy filing (代理申請) by registered businesses such as 介護事業所 (seed §7.2)."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from madoguchi.applications import lifecycle
from madoguchi.applications.models import Application, Channel, Status
from madoguchi.applications.permissions import visible_applications

from .conftest import (
    PASSWORD,
    SMALL_PDF,
    YOUKAIGO_STEPS,
    error_messages,
    html,
    location,
    walk,
)

pytestmark = pytest.mark.django_db

BUSINESS_STEP_RE = r"^/business/apply/(?P<pk>\d+)/(?P<step>[a-z0-9_]+)/"
INCOMPLETE = (
    "入力が済んでいない項目か、誤りのある項目があるため、申請できません。"
    "この画面の項目を確認してください。"
)


def login(username) -> Client:
    client = Client()
    response = client.post(reverse("business:login"), {"username": username, "password": PASSWORD})
    assert location(response) == reverse("business:home")
    return client


def file_youkaigo(client, procedure) -> Application:
    url = location(client.post(reverse("business:new"), {"procedure": procedure.pk}))
    match = re.match(BUSINESS_STEP_RE, url)
    assert match and match.group("step") == "application", url
    card = SimpleUploadedFile("被保険者証.pdf", SMALL_PDF, "application/pdf")
    url = walk(
        client,
        url,
        YOUKAIGO_STEPS,
        url_re=BUSINESS_STEP_RE,
        files={"consent": {"insurance_card": card}},
    )
    application = Application.objects.get(pk=int(match.group("pk")))
    assert url == reverse("business:confirm", args=[application.pk])
    page = html(client.get(url))
    assert "入力内容の確認" in page and "千代田" in page
    application_url = location(client.post(url))
    assert application_url == reverse("business:application", args=[application.pk])
    application.refresh_from_db()
    return application


def test_business_cannot_submit_an_unfinished_form(chiyoda, procedure_of, make_business):
    youkaigo = procedure_of("youkaigo_nintei")
    make_business(chiyoda, "ケアプランセンターちよだ", "care1")
    client = login("care1")
    url = location(client.post(reverse("business:new"), {"procedure": youkaigo.pk}))
    pk = int(re.match(BUSINESS_STEP_RE, url).group("pk"))
    walk(client, url, YOUKAIGO_STEPS[:2], url_re=BUSINESS_STEP_RE)
    # A direct POST to the confirmation with three steps still to fill.
    response = client.post(reverse("business:confirm", args=[pk]))
    assert location(response) == reverse("business:step", args=[pk, "previous"]) + "?check=1"
    page = html(client.get(location(response)))
    assert f">{INCOMPLETE}</li>" in page
    assert error_messages(page)
    application = Application.objects.get(pk=pk)
    assert application.status == Status.DRAFT
    assert not application.receipt_number


def test_business_files_for_a_resident_and_follows_the_application(
    chiyoda, procedure_of, make_business, make_staff
):
    youkaigo = procedure_of("youkaigo_nintei")
    business, member = make_business(chiyoda, "ケアプランセンターちよだ", "care1")

    assert location(Client().get(reverse("business:home"))).startswith(reverse("business:login"))
    client = login("care1")
    assert "代理申請した申請はまだありません。" in html(client.get(reverse("business:home")))

    page = html(client.get(reverse("business:new")))
    assert youkaigo.name in page
    assert procedure_of("suido_shiyou_kaishi").name not in page  # allows_proxy: false

    application = file_youkaigo(client, youkaigo)
    assert application.status == Status.RECEIVED
    assert application.receipt_number
    assert application.channel == Channel.PORTAL
    assert application.proxy_business == business
    assert application.proxy_user == member
    assert application.is_proxy
    # The resident is in the answers; the business is recorded as the proxy.
    assert application.answers["insured_name"]["family"] == "千代田"
    assert application.answers["office_name"] == "ケアプランセンターちよだ"
    assert application.attachments.filter(field_key="insurance_card").count() == 1

    page = html(client.get(reverse("business:application", args=[application.pk])))
    assert application.receipt_number in page
    assert "申請を受け付けました" in page
    assert "受付" in page

    # The municipality's message is shown; its internal note is not.
    staff, _ = make_staff("kaigo1", chiyoda, "kaigo")
    assert application in visible_applications(staff)
    staff_actor = lifecycle.Actor.staff(staff)
    lifecycle.send_message(
        application, "主治医の連絡先を電話でお知らせください。", actor=staff_actor
    )
    lifecycle.add_note(application, "職員だけのメモ", actor=staff_actor)
    page = html(client.get(reverse("business:application", args=[application.pk])))
    assert "主治医の連絡先を電話でお知らせください。" in page
    assert "職員だけのメモ" not in page

    home = html(client.get(reverse("business:home")))
    assert application.receipt_number in home
    assert youkaigo.name in home
    assert "受付" in home
    assert "主治医の連絡先を電話でお知らせください。" in home
    # Filter by status.
    assert application.receipt_number in html(
        client.get(reverse("business:home"), {"status": "received"})
    )
    assert application.receipt_number not in html(
        client.get(reverse("business:home"), {"status": "completed"})
    )


def test_another_business_cannot_see_the_application(chiyoda, procedure_of, make_business):
    make_business(chiyoda, "ケアプランセンターちよだ", "care1")
    make_business(chiyoda, "訪問介護ステーションかんだ", "care2")
    application = file_youkaigo(login("care1"), procedure_of("youkaigo_nintei"))

    other = login("care2")
    assert application.receipt_number not in html(other.get(reverse("business:home")))
    assert other.get(reverse("business:application", args=[application.pk])).status_code == 404

    # Nor a draft of the first business.
    draft_url = location(
        login("care1").post(reverse("business:new"), {"procedure": application.procedure.pk})
    )
    assert other.get(draft_url).status_code == 404
    draft_pk = re.match(BUSINESS_STEP_RE, draft_url).group("pk")
    assert other.get(reverse("business:confirm", args=[draft_pk])).status_code == 404


def test_procedure_without_proxy_is_refused(chiyoda, procedure_of, make_business):
    make_business(chiyoda, "ちよだ不動産", "estate1")
    client = login("estate1")
    suido = procedure_of("suido_shiyou_kaishi")
    response = client.post(reverse("business:new"), {"procedure": suido.pk})
    assert response.status_code == 400
    assert "この手続は代理申請を受け付けていません。" in html(response)
    assert not Application.objects.exists()


def test_business_of_another_town_cannot_file_here(
    chiyoda, other_municipality, procedure_of, make_business
):
    make_business(other_municipality, "苫小牧ケアセンター", "care9")
    client = login("care9")
    response = client.post(
        reverse("business:new"), {"procedure": procedure_of("youkaigo_nintei").pk}
    )
    assert response.status_code == 404
    assert not Application.objects.exists()


def test_user_without_business_gets_404(chiyoda, django_user_model):
    django_user_model.objects.create_user("nobody", password=PASSWORD)
    client = login("nobody")
    assert client.get(reverse("business:home")).status_code == 404
    assert client.get(reverse("business:new")).status_code == 404


def test_wrong_password_is_refused(chiyoda, make_business):
    make_business(chiyoda, "ケアプランセンターちよだ", "care1")
    response = Client().post(reverse("business:login"), {"username": "care1", "password": "wrong"})
    assert response.status_code == 200
    assert "ユーザー名またはパスワードが正しくありません。" in html(response)


def test_business_step_errors_are_the_form_messages(chiyoda, procedure_of, make_business):
    make_business(chiyoda, "ケアプランセンターちよだ", "care1")
    client = login("care1")
    url = location(
        client.post(reverse("business:new"), {"procedure": procedure_of("youkaigo_nintei").pk})
    )
    response = client.post(url, {"_action": "next"})
    assert response.status_code == 200
    assert error_messages(html(response))[:2] == [
        "申請の区分を選択してください。",
        "申請する方を選択してください。",
    ]
