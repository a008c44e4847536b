"""The identity panel of 申請内容照会: certificate 基本4情報 with the verification result, the
宛名番号, and for an unknown serial the candidates with a confirm button (担当者・管理者)."""

import re

import pytest
from django.urls import reverse

from madoguchi.applications import services
from madoguchi.applications.models import ApplicationEvent
from madoguchi.identity.registry import import_registry
from tests.applications.conftest import make_procedure
from tests.applications.test_services import ANSWERS
from tests.conftest import login_with_2fa, make_staff

from .test_registry import ROWS, registry

IDENTITY = {
    "source": "jpki",
    "certificate_serial": "A1B2C3",
    "basic_four": {
        "name": "高橋　崎子",
        "name_alt": "",
        "sex": "2",
        "birth_date": "1980-01-02",
        "birth_date_raw": "419800102",
        "address": "東京都千代田区千代田1丁目1番1号",
        "address_alt": "",
    },
    "signature_valid": True,
    "reason": "署名と証明書を確認しました。",
    "verified_at": "2026-04-01T10:00:00+09:00",
    "atena_source": "",
}


@pytest.fixture
def application(municipality):
    procedure = make_procedure(municipality)
    application, _ = services.start_draft(procedure)
    services.save_step(
        application, "applicant", raw={}, answers=ANSWERS, completed=True, step_index=0
    )
    services.submit(application, base_url="http://testserver")
    application.refresh_from_db()
    application.identity = dict(IDENTITY)
    application.save(update_fields=["identity"])
    assert import_registry(municipality, registry(*ROWS)).ok
    return application


def element(body: str, element_id: str) -> str:
    match = re.search(rf'id="{re.escape(element_id)}"[^>]*>(.*?)</(dd|span|p|tr)>', body, re.S)
    assert match, f"#{element_id} missing"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def detail(application):
    return reverse("staff:application_detail", args=[application.pk])


def identify(application):
    return reverse("staff:application_identify", args=[application.pk])


@pytest.mark.django_db
def test_alternative_characters_are_named_not_shown_as_flags(client, application):
    """The card's 代替文字 flags become words: which character, where, and where to check it;
    all-zero flags (no substitute) show no row at all."""
    identity = dict(IDENTITY)
    identity["basic_four"] = {
        **IDENTITY["basic_four"],
        "name_alt": "00010",
        "address_alt": "0" * len(IDENTITY["basic_four"]["address"]),
    }
    application.identity = identity
    application.save(update_fields=["identity"])
    login_with_2fa(client, make_staff("kodomo1", application.municipality, "kodomo"))
    body = client.get(detail(application)).content.decode()
    assert element(body, "basic-four-name-alt") == (
        "4文字目「崎」は代替文字です。正しい字は住民記録で確認してください。"
    )
    assert 'data-flags="00010"' in body
    assert 'id="basic-four-address-alt"' not in body


@pytest.mark.django_db
def test_handler_sees_certificate_and_candidates_and_confirms(client, application):
    handler = make_staff("kodomo1", application.municipality, "kodomo")
    login_with_2fa(client, handler)
    body = client.get(detail(application)).content.decode()
    assert element(body, "atena-number") == "未特定"
    assert element(body, "certificate-serial") == "A1B2C3"
    assert element(body, "basic-four-name") == "高橋　崎子"
    assert element(body, "basic-four-birth-date") == "1980/01/02"
    assert element(body, "basic-four-sex") == "女"
    assert element(body, "basic-four-address") == "東京都千代田区千代田1丁目1番1号"
    assert element(body, "signature-verification") == "有効（署名と証明書を確認しました。）"
    # how this case was identified, not what the procedure asks of portal applicants
    assert element(body, "identity-level") == "マイナンバーカードによる電子署名"
    assert 'id="basic-four-name-alt"' not in body
    ids = re.findall(r'\sid="([^"]+)"', body)
    assert len(ids) == len(set(ids))
    assert 'data-atena="0000000001"' in body
    assert "氏名が一致（異体字・文字幅の違いを同一視）" in body
    assert body.count("この住民として特定する") == 3
    # Nothing is identified by looking.
    application.refresh_from_db()
    assert application.atena_number == ""

    response = client.post(
        identify(application),
        {"atena_number": "0000000001", "expected_version": application.lock_version},
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#identity")
    application.refresh_from_db()
    assert application.atena_number == "0000000001"
    assert application.identity["atena_source"] == "staff"
    assert application.identity["certificate_serial"] == "A1B2C3"
    event = application.events.get(kind="identified")
    assert event.actor_type == ApplicationEvent.Actor.STAFF and event.actor_user == handler
    assert event.data == {"source": "staff", "atena_number": "0000000001", "previous": ""}

    body = client.get(detail(application)).content.decode()
    assert element(body, "atena-number") == "0000000001"
    assert element(body, "atena-source") == "職員が住民記録から確認"
    assert 'id="identify-candidates"' not in body
    item = re.search(rf'id="event-{event.pk}".*?</li>', body, re.S).group(0)
    assert "申請者の特定（宛名番号）" in item and "kodomo1" in item


@pytest.mark.django_db
def test_refused_confirmations(client, application):
    login_with_2fa(client, make_staff("kodomo1", application.municipality, "kodomo"))
    version = application.lock_version
    response = client.post(
        identify(application), {"atena_number": "9999", "expected_version": version}
    )
    assert response.status_code == 400
    assert (
        "住民記録に宛名番号 9999 の住民がいません。候補から選んでください。"
        in response.content.decode()
    )
    response = client.post(identify(application), {"expected_version": version})
    assert response.status_code == 400
    assert "特定する住民を候補から選んでください。" in response.content.decode()
    response = client.post(
        identify(application), {"atena_number": "0000000001", "expected_version": version + 5}
    )
    assert response.status_code == 409
    assert "ほかの職員が更新しました" in response.content.decode()
    application.refresh_from_db()
    assert application.atena_number == ""
    assert not application.events.filter(kind="identified").exists()


@pytest.mark.django_db
def test_viewer_sees_candidates_without_buttons_and_cannot_confirm(client, application):
    login_with_2fa(client, make_staff("viewer", application.municipality, "kodomo", role="viewer"))
    body = client.get(detail(application)).content.decode()
    assert 'data-atena="0000000001"' in body
    assert "この住民として特定する" not in body
    response = client.post(
        identify(application),
        {"atena_number": "0000000001", "expected_version": application.lock_version},
    )
    assert response.status_code == 403
    application.refresh_from_db()
    assert application.atena_number == ""


@pytest.mark.django_db
def test_other_department_and_municipality_get_404(client, application, other_municipality):
    for user in (
        make_staff("suido1", application.municipality, "suido"),
        make_staff("admin_b", other_municipality, role="admin"),
    ):
        login_with_2fa(client, user)
        response = client.post(
            identify(application),
            {"atena_number": "0000000001", "expected_version": application.lock_version},
        )
        assert response.status_code == 404
    application.refresh_from_db()
    assert application.atena_number == ""


@pytest.mark.django_db
def test_admin_may_correct_an_identification_made_from_the_serial_link(client, application):
    application.atena_number = "0000000003"
    application.identity = dict(IDENTITY, atena_source="serial_link")
    application.save(update_fields=["atena_number", "identity"])
    login_with_2fa(client, make_staff("admin_a", application.municipality, role="admin"))
    body = client.get(detail(application)).content.decode()
    assert element(body, "atena-source") == "番号紐付情報（証明書のシリアル番号）"
    response = client.post(
        identify(application),
        {"atena_number": "0000000001", "expected_version": application.lock_version},
    )
    assert response.status_code == 302
    event = application.events.get(kind="identified")
    assert event.data["previous"] == "0000000003"


@pytest.mark.django_db
def test_a_case_without_certificate_shows_only_the_atena_number(client, application):
    application.identity = {}
    application.save(update_fields=["identity"])
    login_with_2fa(client, make_staff("kodomo1", application.municipality, "kodomo"))
    body = client.get(detail(application)).content.decode()
    assert element(body, "atena-number") == "未特定"
    assert 'id="certificate-serial"' not in body
    assert 'id="identify-candidates"' not in body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("basic_four", "element_id", "what"),
    [
        ({"name_alt": "0001"}, "basic-four-name-alt", "氏名"),  # 4 flags, 5 characters
        ({"name_alt": "00a10"}, "basic-four-name-alt", "氏名"),  # an unexpected symbol
        ({"address_alt": "01"}, "basic-four-address-alt", "住所"),
        (
            {"name_alt": "", "name_alt_error": "氏名代替文字の使用位置情報を読み取れませんでした"},
            "basic-four-name-alt",
            "氏名",
        ),  # unreadable at intake (the value is not even a string)
    ],
)
def test_unreadable_alternative_characters_are_said_on_the_review(
    client, application, basic_four, element_id, what
):
    """The case was imported (the signature is valid); the review says that the 代替文字
    information could not be read instead of naming wrong characters."""
    identity = dict(IDENTITY)
    identity["basic_four"] = {**IDENTITY["basic_four"], **basic_four}
    identity["warnings"] = (
        [basic_four.get("name_alt_error", "")] if "name_alt_error" in basic_four else []
    )
    application.identity = identity
    application.save(update_fields=["identity"])
    login_with_2fa(client, make_staff("kodomo1", application.municipality, "kodomo"))
    body = client.get(detail(application)).content.decode()
    assert element(body, element_id) == (
        f"代替文字の情報を読み取れませんでした（証明書の{what}代替文字の使用位置情報が{what}の"
        f"文字と対応しません）。どの字が代替文字かは分からないため、{what}は住民記録で確認して"
        "ください。"
    )
    assert 'data-unreadable="true"' in body
    assert element(body, "signature-verification").startswith("有効")
    assert 'id="signature-warnings"' not in body  # said once, beside the name or address


@pytest.mark.django_db
def test_review_says_when_the_signature_was_judged_and_its_warnings(client, application):
    identity = dict(IDENTITY)
    identity.update(
        validated_at="2026-04-01T01:00:00+00:00",
        validated_at_source="received_at",
        received_at="2026-04-01T01:00:00+00:00",
        warnings=["失効リストの次回更新日時（2026年4月2日 09:00）を過ぎています。"],
    )
    application.identity = identity
    application.save(update_fields=["identity"])
    login_with_2fa(client, make_staff("kodomo1", application.municipality, "kodomo"))
    body = client.get(detail(application)).content.decode()
    assert (
        element(body, "signature-validated-at") == "2026/04/01 10:00:00（マイナポータルの受付日時）"
    )
    assert "失効リストの次回更新日時（2026年4月2日 09:00）を過ぎています。" in body
    identity["validated_at_source"] = "pulled_at"
    application.identity = identity
    application.save(update_fields=["identity"])
    body = client.get(detail(application)).content.decode()
    assert element(body, "signature-validated-at") == (
        "2026/04/01 10:00:00（取得日時。マイナポータルから受付日時が届きませんでした）"
    )
