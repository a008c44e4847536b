"""要再申請 on the portal: the status page shows what to fix, the resident corrects the same
application with the same multi-step form and resubmits; then the staff decide."""

import pytest
from django.core import mail

from madoguchi.applications import staff_actions
from madoguchi.applications.models import AnswerRevision, Application, Status
from madoguchi.tenants.models import StaffMembership

from .conftest import html, location
from .test_apply import CLAIMANT
from .test_status import submitted  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

FIX = "口座名義が請求者と異なります。請求者ご本人の電話番号と口座を確認してください。"


@pytest.fixture
def staff(django_user_model, chiyoda):
    user = django_user_model.objects.create_user("kodomo-staff")
    StaffMembership.objects.create(user=user, municipality=chiyoda, role="admin")
    return user


@pytest.fixture
def returned(submitted, staff, django_capture_on_commit_callbacks):  # noqa: F811
    application, token = submitted
    with django_capture_on_commit_callbacks(execute=True):
        staff_actions.change_status(
            application, "returned", user=staff, message=FIX, expected_version=0
        )
    application.refresh_from_db()
    return application, token


def test_resubmission_journey(client, returned, staff, django_capture_on_commit_callbacks):
    application, token = returned
    status_url = f"/131016/status/{token}/"
    assert mail.outbox[-1].subject.startswith("【千代田区】申請の状況が「要再申請」になりました")
    assert FIX in mail.outbox[-1].body

    # The status page shows the request prominently, with the button.
    page = html(client.get(status_url))
    assert 'id="status">要再申請<' in page
    assert 'id="correction-request"' in page
    assert page.index('id="correction-request"') < page.index('id="status-summary"')
    assert f'<p class="dads-timeline__message" id="correction-message">{FIX}</p>' in page
    assert f'href="/131016/apply/{token}/confirm/" id="resubmit-link"' in page
    assert "内容を修正して再申請する" in page
    assert "状況が「要再申請」になりました" in page
    assert f"修正をお願いする内容：{FIX}" in page

    # 「内容を修正して再申請する」: the confirmation page of the same application, prefilled.
    confirm_url = f"/131016/apply/{token}/confirm/"
    page = html(client.get(confirm_url))
    assert "担当課から修正を求められている内容" in page
    assert FIX in page
    assert "この内容で再申請する" in page
    assert "03-1234-5678" in page
    assert f'href="/131016/apply/{token}/claimant/?return=confirm"' in page
    assert "この申請フォームについてのご意見" not in page

    # Edit one step of the same multi-step form: previous answers are prefilled.
    step_url = f"/131016/apply/{token}/claimant/"
    page = html(client.get(step_url + "?return=confirm"))
    assert 'value="03-1234-5678"' in page
    assert "担当課から修正を求められている内容" in page
    response = client.post(
        step_url, {**CLAIMANT, "claimant_phone": "03-9876-5432", "return": "confirm"}
    )
    assert location(response) == confirm_url
    # Until the resubmission the staff keep seeing what was submitted.
    stored = Application.objects.get(pk=application.pk)
    assert stored.status == Status.RETURNED
    assert stored.answers["claimant_phone"] == application.answers["claimant_phone"]
    assert "03-9876-5432" in html(client.get(confirm_url))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(confirm_url)
    assert location(response) == f"/131016/receipt/{token}/"
    page = html(client.get(f"/131016/receipt/{token}/"))
    assert "再申請を受け付けました" in page
    assert application.receipt_number in page
    assert 'id="resubmitted-at"' in page
    assert mail.outbox[-1].subject.startswith("【千代田区】再申請を受け付けました")
    assert f"http://testserver/131016/status/{token}/" in mail.outbox[-1].body

    application.refresh_from_db()
    assert application.status == Status.RECEIVED
    revisions = list(AnswerRevision.objects.filter(application=application).order_by("number"))
    assert [r.number for r in revisions] == [1, 2]
    assert "9876" not in str(revisions[0].answers["claimant_phone"])
    assert "9876" in str(revisions[1].answers["claimant_phone"])
    assert application.answers == revisions[1].answers

    # The edit link does not work any more; the status page shows the whole history.
    assert client.get(confirm_url).status_code == 404
    page = html(client.get(status_url))
    assert 'id="status">受付<' in page
    assert 'id="correction-request"' not in page
    history = page[page.index('id="history"') :]
    for text in ("申請を受け付けました", FIX, "修正した内容で再申請しました"):
        assert text in history
    assert history.index(FIX) < history.index("修正した内容で再申請しました")

    # Internal notes never reach the applicant; the decision does.
    staff_actions.add_note(application, "内部メモ：口座は電話で確認済み", user=staff)
    with django_capture_on_commit_callbacks(execute=True):
        staff_actions.change_status(
            application,
            "completed",
            user=staff,
            message="支給が決定しました。通知書を郵送します。",
            expected_version=application.lock_version,
        )
    page = html(client.get(status_url))
    assert 'id="status">完了<' in page
    assert "状況が「完了」になりました" in page
    assert "支給が決定しました。通知書を郵送します。" in page
    assert "内部メモ" not in page
    assert 'id="withdraw-link"' not in page
    last = mail.outbox[-1]
    assert last.subject == (
        f"【千代田区】申請の状況が「完了」になりました（受付番号 {application.receipt_number}）"
    )
    assert "支給が決定しました。" in last.body
    assert "内部メモ" not in "".join(m.body for m in mail.outbox)


def test_resume_link_with_the_status_token_opens_the_confirmation(client, returned):
    _application, token = returned
    assert location(client.get(f"/131016/apply/{token}/")) == f"/131016/apply/{token}/confirm/"


def test_save_during_correction_returns_to_the_status_page(client, returned):
    application, token = returned
    response = client.post(
        f"/131016/apply/{token}/claimant/",
        {**CLAIMANT, "claimant_phone": "03-1111-2222", "_action": "save"},
    )
    assert location(response) == f"/131016/status/{token}/"
    page = html(client.get(f"/131016/status/{token}/"))
    assert "修正中の内容を保存しました。" in page
    # what was typed is kept for the next visit
    assert 'value="03-1111-2222"' in html(client.get(f"/131016/apply/{token}/claimant/"))
    assert client.get(f"/131016/apply/{token}/save/").status_code == 302
    application.refresh_from_db()
    assert application.status == Status.RETURNED


def test_back_from_the_first_step_returns_to_the_status_page(client, returned):
    _application, token = returned
    response = client.post(
        f"/131016/apply/{token}/requirements/", {"requirements_notice": "1", "_action": "back"}
    )
    assert location(response) == f"/131016/status/{token}/"


def test_withdraw_while_returned(client, returned, django_capture_on_commit_callbacks):
    application, token = returned
    page = html(client.get(f"/131016/status/{token}/"))
    assert 'id="withdraw-link"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/131016/status/{token}/withdraw/", {"reason": "転出のため"})
    assert location(response) == f"/131016/status/{token}/"
    application.refresh_from_db()
    assert application.status == Status.WITHDRAWN
    page = html(client.get(f"/131016/status/{token}/"))
    assert 'id="resubmit-link"' not in page
    assert client.get(f"/131016/apply/{token}/confirm/").status_code == 404


def test_status_token_does_not_open_the_form_unless_returned(client, submitted):  # noqa: F811
    _application, token = submitted
    assert client.get(f"/131016/apply/{token}/confirm/").status_code == 404
    assert client.get(f"/131016/apply/{token}/claimant/").status_code == 404
    page = html(client.get(f"/131016/status/{token}/"))
    assert 'id="resubmit-link"' not in page


def test_resolved_otherwise_closes_the_correction(client, returned, staff):
    application, token = returned
    staff_actions.change_status(
        application,
        "in_progress",
        user=staff,
        message="お電話で確認できました。",
        expected_version=application.lock_version,
    )
    assert client.get(f"/131016/apply/{token}/confirm/").status_code == 404
    page = html(client.get(f"/131016/status/{token}/"))
    assert 'id="status">処理中<' in page
    assert "お電話で確認できました。" in page
