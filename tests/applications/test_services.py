import copy
import re

import pytest
from django.core import mail

from madoguchi.applications import services
from madoguchi.applications.models import Application, ApplicationEvent, Status
from madoguchi.catalog.models import FormVersion

from .conftest import SIMPLE_FORM, make_procedure

ANSWERS = {
    "applicant_name": {
        "family": "山田",
        "given": "花子",
        "family_kana": "ヤマダ",
        "given_kana": "ハナコ",
    },
    "email": "hanako@example.jp",
}


def submitted_application(procedure):
    application, _token = services.start_draft(procedure)
    services.save_step(
        application, "applicant", raw={}, answers=ANSWERS, completed=True, step_index=0
    )
    token = services.submit(application, base_url="http://testserver")
    application.refresh_from_db()
    return application, token


@pytest.mark.django_db
def test_draft_keeps_its_form_version_when_a_new_one_is_published(procedure):
    application, _ = services.start_draft(procedure)
    v2 = FormVersion.new_draft(procedure)
    v2.publish()
    application.refresh_from_db()
    assert application.form_version.number == 1
    assert procedure.versions.get(number=2).status == FormVersion.Status.PUBLISHED


@pytest.mark.django_db
def test_resume_token_finds_the_draft_and_a_new_link_replaces_the_old(
    procedure, django_capture_on_commit_callbacks
):
    application, token = services.start_draft(procedure)
    assert services.find_draft(procedure.municipality, token) == application
    with django_capture_on_commit_callbacks(execute=True):
        new_token = services.send_resume_link(
            application, "hanako@example.jp", base_url="http://testserver"
        )
    assert services.find_draft(procedure.municipality, token) is None
    assert services.find_draft(procedure.municipality, new_token) == application
    assert f"/131016/apply/{new_token}/" in mail.outbox[0].body


@pytest.mark.django_db
def test_draft_is_not_reachable_from_another_municipality(procedure, other_municipality):
    _application, token = services.start_draft(procedure)
    assert services.find_draft(other_municipality, token) is None


@pytest.mark.django_db
def test_submit_assigns_receipt_number_and_sends_confirmation(
    procedure, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        application, token = submitted_application(procedure)
    assert re.fullmatch(r"\d{4}-\d{6}", application.receipt_number)
    assert application.status == Status.RECEIVED
    assert application.applicant_name == "山田　花子"
    assert application.applicant_email == "hanako@example.jp"
    assert services.find_by_status_token(procedure.municipality, token) == application
    assert application.receipt_number in mail.outbox[0].subject
    assert f"/status/{token}/" in mail.outbox[0].body
    assert [e.kind for e in services.status_history(application)] == ["submitted"]


@pytest.mark.django_db
def test_receipt_numbers_are_unique_and_sequential_per_municipality(procedure, other_procedure):
    first, _ = submitted_application(procedure)
    second, _ = submitted_application(procedure)
    elsewhere, _ = submitted_application(other_procedure)
    assert int(second.receipt_number[-6:]) == int(first.receipt_number[-6:]) + 1
    assert elsewhere.receipt_number == first.receipt_number  # numbering is per municipality


@pytest.mark.django_db
def test_submit_twice_is_refused(procedure):
    application, _ = submitted_application(procedure)
    with pytest.raises(services.ApplicationStateError) as excinfo:
        services.submit(application, base_url="http://testserver")
    assert excinfo.value.message == "この申請はすでに送信されています。"


@pytest.mark.django_db
def test_withdraw_then_withdraw_again_is_refused(procedure):
    application, _ = submitted_application(procedure)
    services.withdraw(application, reason="別の方法で申請します")
    application.refresh_from_db()
    assert application.status == Status.WITHDRAWN
    event = application.events.get(kind=ApplicationEvent.Kind.WITHDRAWN)
    assert (event.from_status, event.to_status, event.message) == (
        "received",
        "withdrawn",
        "別の方法で申請します",
    )
    with pytest.raises(services.ApplicationStateError) as excinfo:
        services.withdraw(application)
    assert excinfo.value.message == "この申請は「取り下げ」のため、取り下げできません。"


@pytest.mark.django_db
def test_step_completion_is_recorded_once_per_step(procedure):
    application, _ = services.start_draft(procedure)
    for _ in range(2):
        services.save_step(
            application, "applicant", raw={"x": "1"}, answers=ANSWERS, completed=True, step_index=0
        )
    assert application.events.filter(kind="step_completed").count() == 1
    assert Application.objects.get(pk=application.pk).furthest_step_index == 1


@pytest.mark.django_db
def test_events_are_append_only(procedure):
    application, _ = services.start_draft(procedure)
    event = application.events.get()
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()


@pytest.mark.django_db
def test_attachment_is_stored_with_sha256(procedure):
    import hashlib
    import io

    application, _ = services.start_draft(procedure)
    upload = io.BytesIO(b"%PDF-1.4 test")
    upload.name = "保険証.pdf"
    answer = services.store_attachment(application, "doc", upload, content_type="application/pdf")
    assert answer["sha256"] == hashlib.sha256(b"%PDF-1.4 test").hexdigest()
    assert answer["size"] == 13
    stored = application.attachments.get()
    assert stored.file.read() == b"%PDF-1.4 test"
    assert "保険証" not in stored.file.name  # the stored path never carries the file name


@pytest.fixture
def email_procedure(procedure):
    procedure.identity_level = "email"
    procedure.save()
    return procedure


@pytest.mark.django_db
def test_email_level_draft_is_verified_by_opening_the_mailed_link(
    email_procedure, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        application = services.start_draft_with_email_check(
            email_procedure, "hanako@example.jp", base_url="http://testserver"
        )
    token = re.search(r"/apply/([^/]+)/", mail.outbox[0].body).group(1)
    assert mail.outbox[0].to == ["hanako@example.jp"]
    assert not application.email_is_verified

    draft = services.find_draft(email_procedure.municipality, token)
    assert services.confirm_email(draft) is True
    assert services.confirm_email(draft) is False  # only the first opening counts
    assert draft.email_is_verified
    assert draft.events.filter(kind="email_verified").count() == 1

    answers = {**ANSWERS, "email": "someone-else@example.jp"}
    services.save_step(draft, "applicant", raw={}, answers=answers, completed=True, step_index=0)
    services.submit(draft, base_url="http://testserver")
    draft.refresh_from_db()
    assert draft.applicant_email == "hanako@example.jp"  # the verified address wins


@pytest.mark.django_db
def test_email_level_draft_cannot_be_submitted_unverified(email_procedure):
    application, _token = services.start_draft(email_procedure)
    services.save_step(
        application, "applicant", raw={}, answers=ANSWERS, completed=True, step_index=0
    )
    with pytest.raises(services.ApplicationStateError) as excinfo:
        services.submit(application, base_url="http://testserver")
    assert excinfo.value.message == (
        "メールアドレスの確認が済んでいません。お送りしたメールのリンクから申請を続けてください。"
    )


@pytest.mark.django_db
def test_jpki_level_procedure_cannot_start_on_the_portal(procedure):
    procedure.identity_level = "jpki"
    procedure.save()
    with pytest.raises(services.ApplicationStateError) as excinfo:
        services.start_draft(procedure)
    assert excinfo.value.message == (
        "この手続はマイナンバーカードによる電子署名が必要なため、"
        "マイナポータル（ぴったりサービス）から申請してください。"
    )


# ----------------------------------------------------------------------------- back office additions


@pytest.mark.django_db
def test_submit_records_revision_progress_search_keys_and_due_date(procedure):
    import datetime

    from madoguchi.applications.models import AnswerRevision, DepartmentProgress

    procedure.target_days = 14
    procedure.save()
    answers = {
        **ANSWERS,
        "applicant_name": {
            "family": "ＹＡＭＡＤＡ 山田",
            "given": "花子",
            "family_kana": "ヤマダ",
            "given_kana": "ﾊﾅｺ",
        },
    }
    application, _token = services.start_draft(procedure)
    services.save_step(
        application, "applicant", raw={}, answers=answers, completed=True, step_index=0
    )
    services.submit(application, base_url="http://testserver")
    application.refresh_from_db()
    assert application.search_name == "yamada山田花子"  # NFKC, no spaces, case-folded
    assert application.search_kana == "やまだはなこ"
    assert application.due_at - application.submitted_at == datetime.timedelta(days=14)
    revision = AnswerRevision.objects.get(application=application)
    assert (revision.number, revision.answers) == (1, application.answers)
    assert list(
        DepartmentProgress.objects.filter(application=application).values_list(
            "department__code", "state"
        )
    ) == [("kodomo", "received")]


@pytest.mark.django_db
def test_no_due_date_without_target_days(procedure):
    application, _ = submitted_application(procedure)
    assert application.due_at is None


@pytest.mark.django_db
def test_counter_application_needs_no_email_check_and_sends_no_mail(
    municipality, django_user_model, django_capture_on_commit_callbacks
):
    # A form where the e-mail address is optional: the resident at the counter gave none.
    schema = copy.deepcopy(SIMPLE_FORM)
    schema["steps"][0]["fields"][1]["required"] = False
    email_procedure = make_procedure(municipality, slug="no-email", schema=schema)
    email_procedure.identity_level = "email"
    email_procedure.save()
    clerk = django_user_model.objects.create_user("clerk")
    application, _token = services.start_draft(email_procedure, channel="counter", entered_by=clerk)
    services.save_step(
        application,
        "applicant",
        raw={},
        answers={"applicant_name": ANSWERS["applicant_name"]},
        completed=True,
        step_index=0,
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.submit(application, base_url="http://testserver")
    application.refresh_from_db()
    assert application.status == Status.RECEIVED
    assert application.applicant_email == ""
    assert mail.outbox == []
    event = application.events.get(kind="submitted")
    assert (event.actor_type, event.actor_user) == ("staff", clerk)


def _return(application, message="添付した保険証の画像が読み取れません。撮り直してください。"):
    from madoguchi.applications.models import Application as App

    Application.objects.filter(pk=application.pk).update(status=Status.RETURNED, lock_version=1)
    return ApplicationEvent.objects.create(
        municipality=application.municipality,
        application=application,
        kind="status_changed",
        actor_type="staff",
        from_status="received",
        to_status="returned",
        message=message,
    ), App.objects.get(pk=application.pk)


@pytest.mark.django_db
def test_resubmit_after_correction(procedure, django_capture_on_commit_callbacks):
    import datetime

    from madoguchi.applications.models import AnswerRevision, DepartmentProgress

    procedure.target_days = 10
    procedure.save()
    application, token = submitted_application(procedure)
    due = application.due_at
    returned_event, application = _return(application)
    ApplicationEvent.objects.filter(pk=returned_event.pk).update(
        created_at=returned_event.created_at - datetime.timedelta(days=3)
    )
    DepartmentProgress.objects.update(state="in_progress")

    # The resident corrects on the portal: staff keep seeing the submitted answers meanwhile.
    found = services.find_editable(procedure.municipality, token)
    assert found == application
    assert services.editable_answers(found) == found.answers
    corrected = {**ANSWERS, "email": "hanako.yamada@example.jp"}
    services.save_step(
        found, "applicant", raw={"x": "1"}, answers=corrected, completed=True, step_index=0
    )
    stored = Application.objects.get(pk=application.pk)
    assert stored.answers["email"] == "hanako@example.jp"
    assert services.editable_answers(stored)["email"] == "hanako.yamada@example.jp"

    with django_capture_on_commit_callbacks(execute=True):
        services.resubmit(stored, base_url="http://testserver", status_token=token)
    application.refresh_from_db()
    assert application.status == Status.RECEIVED
    assert application.resubmitted_at is not None
    assert application.answers["email"] == "hanako.yamada@example.jp"
    assert application.applicant_email == "hanako.yamada@example.jp"
    assert application.draft_values == {}
    assert application.lock_version == 2
    # the 3 days spent waiting for the correction do not count against the department
    assert abs((application.due_at - due) - datetime.timedelta(days=3)) < datetime.timedelta(
        seconds=5
    )
    assert list(
        AnswerRevision.objects.filter(application=application).values_list("number", flat=True)
    ) == [1, 2]
    assert AnswerRevision.objects.get(application=application, number=1).answers["email"] == (
        "hanako@example.jp"
    )
    assert set(DepartmentProgress.objects.values_list("state", flat=True)) == {"received"}
    event = application.events.get(kind="resubmitted")
    assert (event.from_status, event.to_status, event.data) == (
        "returned",
        "received",
        {"revision": 2},
    )
    assert sorted(e.kind for e in services.status_history(application)) == [
        "resubmitted",
        "status_changed",
        "submitted",
    ]
    assert mail.outbox[-1].to == ["hanako.yamada@example.jp"]
    assert mail.outbox[-1].subject.startswith("【千代田区】再申請を受け付けました")
    assert f"http://testserver/131016/status/{token}/" in mail.outbox[-1].body
    # no longer editable
    assert services.find_editable(procedure.municipality, token) is None


@pytest.mark.django_db
def test_resubmit_returns_to_the_status_before_the_return(procedure):
    """Returned while 処理中: the resubmission goes back to 処理中 (not 受付, which would make
    staff repeat the click), and every department keeps the progress it had."""
    from madoguchi.applications.models import DepartmentProgress

    application, token = submitted_application(procedure)
    returned_event, application = _return(application)
    ApplicationEvent.objects.filter(pk=returned_event.pk).update(from_status="in_progress")
    DepartmentProgress.objects.filter(application=application).update(state="in_progress")

    services.resubmit(application, base_url="http://testserver", status_token=token)
    application.refresh_from_db()
    assert application.status == Status.IN_PROGRESS
    assert set(
        DepartmentProgress.objects.filter(application=application).values_list("state", flat=True)
    ) == {"in_progress"}
    event = application.events.get(kind="resubmitted")
    assert (event.from_status, event.to_status) == ("returned", "in_progress")
    # Without a known status before the return, 受付.
    assert services.resubmission_target(None) == Status.RECEIVED
    assert services.resubmission_target(event) == Status.RECEIVED  # from 要再申請 itself


@pytest.mark.django_db
def test_resubmit_only_when_returned(procedure):
    application, token = submitted_application(procedure)
    assert services.find_editable(procedure.municipality, token) is None
    with pytest.raises(services.ApplicationStateError) as excinfo:
        services.resubmit(application, base_url="http://testserver")
    assert excinfo.value.message == "この申請は「受付」のため、再申請できません。"
    with pytest.raises(services.ApplicationStateError):
        services.save_step(
            application, "applicant", raw={}, answers=ANSWERS, completed=False, step_index=0
        )


@pytest.mark.django_db
def test_withdraw_while_returned_drops_the_correction(procedure):
    application, token = submitted_application(procedure)
    _event, application = _return(application)
    services.save_step(
        application, "applicant", raw={"x": "1"}, answers=ANSWERS, completed=True, step_index=0
    )
    services.withdraw(application, reason="申請をやめます")
    application.refresh_from_db()
    assert application.status == Status.WITHDRAWN
    assert application.draft_values == {}
    assert application.lock_version == 2
    assert services.find_editable(procedure.municipality, token) is None


def test_applicant_is_the_field_the_form_names():
    from madoguchi.formengine.schema import parse_form

    form = parse_form(
        {
            "title": "要介護認定",
            "applicant": {"name": "insured"},
            "steps": [
                {
                    "key": "who",
                    "title": "申請する方",
                    "fields": [
                        {"key": "staff_name", "type": "name", "label": "担当者の氏名"},
                        {"key": "mail", "type": "email", "label": "メール"},
                        {"key": "insured", "type": "name", "label": "被保険者の氏名"},
                    ],
                }
            ],
        },
        source="test",
    )
    answers = {
        "staff_name": {
            "family": "事業",
            "given": "太郎",
            "family_kana": "ジギョウ",
            "given_kana": "タロウ",
        },
        "mail": "office@example.jp",
        "insured": {
            "family": "介護",
            "given": "花子",
            "family_kana": "カイゴ",
            "given_kana": "ハナコ",
        },
    }
    assert services.applicant_from_answers(form, answers) == (
        "介護　花子",
        "カイゴ　ハナコ",
        "office@example.jp",
    )
