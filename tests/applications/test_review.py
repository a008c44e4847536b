"""申請内容照会 (review screen), its actions, attachments, print view and RPA element ids."""

import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from madoguchi.applications import services, staff_actions
from madoguchi.applications.models import AnswerRevision, ApplicationEvent, Status
from madoguchi.applications.workflow import MSG_RETURN_NEEDS_MESSAGE
from madoguchi.audit.models import AccessLog
from madoguchi.catalog.models import FormVersion, Procedure
from madoguchi.tenants.models import Department
from tests.conftest import login_with_2fa

from .test_inbox import make_staff

REVIEW_FORM = {
    "title": "児童手当 認定請求",
    "steps": [
        {
            "key": "applicant",
            "title": "請求者",
            "fields": [
                {"key": "applicant_name", "type": "name", "label": "氏名", "required": True},
                {"key": "email", "type": "email", "label": "メールアドレス", "required": True},
            ],
        },
        {
            "key": "family",
            "title": "児童",
            "fields": [
                {
                    "key": "children",
                    "type": "repeat",
                    "label": "児童",
                    "item_label": "児童",
                    "fields": [
                        {"key": "child_name", "type": "text", "label": "児童の氏名"},
                    ],
                }
            ],
        },
        {
            "key": "documents",
            "title": "添付書類",
            "fields": [{"key": "documents", "type": "file", "label": "添付書類", "max_files": 3}],
        },
    ],
}

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


def make_review_procedure(municipality, departments=("kodomo",)):
    procedure = Procedure.objects.create(
        municipality=municipality,
        slug="jidoteate",
        name="児童手当の認定請求",
        reading="じどうてあてのにんていせいきゅう",
        category="other",
    )
    for code in departments:
        department, _ = Department.objects.get_or_create(
            municipality=municipality, code=code, defaults={"name": f"{code}課"}
        )
        procedure.departments.add(department)
    FormVersion.new_draft(procedure, schema=REVIEW_FORM).publish()
    procedure.refresh_from_db()
    return procedure


def submit_full(procedure):
    application, _ = services.start_draft(procedure)
    files = [
        services.store_attachment(
            application, "documents", SimpleUploadedFile(name, content), content_type=ctype
        )
        for name, content, ctype in [
            ("保険証.pdf", PDF, "application/pdf"),
            ("通帳.png", PNG, "image/png"),
            ("委任状.docx", b"PK\x03\x04docx", "application/octet-stream"),
        ]
    ]
    steps = [
        (
            "applicant",
            {
                "applicant_name": {
                    "family": "山田",
                    "given": "花子",
                    "family_kana": "ヤマダ",
                    "given_kana": "ハナコ",
                },
                "email": "hanako@example.jp",
            },
        ),
        ("family", {"children": [{"child_name": "山田　太郎"}, {"child_name": "山田　次郎"}]}),
        ("documents", {"documents": files}),
    ]
    for index, (key, answers) in enumerate(steps):
        services.save_step(
            application, key, raw={}, answers=answers, completed=True, step_index=index
        )
    services.submit(application, base_url="http://testserver")
    application.refresh_from_db()
    return application


@pytest.fixture
def review_procedure(municipality):
    return make_review_procedure(municipality)


@pytest.fixture
def application(review_procedure):
    return submit_full(review_procedure)


@pytest.fixture
def login(client, django_user_model):
    def login(username, municipality, department_code=None, role="handler"):
        user = make_staff(django_user_model, username, municipality, department_code, role)
        login_with_2fa(client, user)
        client.user = user
        return client

    return login


def detail(application):
    return reverse("staff:application_detail", args=[application.pk])


def element(body, element_id):
    """Text content of the element with that id (tags stripped)."""
    match = re.search(rf'id="{re.escape(element_id)}"[^>]*>(.*?)</(dd|span|h1|td|p)>', body, re.S)
    assert match, f"#{element_id} missing"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


# ------------------------------------------------------------------ the screen


@pytest.mark.django_db
def test_review_screen_shows_everything_and_logs_the_view(login, application):
    client = login("kodomo1", application.municipality, "kodomo")
    response = client.get(detail(application))
    assert response.status_code == 200
    body = response.content.decode()
    assert element(body, "receipt-number") == application.receipt_number
    assert element(body, "procedure-name") == "児童手当の認定請求"
    assert element(body, "status") == "受付"
    assert element(body, "applicant-name") == "山田　花子"
    assert element(body, "answer-email") == "hanako@example.jp"
    assert element(body, "answer-children-0-child_name") == "山田　太郎"
    assert element(body, "answer-children-1-child_name") == "山田　次郎"
    assert "保険証.pdf" in element(body, "answer-documents")
    assert "未確認" in element(body, "email-verification")
    assert element(body, "channel") == "電子申請（ポータル）"
    assert "申請者には表示されません" in body
    assert 'id="revision-number" data-revision="1"' in body
    # history
    assert re.search(r"staff-history__item--submitted", body)
    # access log (not an ApplicationEvent)
    log = AccessLog.objects.get(action=AccessLog.Action.VIEW_APPLICATION)
    assert (log.user, log.application, log.receipt_number) == (
        client.user,
        application,
        application.receipt_number,
    )
    assert not application.events.filter(kind=ApplicationEvent.Kind.VIEWED).exists()


@pytest.mark.django_db
def test_answers_received_whole_that_the_form_refuses_are_flagged(login, review_procedure):
    """マイナポータル's own system validated the package: it is imported as received (never
    refused for its answers) and the review says where it does not fit our form."""
    from django.utils import timezone

    from madoguchi.applications import lifecycle
    from madoguchi.applications.models import Channel

    item = lifecycle.Incoming(
        procedure=review_procedure,
        answers={"applicant_name": {"family": "山田", "given": "花子"}, "email": "hanako"},
        channel=Channel.MYNAPORTAL,
        received_at=timezone.now(),
        source_reference="M-0001",
    )
    [received] = lifecycle.receive(
        review_procedure.municipality, [item], actor=lifecycle.Actor.system()
    )
    assert received.status == Status.RECEIVED
    client = login("kodomo1", review_procedure.municipality, "kodomo")
    body = client.get(detail(received)).content.decode()
    assert element(body, "form-problems") == (
        "マイナポータルから受け取った回答に、この手続の申請フォームの規則に合わない項目があります。"
        "受け取ったとおりに取り込んでいます。内容を確認してください。"
    )
    problems = re.search(r'id="form-problems".*?</ul>', body, re.S)[0]
    assert "氏名のフリガナ（セイ）を入力してください。" in problems
    assert "添付書類" not in problems  # an optional field left empty is fine
    # A portal application was checked when it was submitted: no such notice.
    portal = submit_full(review_procedure)
    assert 'id="form-problems"' not in client.get(detail(portal)).content.decode()


@pytest.mark.django_db
def test_verified_email_and_proxy_are_shown(login, application):
    from django.utils import timezone

    application.verified_email = "hanako@example.jp"
    application.email_verified_at = timezone.now()
    application.is_proxy = True
    application.proxy_name = "ひまわり介護"
    application.save()
    client = login("kodomo1", application.municipality, "kodomo")
    body = client.get(detail(application)).content.decode()
    assert element(body, "email-verification").startswith("確認済み（hanako@example.jp")
    assert element(body, "proxy") == "ひまわり介護"


RPA_IDS = [
    "receipt-number",
    "procedure-name",
    "status",
    "submitted-at",
    "channel",
    "assignee",
    "due-at",
    "form-version",
    "applicant-name",
    "applicant-name-kana",
    "applicant-email",
    "email-verification",
    "answer-applicant_name",
    "answer-email",
    "answer-children",
    "answer-children-0-child_name",
    "answer-documents",
]


@pytest.mark.django_db
def test_rpa_element_ids_exist_and_are_documented(login, application):
    client = login("kodomo1", application.municipality, "kodomo")
    body = client.get(detail(application)).content.decode()
    ids = re.findall(r'\sid="([^"]+)"', body)
    assert len(ids) == len(set(ids)), "ids are unique"
    for element_id in RPA_IDS:
        assert element_id in ids
    doc = (Path(__file__).parents[2] / "docs" / "rpa-element-ids.md").read_text()
    documented = set(re.findall(r"`#([a-z][a-z0-9-]*)`", doc))
    fixed = {i for i in RPA_IDS if not i.startswith("answer-")}
    assert fixed <= documented
    assert "answer-<field_key>" in doc and "answer-<repeat>-<i>-<child>" in doc
    for element_id in documented:
        assert element_id in ids, f"#{element_id} documented but not on the screen"


@pytest.mark.django_db
def test_revisions_latest_by_default_and_earlier_on_request(login, application):
    AnswerRevision.objects.filter(application=application).update(number=1)
    second = dict(application.answers, email="hanako2@example.jp")
    AnswerRevision.objects.create(
        municipality=application.municipality, application=application, number=2, answers=second
    )
    application.answers = second
    application.save()
    client = login("kodomo1", application.municipality, "kodomo")
    body = client.get(detail(application)).content.decode()
    assert element(body, "answer-email") == "hanako2@example.jp"
    assert 'data-revision="2"' in body and "前回から変更" in body
    assert "?revision=1#answers" in body

    old = client.get(detail(application), {"revision": "1"}).content.decode()
    assert 'id="old-revision-notice"' in old
    assert "hanako@example.jp" in old
    assert 'id="answer-email"' not in old  # RPA ids only on the latest answers
    assert client.get(detail(application), {"revision": "9"}).status_code == 404


# ------------------------------------------------------------------ attachments


@pytest.mark.django_db
def test_attachments_inline_preview_and_download(login, application):
    client = login("kodomo1", application.municipality, "kodomo")
    pdf, png, docx = (
        application.attachments.get(original_name=n)
        for n in ("保険証.pdf", "通帳.png", "委任状.docx")
    )
    body = client.get(detail(application)).content.decode()
    preview = lambda a: reverse("staff:attachment_preview", args=[application.pk, a.uid])  # noqa: E731
    download = lambda a: reverse("staff:attachment_download", args=[application.pk, a.uid])  # noqa: E731
    assert f'<iframe class="staff-attachment__pdf" src="{preview(pdf)}"' in body
    assert f'<img class="staff-attachment__image" src="{preview(png)}"' in body
    # The image's link and each "open in another tab" link lead to that file's preview.
    assert f'<a href="{preview(png)}" class="staff-attachment__preview-link">' in body
    for attachment in (pdf, png):
        assert f'<a href="{preview(attachment)}" target="_blank" rel="noopener">' in body
    assert preview(docx) not in body and download(docx) in body

    response = client.get(preview(pdf))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self';" in response["Content-Security-Policy"] + ";"
    assert "'none'" not in response["Content-Security-Policy"].split("frame-ancestors")[1]
    assert b"".join(response.streaming_content) == PDF
    assert client.get(preview(png))["Content-Type"] == "image/png"
    assert client.get(preview(docx)).status_code == 404

    response = client.get(download(pdf))
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Frame-Options"] == "DENY"
    # the review page itself may not be framed
    assert client.get(detail(application))["X-Frame-Options"] == "DENY"

    actions = list(
        AccessLog.objects.filter(application=application)
        .exclude(action=AccessLog.Action.VIEW_APPLICATION)
        .order_by("pk")
        .values_list("action", "object_ref")
    )
    assert actions == [
        ("preview_attachment", f"attachment:{pdf.uid}"),
        ("preview_attachment", f"attachment:{png.uid}"),
        ("download_attachment", f"attachment:{pdf.uid}"),
    ]


# ------------------------------------------------------------------ print view


@pytest.mark.django_db
def test_print_view_for_transcription(login, application):
    client = login("kodomo1", application.municipality, "kodomo")
    response = client.get(reverse("staff:application_print", args=[application.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert element(body, "receipt-number") == application.receipt_number
    assert element(body, "procedure-name") == "児童手当の認定請求"
    assert "dads-header" not in body and "<nav" not in body
    labels = re.findall(r'<th scope="row"[^>]*>([^<]+)</th>', body.split('id="print-answers"')[1])
    assert labels == [
        "氏名",
        "メールアドレス",
        "児童",
        "児童1　児童の氏名",
        "児童2　児童の氏名",
        "添付書類",
    ] or (labels[:2] == ["氏名", "メールアドレス"] and "児童の氏名" in labels[3])
    assert "staff.css" in body
    log = AccessLog.objects.get(action=AccessLog.Action.PRINT_APPLICATION)
    assert log.application == application


# ------------------------------------------------------------------ status change


def post_status(client, application, to_status, message="", version=None):
    return client.post(
        reverse("staff:application_status", args=[application.pk]),
        {
            "to_status": to_status,
            "message": message,
            "expected_version": application.lock_version if version is None else version,
        },
    )


@pytest.mark.django_db
def test_status_change_from_the_screen(login, application):
    client = login("kodomo1", application.municipality, "kodomo")
    body = client.get(detail(application)).content.decode()
    assert f'name="expected_version" value="{application.lock_version}"' in body
    for target in ("in_progress", "returned", "completed", "rejected"):
        assert f'id="to-status-{target}"' in body
    response = post_status(client, application, "in_progress", "確認を始めました。")
    assert response.status_code == 302
    assert response["Location"].endswith("#status-change")
    application.refresh_from_db()
    assert application.status == Status.IN_PROGRESS
    event = application.events.get(kind=ApplicationEvent.Kind.STATUS_CHANGED)
    assert (event.actor_user, event.message) == (client.user, "確認を始めました。")
    body = client.get(response["Location"]).content.decode()
    assert "状況を「処理中」に変更しました。" in body


@pytest.mark.django_db
def test_stale_screen_is_refused_and_keeps_the_typed_message(login, django_user_model, application):
    client = login("kodomo1", application.municipality, "kodomo")
    seen_version = application.lock_version
    colleague = make_staff(django_user_model, "kodomo2", application.municipality, "kodomo")
    staff_actions.change_status(
        application, "in_progress", user=colleague, expected_version=seen_version
    )
    response = post_status(client, application, "completed", "支給を決定しました。", seen_version)
    assert response.status_code == 409
    body = response.content.decode()
    assert staff_actions.STALE_MESSAGE in body
    assert ">支給を決定しました。</textarea>" in body
    assert element(body, "status") == "処理中"  # the fresh state
    application.refresh_from_db()
    assert application.status == Status.IN_PROGRESS
    assert f'name="expected_version" value="{application.lock_version}"' in body


@pytest.mark.django_db
def test_returned_needs_a_message(login, application):
    client = login("kodomo1", application.municipality, "kodomo")
    response = post_status(client, application, "returned", "  ")
    assert response.status_code == 400
    assert MSG_RETURN_NEEDS_MESSAGE in response.content.decode()
    application.refresh_from_db()
    assert application.status == Status.RECEIVED
    response = post_status(client, application, "returned", "保険証の写しが読めません。")
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == Status.RETURNED


# ------------------------------------------------------------------ assignment, notes, messages


@pytest.mark.django_db
def test_assign_to_me_and_to_a_colleague(login, django_user_model, application):
    colleague = make_staff(django_user_model, "kodomo2", application.municipality, "kodomo")
    client = login("kodomo1", application.municipality, "kodomo")
    url = reverse("staff:application_assign", args=[application.pk])
    response = client.post(url, {"assignee": "me", "expected_version": application.lock_version})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.assigned_to == client.user
    client.post(url, {"assignee": colleague.pk, "expected_version": application.lock_version})
    application.refresh_from_db()
    assert application.assigned_to == colleague
    assert element(client.get(detail(application)).content.decode(), "assignee") == "kodomo2"
    stale = client.post(url, {"assignee": "me", "expected_version": 0})
    assert stale.status_code == 409
    assert staff_actions.STALE_MESSAGE in stale.content.decode()


@pytest.mark.django_db
def test_notes_are_internal_and_messages_go_to_the_applicant(login, application):
    client = login("kodomo1", application.municipality, "kodomo")
    client.post(
        reverse("staff:application_note", args=[application.pk]), {"text": "電話で確認済み"}
    )
    client.post(
        reverse("staff:application_message", args=[application.pk]),
        {"text": "書類を確認しています。"},
    )
    body = client.get(detail(application)).content.decode()
    notes = body.split('id="notes"')[1]
    assert "電話で確認済み" in notes and "申請者には表示されません" in notes
    messages_part = body.split('id="applicant-messages"')[1].split('id="notes"')[0]
    assert "書類を確認しています。" in messages_part and "電話で確認済み" not in messages_part
    shown_to_applicant = [e.message for e in services.status_history(application)]
    assert "書類を確認しています。" in shown_to_applicant
    assert "電話で確認済み" not in shown_to_applicant
    empty = client.post(reverse("staff:application_note", args=[application.pk]), {"text": " "})
    assert empty.status_code == 400
    assert "メモを入力してください。" in empty.content.decode()


@pytest.mark.django_db
def test_department_progress_form_for_the_handlers_department_only(login, municipality):
    procedure = make_review_procedure(municipality, departments=("suido", "gesuido"))
    application = submit_full(procedure)
    suido = Department.objects.get(code="suido")
    gesuido = Department.objects.get(code="gesuido")
    client = login("suido1", municipality, "suido")
    body = client.get(detail(application)).content.decode()
    assert reverse("staff:department_status", args=[application.pk, suido.pk]) in body
    assert reverse("staff:department_status", args=[application.pk, gesuido.pk]) not in body
    response = client.post(
        reverse("staff:department_status", args=[application.pk, suido.pk]),
        {"to_status": "completed", "expected_version": application.lock_version},
    )
    assert response.status_code == 302
    assert application.department_progress.get(department=suido).state == "completed"
    application.refresh_from_db()
    assert application.status == Status.IN_PROGRESS  # derived: one of two is finished
    response = client.post(
        reverse("staff:department_status", args=[application.pk, gesuido.pk]),
        {"to_status": "completed", "expected_version": application.lock_version},
    )
    assert response.status_code == 403


# ------------------------------------------------------------------ viewer and isolation


def action_posts(application):
    department = application.procedure.departments.first()
    return {
        reverse("staff:application_status", args=[application.pk]): {"to_status": "in_progress"},
        reverse("staff:application_assign", args=[application.pk]): {"assignee": "me"},
        reverse("staff:application_note", args=[application.pk]): {"text": "x"},
        reverse("staff:application_message", args=[application.pk]): {"text": "x"},
        reverse("staff:department_status", args=[application.pk, department.pk]): {
            "to_status": "in_progress"
        },
    }


@pytest.mark.django_db
def test_viewer_sees_everything_but_no_forms_and_posts_are_refused(login, application):
    client = login("viewer1", application.municipality, "kodomo", role="viewer")
    events_before = application.events.count()
    body = client.get(detail(application)).content.decode()
    assert element(body, "answer-email") == "hanako@example.jp"
    assert 'id="viewer-notice"' in body
    main = body.split("<main")[1].split("</main>")[0]
    assert 'method="post"' not in main
    for url, data in action_posts(application).items():
        data["expected_version"] = application.lock_version
        assert client.post(url, data).status_code == 403, url
    application.refresh_from_db()
    assert (application.status, application.assigned_to) == (Status.RECEIVED, None)
    assert application.events.count() == events_before


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["other_department", "other_municipality"])
def test_every_view_is_404_outside_the_users_scope(login, application, other_municipality, who):
    if who == "other_department":
        Department.objects.create(
            municipality=application.municipality, code="suido", name="水道課"
        )
        client = login("suido1", application.municipality, "suido")
    else:
        client = login("admin9", other_municipality, role="admin")
    attachment = application.attachments.first()
    for url in [
        detail(application),
        reverse("staff:application_print", args=[application.pk]),
        reverse("staff:attachment_download", args=[application.pk, attachment.uid]),
        reverse("staff:attachment_preview", args=[application.pk, attachment.uid]),
        reverse("staff:inbox", args=[application.procedure.departments.first().pk]),
    ]:
        assert client.get(url).status_code == 404, url
    for url, data in action_posts(application).items():
        data["expected_version"] = application.lock_version
        assert client.post(url, data).status_code == 404, url
    assert not AccessLog.objects.filter(application=application).exists()


@pytest.mark.django_db
def test_review_screen_query_count_is_bounded(login, application, django_assert_max_num_queries):
    client = login("kodomo1", application.municipality, "kodomo")
    for i in range(10):
        staff_actions.add_note(application, f"メモ{i}", user=client.user)
    with django_assert_max_num_queries(30):
        assert client.get(detail(application)).status_code == 200


@pytest.mark.django_db
def test_history_leads_with_what_staff_act_on_and_folds_the_form_input(login, application):
    """Newest first; the applicant's step-by-step form events (started, each step) are one
    line that opens to show them."""
    client = login("kodomo1", application.municipality, "kodomo")
    client.post(
        reverse("staff:application_message", args=[application.pk]),
        {"text": "書類を確認しています。"},
    )
    body = client.get(detail(application)).content.decode()
    history = body.split('id="history"')[1].split("</section>")[0]
    items = re.findall(r'<li class="staff-history__item staff-history__item--([a-z_-]+)"', history)
    assert items == ["message", "submitted", "form-input"]
    folded = re.search(r"<details.*?</details>", history, re.S).group(0)
    assert "申請者が入力（4件の操作）" in folded
    assert folded.count("入力ステップ完了") == 3
    # Each step is named by its title, not its key.
    titles = [s.title for s in application.form_version.form.steps]
    assert all(f"（{title}）" in folded for title in titles)
    # Every event keeps its own element (its id) for the RPA ids and links.
    for event in application.events.all():
        assert f'id="event-{event.pk}"' in history


def test_history_items_fold_each_run_of_form_events():
    from madoguchi.staff.review_views import history_items

    def event(pk, kind):
        return ApplicationEvent(pk=pk, kind=kind)

    events = [
        event(1, "started"),
        event(2, "step_completed"),
        event(3, "resume_link_sent"),
        event(4, "submitted"),
        event(5, "status_changed"),
        event(6, "step_completed"),  # a correction after 要再申請
        event(7, "resubmitted"),
    ]
    items = history_items(events)
    assert [(i.event.pk if i.event else [e.pk for e in i.folded]) for i in items] == [
        7,
        [6],
        5,
        4,
        [1, 2, 3],
    ]
    assert history_items([]) == []


@pytest.mark.django_db
def test_member_of_both_departments_of_a_procedure_opens_its_application(login, municipality):
    # The procedure joins once per department: the permission is checked over the id alone
    # (staff.common.get_visible_application), so the application is found once.
    from madoguchi.tenants.models import StaffMembership

    procedure = make_review_procedure(municipality, departments=("suido", "gesuido"))
    application = submit_full(procedure)
    client = login("suido1", municipality, "suido")
    StaffMembership.objects.create(
        user=client.user,
        municipality=municipality,
        department=Department.objects.get(code="gesuido"),
        role="handler",
    )
    response = client.get(detail(application))
    assert response.status_code == 200
    assert application.receipt_number in response.content.decode()
    Department.objects.create(municipality=municipality, code="kodomo", name="こども課")
    other = login("kodomo1", municipality, "kodomo")
    assert other.get(detail(application)).status_code == 404


@pytest.mark.django_db
def test_the_screens_handling_check_is_can_handles(
    django_user_model, municipality, other_municipality
):
    """The review screen decides 閲覧者 or not from the memberships and the procedure's
    departments it reads anyway (staff.common.can_handle_loaded): the same answer as
    applications.permissions.can_handle, for every kind of membership."""
    from madoguchi.applications.permissions import can_handle
    from madoguchi.staff.common import can_handle_loaded, get_visible_application
    from madoguchi.tenants.models import StaffMembership

    procedure = make_review_procedure(municipality, departments=("kodomo", "hoken"))
    lone = Procedure.objects.create(
        municipality=municipality, slug="lone", name="課のない手続", reading="か", category="other"
    )
    FormVersion.new_draft(lone, schema=REVIEW_FORM).publish()
    lone.refresh_from_db()
    Department.objects.get_or_create(municipality=municipality, code="suido")
    apps = [submit_full(procedure), submit_full(lone)]
    cases = [
        ("admin", municipality, None),
        ("handler", municipality, None),
        ("handler", municipality, "kodomo"),
        ("handler", municipality, "hoken"),
        ("handler", municipality, "suido"),
        ("viewer", municipality, "kodomo"),
        ("viewer", municipality, None),
        ("admin", other_municipality, None),
    ]
    for i, (role, town, code) in enumerate(cases):
        user = make_staff(django_user_model, f"user{i}", town, code, role)
        if i == 2:  # a second membership: 閲覧者 of the whole municipality too
            StaffMembership.objects.create(user=user, municipality=municipality, role="viewer")
        for app in apps:
            try:
                loaded = get_visible_application(user, app.pk)
            except Exception:  # noqa: BLE001 - not visible: nothing to compare
                continue
            assert can_handle_loaded(user, loaded) == can_handle(user, app), (role, code)
