"""Staff inbox views: department chooser, inbox, filters, assignment and bulk actions, and the
404 isolation of every staff view of applications."""

import re

import pytest
from django.urls import reverse

from madoguchi.applications.models import Application, Status
from madoguchi.applications.workflow import MSG_RETURN_NEEDS_MESSAGE
from madoguchi.audit.models import AccessLog
from madoguchi.tenants.models import Department, StaffMembership
from tests.conftest import login_with_2fa

from .conftest import make_procedure
from .test_inbox import kodomo, make_app, make_staff
from .test_services import submitted_application


@pytest.fixture
def staff_client(client, django_user_model, procedure):
    def login(username, municipality, department_code=None, role="handler"):
        user = make_staff(django_user_model, username, municipality, department_code, role)
        login_with_2fa(client, user)
        client.user = user
        return client

    return login


def inbox_url(procedure):
    return reverse("staff:inbox", args=[kodomo(procedure).pk])


@pytest.mark.django_db
def test_inbox_requires_login_with_two_factor(client, django_user_model, procedure):
    for url in [reverse("staff:application_list"), inbox_url(procedure)]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account:login"))
    user = make_staff(django_user_model, "nofactor", procedure.municipality, "kodomo")
    client.force_login(user)  # password only
    assert client.get(inbox_url(procedure)).status_code == 302


@pytest.mark.django_db
def test_member_of_one_department_goes_straight_to_its_inbox(staff_client, procedure):
    make_procedure(procedure.municipality, slug="water", department_code="suido")
    suido = Department.objects.get(code="suido")
    make_app(procedure)
    client = staff_client("kodomo1", procedure.municipality, "kodomo")
    response = client.get(reverse("staff:application_list"))
    assert response.status_code == 302
    assert response["Location"] == inbox_url(procedure)
    body = client.get(response["Location"]).content.decode()
    assert 'id="inbox-title"' in body
    # Nothing to choose again: the inbox offers no way back to a one-entry chooser.
    assert "担当課を選び直す" not in body
    assert client.get(reverse("staff:inbox", args=[suido.pk])).status_code == 404


@pytest.mark.django_db
def test_department_chooser_lists_only_the_users_departments(
    staff_client, procedure, other_procedure
):
    make_procedure(procedure.municipality, slug="water", department_code="suido")
    make_procedure(procedure.municipality, slug="sewer", department_code="gesuido")
    suido = Department.objects.get(municipality=procedure.municipality, code="suido")
    gesuido = Department.objects.get(municipality=procedure.municipality, code="gesuido")
    make_app(procedure)
    client = staff_client("kodomo1", procedure.municipality, "kodomo")
    StaffMembership.objects.create(
        user=client.user, municipality=procedure.municipality, department=suido, role="handler"
    )
    response = client.get(reverse("staff:application_list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert inbox_url(procedure) in body
    assert reverse("staff:inbox", args=[suido.pk]) in body
    assert "未完了 1件" in body
    assert reverse("staff:inbox", args=[gesuido.pk]) not in body
    assert client.get(reverse("staff:inbox", args=[gesuido.pk])).status_code == 404
    assert "担当課を選び直す" in client.get(inbox_url(procedure)).content.decode()


@pytest.mark.django_db
def test_a_form_editor_membership_offers_no_department_to_choose(staff_client, procedure):
    """A 様式作成者 membership of another department adds no inbox: the handler still goes
    straight to their one inbox, which offers no way back to a chooser of one."""
    make_procedure(procedure.municipality, slug="water", department_code="suido")
    suido = Department.objects.get(municipality=procedure.municipality, code="suido")
    client = staff_client("kodomo-and-editor", procedure.municipality, "kodomo")
    StaffMembership.objects.create(
        user=client.user, municipality=procedure.municipality, department=suido, role="form_editor"
    )
    response = client.get(reverse("staff:application_list"))
    assert response.status_code == 302
    assert response["Location"] == inbox_url(procedure)
    assert "担当課を選び直す" not in client.get(inbox_url(procedure)).content.decode()
    assert client.get(reverse("staff:inbox", args=[suido.pk])).status_code == 404


@pytest.mark.django_db
def test_handler_sees_only_own_department_and_municipality(
    staff_client, procedure, other_procedure
):
    water = make_procedure(procedure.municipality, slug="water", department_code="suido")
    mine, _ = submitted_application(procedure)
    other_department, _ = submitted_application(water)
    other_town, _ = submitted_application(other_procedure)

    client = staff_client("kodomo1", procedure.municipality, "kodomo")
    for url in [inbox_url(procedure), reverse("staff:inbox_all")]:
        body = client.get(url).content.decode()
        assert reverse("staff:application_detail", args=[mine.pk]) in body
        assert reverse("staff:application_detail", args=[other_department.pk]) not in body
        assert reverse("staff:application_detail", args=[other_town.pk]) not in body
    other_dept = Department.objects.get(code="suido")
    assert client.get(reverse("staff:inbox", args=[other_dept.pk])).status_code == 404
    town_dept = other_procedure.departments.get()
    assert client.get(reverse("staff:inbox", args=[town_dept.pk])).status_code == 404


@pytest.mark.django_db
def test_inbox_filters_are_get_parameters_and_the_url_is_offered(staff_client, procedure):
    yamada = make_app(procedure, name="山田　花子", kana="ヤマダ　ハナコ")
    sato = make_app(
        procedure, name="佐藤　一郎", kana="サトウ　イチロウ", status=Status.IN_PROGRESS
    )
    client = staff_client("kodomo1", procedure.municipality, "kodomo")
    response = client.get(inbox_url(procedure), {"q": "やまだ"})
    body = response.content.decode()
    assert yamada.receipt_number in body and sato.receipt_number not in body
    assert "この条件のURLをコピー" in body
    assert 'value="http://testserver/staff/d/' in body and "?q=%E3%82%84" in body
    # a search writes the access log without the searched name
    log = AccessLog.objects.get(action=AccessLog.Action.SEARCH)
    assert log.detail == {"search": "name", "results_on_page": 1}
    assert "やまだ" not in str(log.detail) + log.object_ref

    body = client.get(inbox_url(procedure), {"status": "in_progress"}).content.decode()
    assert sato.receipt_number in body and yamada.receipt_number not in body
    # counts per status for the filter without status
    assert re.search(r'id="count-received" data-count="1"', body)
    assert re.search(r'id="count-in_progress" data-count="1"', body)


@pytest.mark.django_db
def test_inbox_pagination_links(staff_client, procedure, monkeypatch):
    from madoguchi.staff import inbox_views

    monkeypatch.setattr(inbox_views, "PAGE_SIZE", 2)
    apps = [make_app(procedure) for _ in range(5)]
    client = staff_client("kodomo1", procedure.municipality, "kodomo")
    seen = []
    url = inbox_url(procedure)
    while url:
        body = client.get(url).content.decode()
        seen += re.findall(r'class="staff-receipt-link">([\d-]+)<', body)
        match = re.search(r'href="\?([^"]*)" id="page-next"', body)
        url = inbox_url(procedure) + "?" + match.group(1).replace("&amp;", "&") if match else ""
    assert seen == [a.receipt_number for a in apps]  # newest first (created older and older)


@pytest.mark.django_db
def test_inbox_query_count_does_not_grow_with_rows(
    staff_client, procedure, django_user_model, django_assert_max_num_queries
):
    client = staff_client("kodomo1", procedure.municipality, "kodomo")
    other = make_staff(django_user_model, "kodomo2", procedure.municipality, "kodomo")
    url = inbox_url(procedure)
    for i in range(3):
        make_app(procedure, assigned_to=other if i % 2 else None)
    # Session, user, second factor and memberships (middleware and the staff check), then
    # the page: procedures of the filter, rows, counts, assignable staff. The department
    # comes with the membership (no query of its own).
    with django_assert_max_num_queries(8) as small:
        client.get(url)
    for i in range(30):
        make_app(procedure, assigned_to=other if i % 2 else client.user)
    with django_assert_max_num_queries(8) as large:
        client.get(url)
    assert len(large) == len(small)


@pytest.mark.django_db
def test_viewer_gets_no_bulk_form_and_bulk_post_is_refused(staff_client, procedure):
    app = make_app(procedure)
    client = staff_client("viewer1", procedure.municipality, "kodomo", role="viewer")
    body = client.get(inbox_url(procedure)).content.decode()
    assert app.receipt_number in body
    assert 'id="bulk-form"' not in body and 'name="ids"' not in body
    url = reverse("staff:inbox_bulk", args=[kodomo(procedure).pk])
    response = client.post(url, {"ids": [app.pk], "action": "assign", "assignee": "me"})
    assert response.status_code == 403
    app.refresh_from_db()
    assert app.assigned_to is None


@pytest.mark.django_db
def test_bulk_assign_to_me_and_to_a_colleague(staff_client, procedure, django_user_model):
    colleague = make_staff(django_user_model, "kodomo2", procedure.municipality, "kodomo")
    outsider = make_staff(django_user_model, "suido1", procedure.municipality, role="viewer")
    a, b = make_app(procedure), make_app(procedure)
    client = staff_client("kodomo1", procedure.municipality, "kodomo")
    url = reverse("staff:inbox_bulk", args=[kodomo(procedure).pk])

    response = client.post(
        url, {"ids": [a.pk, b.pk], "action": "assign", "assignee": "me", "back": "q=2026"}
    )
    assert response.status_code == 302
    assert response["Location"] == inbox_url(procedure) + "?q=2026"
    a.refresh_from_db(), b.refresh_from_db()
    assert a.assigned_to == client.user == b.assigned_to
    body = client.get(response["Location"]).content.decode()
    assert 'id="bulk-result"' in body and "変更した申請：2件" in body
    # shown once
    assert 'id="bulk-result"' not in client.get(inbox_url(procedure)).content.decode()

    client.post(url, {"ids": [a.pk], "action": "assign", "assignee": str(colleague.pk)})
    a.refresh_from_db()
    assert a.assigned_to == colleague
    # someone who cannot handle the department is not offered and is refused
    body = client.get(inbox_url(procedure)).content.decode()
    options = re.search(r'id="bulk-assignee">(.*?)</select>', body, re.S).group(1)
    assert f'value="{colleague.pk}"' in options
    assert f'value="{outsider.pk}"' not in options
    client.post(url, {"ids": [a.pk], "action": "assign", "assignee": str(outsider.pk)})
    a.refresh_from_db()
    assert a.assigned_to == colleague
    assert "割り当てる職員を選んでください。" in client.get(inbox_url(procedure)).content.decode()


@pytest.mark.django_db
def test_bulk_status_change_reports_refusals_with_reasons(staff_client, procedure):
    received = make_app(procedure, status=Status.RECEIVED)
    done = make_app(procedure, status=Status.COMPLETED)
    client = staff_client("kodomo1", procedure.municipality, "kodomo")
    url = reverse("staff:inbox_bulk", args=[kodomo(procedure).pk])

    client.post(
        url, {"ids": [received.pk, done.pk], "action": "status", "to_status": "in_progress"}
    )
    received.refresh_from_db(), done.refresh_from_db()
    assert received.status == Status.IN_PROGRESS
    assert done.status == Status.COMPLETED
    body = client.get(inbox_url(procedure)).content.decode()
    assert "変更した申請：1件　変更できなかった申請：1件" in body
    assert done.receipt_number in body
    assert "「完了」の申請を「処理中」に変更することはできません。" in body

    # 要再申請 needs one message for all
    client.post(url, {"ids": [received.pk], "action": "status", "to_status": "returned"})
    received.refresh_from_db()
    assert received.status == Status.IN_PROGRESS
    assert MSG_RETURN_NEEDS_MESSAGE in client.get(inbox_url(procedure)).content.decode()
    client.post(
        url,
        {
            "ids": [received.pk],
            "action": "status",
            "to_status": "returned",
            "message": "住所の番地を入力してください。",
        },
    )
    received.refresh_from_db()
    assert received.status == Status.RETURNED
    assert (
        received.events.get(to_status=Status.RETURNED).message == "住所の番地を入力してください。"
    )


@pytest.mark.django_db
def test_bulk_ignores_applications_outside_the_inbox(staff_client, procedure, other_procedure):
    water = make_procedure(procedure.municipality, slug="water", department_code="suido")
    theirs = make_app(water)
    other_town = make_app(other_procedure)
    client = staff_client("kodomo1", procedure.municipality, "kodomo")
    url = reverse("staff:inbox_bulk", args=[kodomo(procedure).pk])
    client.post(url, {"ids": [theirs.pk, other_town.pk], "action": "assign", "assignee": "me"})
    assert not Application.objects.filter(assigned_to=client.user).exists()
    body = client.get(inbox_url(procedure)).content.decode()
    assert "対象の申請を一覧のチェックボックスで選んでください。" in body
    # and another department's bulk URL is a 404
    suido = Department.objects.get(code="suido")
    assert client.post(reverse("staff:inbox_bulk", args=[suido.pk]), {}).status_code == 404


@pytest.mark.django_db
def test_bulk_needs_post(staff_client, procedure):
    client = staff_client("kodomo1", procedure.municipality, "kodomo")
    url = reverse("staff:inbox_bulk", args=[kodomo(procedure).pk])
    assert client.get(url).status_code == 405


@pytest.mark.django_db
def test_drafts_are_not_reachable(staff_client, procedure):
    from madoguchi.applications import services

    draft, _ = services.start_draft(procedure)
    client = staff_client("admin1", procedure.municipality, role="admin")
    assert client.get(reverse("staff:application_detail", args=[draft.pk])).status_code == 404


@pytest.mark.django_db
def test_inbox_offers_the_export_of_its_rows_with_the_same_filters(staff_client, procedure):
    make_app(procedure, name="山田　花子", kana="ヤマダ　ハナコ")
    client = staff_client("kodomo-export", procedure.municipality, "kodomo", role="viewer")
    department = kodomo(procedure)
    body = client.get(inbox_url(procedure), {"q": "やまだ", "status": "received"}).content
    match = re.search(r'id="inbox-export" href="([^"]+)"', body.decode())
    assert match, "the inbox has no 「一覧を出力」"
    href = match.group(1).replace("&amp;", "&")
    assert href.startswith(f"/staff/exports/new/?department={department.pk}&")
    form = client.get(href)
    assert form.status_code == 200
    hidden = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.content.decode())
    assert ("q", "やまだ") in hidden and ("status", "received") in hidden
    assert ("department", str(department.pk)) in hidden


@pytest.mark.django_db
def test_the_combined_inbox_offers_no_export(staff_client, procedure):
    client = staff_client("kodomo-all", procedure.municipality, "kodomo")
    body = client.get(reverse("staff:inbox_all")).content.decode()
    assert 'id="inbox-export"' not in body


@pytest.mark.django_db
def test_inbox_marks_resubmitted_applications_while_staff_have_them(staff_client, procedure):
    from django.utils import timezone

    resubmitted = make_app(procedure, name="山田　花子", status=Status.IN_PROGRESS)
    waiting = make_app(procedure, name="佐藤　一郎", status=Status.RETURNED)
    plain = make_app(procedure, name="鈴木　三郎")
    Application.objects.filter(pk__in=[resubmitted.pk, waiting.pk]).update(
        resubmitted_at=timezone.now()
    )
    client = staff_client("kodomo1", procedure.municipality, "kodomo")
    body = client.get(inbox_url(procedure)).content.decode()
    badge = re.search(rf'<tr id="row-{resubmitted.pk}".*?</tr>', body, re.S).group(0)
    assert f'id="resubmitted-{resubmitted.pk}">再申請</span>' in badge
    # Returned again (waiting for the applicant) or never resubmitted: no mark.
    assert f'id="resubmitted-{waiting.pk}"' not in body
    assert f'id="resubmitted-{plain.pk}"' not in body


@pytest.mark.django_db
def test_inbox_rows_escape_what_applicants_typed(staff_client, procedure):
    # The rows are built in Python (staff.inbox_views._rows_html), not by the template.
    application = make_app(procedure, name='<b>山田</b> "花子"', kana="<i>ヤマダ</i>")
    client = staff_client("kodomo1", procedure.municipality, "kodomo")
    body = client.get(inbox_url(procedure)).content.decode()
    row = re.search(rf'<tr id="row-{application.pk}".*?</tr>', body, re.S).group(0)
    assert "<b>" not in row and "<i>" not in row
    assert "&lt;b&gt;山田&lt;/b&gt; &quot;花子&quot;" in row
    assert "&lt;i&gt;ヤマダ&lt;/i&gt;" in row
    assert f'href="/staff/applications/{application.pk}/" class="staff-receipt-link">' in row
    assert f'aria-label="{application.receipt_number}を選択"' in row


@pytest.mark.django_db
def test_inbox_of_a_department_is_open_to_its_staff_and_municipality_wide_members_only(
    staff_client, procedure, other_procedure, django_user_model
):
    department = kodomo(procedure)
    for username, role, code, status in [
        ("kodomo1", "handler", "kodomo", 200),
        ("admin1", "admin", None, 200),  # municipality-wide: every department of it
        ("viewer1", "viewer", None, 200),
        ("editor1", "form_editor", "kodomo", 404),  # builds forms, sees no application
    ]:
        client = staff_client(username, procedure.municipality, code, role)
        assert client.get(inbox_url(procedure)).status_code == status, username
    other = other_procedure.departments.get()
    assert client.get(reverse("staff:inbox", args=[other.pk])).status_code == 404
    admin = staff_client("admin2", procedure.municipality, None, "admin")
    assert admin.get(reverse("staff:inbox", args=[other.pk])).status_code == 404
    body = admin.get(reverse("staff:inbox", args=[department.pk]), {"q": "やまだ"})
    assert body.status_code == 200
    log = AccessLog.objects.filter(action=AccessLog.Action.SEARCH).latest("pk")
    assert log.municipality_id == procedure.municipality_id
