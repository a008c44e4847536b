"""Fixtures for the API tests: procedures with an individual number and a file field,
submitted applications with an attachment, clients with grants, access tokens."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from madoguchi.api.credentials import issue_token, set_secret
from madoguchi.api.models import ApiClient, ApiGrant
from madoguchi.applications import services
from madoguchi.catalog.models import FormVersion, Procedure
from madoguchi.outbox.models import OutboxMessage
from madoguchi.tenants.models import Department

FORM = {
    "title": "児童手当認定請求",
    "steps": [
        {
            "key": "applicant",
            "title": "請求者",
            "fields": [
                {"key": "applicant_name", "type": "name", "label": "氏名", "required": True},
                {"key": "email", "type": "email", "label": "メールアドレス", "required": True},
                {"key": "my_number", "type": "individual_number", "label": "個人番号"},
                {
                    "key": "children",
                    "type": "repeat",
                    "label": "児童",
                    "item_label": "児童",
                    "fields": [
                        {"key": "child_name", "type": "text", "label": "児童の氏名"},
                        {
                            "key": "child_number",
                            "type": "individual_number",
                            "label": "児童の個人番号",
                        },
                    ],
                },
                {"key": "document", "type": "file", "label": "添付書類"},
            ],
        }
    ],
}
MY_NUMBER = "123456789018"
CHILD_NUMBER = "987654321093"
ANSWERS = {
    "applicant_name": {
        "family": "山田",
        "given": "花子",
        "family_kana": "ヤマダ",
        "given_kana": "ハナコ",
    },
    "email": "hanako@example.jp",
    "my_number": MY_NUMBER,
    "children": [{"child_name": "山田太郎", "child_number": CHILD_NUMBER}],
}
ALL_GRANTS = {
    "can_read_applications": True,
    "can_read_attachments": True,
    "can_acknowledge": True,
    "can_write_status": True,
    "can_write_notes": True,
}


@pytest.fixture(autouse=True)
def _no_settle_window(settings):
    settings.API_LIST_SETTLE_SECONDS = 0


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():
    from django.core.cache import cache

    cache.clear()


def make_procedure(municipality, slug="jidou-teate", departments=("kodomo",)):
    procedure = Procedure.objects.create(
        municipality=municipality,
        slug=slug,
        name="児童手当" if slug == "jidou-teate" else slug,
        reading="じどうてあて",
        category="other",
    )
    for code in departments:
        department, _ = Department.objects.get_or_create(
            municipality=municipality, code=code, defaults={"name": code}
        )
        procedure.departments.add(department)
    FormVersion.new_draft(procedure, schema=FORM).publish()
    procedure.refresh_from_db()
    return procedure


def submit_application(procedure, *, with_attachment=True, answers=None):
    application, _token = services.start_draft(procedure)
    values = dict(answers or ANSWERS)
    if with_attachment:
        upload = SimpleUploadedFile("住民票.pdf", b"%PDF-1.4 test", content_type="application/pdf")
        values["document"] = [
            services.store_attachment(
                application, "document", upload, content_type="application/pdf"
            )
        ]
    services.save_step(
        application, "applicant", raw={}, answers=values, completed=True, step_index=0
    )
    services.submit(application, base_url="http://testserver")
    application.refresh_from_db()
    return application


def make_client(municipality, *, client_id="kikan", procedure=None, rate=600, **grants):
    client = ApiClient.objects.create(
        municipality=municipality,
        name=f"基幹システム {client_id}",
        client_id=client_id,
        rate_limit_per_minute=rate,
    )
    client.secret = set_secret(client)
    ApiGrant.objects.create(client=client, procedure=procedure, **{**ALL_GRANTS, **grants})
    return client


def http(client) -> APIClient:
    """A test client holding a fresh access token of `client`."""
    token, _ = issue_token(client)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


@pytest.fixture
def procedure(municipality):
    return make_procedure(municipality)


@pytest.fixture
def application(procedure):
    application = submit_application(procedure)
    OutboxMessage.objects.all().delete()
    return application


@pytest.fixture
def full_client(municipality):
    return make_client(municipality)


@pytest.fixture
def api(full_client):
    return http(full_client)
