"""400, 403, 404 and 500 answer with the site's own page, in Japanese (English when the
visitor chose it), and never with the error's detail."""

import pytest
from django.test import Client

from tests.core.failing_urls import SECRET

PAGES = {
    "/fail/400/": (400, "リクエストを処理できません", "The request could not be processed"),
    "/fail/suspicious/": (400, "リクエストを処理できません", "The request could not be processed"),
    "/fail/403/": (403, "このページは表示できません", "This page cannot be shown"),
    "/no-such-page/": (404, "ページが見つかりません", "Page not found"),
    "/fail/500/": (500, "一時的に表示できません", "Temporarily unavailable"),
}


@pytest.fixture(autouse=True)
def _failing_urls(settings):
    settings.ROOT_URLCONF = "tests.core.failing_urls"
    settings.DEBUG = False


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_error_pages_are_the_sites_own_in_japanese(path):
    status, japanese, _english = PAGES[path]
    response = Client(raise_request_exception=False).get(path)
    assert response.status_code == status
    body = response.content.decode()
    assert '<html lang="ja">' in body
    assert japanese in body
    assert 'class="dads-header"' in body  # the site's design
    assert "dads.css" in body
    assert SECRET not in body
    assert "Traceback" not in body
    assert response["Cache-Control"].startswith("no-store")


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_error_pages_in_english(path):
    status, japanese, english = PAGES[path]
    response = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en").get(path)
    assert response.status_code == status
    body = response.content.decode()
    assert '<html lang="en">' in body
    assert english in body
    assert japanese not in body
    assert SECRET not in body


@pytest.mark.django_db
def test_a_refused_csrf_token_gets_the_sites_page():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/staff/account/login/", {"username": "a", "password": "b"})
    assert response.status_code == 403
    body = response.content.decode()
    assert "送信を確認できませんでした" in body
    assert 'class="dads-header"' in body
    assert "CSRF" not in body
