"""The マイナポータル URL a 管理者 sets cannot point inside the network (SSRF): refused when
saved in the admin, and at connection time after resolution."""

import pytest
from django.test import Client

from madoguchi.channels.models import MynaportalConnection
from madoguchi.channels.mynaportal.client import MynaportalClient, MynaportalError
from tests.conftest import login_with_2fa, make_staff

pytestmark = pytest.mark.django_db

BLOCKED = "接続先が内部ネットワークのアドレスのため、接続できません"


@pytest.fixture
def admin(municipality):
    user = make_staff("kanri_url", municipality, role="admin")
    user.is_staff = True
    user.save()
    return login_with_2fa(Client(), user)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.1:8765",
        "http://2130706433/",
        "https://0x7f.0.0.1/",
        "https://[::ffff:127.0.0.1]/",
        "http://169.254.169.254/latest/meta-data/",
        "https://localhost/",
    ],
)
def test_the_admin_refuses_an_internal_address(settings, admin, municipality, url):
    settings.MADOGUCHI_OUTBOUND_ALLOWED_HOSTS = []
    response = admin.post(
        "/admin/channels/mynaportalconnection/add/",
        {
            "municipality": municipality.pk,
            "base_url": url,
            "login_id": "madoguchi",
            "password_env": "",
            "lookback_days": "30",
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    # Numeric notations Django's URL check already refuses as malformed; the others are
    # refused as internal.
    assert BLOCKED in page or "有効なURLを入力してください。" in page
    assert not MynaportalConnection.objects.exists()


def test_the_admin_saves_an_address_the_operator_allowed(settings, admin, municipality):
    settings.MADOGUCHI_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    response = admin.post(
        "/admin/channels/mynaportalconnection/add/",
        {
            "municipality": municipality.pk,
            "base_url": "http://127.0.0.1:8765",
            "login_id": "madoguchi",
            "password_env": "",
            "lookback_days": "30",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert MynaportalConnection.objects.get().base_url == "http://127.0.0.1:8765"


def test_the_client_refuses_an_internal_address_at_connection_time(settings, simulator):
    settings.MADOGUCHI_OUTBOUND_ALLOWED_HOSTS = []
    client = MynaportalClient(simulator.url, "madoguchi", "simulator")
    with pytest.raises(MynaportalError) as error:
        client.login()
    assert BLOCKED in str(error.value)
    settings.MADOGUCHI_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    assert client.login()
