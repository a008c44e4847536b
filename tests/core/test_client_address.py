"""X-Forwarded-For is believed only as far as our own proxies appended it, read from the
right; what is stored is a valid IP address or nothing."""

import pytest
from django.test import RequestFactory
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.audit.models import AccessLog
from madoguchi.core.client_address import client_address


def address(settings, remote, forwarded=None, *, use=True, trusted=()):
    settings.USE_X_FORWARDED_FOR = use
    settings.TRUSTED_PROXIES = list(trusted)
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/", **meta))


@pytest.mark.parametrize(
    ("remote", "forwarded", "use", "trusted", "expected"),
    [
        ("192.0.2.9", "6.6.6.6", False, (), "192.0.2.9"),  # header ignored when off
        # One balancer, no list: the right-most entry, never the client's own first one.
        ("10.0.0.2", "6.6.6.6, 203.0.113.5", True, (), "203.0.113.5"),
        ("10.0.0.2", "203.0.113.5", True, (), "203.0.113.5"),
        # Listed proxies are skipped from the right.
        ("10.0.0.2", "6.6.6.6, 203.0.113.5, 10.1.2.3", True, ("10.0.0.0/8",), "203.0.113.5"),
        # A peer that is not our proxy: its header is not believed.
        ("198.51.100.7", "6.6.6.6", True, ("10.0.0.0/8",), "198.51.100.7"),
        # Garbage is never stored.
        ("10.0.0.2", "not-an-ip", True, (), None),
        ("10.0.0.2", "1.2.3.4\x00", True, (), None),
        ("10.0.0.2", "6.6.6.6, <script>", True, (), None),
        ("", "6.6.6.6", True, (), None),
        ("10.0.0.2", "[2001:db8::1]:443", True, (), "2001:db8::1"),
        ("10.0.0.2", "203.0.113.5:51234", True, (), "203.0.113.5"),
        ("10.0.0.2", "::ffff:203.0.113.5", True, (), "203.0.113.5"),
        ("10.0.0.2", " , ", True, (), "10.0.0.2"),
    ],
)
def test_client_address(settings, remote, forwarded, use, trusted, expected):
    assert address(settings, remote, forwarded, use=use, trusted=trusted) == expected


@given(forwarded=st.text(max_size=60))
def test_any_header_gives_a_valid_address_or_none(forwarded):
    import ipaddress

    from django.conf import settings

    meta = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": forwarded}
    old = settings.USE_X_FORWARDED_FOR
    settings.USE_X_FORWARDED_FOR = True
    try:
        result = client_address(RequestFactory().get("/", **meta))
    finally:
        settings.USE_X_FORWARDED_FOR = old
    assert result is None or ipaddress.ip_address(result)


@pytest.mark.django_db
def test_a_garbled_header_is_stored_as_no_address(client, settings, municipality):
    """On PostgreSQL the address column is `inet`: a garbled value was a 500."""
    from tests.conftest import login_with_2fa, make_staff

    settings.USE_X_FORWARDED_FOR = True
    admin = make_staff("admin1", municipality, role="admin")
    login_with_2fa(client, admin)
    response = client.get("/staff/audit/download/", HTTP_X_FORWARDED_FOR="<script>, 1.2.3")
    assert response.status_code == 200
    b"".join(response.streaming_content)
    assert AccessLog.objects.latest("pk").ip_address is None
    client.get("/staff/audit/download/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5")
    assert AccessLog.objects.latest("pk").ip_address == "203.0.113.5"
