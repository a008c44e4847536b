"""Fixtures for counter entry (窓口・紙) and proxy filing (代理申請): 千代田区 with every
standard template loaded, staff of its departments, and a registered 介護事業所."""

import datetime
import re

import pytest
from django.test import Client

from madoguchi.applications.models import Application
from madoguchi.catalog.models import Procedure
from madoguchi.jp.check_digits import individual_number_check_digit
from madoguchi.tenants.models import Business, BusinessMember, Department, StaffMembership
from tests.conftest import login_with_2fa

# A tiny but real PDF (one empty page): enough for content-type detection by magic bytes.
SMALL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n"
    b"0000000101 00000 n \ntrailer<</Size 4/Root 1 0 R>>\nstartxref\n170\n%%EOF\n"
)

PASSWORD = "x-test-password-123"


def individual_number(eleven: str) -> str:
    return eleven + str(individual_number_check_digit(eleven))


def html(response) -> str:
    return response.content.decode("utf-8")


def location(response) -> str:
    assert response.status_code in (301, 302), (response.status_code, html(response)[:3000])
    return response["Location"]


def error_messages(page: str) -> list[str]:
    """The messages listed in the error summary at the top of a page."""
    summary = re.search(r'id="error-summary".*?</div>', page, re.S)
    assert summary, page[:3000]
    return [re.sub(r"<[^>]+>", "", m).strip() for m in re.findall(r"<li>(.*?)</li>", summary[0])]


@pytest.fixture
def chiyoda(loaded_municipality):
    return loaded_municipality


@pytest.fixture
def procedure_of(chiyoda):
    def get(slug, municipality=None):
        return Procedure.objects.get(municipality=municipality or chiyoda, slug=slug)

    return get


@pytest.fixture
def make_staff(django_user_model):
    """make_staff(username, municipality, department_code=None, role="handler") -> (user, client)
    logged in with two-factor authentication."""

    def make(username, municipality, department_code=None, role="handler"):
        user = django_user_model.objects.create_user(username, password=PASSWORD)
        department = (
            Department.objects.get(municipality=municipality, code=department_code)
            if department_code
            else None
        )
        StaffMembership.objects.create(
            user=user, municipality=municipality, department=department, role=role
        )
        return user, login_with_2fa(Client(), user)

    return make


@pytest.fixture
def make_business(django_user_model):
    """make_business(municipality, name, username) -> (business, user) with a password login."""

    def make(municipality, name, username):
        business = Business.objects.create(
            municipality=municipality,
            name=name,
            business_number="1310100001",
            email=f"{username}@example.jp",
        )
        user = django_user_model.objects.create_user(username, password=PASSWORD)
        BusinessMember.objects.create(user=user, business=business)
        return business, user

    return make


def future_date(days: int = 14) -> dict:
    d = datetime.date.today() + datetime.timedelta(days=days)
    return {"era": "西暦", "year": str(d.year), "month": str(d.month), "day": str(d.day)}


def date_parts(key: str, parts: dict) -> dict:
    return {f"{key}__{name}": value for name, value in parts.items()}


# 水道使用開始届 (suido_shiyou_kaishi), step by step.
SUIDO_STEPS = [
    ("filer", {"filer_type": "user"}),
    (
        "place",
        {
            **date_parts("start_date", future_date()),
            "place_postal_code": "100-0001",
            "place_address": "東京都千代田区千代田1-1 メゾン千代田101",
            "customer_number": "123-456",
            "building_type": "apartment",
            "usage": "household",
            "uses_well_water": "no",
        },
    ),
    (
        "user",
        {
            "user_type": "individual",
            "user_name__family": "水野",
            "user_name__given": "花子",
            "user_name__family_kana": "ミズノ",
            "user_name__given_kana": "ハナコ",
            "user_phone": "03-1234-5678",
            "user_email": "",
        },
    ),
    (
        "billing",
        {
            "billing_destination": "same",
            "payment_method": "payment_slip",
            "remarks": "",
            "opening_notice": "1",
            "privacy_notice": "1",
        },
    ),
]

# 要介護・要支援認定の申請 (youkaigo_nintei) filed by a 介護事業所.
YOUKAIGO_STEPS = [
    (
        "application",
        {
            "application_kind": "new",
            "applicant_type": "office",
            "office_name": "ケアプランセンターちよだ",
            "office_kind": "care_management",
            "office_number": "1310100001",
            "office_staff_name__family": "介護",
            "office_staff_name__given": "太郎",
            "office_staff_name__family_kana": "カイゴ",
            "office_staff_name__given_kana": "タロウ",
            "office_postal_code": "100-0001",
            "office_address": "東京都千代田区千代田2-2",
            "office_phone": "03-2345-6789",
            "proxy_consent": "1",
        },
    ),
    (
        "insured",
        {
            "insured_category": "first",
            "insured_number": "0000012345",
            "insured_name__family": "千代田",
            "insured_name__given": "ウメ",
            "insured_name__family_kana": "チヨダ",
            "insured_name__given_kana": "ウメ",
            **date_parts(
                "insured_birth_date", {"era": "昭和", "year": "15", "month": "3", "day": "3"}
            ),
            "insured_sex": "female",
            "insured_individual_number": individual_number("12345678901"),
            "insured_postal_code": "100-0001",
            "insured_address": "東京都千代田区千代田3-3",
            "insured_phone": "03-3456-7890",
        },
    ),
    (
        "previous",
        {
            "current_place": "home",
            "stayed_in_facility": "no",
            "survey_contact": "applicant",
        },
    ),
    ("doctor", {"has_doctor": "no", "no_doctor_notice": "1"}),
    (
        "consent",
        {
            "remarks": "",
            "information_consent": "1",
            "privacy_notice": "1",
        },
    ),
]


def walk(client, url: str, steps, *, url_re, files=None) -> str:
    """Post each step's data and follow to the next step; returns the URL after the last
    step (the confirmation page). `files`: step key -> {input name: uploaded file}."""
    for key, data in steps:
        match = re.search(url_re, url)
        assert match and match.group("step") == key, (url, key)
        payload = {**data, "_action": "next", **((files or {}).get(key) or {})}
        url = location(client.post(url, payload))
    return url


def application_of(pk) -> Application:
    return Application.objects.get(pk=pk)
