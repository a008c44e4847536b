"""Staff actions (madoguchi.applications.staff_actions) through the real database."""

import copy

import pytest
from django.core import mail

from madoguchi.applications import services, staff_actions
from madoguchi.applications.models import (
    Application,
    ApplicationEvent,
    DepartmentProgress,
)
from madoguchi.applications.staff_actions import (
    ActionError,
    NotAllowedError,
    StaleApplicationError,
    TransitionError,
)
from madoguchi.outbox.models import OutboxMessage
from madoguchi.tenants.models import Business, Department, StaffMembership
from tests import filling

from .conftest import SIMPLE_FORM, make_procedure
from .test_services import ANSWERS, submitted_application

pytestmark = pytest.mark.django_db

STALE = (
    "この申請は、画面を開いたあとにほかの職員が更新しました。"
    "最新の内容を確認してから、もう一度操作してください。"
)
NOT_ALLOWED = "この申請を処理する権限がありません。"


@pytest.fixture
def make_staff(django_user_model):
    def make(username, municipality, department=None, role="handler", **names):
        user = django_user_model.objects.create_user(username, **names)  # no password: fast
        StaffMembership.objects.create(
            user=user, municipality=municipality, department=department, role=role
        )
        return user

    return make


@pytest.fixture
def kodomo(procedure):
    return Department.objects.get(municipality=procedure.municipality, code="kodomo")


@pytest.fixture
def handler(make_staff, procedure, kodomo):
    return make_staff("handler", procedure.municipality, kodomo)


@pytest.fixture
def application(procedure):
    application, _token = submitted_application(procedure)
    OutboxMessage.objects.all().delete()  # the confirmation e-mail is not under test here
    return application


def mails():
    return list(OutboxMessage.objects.order_by("pk"))


def fresh(application) -> Application:
    return Application.objects.get(pk=application.pk)


def test_change_status_records_event_increments_version_and_mails(application, handler):
    changed = staff_actions.change_status(
        application,
        "in_progress",
        user=handler,
        message="審査を始めました。",
        expected_version=0,
    )
    assert changed.status == "in_progress"
    assert changed.lock_version == 1
    assert fresh(application).lock_version == 1
    event = application.events.get(kind=ApplicationEvent.Kind.STATUS_CHANGED)
    assert (event.actor_type, event.actor_user, event.from_status, event.to_status) == (
        "staff",
        handler,
        "received",
        "in_progress",
    )
    assert event.message == "審査を始めました。"
    assert event.created_at is not None
    [message] = mails()
    assert message.payload["to"] == ["hanako@example.jp"]
    subject, body = message.payload["subject"], message.payload["body"]
    assert subject == (
        f"【千代田区】申請の状況が「処理中」になりました（受付番号 {application.receipt_number}）"
    )
    assert "審査を始めました。" in body
    assert f"受付番号：{application.receipt_number}" in body
    assert "申請の状況は、受付時のメールにあるリンクから確認できます。" in body
    assert "/status/" not in body  # the status token is not stored; the old link stays valid
    # the single department mirrors the case
    assert DepartmentProgress.objects.get(application=application).state == "in_progress"


def test_finishing_sets_finished_at(application, handler):
    changed = staff_actions.change_status(
        application, "completed", user=handler, expected_version=0
    )
    assert changed.finished_at is not None
    assert fresh(application).status == "completed"


def test_returned_requires_a_message_and_changes_nothing(application, handler):
    with pytest.raises(TransitionError) as excinfo:
        staff_actions.change_status(
            application, "returned", user=handler, message="  ", expected_version=0
        )
    assert excinfo.value.message == (
        "要再申請にするときは、申請者に修正してほしい内容をメッセージに入力してください。"
    )
    current = fresh(application)
    assert (current.status, current.lock_version) == ("received", 0)
    assert not application.events.filter(kind="status_changed").exists()
    assert mails() == []


def test_refused_transition_message_names_both_states(application, handler):
    staff_actions.change_status(application, "completed", user=handler, expected_version=0)
    with pytest.raises(TransitionError) as excinfo:
        staff_actions.change_status(application, "in_progress", user=handler, expected_version=1)
    assert excinfo.value.message == "「完了」の申請を「処理中」に変更することはできません。"
    assert fresh(application).lock_version == 1  # the claim was rolled back


def test_stale_version_is_refused_and_nothing_is_overwritten(application, handler, make_staff):
    other = make_staff("other", application.municipality, role="admin")
    # Both opened the screen at version 0.
    staff_actions.change_status(
        application, "returned", user=other, message="住所を確認してください。", expected_version=0
    )
    with pytest.raises(StaleApplicationError) as excinfo:
        staff_actions.change_status(application, "completed", user=handler, expected_version=0)
    assert excinfo.value.message == STALE
    current = fresh(application)
    assert (current.status, current.lock_version) == ("returned", 1)
    assert application.events.filter(kind="status_changed").count() == 1
    assert len(mails()) == 1


@pytest.mark.parametrize("who", ["viewer", "other_department", "other_municipality", "nobody"])
def test_only_handlers_of_the_application_may_change_it(
    application, make_staff, who, other_municipality, django_user_model
):
    municipality = application.municipality
    if who == "viewer":
        user = make_staff("viewer", municipality, role="viewer")
    elif who == "other_department":
        water = Department.objects.create(municipality=municipality, code="suido", name="水道課")
        user = make_staff("water", municipality, water)
    elif who == "other_municipality":
        user = make_staff("tomakomai", other_municipality, role="admin")
    else:
        user = django_user_model.objects.create_user("nobody")
    for action in (
        lambda: staff_actions.change_status(
            application, "in_progress", user=user, expected_version=0
        ),
        lambda: staff_actions.assign(application, None, user=user, expected_version=0),
        lambda: staff_actions.add_note(application, "メモ", user=user),
        lambda: staff_actions.send_message(application, "お知らせ", user=user),
    ):
        with pytest.raises(NotAllowedError) as excinfo:
            action()
        assert excinfo.value.message == NOT_ALLOWED
    current = fresh(application)
    assert (current.status, current.lock_version) == ("received", 0)
    assert not application.events.filter(actor_type="staff").exists()
    assert mails() == []


def test_proxy_business_is_mailed_too(procedure, handler):
    procedure.allows_proxy = True
    procedure.save()
    business = Business.objects.create(
        municipality=procedure.municipality, name="さくら介護", email="office@sakura.example.jp"
    )
    application, _token = services.start_draft(procedure, proxy_business=business)
    services.save_step(
        application,
        "applicant",
        raw={},
        answers=ANSWERS,
        completed=True,
        step_index=0,
    )
    services.submit(application, base_url="http://testserver")
    OutboxMessage.objects.all().delete()
    staff_actions.change_status(
        application, "returned", user=handler, message="印鑑が必要です。", expected_version=0
    )
    recipients = [m.payload["to"] for m in mails()]
    assert recipients == [["hanako@example.jp"], ["office@sakura.example.jp"]]
    body = mails()[0].payload["body"]
    assert "印鑑が必要です。" in body
    assert "「内容を修正して再申請する」" in body


def test_counter_application_without_email_gets_no_mail(municipality, handler):
    # A form where the e-mail address is optional: the resident at the counter gave none.
    schema = copy.deepcopy(SIMPLE_FORM)
    schema["steps"][0]["fields"][1]["required"] = False
    procedure = make_procedure(municipality, slug="no-email", schema=schema)
    application, _token = filling.submitted(
        procedure,
        {"applicant_name": ANSWERS["applicant_name"]},
        channel="counter",
        entered_by=handler,
    )
    assert application.applicant_email == ""
    assert mails() == []
    staff_actions.change_status(application, "completed", user=handler, expected_version=0)
    assert mails() == []
    assert fresh(application).status == "completed"


def test_leaving_returned_drops_the_unfinished_correction(application, handler):
    staff_actions.change_status(
        application, "returned", user=handler, message="直してください。", expected_version=0
    )
    current = fresh(application)
    services.save_step(
        current,
        "applicant",
        raw={"x": "1"},
        answers={"email": "new@example.jp"},
        completed=True,
        step_index=0,
    )
    assert services.CORRECTION_KEY in fresh(application).draft_values
    assert fresh(application).answers["email"] == "hanako@example.jp"  # staff still see these
    staff_actions.change_status(
        application, "in_progress", user=handler, message="電話で確認しました。", expected_version=1
    )
    current = fresh(application)
    assert current.status == "in_progress"
    assert current.draft_values == {}
    assert current.answers["email"] == "hanako@example.jp"


# ----------------------------------------------------------------------------- departments


@pytest.fixture
def water_case(make_staff, municipality):
    """水道 + 下水道: one procedure, two departments, one handler each and an admin."""
    procedure = make_procedure(municipality, slug="water", department_code="suido")
    sewer = Department.objects.create(municipality=municipality, code="gesuido", name="下水道課")
    procedure.departments.add(sewer)
    water = Department.objects.get(municipality=municipality, code="suido")
    water.name = "水道課"
    water.save()
    application, _token = submitted_application(procedure)
    OutboxMessage.objects.all().delete()
    return {
        "application": application,
        "water": water,
        "sewer": sewer,
        "water_handler": make_staff("w", municipality, water),
        "sewer_handler": make_staff("s", municipality, sewer),
        "admin": make_staff("a", municipality, role="admin"),
    }


def test_submit_creates_one_progress_row_per_department(water_case):
    rows = DepartmentProgress.objects.filter(application=water_case["application"])
    assert sorted(rows.values_list("department__code", "state")) == [
        ("gesuido", "received"),
        ("suido", "received"),
    ]


def test_overall_status_is_derived_from_the_departments(water_case):
    app = water_case["application"]
    water, sewer = water_case["water"], water_case["sewer"]

    changed = staff_actions.change_status(
        app, "in_progress", user=water_case["water_handler"], expected_version=0, department=water
    )
    assert changed.status == "in_progress"
    kinds = list(
        app.events.filter(actor_type="staff").values_list("kind", "from_status", "to_status")
    )
    assert kinds == [
        ("department_status_changed", "received", "in_progress"),
        ("status_changed", "received", "in_progress"),
    ]
    assert len(mails()) == 1  # the overall status changed: one mail

    # 下水道 finishes first, without a message: overall stays 処理中, nobody is mailed.
    changed = staff_actions.change_status(
        app, "completed", user=water_case["sewer_handler"], expected_version=1, department=sewer
    )
    assert changed.status == "in_progress"
    assert len(mails()) == 1
    assert app.events.filter(kind="status_changed").count() == 1

    # 水道 refuses its part with a message: all finished, mixed → 完了; one mail.
    changed = staff_actions.change_status(
        app,
        "rejected",
        user=water_case["water_handler"],
        message="メーターの設置場所が確認できないため、水道の開栓はお受けできません。",
        expected_version=2,
        department=water,
    )
    assert changed.status == "completed"
    assert changed.finished_at is not None
    assert len(mails()) == 2
    body = mails()[-1].payload["body"]
    assert "■水道課からのメッセージ" in body
    assert "「完了」になりました" in mails()[-1].payload["subject"]
    last = app.events.filter(kind="status_changed").last()
    assert (last.from_status, last.to_status) == ("in_progress", "completed")
    assert dict(
        DepartmentProgress.objects.filter(application=app).values_list("department__code", "state")
    ) == {"suido": "rejected", "gesuido": "completed"}


def test_department_message_without_overall_change_is_mailed_and_shown(water_case):
    app = water_case["application"]
    staff_actions.change_status(
        app,
        "in_progress",
        user=water_case["water_handler"],
        expected_version=0,
        department=water_case["water"],
    )
    staff_actions.change_status(
        app,
        "completed",
        user=water_case["sewer_handler"],
        message="下水道の使用開始を登録しました。",
        expected_version=1,
        department=water_case["sewer"],
    )
    assert len(mails()) == 2
    history = services.status_history(app)
    assert [(e.kind, e.message) for e in history][-1] == (
        "department_status_changed",
        "下水道の使用開始を登録しました。",
    )
    # The department event that changed the overall status is not shown twice.
    assert [e.kind for e in history] == [
        "submitted",
        "status_changed",
        "department_status_changed",
    ]


def test_all_rejected_is_rejected(water_case):
    app = water_case["application"]
    for version, (department, user) in enumerate(
        [
            (water_case["water"], water_case["water_handler"]),
            (water_case["sewer"], water_case["sewer_handler"]),
        ]
    ):
        changed = staff_actions.change_status(
            app,
            "rejected",
            user=user,
            message="却下の理由",
            expected_version=version,
            department=department,
        )
    assert changed.status == "rejected"


def test_department_rules(water_case):
    app = water_case["application"]
    with pytest.raises(NotAllowedError) as excinfo:
        staff_actions.change_status(
            app,
            "in_progress",
            user=water_case["water_handler"],
            expected_version=0,
            department=water_case["sewer"],
        )
    assert excinfo.value.message == "下水道課の処理状況を変更する権限がありません。"

    elsewhere = Department.objects.create(
        municipality=app.municipality, code="kodomo", name="こども家庭課"
    )
    with pytest.raises(NotAllowedError) as excinfo:
        staff_actions.change_status(
            app, "in_progress", user=water_case["admin"], expected_version=0, department=elsewhere
        )
    assert excinfo.value.message == "こども家庭課はこの申請の担当課ではありません。"

    with pytest.raises(TransitionError) as excinfo:
        staff_actions.change_status(
            app,
            "returned",
            user=water_case["water_handler"],
            message="直して",
            expected_version=0,
            department=water_case["water"],
        )
    assert excinfo.value.message == (
        "要再申請は申請全体に対して行います。担当課を指定せずに変更してください。"
    )

    # A handler of one department cannot decide the whole case …
    with pytest.raises(NotAllowedError) as excinfo:
        staff_actions.change_status(
            app, "completed", user=water_case["water_handler"], expected_version=0
        )
    assert excinfo.value.message == (
        "この申請は複数の担当課で処理します。担当課ごとに処理状況を変更してください。"
    )
    # … but may return it to the applicant (case-wide); departments cannot move meanwhile.
    staff_actions.change_status(
        app,
        "returned",
        user=water_case["water_handler"],
        message="口座の名義を確認してください。",
        expected_version=0,
    )
    with pytest.raises(TransitionError) as excinfo:
        staff_actions.change_status(
            app,
            "in_progress",
            user=water_case["sewer_handler"],
            expected_version=1,
            department=water_case["sewer"],
        )
    assert excinfo.value.message.startswith(
        "「要再申請」の申請は、担当課ごとの処理状況を変更できません。"
    )
    assert fresh(app).lock_version == 1

    # An admin handles every department: a case-wide decision finishes every part.
    staff_actions.change_status(
        app,
        "in_progress",
        user=water_case["admin"],
        message="電話で確認しました。",
        expected_version=1,
    )
    staff_actions.change_status(app, "completed", user=water_case["admin"], expected_version=2)
    assert set(
        DepartmentProgress.objects.filter(application=app).values_list("state", flat=True)
    ) == {"completed"}


# ----------------------------------------------------------------------------- bulk


def test_bulk_change_status_reports_refusals(procedure, handler, make_staff):
    apps = [submitted_application(procedure)[0] for _ in range(4)]
    staff_actions.change_status(apps[1], "completed", user=handler, expected_version=0)
    elsewhere = make_procedure(procedure.municipality, slug="other", department_code="zeimu")
    foreign, _ = submitted_application(elsewhere)
    stale = Application.objects.get(pk=apps[3].pk)  # loaded before someone else's change
    staff_actions.change_status(apps[3], "in_progress", user=handler, expected_version=0)
    OutboxMessage.objects.all().delete()

    targets = [Application.objects.get(pk=a.pk) for a in apps[:3]] + [foreign, stale]
    result = staff_actions.bulk_change_status(
        targets, "completed", user=handler, message="審査が終わりました。"
    )
    assert [a.pk for a in result.changed] == [apps[0].pk, apps[2].pk]
    assert result.refused == [
        (apps[1].receipt_number, "この申請はすでに「完了」です。"),
        (foreign.receipt_number, NOT_ALLOWED),
        (apps[3].receipt_number, STALE),
    ]
    assert [m.reference for m in mails()] == [
        f"application:{apps[0].pk}",
        f"application:{apps[2].pk}",
    ]
    assert fresh(apps[3]).status == "in_progress"
    assert fresh(foreign).status == "received"


def test_bulk_return_needs_a_message(procedure, handler):
    apps = [submitted_application(procedure)[0] for _ in range(2)]
    result = staff_actions.bulk_change_status(apps, "returned", user=handler, message="")
    assert result.changed == []
    assert {reason for _n, reason in result.refused} == {
        "要再申請にするときは、申請者に修正してほしい内容をメッセージに入力してください。"
    }


# ----------------------------------------------------------------------------- assignment


def test_assign_and_unassign(application, handler, make_staff, kodomo):
    colleague = make_staff("colleague", application.municipality, kodomo)
    changed = staff_actions.assign(application, colleague, user=handler, expected_version=0)
    assert changed.assigned_to == colleague
    assert changed.lock_version == 1
    event = application.events.get(kind="assigned")
    assert event.actor_user == handler
    assert event.data == {"assigned_to": colleague.pk, "previous": None}

    # the same assignment again changes nothing
    assert staff_actions.assign(application, colleague, user=handler, expected_version=1)
    assert fresh(application).lock_version == 1

    with pytest.raises(StaleApplicationError):
        staff_actions.assign(application, None, user=handler, expected_version=0)
    changed = staff_actions.assign(application, None, user=handler, expected_version=1)
    assert changed.assigned_to is None
    assert mails() == []  # assignment is internal


def test_assignee_must_be_able_to_handle_it(application, handler, make_staff, django_user_model):
    viewer = make_staff("viewer", application.municipality, role="viewer", last_name="佐藤")
    with pytest.raises(NotAllowedError) as excinfo:
        staff_actions.assign(application, viewer, user=handler, expected_version=0)
    assert excinfo.value.message == (
        "佐藤さんはこの申請の担当者にできません（この申請を処理する権限がありません）。"
    )
    stranger = django_user_model.objects.create_user("stranger")
    with pytest.raises(NotAllowedError):
        staff_actions.assign(application, stranger, user=handler, expected_version=0)
    assert fresh(application).assigned_to is None


def test_bulk_assign(procedure, handler, make_staff, kodomo):
    apps = [submitted_application(procedure)[0] for _ in range(2)]
    elsewhere = make_procedure(procedure.municipality, slug="other", department_code="zeimu")
    foreign, _ = submitted_application(elsewhere)
    result = staff_actions.bulk_assign([*apps, foreign], handler, user=handler)
    assert [a.pk for a in result.changed] == [a.pk for a in apps]
    assert result.refused == [(foreign.receipt_number, NOT_ALLOWED)]


# ----------------------------------------------------------------------------- notes, messages


def test_notes_are_internal(application, handler):
    event = staff_actions.add_note(application, "  電話で本人に確認済み。 ", user=handler)
    assert (event.kind, event.message, event.actor_user) == (
        "note",
        "電話で本人に確認済み。",
        handler,
    )
    assert event not in services.status_history(application)
    assert mails() == []
    assert fresh(application).lock_version == 0
    with pytest.raises(ActionError) as excinfo:
        staff_actions.add_note(application, "   ", user=handler)
    assert excinfo.value.message == "メモを入力してください。"


def test_send_message(application, handler, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        event = staff_actions.send_message(application, "原本をお持ちください。", user=handler)
    assert event.kind == "message"
    assert event in services.status_history(application)
    assert mail.outbox[-1].to == ["hanako@example.jp"]
    assert mail.outbox[-1].subject == (
        f"【千代田区】担当課からのお知らせ（受付番号 {application.receipt_number}）"
    )
    assert "原本をお持ちください。" in mail.outbox[-1].body
    with pytest.raises(ActionError) as excinfo:
        staff_actions.send_message(application, "", user=handler)
    assert excinfo.value.message == "申請者へのメッセージを入力してください。"
