"""A business (介護事業所) after filing: the 受付 mail with its own link, the municipality's
notices as each case's latest notice, correction and resubmission after 要再申請, and
withdrawal — the same rules as a resident's, on the business's pages."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from madoguchi.applications import staff_actions
from madoguchi.applications.models import AnswerRevision, Application, ApplicationEvent, Status

from .conftest import PASSWORD, html, location
from .test_business import file_youkaigo, login

pytestmark = pytest.mark.django_db

FIX = "被保険者番号が確認できません。被保険者証の番号をもう一度ご確認ください。"
NOTE = "主治医意見書の依頼先を確認しています。"


@pytest.fixture
def filed(chiyoda, procedure_of, make_business, make_staff, django_capture_on_commit_callbacks):
    """(business client, application, staff user) after the business filed 要介護認定."""
    business, _member = make_business(chiyoda, "ケアプランセンターちよだ", "care1")
    client = login("care1")
    with django_capture_on_commit_callbacks(execute=True):
        application = file_youkaigo(client, procedure_of("youkaigo_nintei"))
    staff, _staff_client = make_staff("kaigo1", chiyoda, "kaigo")
    return client, application, staff


def _return(application, staff, callbacks, *, message=FIX):
    with callbacks(execute=True):
        staff_actions.change_status(
            application,
            Status.RETURNED,
            user=staff,
            message=message,
            expected_version=Application.objects.get(pk=application.pk).lock_version,
        )


def test_the_business_gets_the_receipt_mail_with_its_own_link(filed):
    _client, application, _staff = filed
    sent = [m for m in mail.outbox if m.to == ["care1@example.jp"]]
    assert len(sent) == 1
    assert sent[0].subject == (
        f"【千代田区】申請を受け付けました（受付番号 {application.receipt_number}）"
    )
    link = f"http://testserver/business/cases/{application.pk}/"
    assert link in sent[0].body
    # The link is the business's case page: it needs the business login, and works with it.
    assert location(Client().get(link)).startswith(reverse("business:login"))
    client = Client()
    client.post(reverse("business:login"), {"username": "care1", "password": PASSWORD})
    assert application.receipt_number in html(client.get(link))


def test_every_notice_is_the_latest_notice_in_the_list_and_on_the_application_page(
    filed, django_capture_on_commit_callbacks
):
    client, application, staff = filed
    application_url = reverse("business:application", args=[application.pk])
    with django_capture_on_commit_callbacks(execute=True):
        staff_actions.send_message(application, NOTE, user=staff)
    assert NOTE in html(client.get(reverse("business:home")))

    # The return reason is a status change's message, not a 「メッセージ」: it is the latest
    # notice too.
    _return(application, staff, django_capture_on_commit_callbacks)
    home = html(client.get(reverse("business:home")))
    row = re.search(rf"{application.receipt_number}.*?</tr>", home, re.S).group(0)
    assert FIX in row and NOTE not in row and "要再申請" in row

    page = html(client.get(application_url))
    latest = re.search(r'id="latest-notice".*?</li>', page, re.S).group(0)
    assert FIX in latest
    assert NOTE in page[page.index('id="municipality-messages"') :]
    assert f'<p class="dads-timeline__message" id="correction-message">{FIX}</p>' in page
    # Internal notes never reach the business.
    staff_actions.add_note(application, "職員だけのメモ", user=staff)
    assert "職員だけのメモ" not in html(client.get(application_url))
    assert "職員だけのメモ" not in html(client.get(reverse("business:home")))


def test_the_business_corrects_and_resubmits_a_returned_application(
    filed, django_capture_on_commit_callbacks
):
    client, application, staff = filed
    staff_actions.change_status(application, Status.IN_PROGRESS, user=staff, expected_version=0)
    _return(application, staff, django_capture_on_commit_callbacks)
    assert "要再申請" in mail.outbox[-1].subject
    assert "care1@example.jp" in {address for m in mail.outbox for address in m.to}

    application_url = reverse("business:application", args=[application.pk])
    confirm_url = reverse("business:confirm", args=[application.pk])
    page = html(client.get(application_url))
    assert f'href="{confirm_url}" id="resubmit-link"' in page

    page = html(client.get(confirm_url))
    assert "担当課から修正を求められている内容" in page and FIX in page
    assert "この内容で再申請する" in page

    step_url = reverse("business:step", args=[application.pk, "insured"])
    page = html(client.get(step_url + "?return=confirm"))
    assert 'value="0000012345"' in page and FIX in page
    data = {**_insured_step(), "insured_number": "0000054321", "return": "confirm"}
    assert location(client.post(step_url, data)) == confirm_url
    # Staff keep seeing what was submitted until the resubmission.
    assert Application.objects.get(pk=application.pk).answers["insured_number"] == "0000012345"

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(confirm_url)
    assert location(response) == application_url
    application.refresh_from_db()
    # Back to where staff left it (処理中), not to 受付.
    assert application.status == Status.IN_PROGRESS
    assert application.answers["insured_number"] == "0000054321"
    assert list(
        AnswerRevision.objects.filter(application=application).values_list("number", flat=True)
    ) == [1, 2]
    event = application.events.get(kind=ApplicationEvent.Kind.RESUBMITTED)
    assert (event.from_status, event.to_status) == (Status.RETURNED, Status.IN_PROGRESS)
    page = html(client.get(application_url))
    assert "再申請を受け付けました。" in page
    assert 'id="resubmitted-at"' in page
    assert "修正した内容で再申請しました" in page
    # The history reads as on the resident's status page: the return says what to fix.
    assert f"修正をお願いする内容：{FIX}" in page
    assert 'id="resubmit-link"' not in page
    assert mail.outbox[-1].subject.startswith("【千代田区】再申請を受け付けました")
    assert mail.outbox[-1].to == ["care1@example.jp"]
    # No longer editable.
    assert client.get(confirm_url).status_code == 404
    assert client.get(step_url).status_code == 404


def test_the_business_withdraws_an_application(filed, django_capture_on_commit_callbacks):
    client, application, _staff = filed
    application_url = reverse("business:application", args=[application.pk])
    withdraw_url = reverse("business:withdraw", args=[application.pk])
    assert f'href="{withdraw_url}" id="withdraw-link"' in html(client.get(application_url))
    page = html(client.get(withdraw_url))
    assert "この申請を取り下げますか" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(withdraw_url, {"reason": "入院のため申請を見合わせます。"})
    assert location(response) == application_url
    application.refresh_from_db()
    assert application.status == Status.WITHDRAWN
    event = application.events.get(kind=ApplicationEvent.Kind.WITHDRAWN)
    assert event.actor_user.username == "care1"
    assert event.message == "入院のため申請を見合わせます。"
    assert mail.outbox[-1].subject.startswith("【千代田区】申請を取り下げました")
    assert mail.outbox[-1].to == ["care1@example.jp"]
    page = html(client.get(application_url))
    assert "申請を取り下げました" in page and 'id="withdraw-link"' not in page
    assert "取り下げの理由：入院のため申請を見合わせます。" in page
    # The applicant's own words are not a notice from the municipality.
    assert 'id="latest-notice"' not in page

    response = client.post(withdraw_url, {"reason": ""})
    assert response.status_code == 409
    assert "この申請は「取り下げ」のため、取り下げできません。" in html(response)


def test_another_business_cannot_correct_or_withdraw(
    filed, make_business, chiyoda, django_capture_on_commit_callbacks
):
    _client, application, staff = filed
    _return(application, staff, django_capture_on_commit_callbacks)
    make_business(chiyoda, "訪問介護ステーションかんだ", "care2")
    other = login("care2")
    assert other.get(reverse("business:confirm", args=[application.pk])).status_code == 404
    step_url = reverse("business:step", args=[application.pk, "insured"])
    assert other.get(step_url).status_code == 404
    response = other.post(reverse("business:withdraw", args=[application.pk]))
    assert response.status_code == 404
    assert Application.objects.get(pk=application.pk).status == Status.RETURNED


def _insured_step() -> dict:
    from .conftest import YOUKAIGO_STEPS

    return dict(YOUKAIGO_STEPS)["insured"]
