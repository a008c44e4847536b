"""Isolation harness: every back-office URL, discovered from the URL configuration, refuses
whoever is not entitled to what it shows.

For every URL pattern in the namespaces below (other than the login steps themselves):

- with arguments (an application's pk, an attachment's uid, an export job, a department ...):
  a 担当者 of *another department* of the same municipality and a 管理者 of *another
  municipality* get 404; an anonymous visitor and a user who gave the right password but
  did not pass two-factor authentication are sent to the login page. As a control, the
  municipality's own 管理者 must reach the view (anything but 404), so that the 404s above
  are not just wrong arguments.
- without arguments (lists, search, forms): anonymous and password-only users are sent to
  the login page; the other department's 担当者 and the other municipality's 管理者 do not
  see the application's 受付番号.

New URLs are picked up automatically. A URL whose arguments the harness cannot fill fails
the test with its name: add the argument to ARGUMENTS below (with the object it stands
for), so that no URL slips through unchecked.
"""

from dataclasses import dataclass
from itertools import product

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RegexPattern, RoutePattern

from madoguchi.applications import services
from madoguchi.applications.models import Channel
from madoguchi.exports.models import ExportJob
from tests.applications.conftest import make_procedure
from tests.applications.test_services import ANSWERS
from tests.conftest import login_with_2fa, make_staff

NAMESPACES = {
    "staff",
    "counter",
    "exports",
    "audit",
    "account",
    "webhooks",
    "linkage",
    "analytics",
    "mynaportal",
}
# The login steps are reachable without being logged in, by design.
PUBLIC = {"account:login", "account:logout", "account:verify", "account:enroll"}
# URLs the municipality's own 管理者 may not open with a plain GET even with the right
# arguments, and why (the 404 checks still apply to them).
CONTROL_MAY_404 = {
    "counter:receipt_pdf": "the receipt needs the status token kept in the entering session",
}


@dataclass
class World:
    municipality: object
    other_municipality: object
    department: object  # the target application's department (こども家庭課)
    procedure: object
    target: object  # submitted counter application of こども家庭課, with an attachment
    draft: object  # counter draft of the same procedure
    attachment: object
    status_token: str
    job: object
    owner: object  # 担当者 of こども家庭課 (entered the application)
    admin: object  # 管理者 of the municipality: the control
    other_department_handler: object  # 担当者 of 水道課, same municipality — case (a)
    other_municipality_admin: object  # 管理者 of another municipality — case (b)
    password_only: object  # 管理者 of the municipality, without 2FA — case (d)


# argument name -> candidate values (the control picks the first combination it can open)
ARGUMENTS = {
    "pk": lambda w: [w.target.pk, w.draft.pk],
    "application_pk": lambda w: [w.target.pk, w.draft.pk],
    "application_id": lambda w: [w.target.pk, w.draft.pk],
    "uid": lambda w: [w.attachment.uid],
    "attachment_uid": lambda w: [w.attachment.uid],
    "token": lambda w: [w.status_token],
    "receipt_number": lambda w: [w.target.receipt_number],
    "department_id": lambda w: [w.department.pk],
    "department_pk": lambda w: [w.department.pk],
    "department_code": lambda w: [w.department.code],
    "procedure_pk": lambda w: [w.procedure.pk],
    "procedure_id": lambda w: [w.procedure.pk],
    "job_id": lambda w: [w.job.pk],
    "job_pk": lambda w: [w.job.pk],
    "user_id": lambda w: [w.owner.pk],
    "step_key": lambda w: ["applicant"],
    "lg_code": lambda w: [w.municipality.lg_code],
}


def _load_extra_arguments() -> None:
    """Other parts declare their own URL arguments in `tests/<part>/isolation.py`
    (`ARGUMENTS = {"name": lambda world: [values...]}`; a factory may create rows of the
    world's municipality), so adding a part never means editing this file."""
    import importlib
    import pkgutil

    import tests

    for module in pkgutil.iter_modules(tests.__path__):
        name = f"tests.{module.name}.isolation"
        try:
            extra = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        ARGUMENTS.update(extra.ARGUMENTS)


_load_extra_arguments()


def _parameters(pattern) -> list[str]:
    if isinstance(pattern, RoutePattern):
        return list(pattern.converters)
    if isinstance(pattern, RegexPattern):
        return list(pattern.regex.groupindex)
    return []


def back_office_urls() -> list[tuple[str, list[str]]]:
    """(namespaced name, argument names) of every URL pattern in NAMESPACES."""
    found = []

    def walk(patterns, namespaces, params):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = namespaces + ([entry.namespace] if entry.namespace else [])
                walk(entry.url_patterns, inner, params + _parameters(entry.pattern))
            elif isinstance(entry, URLPattern) and namespaces and namespaces[0] in NAMESPACES:
                name = ":".join(namespaces) + ":" + (entry.name or f"<unnamed {entry.pattern}>")
                found.append((name, params + _parameters(entry.pattern)))

    walk(get_resolver().url_patterns, [], [])
    return found


def _submitted(procedure, *, channel=Channel.PORTAL, entered_by=None, attachment=False):
    application, _ = services.start_draft(procedure, channel=channel, entered_by=entered_by)
    services.save_step(
        application, "applicant", raw={}, answers=ANSWERS, completed=True, step_index=0
    )
    stored = None
    if attachment:
        services.store_attachment(
            application,
            "applicant_name",
            SimpleUploadedFile("証明書.pdf", b"%PDF-1.4\n%test\n"),
            content_type="application/pdf",
        )
        stored = application.attachments.get()
    token = services.submit(application, base_url="http://testserver")
    application.refresh_from_db()
    return application, token, stored


@pytest.fixture
def world(municipality, other_municipality) -> World:
    procedure = make_procedure(municipality, slug="kodomo-test", department_code="kodomo")
    water = make_procedure(municipality, slug="suido-test", department_code="suido")
    other_town = make_procedure(other_municipality, slug="kodomo-test", department_code="kodomo")

    owner = make_staff("owner_kodomo", municipality, "kodomo")
    admin = make_staff("admin_a", municipality, role="admin")
    other_department_handler = make_staff("handler_suido", municipality, "suido")
    other_municipality_admin = make_staff("admin_b", other_municipality, role="admin")
    password_only = make_staff("admin_a_no2fa", municipality, role="admin")

    # Receipt numbers are unique per municipality only: the other department's and the other
    # municipality's applications take ...-000001, so the target's number is distinct.
    _submitted(water)
    _submitted(other_town)
    target, token, attachment = _submitted(
        procedure, channel=Channel.COUNTER, entered_by=owner, attachment=True
    )
    draft, _ = services.start_draft(procedure, channel=Channel.COUNTER, entered_by=owner)
    services.save_step(draft, "applicant", raw={}, answers=ANSWERS, completed=False, step_index=0)
    job = ExportJob.objects.create(
        municipality=municipality,
        requested_by=admin,
        procedure=procedure,
        state=ExportJob.State.DONE,
        total_rows=1,
        done_rows=1,
    )
    job.file.save("export.csv", ContentFile(f"{target.receipt_number}\n".encode()))
    return World(
        municipality=municipality,
        other_municipality=other_municipality,
        department=procedure.departments.get(),
        procedure=procedure,
        target=target,
        draft=draft,
        attachment=attachment,
        status_token=token,
        job=job,
        owner=owner,
        admin=admin,
        other_department_handler=other_department_handler,
        other_municipality_admin=other_municipality_admin,
        password_only=password_only,
    )


def _body(response) -> str:
    if getattr(response, "streaming", False):
        content = b"".join(response.streaming_content)
    else:
        content = response.content
    return content.decode("utf-8", errors="replace")


def _request(client, url):
    """GET, or POST (empty) when the view only takes POST."""
    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url)
    return response


def _is_login_redirect(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("account:login"))


def _clients(world, client_factory):
    def verified(user):
        return login_with_2fa(client_factory(), user)

    password_only = client_factory()
    password_only.force_login(world.password_only)
    return {
        "control": verified(world.admin),
        "other_department": verified(world.other_department_handler),
        "other_municipality": verified(world.other_municipality_admin),
        "anonymous": client_factory(),
        "password_only": password_only,
    }


def test_the_harness_finds_the_back_office_urls():
    names = {name for name, _ in back_office_urls()}
    assert {"staff:application_list", "staff:application_detail", "account:login"} <= names


def isolation_problems(world, clients) -> tuple[list[str], list[str], int]:
    """(problems, URLs that cannot be filled, number of URLs checked)."""
    problems: list[str] = []
    unfillable: list[str] = []
    checked = 0

    for name, params in back_office_urls():
        if name in PUBLIC:
            continue
        if "<unnamed" in name:
            unfillable.append(f"{name}: give the URL pattern a name")
            continue
        missing = [p for p in params if p not in ARGUMENTS]
        if missing:
            unfillable.append(f"{name}: unknown argument(s) {', '.join(missing)}")
            continue
        checked += 1

        if not params:
            url = reverse(name)
            for who in ("anonymous", "password_only"):
                response = _request(clients[who], url)
                if not _is_login_redirect(response):
                    problems.append(f"{name} ({who}): {response.status_code}, not the login page")
            for who in ("other_department", "other_municipality"):
                response = _request(clients[who], url)
                if world.target.receipt_number in _body(response):
                    problems.append(f"{name} ({who}): shows the 受付番号 of the application")
            continue

        # Pick the argument combination the municipality's own 管理者 can open.
        combinations = [
            dict(zip(params, values, strict=True))
            for values in product(*(ARGUMENTS[p](world) for p in params))
        ]
        url = None
        for kwargs in combinations:
            candidate = reverse(name, kwargs=kwargs)
            if clients["control"].get(candidate).status_code != 404:
                url = candidate
                break
        if url is None:
            if name not in CONTROL_MAY_404:
                problems.append(
                    f"{name}: 404 for the municipality's 管理者 with every argument tried "
                    f"({combinations}); fix the view or ARGUMENTS"
                )
                continue
            url = reverse(name, kwargs=combinations[0])

        for who in ("other_department", "other_municipality"):
            response = _request(clients[who], url)
            if response.status_code != 404:
                problems.append(f"{name} ({who}): {response.status_code}, expected 404")
        for who in ("anonymous", "password_only"):
            response = _request(clients[who], url)
            if not _is_login_redirect(response):
                problems.append(f"{name} ({who}): {response.status_code}, not the login page")
    return problems, unfillable, checked


@pytest.mark.django_db
def test_every_back_office_url_is_isolated(world):
    from django.test import Client

    problems, unfillable, checked = isolation_problems(world, _clients(world, Client))
    assert not unfillable, (
        "URLs the isolation harness cannot fill (add their arguments to ARGUMENTS in "
        "tests/tenants/test_isolation.py):\n" + "\n".join(unfillable)
    )
    assert checked >= 5
    assert not problems, "Isolation problems:\n" + "\n".join(problems)


@pytest.mark.django_db
def test_the_harness_catches_a_leaky_view_and_an_unknown_argument(world, settings):
    """Against a URL configuration with a deliberately leaky view (login only, no scoping)."""
    from django.test import Client

    settings.ROOT_URLCONF = "tests.tenants.leaky_urls"
    problems, unfillable, _ = isolation_problems(world, _clients(world, Client))
    assert any(p.startswith("audit:leaky_detail (other_department): 200") for p in problems)
    assert any(p.startswith("audit:leaky_detail (other_municipality): 200") for p in problems)
    assert any(p.startswith("audit:leaky_list (other_department): shows") for p in problems)
    assert any(p.startswith("audit:leaky_public (anonymous): 200") for p in problems)
    assert unfillable == ["audit:mystery: unknown argument(s) mystery_id"]
