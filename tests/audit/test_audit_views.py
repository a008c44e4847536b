import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from madoguchi.audit.log import log_access
from madoguchi.audit.models import AccessLog
from madoguchi.tenants.models import StaffMembership
from tests.conftest import login_with_2fa

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(django_user_model):
    def make(username, municipality, role):
        user = django_user_model.objects.create_user(username, password="x-test-password-123")
        StaffMembership.objects.create(user=user, municipality=municipality, role=role)
        return user

    return make


def add_log(municipality, user, action, *, receipt="", days_ago=0):
    return AccessLog.objects.create(
        municipality=municipality,
        user=user,
        action=action,
        receipt_number=receipt,
        object_ref=f"application:{receipt}" if receipt else "",
        created_at=timezone.now() - dt.timedelta(days=days_ago),
    )


def test_only_administrators_see_the_access_log(client, municipality, member):
    for role in ("handler", "viewer"):
        login_with_2fa(client, member(f"{role}1", municipality, role))
        assert client.get("/staff/audit/").status_code == 404
        assert client.get("/staff/audit/download/").status_code == 404
        client.logout()
    assert client.get("/staff/audit/").status_code == 302  # anonymous: to the login page
    login_with_2fa(client, member("admin1", municipality, "admin"))
    assert client.get("/staff/audit/").status_code == 200


def test_search_by_date_user_action_and_receipt_number(
    client, municipality, other_municipality, member
):
    admin = member("admin1", municipality, "admin")
    tanaka = member("tanaka", municipality, "handler")
    sato = member("sato", municipality, "handler")
    foreign = member("foreign", other_municipality, "admin")
    view = AccessLog.Action.VIEW_APPLICATION
    add_log(municipality, tanaka, view, receipt="2026-000001")
    add_log(municipality, tanaka, AccessLog.Action.DOWNLOAD_ATTACHMENT, receipt="2026-000002")
    add_log(municipality, sato, view, receipt="2026-000003", days_ago=10)
    add_log(other_municipality, foreign, view, receipt="2026-000099")
    login_with_2fa(client, admin)

    def receipts(**params):
        body = client.get("/staff/audit/", params).content.decode()
        return {
            r for r in ("2026-000001", "2026-000002", "2026-000003", "2026-000099") if r in body
        }

    assert receipts() == {"2026-000001", "2026-000002", "2026-000003"}  # never another town's
    assert receipts(user="tanaka") == {"2026-000001", "2026-000002"}
    assert receipts(action="download_attachment") == {"2026-000002"}
    assert receipts(receipt_number="2026-000003") == {"2026-000003"}
    today = timezone.localdate()
    assert receipts(date_from=(today - dt.timedelta(days=1)).isoformat()) == {
        "2026-000001",
        "2026-000002",
    }
    assert receipts(date_to=(today - dt.timedelta(days=5)).isoformat()) == {"2026-000003"}
    body = client.get("/staff/audit/", {"date_from": "yesterday"}).content.decode()
    assert "2026-04-01 の形で入力してください" in body


def test_pagination(client, municipality, member):
    admin = member("admin1", municipality, "admin")
    for i in range(60):
        add_log(municipality, admin, AccessLog.Action.VIEW_APPLICATION, receipt=f"2026-{i:06d}")
    login_with_2fa(client, admin)
    first = client.get("/staff/audit/", {"action": "view_application"}).content.decode()
    assert "2026-000059" in first and "2026-000009" not in first
    assert "action=view_application&amp;page=2" in first
    second = client.get("/staff/audit/", {"action": "view_application", "page": 2})
    body = second.content.decode()
    assert "2026-000009" in body and "2026-000059" not in body


def test_csv_download_of_the_result_is_logged(client, municipality, member):
    admin = member("admin1", municipality, "admin")
    tanaka = member("tanaka", municipality, "handler")
    add_log(municipality, tanaka, AccessLog.Action.VIEW_APPLICATION, receipt="2026-000001")
    add_log(municipality, tanaka, AccessLog.Action.PRINT_APPLICATION, receipt="2026-000002")
    login_with_2fa(client, admin)
    response = client.get("/staff/audit/download/", {"receipt_number": "2026-000001"})
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["日時", "職員", "操作", "受付番号", "対象", "接続元", "詳細"]
    assert [(r[1], r[2], r[3]) for r in rows[1:]] == [("tanaka", "申請の閲覧", "2026-000001")]
    logged = AccessLog.objects.get(action=AccessLog.Action.EXPORT)
    assert logged.user == admin
    assert logged.object_ref == "audit-log"
    assert logged.detail["filters"]["receipt_number"] == "2026-000001"


def test_log_access_keeps_ids_not_data(rf, municipality, member):
    request = rf.get("/", REMOTE_ADDR="192.0.2.1")
    request.user = member("admin1", municipality, "admin")
    row = log_access(request, AccessLog.Action.SEARCH, municipality=municipality, q_length=3)
    assert row.ip_address == "192.0.2.1"
    assert row.detail == {"q_length": 3}


def test_csv_download_neutralises_formulas(client, municipality, member):
    admin = member("admin1", municipality, "admin")
    odd = member("=HYPERLINK(1)", municipality, "handler")  # a user name is free text
    add_log(municipality, odd, AccessLog.Action.VIEW_APPLICATION, receipt="2026-000001")
    login_with_2fa(client, admin)
    response = client.get("/staff/audit/download/", {"receipt_number": "2026-000001"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[1][1] == "'=HYPERLINK(1)"
