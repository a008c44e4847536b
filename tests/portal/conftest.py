"""Fixtures for the resident portal: 千代田区 (131016) with every standard template loaded,
and helpers to walk through a form the way a browser would."""

import re

import pytest

from madoguchi.jp.check_digits import individual_number_check_digit
from madoguchi.outbox.models import OutboxMessage

# A tiny but real PDF (one empty page): enough for content-type detection by magic bytes.
SMALL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n"
    b"0000000101 00000 n \ntrailer<</Size 4/Root 1 0 R>>\nstartxref\n170\n%%EOF\n"
)


def individual_number(eleven: str) -> str:
    """A 個人番号 with a valid check digit."""
    return eleven + str(individual_number_check_digit(eleven))


@pytest.fixture
def chiyoda(loaded_municipality):
    """千代田区 (lg_code 131016) with all standard templates loaded and published."""
    return loaded_municipality


@pytest.fixture
def client(client):
    """Django's test client (anonymous resident; CSRF checks as in a browser are off)."""
    return client


def html(response) -> str:
    return response.content.decode("utf-8")


def location(response) -> str:
    assert response.status_code in (301, 302), (response.status_code, html(response)[:2000])
    return response["Location"]


APPLY_URL_RE = re.compile(r"^/(?P<lg>\d{6})/apply/(?P<token>[A-Za-z0-9_-]+)/(?P<step>[a-z0-9_]+)/")


def parse_step_url(url: str) -> tuple[str, str]:
    """(token, step_key) of an apply URL."""
    match = APPLY_URL_RE.match(url)
    assert match, url
    return match.group("token"), match.group("step")


def start(client, slug: str, lg: str = "131016", email: str = "hanako@example.jp") -> str:
    """Press 「申請をはじめる」; returns the URL of the first step.

    For procedures at identity level "email" this gives an address and opens the link that
    was mailed to it (read from the outbox row: on-commit delivery does not run inside a
    test transaction)."""
    response = client.post(f"/{lg}/procedures/{slug}/start/", {"email": email})
    url = location(response)
    if url == f"/{lg}/apply/check-email/":
        body = OutboxMessage.objects.latest("pk").payload["body"]
        link = re.search(r"http://testserver(/\S+)", body).group(1)
        url = location(client.get(link))
    return url
