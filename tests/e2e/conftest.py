"""Browser tests: Playwright driving Debian's chromium against Django's live server.

No browser is downloaded: chromium comes from apt (/usr/bin/chromium). Locally the tests skip
when it is missing; in CI (CI=true) a missing browser is a failure.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("MADOGUCHI_CHROMIUM", "/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}
SCREENSHOT_DIR = Path(os.environ.get("MADOGUCHI_SCREENSHOT_DIR", "var/screenshots"))

# Playwright's sync API runs an event loop in the test thread; the ORM calls made by the tests
# themselves (fixtures, assertions) are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


def new_phone_page(browser, **options):
    """A page in a fresh browser context (own cookies) sized like a phone (390×844, touch),
    Japanese locale. Close it with `page.context.close()`."""
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="ja-JP",
        **options,
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    return page


@pytest.fixture
def phone(browser):
    """A phone-sized page (390×844, touch), Japanese locale."""
    page = new_phone_page(browser)
    yield page
    page.context.close()


@pytest.fixture
def chiyoda_live(live_server, transactional_db, settings):
    """千代田区 (131016) with every standard template loaded and published, served by the live
    server; e-mailed links point at the live server. Returns the municipality's base URL."""
    from madoguchi.catalog.loader import load_standard_templates
    from madoguchi.tenants.models import Municipality

    municipality = Municipality.objects.create(
        lg_code="131016", name="千代田区", prefecture="東京都"
    )
    load_standard_templates(municipality)
    settings.PUBLIC_BASE_URL = live_server.url
    return f"{live_server.url}/131016"


def screenshot(page, name: str) -> None:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"), full_page=True, scale="css")


def assert_accessible(page, context: str = "") -> None:
    """axe-core on the current page: no serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in {"serious", "critical"}]
    details = "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} → "
        + ", ".join(n["target"][0] for n in v["nodes"][:5])
        for v in bad
    )
    assert not bad, f"axe violations on {context or page.url}:\n{details}"
