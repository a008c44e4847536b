"""Authentication: OAuth2 client credentials, hashed secrets and tokens, expiry."""

import base64
import datetime
import io
from urllib.parse import urlencode

import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from madoguchi.api.credentials import token_digest
from madoguchi.api.models import ApiClient, ApiGrant, ApiToken
from tests.conftest import login_with_2fa

from .conftest import make_client

pytestmark = pytest.mark.django_db


def token_request(client_id, secret, *, as_json=False):
    data = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    if as_json:
        return APIClient().post("/api/v1/token", data, format="json")
    return APIClient().post(
        "/api/v1/token", urlencode(data), content_type="application/x-www-form-urlencoded"
    )


def test_token_for_good_credentials_is_stored_hashed_and_works(municipality, application):
    client = make_client(municipality)
    response = token_request("kikan", client.secret)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert response["Cache-Control"] == "no-store"
    row = ApiToken.objects.get(client=client)
    assert row.token_digest == token_digest(body["access_token"])
    assert body["access_token"] not in row.token_digest
    assert client.secret not in ApiClient.objects.get(pk=client.pk).secret_hash
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert api.get("/api/v1/applications").status_code == 200


def test_token_accepts_json_and_http_basic(municipality):
    client = make_client(municipality)
    assert token_request("kikan", client.secret, as_json=True).status_code == 200
    basic = base64.b64encode(f"kikan:{client.secret}".encode()).decode()
    response = APIClient().post(
        "/api/v1/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.status_code == 200


@pytest.mark.parametrize("client_id, secret", [("kikan", "wrong"), ("nobody", "x"), ("kikan", "")])
def test_bad_credentials_are_401_problem(municipality, client_id, secret):
    make_client(municipality)
    response = token_request(client_id, secret)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "urn:madoguchi:problem:invalid-client"
    assert body["error"] == "invalid_client"
    assert "正しくありません" in body["detail"]


def token_error(data, *, as_json=False, **extra):
    if as_json:
        return APIClient().post("/api/v1/token", data, format="json", **extra)
    body = urlencode(data, doseq=True) if isinstance(data, dict) else data
    return APIClient().post(
        "/api/v1/token", body, content_type="application/x-www-form-urlencoded", **extra
    )


@pytest.mark.parametrize("as_json", [False, True])
@pytest.mark.parametrize("grant_type", ["password", "authorization_code", "CLIENT_CREDENTIALS"])
def test_unsupported_grant_type_is_400_unsupported_grant_type(municipality, grant_type, as_json):
    client = make_client(municipality)
    response = token_error(
        {"grant_type": grant_type, "client_id": "kikan", "client_secret": client.secret},
        as_json=as_json,
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["error"] == "unsupported_grant_type"
    assert body["status"] == 400
    assert body["type"] == "urn:madoguchi:problem:unsupported-grant-type"
    assert body["detail"] == (
        f"grant_type「{grant_type}」には対応していません。client_credentials を指定してください。"
    )
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(
    "data, detail",
    [
        (
            {"client_id": "kikan", "client_secret": "x"},
            "grant_type を指定してください（client_credentials）。",
        ),
        (
            {"grant_type": "", "client_id": "kikan"},
            "grant_type を指定してください（client_credentials）。",
        ),
        (
            "grant_type=client_credentials&grant_type=client_credentials&client_id=kikan",
            "grant_type が2回以上指定されています。",
        ),
        (
            "grant_type=client_credentials&client_id=kikan&client_id=other&client_secret=x",
            "client_id が2回以上指定されています。",
        ),
    ],
)
def test_missing_or_repeated_parameter_is_400_invalid_request(municipality, data, detail):
    make_client(municipality)
    response = token_error(data)
    assert response.status_code == 400
    body = response.json()
    assert (body["error"], body["detail"]) == ("invalid_request", detail)


def test_credentials_in_both_basic_and_body_are_invalid_request(municipality):
    client = make_client(municipality)
    basic = base64.b64encode(f"kikan:{client.secret}".encode()).decode()
    response = token_error(
        {"grant_type": "client_credentials", "client_id": "kikan", "client_secret": client.secret},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.json()["detail"] == (
        "資格情報は HTTP Basic 認証とリクエスト本文のどちらか一方で送ってください。"
    )


@pytest.mark.parametrize(
    "body", ["{not json", '{"grant_type": ["client_credentials"]}', "[]", '"x"', "null"]
)
def test_unreadable_or_malformed_body_is_invalid_request(municipality, body):
    make_client(municipality)
    response = APIClient().post("/api/v1/token", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.json()["status"] == 400


def test_requested_scope_is_invalid_scope(municipality):
    client = make_client(municipality)
    response = token_error(
        {
            "grant_type": "client_credentials",
            "client_id": "kikan",
            "client_secret": client.secret,
            "scope": "read",
        }
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_scope"
    assert (
        body["detail"] == "scope は指定できません。権限は連携先の登録（団体の管理者）で決まります。"
    )


def test_wrong_basic_credentials_are_invalid_client_with_basic_challenge(municipality):
    make_client(municipality)
    basic = base64.b64encode(b"kikan:wrong").decode()
    response = token_error("grant_type=client_credentials", HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"] == 'Basic realm="madoguchi-api"'


def test_inactive_client_gets_no_token_and_its_tokens_stop_working(municipality, api, full_client):
    full_client.is_active = False
    full_client.save()
    assert token_request("kikan", full_client.secret).status_code == 401
    assert api.get("/api/v1/applications").status_code == 401


def test_expired_token_is_401(municipality, api):
    ApiToken.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    response = api.get("/api/v1/applications")
    assert response.status_code == 401
    assert "有効期限" in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Token abc"])
def test_missing_or_unknown_token_is_401(db, header):
    api = APIClient()
    if header:
        api.credentials(HTTP_AUTHORIZATION=header)
    response = api.get("/api/v1/applications")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "urn:madoguchi:problem:unauthenticated"


def test_create_api_client_command_prints_the_secret_once(municipality, procedure):
    out = io.StringIO()
    call_command(
        "create_api_client",
        "--municipality",
        municipality.lg_code,
        "--name",
        "児童手当システム",
        "--client-id",
        "jidou",
        "--procedure",
        procedure.slug,
        "--grant",
        "read,attachments,ack,status,notes",
        stdout=out,
    )
    secret = out.getvalue().split("client_secret:")[1].split()[0]
    client = ApiClient.objects.get(client_id="jidou")
    assert check_password(secret, client.secret_hash)
    grant = ApiGrant.objects.get(client=client)
    assert grant.procedure == procedure
    assert grant.can_write_status and grant.can_read_attachments
    assert not grant.can_read_individual_number
    assert token_request("jidou", secret).status_code == 200


def test_admin_reset_secret_shows_the_new_secret_once(municipality, client, django_user_model):
    login_with_2fa(client, django_user_model.objects.create_superuser("root", password="x-pw-1"))
    admin_client = client
    client = make_client(municipality)
    old = client.secret
    response = admin_client.post(
        "/admin/api/apiclient/",
        {"action": "reset_secret", "_selected_action": [client.pk]},
        follow=True,
    )
    text = response.content.decode()
    assert "シークレット" in text
    assert token_request("kikan", old).status_code == 401
    new = text.split("のシークレット: ")[1].split()[0]
    assert token_request("kikan", new).status_code == 200


def test_admin_creating_a_client_shows_its_secret(municipality, client, django_user_model):
    login_with_2fa(client, django_user_model.objects.create_superuser("root", password="x-pw-1"))
    response = client.post(
        "/admin/api/apiclient/add/",
        {
            "municipality": municipality.pk,
            "name": "介護保険システム",
            "client_id": "kaigo",
            "is_active": "on",
            "rate_limit_per_minute": 600,
            "contact_email": "",
            "grants-TOTAL_FORMS": 0,
            "grants-INITIAL_FORMS": 0,
        },
        follow=True,
    )
    text = response.content.decode()
    secret = text.split("のシークレット: ")[1].split()[0]
    assert token_request("kaigo", secret).status_code == 200
