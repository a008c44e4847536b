"""三層の対策: the public role serves the resident and business portals and nothing of the
back office. Every URL pattern of the project is walked through the resolver (none is
listed by hand): each back-office URL answers 404 to every method in the public role,
exactly as an unknown address does, and each public URL answers 404 in the internal role."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from madoguchi.ops import roles

pytestmark = pytest.mark.django_db

SAMPLES = {
    "int": "1",
    "lg": "131016",
    "token": "A" * 24,
    "step": "main",
    "slug": "x-1",
    "str": "x",
    "path": "x/y",
    "uuid": "12345678-1234-5678-1234-567812345678",
}


def _sample_for_group(name: str, regex: str) -> str:
    # A regex group: try the first alternative of an (a|b) group, else simple candidates.
    alternatives = re.search(rf"\(\?P<{name}>([^()]+?)\)", regex)
    if alternatives:
        first = alternatives.group(1).split("|")[0]
        if re.fullmatch(r"[\w\-]+", first):
            return first
    for candidate in ("1", "x", "131016", "a" * 24):
        group = re.search(rf"\(\?P<{name}>(.+?)\)(?=[/$\\]|$)", regex)
        if group is None or re.fullmatch(group.group(1), candidate):
            return candidate
    return "1"


def _concrete(prefix: str, pattern) -> str | None:
    """A concrete path for one pattern (prefix included), or None when none can be made."""
    from django.urls.resolvers import RegexPattern, RoutePattern

    if isinstance(pattern, RoutePattern):
        route = str(pattern)

        def fill(match):
            converter = match.group(1) or "str"
            return SAMPLES.get(converter, "x")

        return prefix + re.sub(r"<(?:(\w+):)?\w+>", fill, route)
    if isinstance(pattern, RegexPattern):
        regex = pattern.regex.pattern
        text = regex.lstrip("^").rstrip("$").replace("\\Z", "")
        text = re.sub(
            r"\(\?P<(\w+)>[^)]*(?:\([^)]*\)[^)]*)*\)",
            lambda m: _sample_for_group(m.group(1), regex),
            text,
        )
        text = text.replace("\\.", ".").replace("\\-", "-")
        if re.search(r"[\\()\[\]*+?|{}]", text):
            return None
        return prefix + text
    return None


def all_urls():
    """(path, full route) of every URL pattern of the project."""
    found = []

    def walk(resolver_or_patterns, prefix):
        for entry in resolver_or_patterns:
            if isinstance(entry, URLResolver):
                head = _concrete(prefix, entry.pattern)
                if head is None:
                    continue
                walk(entry.url_patterns, head)
            elif isinstance(entry, URLPattern):
                path = _concrete(prefix, entry.pattern)
                if path is not None:
                    found.append(path)

    walk(get_resolver().url_patterns, "/")
    urls = []
    for path in sorted(set(found)):
        try:
            match = resolve(path)
        except Exception:
            continue
        urls.append((path, match.route, match.view_name))
    return urls


URLS = all_urls()
INTERNAL = [u for u in URLS if roles.side(u[1], u[2]) == roles.SIDE_INTERNAL]
PUBLIC = [u for u in URLS if roles.side(u[1], u[2]) == roles.SIDE_PUBLIC]


def test_the_walk_finds_the_whole_back_office():
    # The walk must reach every kind of back-office URL, or the tests below prove little.
    prefixes = {path.split("/")[1] for path, _route, _name in INTERNAL}
    assert prefixes == {"admin", "staff", "api"}
    assert len(INTERNAL) > 150, len(INTERNAL)
    names = {name for _path, _route, name in INTERNAL}
    for expected in (
        "staff:application_list",
        "staff:application_detail",
        "admin:index",
        "admin:login",
        "account:login",
    ):
        assert expected in names, expected
    assert any(name and name.startswith("api") for name in names) or any(
        path.startswith("/api/") for path, _r, _n in INTERNAL
    )
    assert len(PUBLIC) > 15


@pytest.mark.parametrize("method", ["get", "post", "put", "delete", "head"])
def test_public_role_answers_404_for_every_back_office_url(client, settings, method):
    settings.MADOGUCHI_ROLE = "public"
    wrong = []
    for path, route, _name in INTERNAL:
        response = getattr(client, method)(path)
        if response.status_code != 404:
            wrong.append((path, route, response.status_code))
        # Without the trailing slash too: no redirect that would tell the URL exists.
        if path.endswith("/") and len(path) > 1:
            response = getattr(client, method)(path[:-1])
            if response.status_code != 404:
                wrong.append((path[:-1], route, response.status_code))
    assert not wrong, wrong[:20]


def test_public_role_404_is_the_ordinary_not_found_page(client, settings):
    settings.MADOGUCHI_ROLE = "public"
    unknown = client.get("/no-such-page/")
    staff = client.get("/staff/")
    assert unknown.status_code == staff.status_code == 404
    assert unknown["Content-Type"] == staff["Content-Type"]


def test_public_role_serves_the_portals(client, settings, loaded_municipality):
    settings.MADOGUCHI_ROLE = "public"
    assert client.get("/").status_code in (200, 302)
    assert client.get("/131016/").status_code == 200
    assert client.get("/131016/procedures/").status_code == 200
    assert client.get("/business/").status_code in (200, 302)
    assert client.get("/healthz").status_code == 200


def test_internal_role_answers_404_for_the_portals(client, settings, loaded_municipality):
    settings.MADOGUCHI_ROLE = "internal"
    wrong = []
    for path, route, _name in PUBLIC:
        response = client.get(path)
        if response.status_code != 404:
            wrong.append((path, route, response.status_code))
    assert not wrong, wrong[:20]
    # What the back office uses of the public side stays: the postal code lookup.
    assert client.get("/131016/postal/1000001/").status_code != 404
    assert client.get("/staff/account/login/").status_code == 200
    assert client.get("/admin/login/").status_code in (200, 302)


def test_all_role_serves_both(client, settings, loaded_municipality):
    settings.MADOGUCHI_ROLE = "all"
    assert client.get("/131016/").status_code == 200
    assert client.get("/staff/account/login/").status_code == 200


def test_unknown_role_is_refused(client, settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.MADOGUCHI_ROLE = "everything"
    with pytest.raises(ImproperlyConfigured, match="MADOGUCHI_ROLE must be one of"):
        client.get("/")
