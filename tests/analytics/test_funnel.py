"""The form funnel and validation failures from real portal sessions (Django test client
posting the steps of the standard 児童手当 認定請求 form), and the rule codes they record."""

import datetime as dt

import pytest
from django.utils import timezone

from madoguchi.analytics import figures
from madoguchi.analytics.models import ValidationFailure
from madoguchi.applications import services
from madoguchi.applications.models import Channel
from madoguchi.catalog.models import Procedure
from tests.conftest import make_staff
from tests.portal.conftest import location, parse_step_url, start
from tests.portal.test_apply import CLAIMANT, SLUG, next_url, post, walk_to

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def funnel_of(municipality, user):
    today = timezone.localdate()
    scope = figures.build_scope(user, municipality, start=today - dt.timedelta(days=30), end=today)
    procedures = {p.pk: p for p in Procedure.objects.filter(pk__in=scope.procedure_ids)}
    [funnel] = [
        f for f in figures.funnel(scope, procedures) if f["procedure"].startswith("児童手当")
    ]
    return funnel, scope


def test_funnel_from_portal_sessions(client, loaded_municipality):
    chiyoda = loaded_municipality
    from django.test import Client

    # resident 1: gives up on the spouse step (completed 2 steps)
    walk_to(Client(), start(Client(), SLUG), "spouse")
    # resident 2: fails validation on the claimant step, corrects it, stops at the spouse step
    c2 = Client()
    url = walk_to(c2, start(c2, SLUG), "claimant")
    bad = {
        **CLAIMANT,
        "claimant_name__given": "",
        "claimant_individual_number": "123456789012",
        "claimant_email__confirm": "other@example.jp",
    }
    assert post(c2, url, bad).status_code == 200
    assert (
        post(
            c2,
            url,
            {**CLAIMANT, "claimant_birth_date__month": "2", "claimant_birth_date__day": "30"},
        ).status_code
        == 200
    )
    next_url(c2, url, CLAIMANT)
    # resident 3: opens the form only
    start(Client(), SLUG)
    # a counter entry is not part of the residents' funnel, nor are its errors
    procedure = Procedure.objects.get(municipality=chiyoda, slug=SLUG)
    clerk = make_staff("clerk", chiyoda, role="admin")
    services.start_draft(procedure, channel=Channel.COUNTER, entered_by=clerk)

    funnel, _scope = funnel_of(chiyoda, clerk)
    assert funnel["opened"] == 3
    reached = [s["reached"] for s in funnel["steps"]]
    assert reached[:4] == [3, 2, 2, 0]  # requirements, claimant, spouse, children
    assert funnel["steps"][0]["dropped"] == 1
    assert funnel["steps"][1]["dropped"] == 0
    assert funnel["steps"][2]["dropped"] == 2 and funnel["steps"][2]["drop_rate"] == 1.0
    assert funnel["confirmation"] == 0 and funnel["submitted"] == 0

    failures = {
        (f.field_key, f.rule): (f.count, f.field_label) for f in ValidationFailure.objects.all()
    }
    assert failures == {
        ("claimant_name", "required"): (1, "請求者の氏名"),
        ("claimant_individual_number", "check_digit"): (1, "請求者の個人番号（マイナンバー）"),
        ("claimant_email", "confirm_mismatch"): (1, "メールアドレス"),
        ("claimant_birth_date", "date_impossible"): (1, "請求者の生年月日"),
    }
    rows = figures.validation_failures(_scope)
    assert {(r["field"], r["rule"], r["count"]) for r in rows} == {
        (label, rule, count) for (key, rule), (count, label) in failures.items()
    }
    # values are never stored
    stored = repr(list(ValidationFailure.objects.values()))
    assert "123456789012" not in stored and "other@example.jp" not in stored


def test_submitted_portal_session_reaches_confirmation(client, loaded_municipality):
    chiyoda = loaded_municipality
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.portal.conftest import SMALL_PDF

    url = walk_to(client, start(client, SLUG), "attachments")
    token, _step = parse_step_url(url)
    pdf = SimpleUploadedFile("a.pdf", SMALL_PDF, content_type="application/pdf")
    confirm = location(
        client.post(url, {"_action": "next", "insurance_document": pdf, "privacy_notice": "1"})
    )
    location(client.post(confirm, {"rating": "4", "comment": ""}))
    clerk = make_staff("clerk", chiyoda, role="admin")
    funnel, scope = funnel_of(chiyoda, clerk)
    assert funnel["opened"] == 1
    assert all(s["reached"] == 1 for s in funnel["steps"])
    assert funnel["confirmation"] == 1 and funnel["submitted"] == 1
    assert funnel["completion_rate"] == 1.0
    assert figures.satisfaction(scope)["distribution"][4] == 1


def test_field_errors_carry_rule_codes():
    from madoguchi.formengine.schema import parse_form
    from madoguchi.formengine.validation import validate_step

    form = parse_form(
        {
            "title": "t",
            "steps": [
                {
                    "key": "s",
                    "title": "s",
                    "fields": [
                        {"key": "t", "type": "text", "label": "文", "max_length": 3},
                        {"key": "n", "type": "integer", "label": "数", "min": 1, "max": 9},
                        {"key": "r", "type": "text", "label": "必", "required": True},
                        {"key": "p", "type": "phone", "label": "電話"},
                    ],
                }
            ],
        },
        "test",
    )
    result = validate_step(form, "s", {"t": "あいうえ", "n": "10", "r": "", "p": "abc"}, {})
    assert {(e.path, e.rule) for e in result.errors} == {
        ("t", "max_length"),
        ("n", "range"),
        ("r", "required"),
        ("p", "format"),
    }


PET_FORM = {
    "title": "テスト申請",
    "steps": [
        {
            "key": "about",
            "title": "飼育の有無",
            "fields": [
                {"key": "has_pet", "type": "yesno", "label": "犬を飼っていますか", "required": True}
            ],
        },
        {
            "key": "pet",
            "title": "犬の情報",
            "fields": [
                {
                    "key": "pet_name",
                    "type": "text",
                    "label": "犬の名前",
                    "required": True,
                    "visible_if": {"field": "has_pet", "equals": True},
                }
            ],
        },
        {
            "key": "applicant",
            "title": "申請者",
            "fields": [
                {"key": "applicant_name", "type": "name", "label": "氏名", "required": True},
                {"key": "email", "type": "email", "label": "メールアドレス", "required": True},
            ],
        },
    ],
}
ANSWERS_NAME = {"family": "山田", "given": "花子", "family_kana": "ヤマダ", "given_kana": "ハナコ"}
APPLICANT = {
    "applicant_name__family": "山田",
    "applicant_name__given": "花子",
    "applicant_name__family_kana": "ヤマダ",
    "applicant_name__given_kana": "ハナコ",
    "email": "hanako@example.jp",
}


def pet_procedure(municipality) -> Procedure:
    from tests.applications.conftest import make_procedure

    return make_procedure(municipality, slug="pet_test", schema=PET_FORM)


def pet_funnel(municipality, procedure) -> dict:
    clerk = make_staff("clerk", municipality, role="admin")
    today = timezone.localdate()
    scope = figures.build_scope(clerk, municipality, start=today - dt.timedelta(days=30), end=today)
    [funnel] = [
        f
        for f in figures.funnel(scope, {procedure.pk: procedure})
        if f["procedure_id"] == procedure.pk
    ]
    return funnel


def test_no_stage_shows_fewer_people_than_the_next(loaded_municipality):
    """A submitted draft whose steps were never counted (e.g. recorded before step events
    carried the hidden steps) still passed every stage: no negative drop-off."""
    procedure = pet_procedure(loaded_municipality)
    application, _token = services.start_draft(procedure, channel=Channel.PORTAL)
    answers = {"has_pet": False, "applicant_name": ANSWERS_NAME, "email": "hanako@example.jp"}
    type(application).objects.filter(pk=application.pk).update(answers=answers)
    application.refresh_from_db()
    services.submit(application, base_url="http://testserver")
    funnel = pet_funnel(loaded_municipality, procedure)
    assert [s["reached"] for s in funnel["steps"]] == [1, 1, 1]
    assert [s["dropped"] for s in funnel["steps"]] == [0, 0, 0]
    assert (funnel["confirmation"], funnel["submitted"]) == (1, 1)


def test_a_step_hidden_by_the_answers_does_not_hide_the_confirmation(loaded_municipality):
    """Three residents of a form whose 2nd step is shown only to dog owners: one without a
    dog goes straight from step 1 to step 3 and on to confirmation; one with a dog stops at
    step 2; one without a dog stops at step 3. The confirmation count is the first one only,
    and a skipped step counts as passed (nobody dropped out there)."""
    from django.test import Client

    procedure = pet_procedure(loaded_municipality)

    no_dog = Client()
    url = start(no_dog, "pet_test")
    url = next_url(no_dog, url, {"has_pet": "no"})
    assert parse_step_url(url)[1] == "applicant"  # the dog step is skipped
    confirm = next_url(no_dog, url, APPLICANT)
    assert "/confirm/" in confirm

    with_dog = Client()
    url = start(with_dog, "pet_test")
    assert parse_step_url(next_url(with_dog, url, {"has_pet": "yes"}))[1] == "pet"

    stops_at_applicant = Client()
    next_url(stops_at_applicant, start(stops_at_applicant, "pet_test"), {"has_pet": "no"})

    funnel = pet_funnel(loaded_municipality, procedure)
    assert funnel["opened"] == 3
    assert [s["reached"] for s in funnel["steps"]] == [3, 3, 2]
    assert [s["dropped"] for s in funnel["steps"]] == [0, 1, 1]
    assert funnel["confirmation"] == 1 and funnel["submitted"] == 0
