"""Registering proxy businesses: the Django admin (scoped to the 管理者's municipality) and the
staff list page."""

import pytest
from django.test import Client
from django.urls import reverse

from madoguchi.tenants.models import Business, BusinessMember
from tests.conftest import login_with_2fa

from .conftest import html

pytestmark = pytest.mark.django_db


def test_admin_lists_businesses_of_their_municipality(
    chiyoda, other_municipality, make_staff, make_business
):
    make_business(chiyoda, "ケアプランセンターちよだ", "care1")
    make_business(other_municipality, "苫小牧ケアセンター", "care9")
    _admin, client = make_staff("admin1", chiyoda, role="admin")
    page = html(client.get(reverse("counter:business_list")))
    assert "ケアプランセンターちよだ" in page
    assert "苫小牧ケアセンター" not in page
    assert "登録されている代理申請事業者の一覧" in html(client.get(reverse("counter:index")))

    _handler, handler = make_staff("kaigo1", chiyoda, "kaigo")
    assert handler.get(reverse("counter:business_list")).status_code == 404


def test_django_admin_registers_business_and_member(
    chiyoda, other_municipality, make_staff, make_business, django_user_model
):
    make_business(other_municipality, "苫小牧ケアセンター", "care9")
    admin_user, client = make_staff("admin1", chiyoda, role="admin")
    admin_user.is_staff = True
    admin_user.save()
    client = login_with_2fa(Client(), admin_user)

    changelist = client.get(reverse("admin:tenants_business_changelist"))
    assert changelist.status_code == 200
    assert "苫小牧ケアセンター" not in html(changelist)

    member = django_user_model.objects.create_user("care1", password="x-test-password-123")
    response = client.post(
        reverse("admin:tenants_business_add"),
        {
            "municipality": chiyoda.pk,
            "name": "ケアプランセンターちよだ",
            "name_kana": "ケアプランセンターチヨダ",
            "corporate_number": "",
            "business_number": "1310100001",
            "email": "care@example.jp",
            "phone": "",
            "is_active": "on",
            "members-TOTAL_FORMS": "1",
            "members-INITIAL_FORMS": "0",
            "members-MIN_NUM_FORMS": "0",
            "members-MAX_NUM_FORMS": "1000",
            "members-0-user": member.username,
        },
    )
    assert response.status_code == 302, html(response)[:3000]
    business = Business.objects.get(name="ケアプランセンターちよだ")
    assert business.municipality == chiyoda
    assert BusinessMember.objects.filter(business=business, user=member).exists()

    # Another municipality is not offered.
    response = client.post(
        reverse("admin:tenants_business_add"),
        {
            "municipality": other_municipality.pk,
            "name": "よその事業者",
            "email": "x@example.jp",
            "members-TOTAL_FORMS": "0",
            "members-INITIAL_FORMS": "0",
            "members-MIN_NUM_FORMS": "0",
            "members-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 200
    assert not Business.objects.filter(name="よその事業者").exists()
