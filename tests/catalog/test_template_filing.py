"""Every standard template, filed end to end through the channel its identity level allows,
with answers generated from its own definition (tests.formgen).

- identity level none / email: a resident at the portal (e-mail address verified first);
- jpki with proxy filing: a registered business (介護事業所 etc.) from its own pages;
- jpki without proxy filing: staff at the counter (窓口), who check identity in person.
The portal refuses a jpki procedure (it cannot take a マイナンバーカード signature).
"""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from madoguchi.applications import services
from madoguchi.applications.models import Application, Attachment, Status
from madoguchi.catalog.loader import available_template_keys, load_standard_templates
from madoguchi.catalog.models import IdentityLevel, Procedure
from madoguchi.outbox.models import OutboxMessage
from madoguchi.tenants.models import Business, BusinessMember, Department, StaffMembership
from tests import formgen
from tests.conftest import login_with_2fa

pytestmark = pytest.mark.django_db

KEYS = available_template_keys()
PASSWORD = "x-test-password-123"
PORTAL_STEP = re.compile(r"^/131016/apply/(?P<token>[A-Za-z0-9_-]+)/(?P<step>[a-z0-9_]+)/$")
COUNTER_STEP = re.compile(r"^/staff/counter/(?P<pk>\d+)/(?P<step>[a-z0-9_]+)/$")
BUSINESS_STEP = re.compile(r"^/business/apply/(?P<pk>\d+)/(?P<step>[a-z0-9_]+)/$")


def location(response) -> str:
    body = response.content.decode("utf-8")[:3000] if response.status_code != 302 else ""
    assert response.status_code == 302, (response.status_code, body)
    return response["Location"]


def uploads_of(filled, step_key) -> dict:
    return {
        name: [SimpleUploadedFile(u.name, u.getvalue(), u.content_type) for u in files]
        for name, files in filled.uploads(step_key).items()
    }


def walk(client, url: str, filled, step_re) -> str:
    """Post the step the server asks for, each time, until it sends us to the confirmation
    page; returns that URL. Fails if a step is asked twice (a refused step)."""
    seen = []
    while (match := step_re.match(url)) and match.group("step") != "confirm":
        step_key = match.group("step")
        assert step_key not in seen, (step_key, seen)
        seen.append(step_key)
        payload = {**filled.post_data(step_key), **uploads_of(filled, step_key)}
        url = location(client.post(url, {**payload, "_action": "next"}))
    assert seen == filled.step_keys, (seen, filled.step_keys)
    return url


def without_ids(value):
    if isinstance(value, dict):
        return {k: without_ids(v) for k, v in value.items() if k != "attachment"}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


def file_at_portal(client, procedure, filled) -> Application:
    response = client.post(
        f"/131016/procedures/{procedure.slug}/start/", {"email": "hanako@example.jp"}
    )
    url = location(response)
    if procedure.identity_level == IdentityLevel.EMAIL:
        assert url == "/131016/apply/check-email/"
        body = OutboxMessage.objects.latest("pk").payload["body"]
        url = location(client.get(re.search(r"http://testserver(/\S+)", body).group(1)))
    confirm_url = walk(client, url, filled, PORTAL_STEP)
    token = PORTAL_STEP.match(confirm_url).group("token")
    assert confirm_url == f"/131016/apply/{token}/confirm/"
    receipt_url = location(client.post(confirm_url))
    assert "/receipt/" in receipt_url or "/done/" in receipt_url, receipt_url
    return Application.objects.get(procedure=procedure)


def file_at_counter(procedure, filled) -> Application:
    department = procedure.departments.first()
    user = _user("madoguchi")
    StaffMembership.objects.create(
        user=user,
        municipality=procedure.municipality,
        department=department,
        role=StaffMembership.Role.HANDLER,
    )
    client = login_with_2fa(Client(), user)
    url = location(client.post(reverse("counter:start", args=[procedure.pk])))
    confirm_url = walk(client, url, filled, COUNTER_STEP)
    application = Application.objects.get(pk=int(COUNTER_STEP.match(confirm_url).group("pk")))
    assert confirm_url == reverse("counter:confirm", args=[application.pk])
    assert location(client.post(confirm_url)) == reverse("counter:done", args=[application.pk])
    return application


def file_as_business(procedure, filled) -> Application:
    business = Business.objects.create(
        municipality=procedure.municipality,
        name="ケアプランセンターみほん",
        business_number="1310100001",
        email="care@example.jp",
    )
    user = _user("jigyosho")
    BusinessMember.objects.create(user=user, business=business)
    client = Client()
    client.post(reverse("business:login"), {"username": "jigyosho", "password": PASSWORD})
    url = location(client.post(reverse("business:new"), {"procedure": procedure.pk}))
    confirm_url = walk(client, url, filled, BUSINESS_STEP)
    application = Application.objects.get(pk=int(BUSINESS_STEP.match(confirm_url).group("pk")))
    assert confirm_url == reverse("business:confirm", args=[application.pk])
    assert location(client.post(confirm_url)) == reverse(
        "business:application", args=[application.pk]
    )
    return application


def _user(username):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(username, password=PASSWORD)


@pytest.mark.parametrize("key", KEYS)
def test_template_is_filed_end_to_end(key, municipality, client):
    report = load_standard_templates(municipality, keys=[key])
    assert report.ok, report.summary()
    procedure = Procedure.objects.get(municipality=municipality, slug=key)
    form = procedure.current_version.form
    filled = formgen.generate(form, seed=len(key))

    if procedure.identity_level == IdentityLevel.JPKI:
        with pytest.raises(services.ApplicationStateError, match="マイナポータル"):
            services.start_draft(procedure)
        if procedure.allows_proxy:
            application = file_as_business(procedure, filled)
            assert application.is_proxy
        else:
            application = file_at_counter(procedure, filled)
    else:
        application = file_at_portal(client, procedure, filled)

    application.refresh_from_db()
    assert application.status == Status.RECEIVED
    assert application.receipt_number
    assert without_ids(application.answers) == without_ids(filled.answers)
    expected_files = sum(len(files) for files in filled.files.values())
    assert Attachment.objects.filter(application=application).count() == expected_files
    name, _kana, _email = services.applicant_from_answers(form, filled.answers)
    assert application.applicant_name == name
    if form.applicant_name_field in filled.answers:
        assert name, "the applicant named by the form has a name"
    departments = set(procedure.departments.values_list("code", flat=True))
    assert departments <= set(
        Department.objects.filter(municipality=municipality).values_list("code", flat=True)
    )


def test_procedure_page_sends_residents_of_a_signed_procedure_to_mynaportal(municipality, client):
    load_standard_templates(
        municipality, keys=["fukushi_yougu_kounyu", "jidou_teate_kifu", "inu_shibou"]
    )

    proxy = client.get("/131016/procedures/fukushi_yougu_kounyu/").content.decode()
    assert 'id="mynaportal-notice"' in proxy
    assert "マイナポータルから申請してください。" in proxy
    assert f'<a href="{reverse("business:home")}">事業者用ページ</a>から代理申請できます。' in proxy
    assert 'id="start-button"' not in proxy

    resident_only = client.get("/131016/procedures/jidou_teate_kifu/").content.decode()
    assert 'id="mynaportal-notice"' in resident_only
    assert "事業者用ページ" not in resident_only
    assert 'id="start-button"' not in resident_only

    no_signature = client.get("/131016/procedures/inu_shibou/").content.decode()
    assert 'id="mynaportal-notice"' not in no_signature
    assert 'id="start-button"' in no_signature
