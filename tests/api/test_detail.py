"""One application: answers by field key, 個人番号 only with its grant, attachments, 閲覧ログ."""

import hashlib

import pytest

from madoguchi.api.models import ApiGrant
from madoguchi.audit.models import AccessLog

from .conftest import CHILD_NUMBER, MY_NUMBER, http, make_client

pytestmark = pytest.mark.django_db


def detail(api, application):
    response = api.get(f"/api/v1/applications/{application.receipt_number}")
    assert response.status_code == 200, response.content
    return response


def test_detail_shape(api, application):
    body = detail(api, application).json()
    assert body["receipt_number"] == application.receipt_number
    assert body["form_version"] == {"procedure": "jidou-teate", "number": 1}
    assert body["status"] == "received" and body["status_label"] == "受付"
    assert body["channel"] == "portal"
    assert body["applicant"] == {
        "name": "山田　花子",
        "name_kana": "ヤマダ　ハナコ",
        "email": "hanako@example.jp",
    }
    assert body["identity"] == {
        "atena_number": None,
        "basic_four": {"name": None, "address": None, "birth_date": None, "sex": None},
        "source": None,
    }
    assert body["answers"]["email"] == {
        "label": "メールアドレス",
        "type": "email",
        "value": "hanako@example.jp",
    }
    assert body["answers"]["applicant_name"]["value"]["family"] == "山田"
    [attachment] = body["attachments"]
    assert attachment["sha256"] == hashlib.sha256(b"%PDF-1.4 test").hexdigest()
    assert attachment["size"] == 13 and attachment["content_type"] == "application/pdf"
    assert attachment["url"].endswith(f"/attachments/{attachment['uid']}")


def test_identity_when_known(api, application):
    application.atena_number = "000123456"
    application.identity = {
        "source": "jpki",
        "basic_four": {
            "name": "山田花子",
            "address": "東京都千代田区",
            "birth_date": "1990-04-01",
            "sex": "女",
        },
    }
    application.save()
    identity = detail(api, application).json()["identity"]
    assert identity["atena_number"] == "000123456"
    assert identity["basic_four"]["birth_date"] == "1990-04-01"
    assert identity["source"] == "jpki"


def test_individual_number_is_absent_by_default(api, application):
    response = detail(api, application)
    text = response.content.decode()
    assert MY_NUMBER not in text and CHILD_NUMBER not in text
    answers = response.json()["answers"]
    assert "my_number" not in answers
    assert answers["children"]["value"] == [
        {"child_name": {"label": "児童の氏名", "type": "text", "value": "山田太郎"}}
    ]
    log = AccessLog.objects.get(action=AccessLog.Action.API_READ)
    assert log.detail["individual_number"] is False


def test_individual_number_with_the_grant(full_client, application):
    ApiGrant.objects.filter(client=full_client).update(can_read_individual_number=True)
    answers = detail(http(full_client), application).json()["answers"]
    assert answers["my_number"] == {
        "label": "個人番号",
        "type": "individual_number",
        "value": MY_NUMBER,
    }
    assert answers["children"]["value"][0]["child_number"]["value"] == CHILD_NUMBER
    log = AccessLog.objects.get(action=AccessLog.Action.API_READ)
    assert log.detail["individual_number"] is True


def test_individual_number_grant_for_another_procedure_does_not_count(municipality, application):
    from .conftest import make_procedure

    client = make_client(municipality)
    ApiGrant.objects.create(
        client=client,
        procedure=make_procedure(municipality, slug="kaigo"),
        can_read_individual_number=True,
    )
    assert "my_number" not in detail(http(client), application).json()["answers"]


def test_detail_read_is_in_the_access_log_with_the_client(api, full_client, application):
    detail(api, application)
    log = AccessLog.objects.get()
    assert log.action == AccessLog.Action.API_READ
    assert log.application == application
    assert log.municipality == application.municipality
    assert log.receipt_number == application.receipt_number
    assert log.user is None
    assert log.detail["client_id"] == "kikan" and log.detail["client"] == full_client.pk
    assert log.object_ref == f"api_client:kikan application:{application.pk}"


def test_list_reads_no_personal_data_and_logs_nothing(api, application):
    text = api.get("/api/v1/applications").content.decode()
    assert "山田" not in text and "hanako" not in text
    assert not AccessLog.objects.exists()


def test_attachment_download_and_log(api, application):
    uid = application.attachments.get().uid
    response = api.get(f"/api/v1/applications/{application.receipt_number}/attachments/{uid}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 test"
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-SHA256"] == hashlib.sha256(b"%PDF-1.4 test").hexdigest()
    log = AccessLog.objects.get()
    assert log.action == AccessLog.Action.API_READ
    assert log.object_ref == f"api_client:kikan attachment:{uid}"
    assert log.detail["attachment"] == uid


def test_attachment_of_another_application_is_404(api, application, procedure):
    from .conftest import submit_application

    other = submit_application(procedure)
    uid = other.attachments.get().uid
    response = api.get(f"/api/v1/applications/{application.receipt_number}/attachments/{uid}")
    assert response.status_code == 404
    assert not AccessLog.objects.exists()


def test_attachment_links_are_null_without_the_grant(municipality, application):
    api = http(make_client(municipality, can_read_attachments=False))
    [attachment] = detail(api, application).json()["attachments"]
    assert attachment["url"] is None and attachment["sha256"]


def test_unknown_receipt_number_is_404_problem(api, db):
    response = api.get("/api/v1/applications/2026-999999")
    assert response.status_code == 404
    assert "2026-999999" in response.json()["detail"]
