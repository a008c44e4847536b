"""Bad input never reaches the database as a 500: NUL and lone surrogates are stripped from
form data and query strings (refused in JSON), out-of-range dates and integers in filters
and URLs are refused with a message. Runs on SQLite and PostgreSQL (where NUL in text was a
500); the fuzz tests below are part of both runs."""

import datetime as dt
import json

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from madoguchi.applications import services
from madoguchi.applications.models import Application
from madoguchi.catalog.models import FormVersion, Procedure
from madoguchi.core import boundary
from tests.api.conftest import http, make_client, submit_application
from tests.api.conftest import make_procedure as make_api_procedure
from tests.conftest import login_with_2fa, make_staff

FORM = {
    "title": "意見の提出",
    "steps": [
        {
            "key": "opinion",
            "title": "ご意見",
            "fields": [
                {"key": "subject", "type": "text", "label": "件名", "required": True},
                {"key": "body", "type": "textarea", "label": "内容"},
                {"key": "email", "type": "email", "label": "メールアドレス"},
            ],
        }
    ],
}
FUZZ = settings(
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Text as a browser may send it, NUL and other control characters included (a form post
# cannot carry a lone surrogate: the test client, like a browser, encodes UTF-8).
form_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40
) | st.sampled_from(["\x00", "a\x00b", "\x00" * 5, "山田\x00", "%00", "\ufeff\x00"])


# -- pure helpers ------------------------------------------------------------------------------


@given(st.text())
def test_strip_leaves_nothing_unstorable_and_keeps_the_rest(text):
    cleaned = boundary.strip_unstorable(text)
    assert not boundary.has_unstorable(cleaned)
    cleaned.encode("utf-8")  # a lone surrogate would raise here
    assert cleaned == "".join(c for c in text if c != "\x00" and not 0xD800 <= ord(c) <= 0xDFFF)


@given(st.integers())
def test_parse_db_int_accepts_exactly_the_64_bit_range(number):
    parsed = boundary.parse_db_int(str(number))
    assert parsed == (number if -(2**63) <= number < 2**63 else None)


@given(st.dates())
def test_filter_dates_outside_the_range_are_refused(day):
    if boundary.FILTER_DATE_MIN <= day <= boundary.FILTER_DATE_MAX:
        assert boundary.parse_filter_date(day.isoformat()) == day
    else:
        with pytest.raises(boundary.FilterDateError):
            boundary.parse_filter_date(day.isoformat())


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def opinion(municipality):
    procedure = Procedure.objects.create(
        municipality=municipality, slug="iken", name="意見", reading="いけん", category="other"
    )
    FormVersion.new_draft(procedure, schema=FORM).publish()
    procedure.refresh_from_db()
    return procedure


def step_url(procedure, token):
    return f"/{procedure.municipality.lg_code}/apply/{token}/opinion/"


@pytest.fixture
def handler(municipality):
    return make_staff("kodomo1", municipality, "kodomo")


@pytest.fixture
def admin(municipality):
    return make_staff("admin1", municipality, role="admin")


# -- NUL in form data and query strings --------------------------------------------------------


@pytest.mark.django_db
def test_nul_in_a_step_post_is_stripped_and_the_answer_kept(client, opinion):
    application, token = services.start_draft(opinion)
    response = client.post(
        step_url(opinion, token),
        {"subject": "道路\x00の穴", "body": "\x00至急\x00", "email": "", "_action": "next"},
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.answers["subject"] == "道路の穴"
    assert application.answers["body"] == "至急"


@pytest.mark.django_db
@FUZZ
@given(data=st.dictionaries(st.sampled_from(["subject", "body", "email", "_action"]), form_text))
def test_fuzzed_step_posts_never_give_a_server_error(client, opinion, data):
    _application, token = services.start_draft(opinion)
    response = client.post(step_url(opinion, token), data)
    assert response.status_code < 500


@pytest.mark.django_db
def test_nul_in_a_withdraw_reason_is_stripped(client, submitted_with_token):
    application, token = submitted_with_token
    response = client.post(
        f"/{application.municipality.lg_code}/status/{token}/withdraw/",
        {"reason": "転出\x00のため"},
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == "withdrawn"
    event = application.events.order_by("-pk").first()
    assert event.message == "転出のため"


@pytest.fixture
def submitted_with_token(municipality):
    """A submitted application and the resident's token (which opens its status page)."""
    from tests.api.conftest import ANSWERS

    procedure = make_api_procedure(municipality)
    application, token = services.start_draft(procedure)
    services.save_step(
        application, "applicant", raw={}, answers=dict(ANSWERS), completed=True, step_index=0
    )
    token = services.submit(application, base_url="http://testserver")
    application.refresh_from_db()
    return application, token


@pytest.mark.django_db
def test_nul_in_a_login_is_stripped(client, handler):
    response = client.post(
        reverse("account:login"), {"username": "kodomo1\x00", "password": "x-test-password-123"}
    )
    assert response.status_code == 302  # on to the second factor: the name matched


@pytest.mark.django_db
def test_nul_in_a_cookie_or_path_is_no_server_error(client, opinion):
    client.cookies["sessionid"] = "abc\x00defghijklmnop"
    assert client.get(f"/{opinion.municipality.lg_code}/").status_code == 200
    assert client.get("/api/v1/applications/2026-00\x000001").status_code == 400
    assert client.get("/staff/applications/1%002/").status_code in (400, 404)


@pytest.mark.django_db
def test_nul_in_a_staff_note_is_stripped(client, municipality, admin):
    application = submit_application(make_api_procedure(municipality))
    login_with_2fa(client, admin)
    response = client.post(
        reverse("staff:application_note", args=[application.pk]),
        {"text": "電話\x00で確認"},
    )
    assert response.status_code == 302
    assert application.events.get(kind="note").message == "電話で確認"


# -- filters: dates, numbers, cursors ----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"date_to": "9999-12-31"}, "受付日（まで）は 1900-01-01 から 2999-12-31 までの日付で"),
        ({"date_from": "0001-01-01"}, "受付日（から）は 1900-01-01 から 2999-12-31 までの日付で"),
        ({"date_from": "2026-02-30"}, "受付日（から）は 2026-04-01 の形で入力してください。"),
    ],
)
def test_inbox_dates_out_of_range_are_a_400_with_a_message(client, handler, params, message):
    login_with_2fa(client, handler)
    response = client.get(reverse("staff:inbox_all"), params)
    assert response.status_code == 400
    assert message in response.content.decode()


@pytest.mark.django_db
def test_inbox_ignores_numbers_and_cursors_out_of_range(client, handler):
    login_with_2fa(client, handler)
    import base64

    def cursor(*parts):
        raw = json.dumps(list(parts)).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    for params in [
        {"procedure": str(2**63)},
        {"procedure": "-" + "9" * 30},
        {"cursor": cursor("n", "received_desc", "2026-01-01T00:00:00+09:00", 2**63)},
        {"cursor": cursor("n", "received_desc", "0001-01-01T00:00:00+14:00", 1)},
        {"cursor": cursor("p", "received_desc", "9999-12-31T23:59:59-12:00", 1)},
        {"cursor": cursor("n", "received_desc", "2026-01-01T00:00:00", 1)},
        {"q": "山田\x00"},
    ]:
        assert client.get(reverse("staff:inbox_all"), params).status_code == 200, params


@pytest.mark.django_db
def test_ids_beyond_64_bits_are_404_not_500(client, admin):
    login_with_2fa(client, admin)
    huge = 2**63
    assert client.get(f"/staff/applications/{huge}/").status_code == 404
    assert client.get(f"/staff/d/{huge * 10}/").status_code == 404
    assert client.get(f"/staff/exports/{huge}/").status_code == 404
    response = client.post(
        reverse("staff:inbox_bulk_all"), {"ids": [str(huge), "1"], "action": "assign"}
    )
    assert response.status_code < 500


@pytest.mark.django_db
def test_audit_dates_out_of_range_are_a_400_with_a_message(client, admin):
    login_with_2fa(client, admin)
    response = client.get("/staff/audit/", {"date_to": "9999-12-31"})
    assert response.status_code == 400
    assert "期間（まで）は 1900-01-01 から 2999-12-31 までの日付で" in response.content.decode()
    download = client.get("/staff/audit/download/", {"date_from": "0001-01-01"})
    assert download.status_code == 200
    b"".join(download.streaming_content)


@pytest.mark.django_db
def test_analytics_filters_out_of_range_are_reported(client, admin):
    login_with_2fa(client, admin)
    for params in [
        {"start": "0001-01-01"},
        {"end": "9999-12-31"},
        {"procedure": str(2**63)},
        {"department": str(2**64)},
    ]:
        response = client.get("/staff/analytics/", params)
        assert response.status_code == 400, params
        assert "集計の条件を正しく入力してください" in response.content.decode()
        download = client.get("/staff/analytics/download/", {**params, "format": "csv"})
        assert download.status_code == 400, params
        assert download.content.decode() == (
            "集計の条件を正しく入力してください（日付は 2026-04-01 の形式）。"
        )


# -- the API -----------------------------------------------------------------------------------


@pytest.fixture
def api(municipality):
    return http(make_client(municipality))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [
        {"received_since": "0001-01-01T00:00:00Z"},
        {"received_since": "0001-01-01"},
        {"updated_since": "9999-12-31T23:59:59-12:00"},
    ],
)
def test_api_dates_out_of_range_are_refused_with_a_message(api, params):
    response = api.get("/api/v1/applications", params)
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "urn:madoguchi:problem:validation"
    assert (
        body["errors"][0]["detail"] == "1900-01-01 から 2999-12-31 までの日時を指定してください。"
    )


@pytest.mark.django_db
def test_api_cursor_with_extreme_values_is_refused(api):
    import base64

    for parts in (
        ["received", "2026-01-01T00:00:00+09:00", 2**63],
        ["received", "0001-01-01T00:00:00+14:00", 1],
        ["received", "2026-01-01T00:00:00", 1],
    ):
        cursor = base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")
        response = api.get("/api/v1/applications", {"cursor": cursor})
        assert response.status_code == 422, parts
        assert response.json()["errors"][0]["field"] == "cursor"


@pytest.mark.django_db
def test_api_json_with_nul_or_a_lone_surrogate_is_a_400(api, municipality):
    case = submit_application(make_api_procedure(municipality))
    for text in ('"メモ\\u0000"', '"\\ud800"'):
        response = api.post(
            f"/api/v1/applications/{case.receipt_number}/notes",
            data=f'{{"text": {text}}}',
            content_type="application/json",
        )
        assert response.status_code == 400, text
        assert "使用できない文字" in response.json()["detail"]


api_text = st.text(max_size=30) | st.sampled_from(
    ["\x00", "0001-01-01", "9999-12-31T23:59:59Z", str(2**63), "-1", "2026-000001\x00"]
)


@pytest.mark.django_db
@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(
            ["procedure", "status", "received_since", "updated_since", "order", "cursor", "limit"]
        ),
        api_text.filter(lambda t: not boundary.has_unstorable(t.replace("\x00", ""))),
    ),
    receipt=api_text.filter(lambda t: not boundary.has_unstorable(t.replace("\x00", ""))),
)
def test_fuzzed_api_parameters_never_give_a_server_error(api, params, receipt):
    assert api.get("/api/v1/applications", params).status_code < 500
    from urllib.parse import quote

    assert api.get(f"/api/v1/applications/{quote(receipt, safe='')}").status_code < 500


@pytest.mark.django_db
@FUZZ
@given(
    body=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=8,
    )
)
def test_fuzzed_api_json_bodies_never_give_a_server_error(api, municipality, body):
    case = Application.objects.exclude(receipt_number="").first() or submit_application(
        make_api_procedure(municipality)
    )
    payload = json.dumps(body if isinstance(body, dict) else {"text": body})
    for path in ("notes", "status", "acknowledge"):
        response = api.post(
            f"/api/v1/applications/{case.receipt_number}/{path}",
            data=payload,
            content_type="application/json",
        )
        assert response.status_code < 500, (path, payload)


@pytest.mark.django_db
@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(
            ["q", "status", "channel", "date_from", "date_to", "procedure", "cursor", "sort"]
        ),
        form_text
        | st.sampled_from(["9999-12-31", "0001-01-01", str(2**63), "2026-13-45"])
        | st.dates().map(dt.date.isoformat),
    )
)
def test_fuzzed_inbox_query_strings_never_give_a_server_error(handler, params):
    client = login_with_2fa(Client(), handler)
    assert client.get(reverse("staff:inbox_all"), params).status_code in (200, 400)
