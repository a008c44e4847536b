"""Applying: the step-by-step form, errors, back/forward, save & resume, confirmation, submit."""

import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from madoguchi.applications.models import Application, ApplicationEvent, Attachment, Status
from madoguchi.catalog.models import FormVersion, Procedure

from .conftest import SMALL_PDF, html, individual_number, location, parse_step_url, start

pytestmark = pytest.mark.django_db

SLUG = "jidou_teate_nintei"
INCOMPLETE = (
    "入力が済んでいない項目か、誤りのある項目があるため、申請できません。"
    "この画面の項目を確認してください。"
)

CLAIMANT = {
    "claimant_name__family": "山田",
    "claimant_name__given": "花子",
    "claimant_name__family_kana": "やまだ",  # hiragana: converted to katakana
    "claimant_name__given_kana": "ハナコ",
    "claimant_birth_date__era": "昭和",
    "claimant_birth_date__year": "60",
    "claimant_birth_date__month": "4",
    "claimant_birth_date__day": "1",
    "claimant_individual_number": individual_number("12345678901"),
    "claimant_postal_code": "100-0001",
    "claimant_address": "東京都千代田区千代田1-1",
    "claimant_phone": "03-1234-5678",
    "claimant_email": "hanako@example.jp",
    "claimant_email__confirm": "hanako@example.jp",
    "claimant_occupation": "employee",
    "employer_name": "株式会社テスト",
    "claimant_pension": "kosei",
}

SPOUSE = {
    "has_spouse": "yes",
    "spouse_name__family": "山田",
    "spouse_name__given": "太郎",
    "spouse_name__family_kana": "ヤマダ",
    "spouse_name__given_kana": "タロウ",
    "spouse_birth_date__era": "昭和",
    "spouse_birth_date__year": "58",
    "spouse_birth_date__month": "7",
    "spouse_birth_date__day": "20",
    "spouse_individual_number": individual_number("23456789012"),
    "spouse_lives_together": "yes",
}


def child(i: int, given: str, kana: str, year: str, number: str) -> dict:
    p = f"children__{i}__"
    return {
        p + "child_name__family": "山田",
        p + "child_name__given": given,
        p + "child_name__family_kana": "ヤマダ",
        p + "child_name__given_kana": kana,
        p + "child_birth_date__era": "令和",
        p + "child_birth_date__year": year,
        p + "child_birth_date__month": "5",
        p + "child_birth_date__day": "10",
        p + "child_relationship": "child",
        p + "child_category": "eligible",
        p + "child_individual_number": individual_number(number),
        p + "child_living": "together",
    }


def post(client, url, data, action="next"):
    return client.post(url, {**data, "_action": action})


def next_url(client, url, data, action="next") -> str:
    response = post(client, url, data, action)
    return location(response)


def app_of(url) -> Application:
    token, _step = parse_step_url(url)
    return Application.objects.by_resume_token(token).get()


def walk_to(client, url, until: str) -> str:
    """Fill the standard steps of 認定請求 up to (not including) step `until`."""
    steps = [
        ("requirements", {"requirements_notice": "1"}),
        ("claimant", CLAIMANT),
        ("spouse", SPOUSE),
        (
            "children_step",
            {
                "children__count": "2",
                **child(0, "一郎", "イチロウ", "2", "34567890123"),
                **child(1, "二郎", "ジロウ", "5", "45678901234"),
            },
        ),
        ("account", {"account_choice": "public_account"}),
    ]
    for key, data in steps:
        if key == until:
            return url
        assert parse_step_url(url)[1] == key, url
        url = next_url(client, url, data)
    return url


def test_full_journey_two_children_with_pdf_to_receipt(
    client, chiyoda, django_capture_on_commit_callbacks
):
    url = start(client, SLUG)
    token, step_key = parse_step_url(url)
    assert step_key == "requirements"

    page = html(client.get(url))
    assert "ステップ 1 / 7" in page
    assert 'aria-current="step"' in page
    assert "<title>ステップ1/7 支給要件の確認 | 児童手当等の" in page

    url = next_url(client, url, {"requirements_notice": "1"})
    assert parse_step_url(url)[1] == "claimant"
    url = next_url(client, url, CLAIMANT)
    assert parse_step_url(url)[1] == "spouse"
    url = next_url(client, url, SPOUSE)
    assert parse_step_url(url)[1] == "children_step"

    # one child shown by default; add a second one with the no-JS button
    page = html(client.get(url))
    assert "児童（1人目）" in page
    response = post(
        client,
        url,
        {"children__count": "1", **child(0, "一郎", "イチロウ", "2", "34567890123")},
        action="add:children",
    )
    assert location(response) == url
    page = html(client.get(url))
    assert "児童（2人目）" in page
    assert 'value="一郎"' in page  # the first child was kept

    url = next_url(
        client,
        url,
        {
            "children__count": "2",
            **child(0, "一郎", "イチロウ", "2", "34567890123"),
            **child(1, "二郎", "ジロウ", "5", "45678901234"),
        },
    )
    assert parse_step_url(url)[1] == "account"
    url = next_url(client, url, {"account_choice": "public_account"})
    assert parse_step_url(url)[1] == "attachments"
    assert "ステップ 6 / 7" in html(client.get(url))

    pdf = SimpleUploadedFile("hokensho.pdf", SMALL_PDF, content_type="application/octet-stream")
    response = client.post(
        url,
        {
            "_action": "next",
            "insurance_document": pdf,
            "remarks": "よろしくお願いします。",
            "privacy_notice": "1",
        },
    )
    confirm_url = location(response)
    assert confirm_url == f"/131016/apply/{token}/confirm/"

    application = Application.objects.get()
    attachment = Attachment.objects.get(application=application)
    assert attachment.content_type == "application/pdf"
    assert attachment.original_name == "hokensho.pdf"
    assert application.answers["insurance_document"][0]["attachment"] == attachment.uid
    assert len(application.answers["children"]) == 2
    assert application.answers["claimant_name"]["family_kana"] == "ヤマダ"

    # confirmation page: every step with 「修正する」, masked 個人番号, the feedback question
    response = client.get(confirm_url)
    page = html(response)
    assert response.status_code == 200
    assert "入力内容の確認" in page
    assert page.count("修正する") >= 6
    assert f"/131016/apply/{token}/claimant/?return=confirm" in page
    assert "山田" in page and "一郎" in page and "二郎" in page
    assert CLAIMANT["claimant_individual_number"] not in page
    assert "********" + CLAIMANT["claimant_individual_number"][-4:] in page
    assert "hokensho.pdf" in page
    assert "とても使いやすい" in page and "とても使いにくい" in page
    assert "この内容で申請する" in page
    assert "ステップ 7 / 7" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(confirm_url, {"rating": "5", "comment": "わかりやすかったです"})
    receipt_url = location(response)
    assert receipt_url.startswith("/131016/receipt/")
    application.refresh_from_db()
    assert application.status == Status.RECEIVED
    assert re.fullmatch(r"\d{4}-\d{6}", application.receipt_number)
    feedback = ApplicationEvent.objects.get(application=application, kind="feedback")
    assert feedback.data == {"rating": 5, "comment": "わかりやすかったです"}

    page = html(client.get(receipt_url))
    assert "申請を受け付けました" in page
    assert f'id="receipt-number">{application.receipt_number}<' in page
    assert "hanako@example.jp" in page
    status_token = receipt_url.rstrip("/").rsplit("/", 1)[1]
    assert f"/131016/status/{status_token}/" in page
    assert f"/131016/status/{status_token}/receipt.pdf" in page

    # the confirmation e-mail went through the outbox, with the status link
    sent = [m for m in mail.outbox if "hanako@example.jp" in m.to]
    assert len(sent) == 1
    assert application.receipt_number in sent[0].subject
    assert f"http://testserver/131016/status/{status_token}/" in sent[0].body

    # the draft link is dead now; submitting again is impossible
    response = client.post(confirm_url)
    assert response.status_code == 404
    assert "このリンクは使えません" in html(response)

    # a second application (same answers, copied) gets a different 受付番号
    url2 = start(client, SLUG)
    token2, _ = parse_step_url(url2)
    second = app_of(url2)
    Application.objects.filter(pk=second.pk).update(
        answers=application.answers, furthest_step_index=6
    )
    receipt2 = location(client.post(f"/131016/apply/{token2}/confirm/"))
    second.refresh_from_db()
    assert receipt2 != receipt_url
    assert re.fullmatch(r"\d{4}-\d{6}", second.receipt_number)
    assert second.receipt_number != application.receipt_number
    assert not ApplicationEvent.objects.filter(application=second, kind="feedback").exists()


def test_errors_show_summary_and_keep_typed_values(client, chiyoda):
    url = walk_to(client, start(client, SLUG), "claimant")
    data = {
        **CLAIMANT,
        "claimant_name__given": "",
        "claimant_individual_number": "123456789012",  # wrong check digit
        "claimant_email__confirm": "other@example.jp",
    }
    response = post(client, url, data)
    assert response.status_code == 200
    page = html(response)
    assert "<title>エラー：ステップ2/7 請求者について" in page
    assert 'class="dads-error-summary' in page and 'role="alert"' in page
    assert 'href="#f-claimant_name__given"' in page
    assert 'href="#f-claimant_individual_number"' in page
    assert 'id="f-claimant_name__given"' in page
    # everything typed is still there, including the invalid values
    assert 'value="山田"' in page
    assert 'value="123456789012"' in page
    assert 'value="株式会社テスト"' in page
    assert 'aria-invalid="true"' in page
    # and it is stored on the server
    application = app_of(url)
    assert application.draft_values["claimant"]["claimant_individual_number"] == "123456789012"
    assert "claimant_name" not in application.answers
    # reloading the page (GET) keeps the typed values
    assert 'value="123456789012"' in html(client.get(url))


def test_back_and_forward_keep_data(client, chiyoda):
    url = walk_to(client, start(client, SLUG), "spouse")
    # type something on the spouse step, then go back without completing it
    response = post(client, url, {"has_spouse": "yes", "spouse_name__family": "山田"}, "back")
    back_url = location(response)
    assert parse_step_url(back_url)[1] == "claimant"
    page = html(client.get(back_url))
    assert 'value="花子"' in page
    assert 'value="株式会社テスト"' in page
    # forward again: the spouse step shows what was typed (never validated)
    spouse_url = next_url(client, back_url, CLAIMANT)
    assert spouse_url == url
    page = html(client.get(spouse_url))
    assert 'value="山田"' in page
    assert "dads-error-summary" not in page


def test_back_from_first_step_goes_to_procedure_page(client, chiyoda):
    url = start(client, SLUG)
    response = post(client, url, {}, "back")
    assert location(response) == f"/131016/procedures/{SLUG}/"


def test_save_and_resume_by_email(client, chiyoda, django_capture_on_commit_callbacks):
    url = walk_to(client, start(client, SLUG), "spouse")
    old_token, _ = parse_step_url(url)
    response = post(client, url, {"has_spouse": "no"}, "save")
    save_url = location(response)
    assert save_url == f"/131016/apply/{old_token}/save/"
    page = html(client.get(save_url))
    assert 'value="hanako@example.jp"' in page  # prefilled from the form's e-mail answer

    # an invalid address is refused with an error summary
    response = client.post(save_url, {"email": "not-an-address"})
    assert response.status_code == 200
    assert "エラー：" in html(response)
    assert 'href="#f-email"' in html(response)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(save_url, {"email": "hanako@example.jp"})
    sent_url = location(response)
    page = html(client.get(sent_url))
    assert "続きを入力するためのリンクを送りました" in page
    assert "hanako@example.jp" in page

    message = mail.outbox[-1]
    assert message.to == ["hanako@example.jp"]
    match = re.search(r"http://testserver(/131016/apply/([A-Za-z0-9_-]+)/)", message.body)
    assert match
    resume_path, new_token = match.group(1), match.group(2)
    assert new_token not in page  # the link itself is never shown
    assert new_token != old_token

    # the old link no longer works
    response = client.get(url)
    assert response.status_code == 404
    assert "このリンクは使えません" in html(response)

    # the new link continues where the resident stopped, with the typed value
    response = client.get(resume_path)
    step_url = location(response)
    assert step_url == f"/131016/apply/{new_token}/spouse/"
    page = html(client.get(step_url))
    assert re.search(r'value="no"[^>]*checked', page)

    # a second e-mail replaces the first link
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/131016/apply/{new_token}/save/", {"email": "hanako@example.jp"})
    assert client.get(resume_path).status_code == 404


def test_invalid_or_expired_token_page(client, chiyoda):
    response = client.get("/131016/apply/thisTokenDoesNotExist0123456789/claimant/")
    assert response.status_code == 404
    page = html(response)
    assert "<title>エラー：このリンクは使えません | 千代田区 電子申請</title>" in page
    assert "新しいリンクを送ったため" in page
    assert 'href="/131016/"' in page
    response = client.get("/131016/status/thisTokenDoesNotExist0123456789/")
    assert response.status_code == 404
    assert "申請の状況を確認するページが見つかりませんでした" in html(response)


def test_confirm_with_missing_answers_redirects_to_failing_step(client, chiyoda):
    url = start(client, SLUG)
    token, _ = parse_step_url(url)
    # jumping straight to the confirmation page sends the resident to what is missing
    response = client.get(f"/131016/apply/{token}/confirm/")
    assert location(response) == f"/131016/apply/{token}/requirements/"
    # submitting with missing answers shows the errors on the first failing step
    response = client.post(f"/131016/apply/{token}/confirm/")
    failing = location(response)
    assert failing == f"/131016/apply/{token}/requirements/?check=1"
    page = html(client.get(failing))
    assert "dads-error-summary" in page
    # The lifecycle refused the submission: the resident reads why, on the step to finish.
    assert f">{INCOMPLETE}</li>" in page
    application = Application.objects.get()
    assert application.status == Status.DRAFT
    assert not application.receipt_number
    assert not application.events.filter(kind=ApplicationEvent.Kind.SUBMITTED).exists()


def test_edit_from_confirmation_returns_to_confirmation(client, chiyoda):
    url = walk_to(client, start(client, SLUG), "attachments")
    token, _ = parse_step_url(url)
    confirm_url = next_url(
        client,
        url,
        {
            "insurance_document": SimpleUploadedFile("a.pdf", SMALL_PDF),
            "privacy_notice": "1",
        },
    )
    assert confirm_url.endswith("/confirm/")
    edit_url = f"/131016/apply/{token}/claimant/?return=confirm"
    page = html(client.get(edit_url))
    assert 'name="return" value="confirm"' in page
    assert "確認画面へ進む" in page
    response = client.post(
        f"/131016/apply/{token}/claimant/",
        {**CLAIMANT, "claimant_phone": "090-1111-2222", "return": "confirm", "_action": "next"},
    )
    assert location(response) == confirm_url
    assert "090-1111-2222" in html(client.get(confirm_url))


def test_postal_button_fills_address_without_javascript(client, chiyoda):
    url = walk_to(client, start(client, SLUG), "claimant")
    data = {**CLAIMANT, "claimant_postal_code": "1000001", "claimant_address": ""}
    response = post(client, url, data, action="postal:claimant_postal_code")
    assert location(response) == url
    page = html(client.get(url))
    assert "東京都千代田区千代田" in page


def test_unknown_postal_code_is_refused_on_submit_with_the_lookups_message(client, chiyoda):
    """The step is refused on the server (the JavaScript lookup is only a help), with the very
    message the lookup shows."""
    url = walk_to(client, start(client, SLUG), "claimant")
    message = (
        "郵便番号「999-0001」に該当する住所が見つかりません。郵便番号をもう一度ご確認ください。"
    )
    assert client.get("/131016/postal/9990001/").json()["error"] == message
    response = post(client, url, {**CLAIMANT, "claimant_postal_code": "９９９－０００１"})
    assert response.status_code == 200
    page = html(response)
    assert message in page
    assert 'id="error-summary"' in page
    response = post(client, url, CLAIMANT)
    assert location(response) != url


def test_name_with_emoji_is_refused_on_submit_naming_it(client, chiyoda):
    url = walk_to(client, start(client, SLUG), "claimant")
    name_fields = {k: v for k, v in CLAIMANT.items() if k.endswith("__family")}
    assert name_fields, CLAIMANT
    key = next(iter(name_fields))
    response = post(client, url, {**CLAIMANT, key: "𠮷野😀"})
    assert response.status_code == 200
    assert "に使えない文字が含まれています（「😀」は使えません）。" in html(response)
    response = post(client, url, {**CLAIMANT, key: "𠮷野"})
    assert location(response) != url


def test_draft_keeps_its_form_version(client, chiyoda):
    url = start(client, SLUG)
    application = app_of(url)
    first_version = application.form_version
    procedure = Procedure.objects.get(municipality=chiyoda, slug=SLUG)
    schema = dict(first_version.schema)
    schema["steps"] = [
        {
            "key": "only",
            "title": "新しい様式",
            "fields": [{"key": "note", "type": "text", "label": "メモ"}],
        }
    ]
    FormVersion.new_draft(procedure, schema=schema).publish()
    application.refresh_from_db()
    assert application.form_version == first_version
    page = html(client.get(url))
    assert "支給要件の確認" in page and "新しい様式" not in page
    url = next_url(client, url, {"requirements_notice": "1"})
    assert parse_step_url(url)[1] == "claimant"
    # a new application gets the new version
    assert parse_step_url(start(client, SLUG))[1] == "only"


def test_unknown_step_redirects_to_first_step(client, chiyoda):
    url = start(client, SLUG)
    token, _ = parse_step_url(url)
    response = client.get(f"/131016/apply/{token}/nonexistent/")
    assert location(response) == url


def test_uploaded_file_is_kept_when_another_field_has_an_error(client, chiyoda):
    url = walk_to(client, start(client, SLUG), "attachments")
    response = client.post(
        url,
        {
            "_action": "next",
            "insurance_document": SimpleUploadedFile("kenpo.pdf", SMALL_PDF),
            # privacy_notice not confirmed
        },
    )
    assert response.status_code == 200
    page = html(response)
    assert "dads-error-summary" in page
    assert 'href="#f-privacy_notice"' in page
    attachment = Attachment.objects.get()
    assert f'value="{attachment.uid}"' in page  # shown as an already attached file
    assert "kenpo.pdf" in page
    # confirming the notice without uploading again keeps the file
    response = client.post(
        url,
        {"_action": "next", "insurance_document__keep": attachment.uid, "privacy_notice": "1"},
    )
    assert location(response).endswith("/confirm/")
    application = Application.objects.get()
    assert application.answers["insurance_document"][0]["attachment"] == attachment.uid
    assert Attachment.objects.count() == 1


def test_file_type_is_detected_from_content(client, chiyoda):
    url = walk_to(client, start(client, SLUG), "attachments")
    fake = SimpleUploadedFile("virus.pdf", b"MZ\x90\x00 not a pdf at all", "application/pdf")
    response = client.post(
        url, {"_action": "next", "insurance_document": fake, "privacy_notice": "1"}
    )
    assert response.status_code == 200
    assert "dads-error-summary" in html(response)
    assert not Attachment.objects.exists()


def test_enter_key_submits_next(client, chiyoda):
    """The first submit button of the step form is 「次へ」 (Enter in a text box), not an
    add/remove/postal action rendered by the form engine."""
    url = walk_to(client, start(client, SLUG), "claimant")
    page = html(client.get(url))
    form = page[page.index('id="step-form"') :]
    first_button = form[form.index("<button") : form.index("</button>")]
    assert 'value="next"' in first_button


def test_only_a_step_with_a_file_field_is_sent_as_multipart(client, chiyoda):
    """A browser sends a step without file fields url-encoded (cheaper to parse); a step
    that takes files keeps multipart/form-data, and both are read the same."""
    from urllib.parse import urlencode

    url = walk_to(client, start(client, SLUG), "claimant")
    page = html(client.get(url))
    assert '<form method="post" novalidate class="dads-form" id="step-form"' in page
    response = client.post(
        url,
        urlencode({**CLAIMANT, "_action": "next"}, doseq=True),
        content_type="application/x-www-form-urlencoded",
    )
    assert parse_step_url(location(response))[1] == "spouse"
    url = walk_to(client, start(client, SLUG), "attachments")
    page = html(client.get(url))
    assert (
        '<form method="post" enctype="multipart/form-data" novalidate class="dads-form" '
        'id="step-form"' in page
    )


def test_progress_indicator(client, chiyoda):
    url = walk_to(client, start(client, SLUG), "spouse")
    page = html(client.get(url))
    assert "ステップ 3 / 7" in page
    assert '<li aria-current="step"><span>配偶者について</span>' in page
    token, _ = parse_step_url(url)
    # completed steps link back; later steps do not
    assert f'href="/131016/apply/{token}/claimant/">請求者について' in page
    assert f'href="/131016/apply/{token}/account/"' not in page


def test_static_assets_exist():
    from django.contrib.staticfiles import finders

    assert finders.find("madoguchi/dads.css")
    assert finders.find("madoguchi/enhance.js")


def test_only_steps_with_file_fields_read_the_drafts_attachments(client, chiyoda):
    """A step without file fields neither lists the draft's attachments nor looks for
    unreferenced ones to prune (one query each, for nothing); a step with them does both."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def attachment_reads(fn) -> int:
        with CaptureQueriesContext(connection) as captured:
            fn()
        return sum('FROM "applications_attachment"' in q["sql"] for q in captured.captured_queries)

    url = walk_to(client, start(client, SLUG), "claimant")
    assert attachment_reads(lambda: client.get(url)) == 0
    assert attachment_reads(lambda: client.post(url, {**CLAIMANT, "_action": "next"})) == 0
    url = walk_to(client, start(client, SLUG), "attachments")
    assert attachment_reads(lambda: client.get(url)) == 1
    assert attachment_reads(lambda: client.post(url, {"_action": "next"})) >= 1
