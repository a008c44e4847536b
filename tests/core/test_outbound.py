"""Outbound calls cannot reach inside the network (SSRF), in any notation of an address,
through a name that resolves inside, or by a second resolution; errors shown to a 管理者 are
categories, not socket or TLS error text."""

import datetime
import http.server
import ipaddress
import socket
import ssl
import threading

import pytest
from django.db import transaction

from madoguchi.core import outbound

BLOCKED = "接続先が内部ネットワークのアドレスのため、接続できません"

INTERNAL = [
    "127.0.0.1",
    "127.1",  # short form
    "2130706433",  # one 32-bit number
    "0x7f.0.0.1",  # hexadecimal
    "0177.0.0.1",  # octal
    "0x7f000001",
    "[::1]",
    "[::ffff:127.0.0.1]",  # IPv4-mapped
    "[::ffff:7f00:1]",
    "[2002:7f00:1::1]",  # 6to4 of 127.0.0.1
    "[64:ff9b::a00:1]",  # NAT64 of 10.0.0.1
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "100.64.0.1",  # shared address space (RFC 6598)
    "[fd00::1]",  # unique local (RFC 4193)
    "[fc00::1]",
    "169.254.169.254",  # cloud metadata
    "169.254.1.1",
    "[fe80::1]",
    "0.0.0.0",
    "0",
    "[::]",
    "224.0.0.1",
    "239.255.255.250",
    "[ff02::1]",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "192.0.2.1",  # documentation
    "localhost",
    "LOCALHOST.",
    "api.localhost",
]


@pytest.mark.parametrize("host", INTERNAL)
def test_an_internal_address_is_refused_when_saved_in_every_notation(settings, host):
    settings.MADOGUCHI_OUTBOUND_ALLOWED_HOSTS = []
    with pytest.raises(outbound.BlockedAddressError) as error:
        outbound.check_url_when_saved(f"https://{host}/hook")
    assert BLOCKED in str(error.value)
    # The check that reads the URL only (inside an admin form's transaction) agrees.
    with pytest.raises(outbound.BlockedAddressError):
        outbound.check_url_literal(f"https://{host}/hook")


@pytest.mark.parametrize(
    "host", ["127.1", "2130706433", "0x7f.0.0.1", "[::ffff:127.0.0.1]", "localhost"]
)
def test_an_internal_address_is_refused_at_connection_time_and_nothing_connects(settings, host):
    settings.MADOGUCHI_OUTBOUND_ALLOWED_HOSTS = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        listener.settimeout(0)
        with pytest.raises(outbound.BlockedAddressError):
            outbound.request(
                "POST",
                f"http://{host}:{port}/hook",
                body=b"{}",
                connect_timeout=2,
                read_timeout=2,
                allow_http=True,
            )
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected


def test_a_name_that_resolves_inside_is_refused_after_resolution(settings):
    settings.MADOGUCHI_OUTBOUND_ALLOWED_HOSTS = []
    # `localhost` through the resolver (not the literal rule): every address is checked.
    assert all(not outbound.is_public(a) for a in outbound.resolve("localhost", 80))
    with pytest.raises(outbound.BlockedAddressError):
        outbound.checked_addresses("localhost", 80)


def test_one_internal_address_among_public_ones_is_refused(settings, monkeypatch):
    settings.MADOGUCHI_OUTBOUND_ALLOWED_HOSTS = []

    def resolver(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    with pytest.raises(outbound.BlockedAddressError):
        outbound.checked_addresses("mixed.example.jp", 443)


def test_the_connection_goes_to_the_checked_address_not_a_second_resolution(settings, monkeypatch):
    """DNS rebinding: the first answer is public, a later one would be loopback. The name is
    resolved once and the connection goes to the address that was checked."""
    answers = ["203.0.113.10", "127.0.0.1"]
    asked = []
    real = socket.getaddrinfo

    def rebinding(host, port, *args, **kwargs):
        if host != "rebind.example.jp":
            return real(host, port, *args, **kwargs)
        asked.append(host)
        address = answers[min(len(asked) - 1, 1)]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    # 203.0.113.0/24 is documentation space (not global): allow exactly that network, so
    # the first answer passes the check while loopback stays refused.
    settings.MADOGUCHI_OUTBOUND_ALLOWED_HOSTS = ["203.0.113.0/24"]
    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    connected = []
    real_create = socket.create_connection

    def recording(address, *args, **kwargs):
        connected.append(address[0])
        raise ConnectionRefusedError("test: no route")

    monkeypatch.setattr(socket, "create_connection", recording)
    with pytest.raises(outbound.OutboundError):
        outbound.request("GET", "https://rebind.example.jp/", connect_timeout=1, read_timeout=1)
    monkeypatch.setattr(socket, "create_connection", real_create)
    assert asked == ["rebind.example.jp"]  # resolved once
    assert connected == ["203.0.113.10"]  # to the checked address


def test_the_operator_allow_list_admits_named_hosts_and_networks(settings):
    settings.MADOGUCHI_OUTBOUND_ALLOWED_HOSTS = ["localhost"]
    outbound.check_url_when_saved("http://localhost:8080/")
    assert outbound.checked_addresses("localhost", 80)
    with pytest.raises(outbound.BlockedAddressError):
        outbound.check_url_when_saved("http://127.0.0.2/")  # not that name, not listed

    settings.MADOGUCHI_OUTBOUND_ALLOWED_HOSTS = ["10.20.0.0/16", "127.0.0.1"]
    outbound.check_url_when_saved("https://10.20.3.4/")
    outbound.check_url_when_saved("https://2130706433/")  # 127.0.0.1 in another notation
    with pytest.raises(outbound.BlockedAddressError):
        outbound.check_url_when_saved("https://10.21.0.1/")

    settings.MADOGUCHI_OUTBOUND_ALLOWED_HOSTS = "kikan.lgwan.example, 192.168.10.0/24"
    allow = outbound.AllowList.from_settings()
    assert allow.allows_host("KIKAN.lgwan.example.")
    assert allow.allows_address(ipaddress.ip_address("192.168.10.7"))
    assert not allow.allows_address(ipaddress.ip_address("192.168.11.7"))


def test_public_addresses_pass():
    for text in ["93.184.216.34", "8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8"]:
        assert outbound.is_public(ipaddress.ip_address(text)), text


def test_a_name_that_does_not_resolve_yet_can_be_saved(settings):
    settings.MADOGUCHI_OUTBOUND_ALLOWED_HOSTS = []
    outbound.check_url_when_saved("https://kikan.example.invalid/hook")


@pytest.mark.django_db
def test_no_network_call_inside_a_transaction():
    with transaction.atomic():
        with pytest.raises(outbound.InsideTransactionError):
            outbound.request("GET", "https://example.jp/", connect_timeout=1, read_timeout=1)
        with pytest.raises(outbound.InsideTransactionError):
            outbound.resolve("example.jp", 443)


# ----------------------------------------------------------------------------- categories


@pytest.fixture
def allow_loopback(settings):
    settings.MADOGUCHI_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]


def test_a_refused_connection_is_a_category(allow_loopback):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(outbound.OutboundError) as error:
        outbound.request(
            "GET", f"http://127.0.0.1:{port}/", connect_timeout=2, read_timeout=2, allow_http=True
        )
    assert str(error.value) == "接続できませんでした。"


def test_a_peer_that_never_answers_is_a_timeout_category(allow_loopback):
    from tests.outbox.peers import HttpPeer

    peer = HttpPeer(stall=1).start()
    try:
        with pytest.raises(outbound.OutboundError) as error:
            outbound.request(
                "GET", peer.url(), connect_timeout=2, read_timeout=0.5, allow_http=True
            )
    finally:
        peer.stop()
    assert str(error.value) == "応答がありませんでした（タイムアウト）。"


def _self_signed(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_an_untrusted_certificate_is_a_category_without_the_tls_text(allow_loopback, tmp_path):
    cert_file, key_file = _self_signed(tmp_path)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(outbound.OutboundError) as error:
            outbound.request(
                "GET",
                f"https://localhost:{server.server_address[1]}/",
                connect_timeout=2,
                read_timeout=2,
            )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    assert str(error.value) == "証明書を確認できませんでした。"
