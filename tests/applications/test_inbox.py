"""Inbox query (applications.inbox): scope, filters, search, keyset pagination, counts."""

import datetime as dt
import itertools
import re

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from madoguchi.applications import inbox
from madoguchi.applications.inbox import InboxFilter, inbox_page, inbox_queryset, status_counts
from madoguchi.applications.lifecycle import search_name
from madoguchi.applications.models import Application, Channel, Status
from madoguchi.applications.permissions import visible_applications
from madoguchi.catalog.models import Procedure
from madoguchi.jp.kana import search_key
from madoguchi.tenants.models import Department, StaffMembership
from tests.conftest import login_with_2fa

from .conftest import make_procedure

_numbers = itertools.count(1)


def make_app(
    procedure,
    *,
    name="山田　花子",
    kana="ヤマダ　ハナコ",
    status=Status.RECEIVED,
    channel=Channel.PORTAL,
    submitted_at=None,
    due_at=None,
    assigned_to=None,
    answers=None,
):
    """A submitted application written directly (fast); the submit service is tested
    elsewhere. Fills search_name/search_kana the way the submit service does."""
    n = next(_numbers)
    return Application.objects.create(
        municipality=procedure.municipality,
        procedure=procedure,
        form_version=procedure.current_version,
        channel=channel,
        status=status,
        receipt_number=f"2026-{n:06d}",
        applicant_name=name,
        applicant_name_kana=kana,
        search_name=search_name(name),
        search_kana=search_key(kana),
        submitted_at=submitted_at or timezone.now() - dt.timedelta(minutes=n),
        due_at=due_at,
        assigned_to=assigned_to,
        answers=answers or {},
    )


def make_staff(django_user_model, username, municipality, department_code=None, role="handler"):
    user = django_user_model.objects.create_user(username, password="x-test-password-123")
    department = (
        Department.objects.get(municipality=municipality, code=department_code)
        if department_code
        else None
    )
    StaffMembership.objects.create(
        user=user, municipality=municipality, department=department, role=role
    )
    return user


def kodomo(procedure):
    return Department.objects.get(municipality=procedure.municipality, code="kodomo")


def receipts(rows):
    return [a.receipt_number for a in rows]


@pytest.fixture
def handler(django_user_model, procedure):
    return make_staff(django_user_model, "kodomo1", procedure.municipality, "kodomo")


# ------------------------------------------------------------------ scope


@pytest.mark.django_db
def test_scope_is_the_department_and_matches_visible_applications(
    django_user_model, procedure, other_procedure
):
    water = make_procedure(procedure.municipality, slug="water", department_code="suido")
    mine = make_app(procedure)
    theirs = make_app(water)
    make_app(other_procedure)
    Application.objects.create(  # a draft is never in an inbox
        municipality=procedure.municipality,
        procedure=procedure,
        form_version=procedure.current_version,
        channel=Channel.PORTAL,
    )
    handler = make_staff(django_user_model, "h", procedure.municipality, "kodomo")
    admin = make_staff(django_user_model, "a", procedure.municipality, role="admin")
    department = kodomo(procedure)
    suido = Department.objects.get(code="suido")

    assert list(inbox_queryset(handler, department, InboxFilter())) == [mine]
    assert list(inbox_queryset(handler, suido, InboxFilter())) == []  # not their department
    assert set(inbox_queryset(admin, None, InboxFilter())) == {mine, theirs}
    assert list(inbox_queryset(admin, suido, InboxFilter())) == [theirs]
    for user in (handler, admin):
        for dep in (department, suido, None):
            expected = set(visible_applications(user, department=dep))
            if dep is not None and dep.pk not in {d.pk for d in [department, suido]}:
                continue
            got = set(inbox_queryset(user, dep, InboxFilter()))
            if user is handler and dep == suido:
                assert got == set()
            else:
                assert got == expected


@pytest.mark.django_db
def test_other_municipalitys_department_gives_nothing(
    django_user_model, procedure, other_procedure
):
    make_app(other_procedure)
    admin = make_staff(django_user_model, "a", procedure.municipality, role="admin")
    other_department = other_procedure.departments.get()
    assert list(inbox_queryset(admin, other_department, InboxFilter())) == []


# ------------------------------------------------------------------ filters


def _filter(**params):
    query = QueryDict(mutable=True)
    for key, value in params.items():
        if isinstance(value, list):
            query.setlist(key, value)
        else:
            query[key] = value
    return InboxFilter.from_query(query)


@pytest.mark.django_db
def test_filters(handler, django_user_model, procedure):
    department = kodomo(procedure)
    second = make_procedure(procedure.municipality, slug="second", department_code="kodomo")
    now = timezone.now()
    a = make_app(procedure, status=Status.RECEIVED, submitted_at=now - dt.timedelta(days=10))
    # Submitted "now" explicitly: the default (n minutes ago, n counting across the module)
    # can fall on yesterday's local date just after midnight.
    b = make_app(
        procedure,
        status=Status.IN_PROGRESS,
        channel=Channel.COUNTER,
        assigned_to=handler,
        submitted_at=now,
    )
    c = make_app(
        second,
        status=Status.COMPLETED,
        due_at=now - dt.timedelta(days=1),
        channel=Channel.PAPER,
        submitted_at=now,
    )
    d = make_app(
        procedure, status=Status.RETURNED, due_at=now - dt.timedelta(days=1), submitted_at=now
    )
    e = make_app(
        procedure, status=Status.RECEIVED, due_at=now + dt.timedelta(days=3), submitted_at=now
    )

    def found(**params):
        return set(inbox_queryset(handler, department, _filter(**params)))

    assert found() == {a, b, c, d, e}
    assert found(status=["received"]) == {a, e}
    assert found(status=["received", "returned"]) == {a, d, e}
    assert found(status=["nonsense"]) == {a, b, c, d, e}
    assert found(procedure=str(second.pk)) == {c}
    assert found(channel="counter") == {b}
    assert found(channel="paper") == {c}
    assert found(assigned="me") == {b}
    assert found(assigned="unassigned") == {a, c, d, e}
    assert found(overdue="1") == {d}  # c is overdue but finished
    local_today = timezone.localdate()
    old_day = timezone.localtime(a.submitted_at).date()
    assert found(date_from=str(old_day), date_to=str(old_day)) == {a}
    assert found(date_from=str(local_today)) == {b, c, d, e}
    assert found(date_to=str(old_day)) == {a}


def test_from_query_ignores_what_it_cannot_use():
    f = _filter(
        status=["received", "draft", "x"],
        channel="fax",
        assigned="bob",
        sort="random",
        procedure="abc",
        date_from="2026-13-01",
        overdue="1",
        q="  山田 ",
    )
    assert f.statuses == ("received",)
    assert f.channel == ""
    assert f.assigned == ""
    assert f.sort == "received_desc"
    assert f.procedure is None
    assert f.date_from is None
    assert "date_from" in f.errors
    assert f.overdue is True
    assert f.q == "山田"
    # the saved-filter URL round-trips
    again = InboxFilter.from_query(QueryDict(f.querystring()))
    assert again.as_params() == f.as_params()


def test_date_order_error():
    f = _filter(date_from="2026-04-30", date_to="2026-04-01")
    assert f.errors["date_to"] == "受付日（まで）は受付日（から）以降の日付にしてください。"


# ------------------------------------------------------------------ search


@pytest.mark.django_db
def test_search_by_receipt_number_name_and_kana(handler, procedure):
    department = kodomo(procedure)
    yamada = make_app(procedure, name="山田　花子", kana="ヤマダ　ハナコ")
    sato = make_app(procedure, name="佐藤　一郎", kana="サトウ　イチロウ")

    def found(q):
        return set(inbox_queryset(handler, department, _filter(q=q)))

    assert found(yamada.receipt_number) == {yamada}
    assert found("２０２６－" + yamada.receipt_number[5:]) == {yamada}  # full-width digits
    assert found("2026-") == {yamada, sato}  # prefix
    assert found("山田") == {yamada}
    assert found("山田 花子") == {yamada}
    assert found("佐藤一郎") == {sato}
    assert found("やまだ") == {yamada}
    assert found("ヤマダ") == {yamada}
    assert found("ﾔﾏﾀﾞ") == {yamada}  # half-width katakana
    assert found("さとう いちろう") == {sato}
    assert found("鈴木") == set()


@pytest.mark.django_db
def test_search_by_any_part_of_the_name_and_the_last_digits(handler, procedure):
    department = kodomo(procedure)
    misaki = make_app(procedure, name="髙橋　美咲", kana="タカハシ　ミサキ")
    hanako = make_app(procedure, name="山田　花子", kana="ヤマダ　ハナコ")

    def found(q):
        return set(inbox_queryset(handler, department, _filter(q=q)))

    assert found("美咲") == {misaki}  # the given name alone
    assert found("橋美") == {misaki}  # across the space
    assert found("みさき") == {misaki}
    assert found("ミサキ") == {misaki}
    assert found("ﾐｻｷ") == {misaki}  # half-width
    assert found("はなこ") == {hanako}
    assert found("ハナ") == {hanako}
    number = misaki.receipt_number  # 2026-00xxxx
    assert found(number[-3:]) == {misaki}  # last digits
    assert found(number[-6:]) == {misaki}
    assert found("2026") == {misaki, hanako}  # four digits: the year as well
    assert misaki in found(number[:9]) and number[:9] == "2026-0000"  # prefix
    assert found("9999999") == set()


@pytest.fixture
def short_names(procedure, other_procedure):
    """Applications whose names answer 1- and 2-character searches, and two that must never
    be found from this department: one of another department, one of another municipality."""
    other_department = make_procedure(procedure.municipality, slug="z", department_code="zeimu")
    apps = {
        "yamada": make_app(procedure, name="山田　花子", kana="ヤマダ　ハナコ"),
        "tanaka": make_app(procedure, name="田中　美咲", kana="タナカ　ミサキ"),
        "sato": make_app(procedure, name="佐藤　さき", kana="サトウ　サキ"),
        "suzuki": make_app(procedure, name="鈴木　一郎", kana="スズキ　イチロウ"),
        "smith": make_app(procedure, name="Smith Anna", kana="スミス　アンナ"),
    }
    make_app(other_department, name="田村　美咲", kana="タムラ　ミサキ")
    make_app(other_procedure, name="田村　美咲", kana="タムラ　ミサキ")
    return apps


def _uses_grams(qs) -> bool:
    return "search_grams" in str(qs.query)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("田", {"yamada", "tanaka"}),  # kanji, 1 character: family names 山田 and 田中
        ("美咲", {"tanaka"}),  # kanji, 2 characters
        ("咲", {"tanaka"}),
        ("中美", {"tanaka"}),  # across the space between family and given name
        ("き", {"tanaka", "sato", "suzuki"}),  # hiragana: みさき, さき, すずき
        ("さき", {"tanaka", "sato"}),  # みさき and さき
        ("サキ", {"tanaka", "sato"}),  # katakana
        ("ｻｷ", {"tanaka", "sato"}),  # half-width katakana
        ("ﾀﾞ", {"yamada"}),  # half-width with its sound mark: one character, ダ → だ
        ("ダ", {"yamada"}),
        ("な", {"tanaka", "yamada", "smith"}),  # たなか, はなこ, あんな
        ("hA", {"smith"}),  # letters, case-folded: smitHAnna
        ("山田花子", {"yamada"}),  # longer: its bigrams on PostgreSQL, then the LIKE
        ("やまだ", {"yamada"}),
        ("みさき", {"tanaka"}),  # みさき: sato's さき alone is not enough
        ("ﾐｻｷ", {"tanaka"}),
        ("田中美咲", {"tanaka"}),  # across the space
        ("たなかみ", {"tanaka"}),
        ("なかみさ", {"tanaka"}),
        ("みさきた", set()),  # every bigram is some name's, not the text
        ("鷲", set()),
    ],
)
def test_one_and_two_character_searches_find_exactly_the_right_applications(
    handler, procedure, short_names, q, expected
):
    department = kodomo(procedure)
    f = _filter(q=q)
    qs = inbox_queryset(handler, department, f)
    assert set(qs) == {short_names[key] for key in expected}
    page = inbox_page(handler, department, f)
    assert {r.pk for r in page.rows} == {short_names[key].pk for key in expected}
    assert page.total == len(expected)  # the status counts agree with the rows
    assert status_counts(handler, department, f)[Status.RECEIVED] == len(expected)
    # PostgreSQL reads the grams' index (no statistics here: every gram is rare), with the
    # department's procedures; SQLite has the LIKE alone.
    assert _uses_grams(qs) == (connection.vendor == "postgresql")
    if connection.vendor == "postgresql":
        assert '"procedure_id" + 0) = ANY' in str(qs.query)


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the grams are PostgreSQL's")
def test_a_common_gram_is_left_to_the_date_index_a_rare_one_to_the_grams(
    handler, procedure, monkeypatch
):
    department = kodomo(procedure)
    tanaka = [make_app(procedure, name="田中　花子", kana="タナカ　ハナコ") for _ in range(150)]
    washio = make_app(procedure, name="鷲尾　蓮", kana="ワシオ　レン")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE applications_application")
    monkeypatch.setattr(inbox, "_common", (float("-inf"), frozenset()))  # read them again
    assert "田" in inbox.common_grams() and "鷲" not in inbox.common_grams()
    common = inbox_queryset(handler, department, _filter(q="田"))
    rare = inbox_queryset(handler, department, _filter(q="鷲"))
    assert not _uses_grams(common) and _uses_grams(rare)
    assert set(common) == set(tanaka) and set(rare) == {washio}


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the grams are PostgreSQL's")
def test_the_grams_condition_alone_holds_the_departments_procedures(
    handler, procedure, short_names
):
    """A search by its grams leaves the scope's plain `procedure_id IN (...)` out of the rows'
    and the counts' statements: the grams' condition holds the department's procedures (the
    (procedure, grams) index's first column), and with both the planner also read the
    procedure index's every entry of the department. The same rows, with a procedure of the
    filter too."""
    from django.test.utils import CaptureQueriesContext

    department = kodomo(procedure)
    second = make_procedure(procedure.municipality, slug="k2")  # the department's too
    tamura = make_app(second, name="田村　蓮", kana="タムラ　レン")
    found = {short_names["yamada"], short_names["tanaka"], tamura}
    f = _filter(q="田")
    qs = inbox_queryset(handler, department, f)
    assert _uses_grams(qs) and '"procedure_id" IN' not in str(qs.query)
    assert set(qs) == found
    # A page smaller than the matches: the counts have a statement of their own.
    with CaptureQueriesContext(connection) as captured:
        page = inbox_page(handler, department, f, page_size=2)
    searches = [q["sql"] for q in captured.captured_queries if "search_grams" in q["sql"]]
    assert len(searches) == 2  # the rows and the counts
    assert not any('"procedure_id" IN' in sql or '"procedure_id" = ' in sql for sql in searches)
    assert {r.pk for r in page.rows} < {a.pk for a in found} and len(page.rows) == 2
    assert page.total == 3 and page.counts_by_status[Status.RECEIVED] == 3
    assert {r.pk for r in inbox_page(handler, department, f).rows} == {a.pk for a in found}

    one = _filter(q="田", procedure=second.pk)
    assert set(inbox_queryset(handler, department, one)) == {tamura}
    assert inbox_page(handler, department, one).total == 1
    # Another department's procedure (its 田村 would match): nothing, as without a search.
    zeimu = Procedure.objects.get(municipality=procedure.municipality, slug="z")
    other = _filter(q="田", procedure=zeimu.pk)
    assert list(inbox_queryset(handler, department, other)) == []
    assert inbox_page(handler, department, other).total == 0
    # Without the grams (a common gram), the scope's condition stays.
    common = inbox._apply_filters(
        inbox.inbox_scope(handler, department),
        handler,
        f,
        grams_below=0.0,
        procedure_ids=inbox.department_procedures(department),
    )
    assert not _uses_grams(common) and '"procedure_id" IN' in str(common.query)
    assert set(common) == found


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the grams are PostgreSQL's")
@pytest.mark.parametrize(
    ("share", "rows_by_grams", "counts_by_grams"),
    [(0.005, True, True), (0.015, True, True), (0.025, False, True), (0.04, False, False)],
)
def test_the_rows_and_the_counts_take_the_grams_below_their_own_shares(
    handler, procedure, short_names, monkeypatch, share, rows_by_grams, counts_by_grams
):
    """The rows of a page by the grams below 2 % of the applications (1M bench: sooner than
    the date index's walk to the 51st match up to there), the counts below 3 %."""
    import time

    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(inbox, "_common", (time.monotonic(), {"田": share}))
    department = kodomo(procedure)
    f = _filter(q="田")
    assert _uses_grams(inbox_queryset(handler, department, f)) == rows_by_grams
    with CaptureQueriesContext(connection) as captured:
        counts = status_counts(handler, department, f)
    assert ("search_grams" in captured.captured_queries[-1]["sql"]) == counts_by_grams
    assert counts[Status.RECEIVED] == 2


NAME_PARTS = ["山田", "田中", "花子", "美咲", "鷲尾", "林", "髙橋", "さき", "ミサ", "蓮", "Ann"]
KANA_PARTS = [
    "ヤマダ",
    "タナカ",
    "ハナコ",
    "ミサキ",
    "ワシオ",
    "ハヤシ",
    "タカハシ",
    "サキ",
    "レン",
    "アン",
]


@pytest.fixture
def many_names(procedure, other_procedure):
    """Forty applications of the department with names built from common parts, with
    different statuses, and their twins in another municipality (never found)."""
    import random

    chooser = random.Random(12)
    statuses = [Status.RECEIVED, Status.IN_PROGRESS, Status.COMPLETED, Status.RETURNED]
    apps = []
    for i in range(40):
        name = "　".join(chooser.sample(NAME_PARTS, 2))
        kana = "　".join(chooser.sample(KANA_PARTS, 2))
        apps.append(make_app(procedure, name=name, kana=kana, status=statuses[i % 4]))
        make_app(other_procedure, name=name, kana=kana)
    return apps


def _expected(apps, q):
    """The search's definition, in Python: the query (NFKC, without spaces) in the name
    (case-folded) or its reading in the reading."""
    import re
    import unicodedata

    compact = re.sub(r"\s+", "", unicodedata.normalize("NFKC", q)).casefold()
    kana = search_key(q)
    return {a for a in apps if compact in a.search_name or (kana and kana in a.search_kana)}


QUERIES = st.text(
    alphabet=st.sampled_from(
        "山田中花子美咲鷲尾林髙橋蓮やまだなかはこみさきわしおりんミサキヤマﾔﾏﾀﾞｻｷan "
    ),
    min_size=1,
    max_size=5,
)


@pytest.mark.django_db
@pytest.mark.parametrize("grams", ["always", "never"])
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(q=QUERIES)
def test_rows_and_counts_of_any_name_search_are_exact(
    handler, procedure, many_names, monkeypatch, grams, q
):
    """Whether the grams' condition is added (PostgreSQL: the rows' and the counts' own
    thresholds) or not (SQLite, a common gram), the rows and the counts per status are the
    LIKE's."""
    monkeypatch.setattr(inbox, "COMMON_GRAM_SHARE", 2.0 if grams == "always" else 0.0)
    monkeypatch.setattr(inbox, "COUNT_GRAM_SHARE", 2.0 if grams == "always" else 0.0)
    department = kodomo(procedure)
    expected = _expected(many_names, q)
    f = _filter(q=q)
    qs = inbox_queryset(handler, department, f)
    if not q.strip():
        return
    assert set(qs) == expected
    assert _uses_grams(qs) == (connection.vendor == "postgresql" and grams == "always")
    page = inbox_page(handler, department, f, page_size=200)
    assert {r.pk for r in page.rows} == {a.pk for a in expected}
    assert page.total == len(expected)
    for status, count in status_counts(handler, department, f).items():
        assert count == sum(1 for a in expected if a.status == status), status
    one = _filter(q=q, procedure=procedure.pk, status=["received"])
    assert set(inbox_queryset(handler, department, one)) == {
        a for a in expected if a.status == Status.RECEIVED
    }


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(prefix=st.from_regex(r"20(25|26)(-[0-9]{0,6})?", fullmatch=True))
def test_a_receipt_number_prefix_finds_exactly_the_numbers_beginning_with_it(
    handler, procedure, many_names, prefix
):
    department = kodomo(procedure)
    qs = inbox_queryset(handler, department, _filter(q=prefix))
    found = {a.receipt_number for a in qs}
    numbers = [a.receipt_number for a in many_names]
    digits = prefix.replace("-", "")
    if prefix.isdigit():  # four digits: the year or the last digits
        expected = {n for n in numbers if n.startswith(prefix) or n.endswith(digits)}
    else:
        expected = {n for n in numbers if n.startswith(prefix)}
    assert found == expected
    counts = status_counts(handler, department, _filter(q=prefix))
    assert sum(counts.values()) == len(expected)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's operators")
def test_a_receipt_number_prefix_is_a_byte_range_on_postgresql():
    condition = inbox.search_q("2026-0001")
    (expression,) = condition.children
    assert isinstance(expression, inbox.ReceiptPrefix)
    with pytest.raises(ValueError):
        inbox.ReceiptPrefix("2026-00%")


def _grams_in_database(application):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT search_grams FROM applications_application WHERE id = %s", [application.pk]
        )
        return set(cursor.fetchone()[0])


@pytest.mark.django_db
def test_an_edited_name_is_found_by_its_new_grams_and_not_its_old(handler, procedure):
    from madoguchi.applications.search_grams import grams

    department = kodomo(procedure)
    application = make_app(procedure, name="山田　花子", kana="ヤマダ　ハナコ")

    def found(q):
        return application in set(inbox_queryset(handler, department, _filter(q=q)))

    assert found("山") and found("はな")
    # Saved through the model (as the lifecycle's set_applicant + save do).
    application.search_name = search_name("佐藤　美咲")
    application.search_kana = search_key("サトウ　ミサキ")
    application.save()
    assert found("佐") and found("美咲") and found("さと") and found("ミサ")
    assert not found("山") and not found("花子") and not found("はな") and not found("ヤマ")
    # Or by an UPDATE that bypasses the model.
    Application.objects.filter(pk=application.pk).update(search_name="鈴木一郎", search_kana="")
    assert found("鈴") and found("一郎")
    assert not found("佐") and not found("美咲") and not found("さと")
    if connection.vendor == "postgresql":
        assert _grams_in_database(application) == grams("鈴木一郎", "")
        # Grams written directly are put right again.
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE applications_application SET search_grams = '{山}' WHERE id = %s",
                [application.pk],
            )
        assert _grams_in_database(application) == grams("鈴木一郎", "")
        assert not found("山")


@pytest.mark.django_db
def test_a_resubmitted_name_is_searched_by_its_new_grams(handler, procedure, short_names):
    """The lifecycle's own write path: set_applicant on the corrected answers."""
    from madoguchi.applications.lifecycle import set_applicant

    department = kodomo(procedure)
    application = short_names["suzuki"]
    application.form_version = procedure.current_version
    set_applicant(
        application,
        {
            "applicant_name": {
                "family": "林",
                "given": "葵",
                "family_kana": "ハヤシ",
                "given_kana": "アオイ",
            }
        },
    )
    application.save()

    def found(q):
        return set(inbox_queryset(handler, department, _filter(q=q)))

    assert found("葵") == {application}
    assert found("林葵") == {application}
    assert found("あお") == {application}
    assert application not in found("鈴")
    assert application not in found("き")


# ------------------------------------------------------------------ keyset pagination


def _walk(user, department, params, page_size):
    seen, cursor = [], ""
    for _ in range(100):
        f = _filter(**params, **({"cursor": cursor} if cursor else {}))
        page = inbox_page(user, department, f, page_size=page_size)
        seen += receipts(page.rows)
        if not page.next_cursor:
            return seen
        cursor = page.next_cursor
    raise AssertionError("pagination does not end")


@pytest.mark.django_db
@pytest.mark.parametrize("sort", ["received_desc", "received_asc", "updated", "due"])
def test_keyset_pages_cover_everything_once(handler, procedure, sort):
    department = kodomo(procedure)
    now = timezone.now()
    same_time = now - dt.timedelta(hours=1)
    for i in range(11):
        make_app(
            procedure,
            # ties on the sort key are broken by pk
            submitted_at=same_time if i % 3 == 0 else None,
            due_at=None if i % 4 == 0 else now + dt.timedelta(days=i % 3),
        )
    expected = receipts(inbox_queryset(handler, department, _filter(sort=sort)))
    assert len(expected) == 11
    assert _walk(handler, department, {"sort": sort}, 3) == expected
    if sort == "due":  # no due date last
        rows = list(inbox_queryset(handler, department, _filter(sort=sort)))
        assert all(r.due_at is None for r in rows[-3:])


@pytest.mark.django_db
def test_rows_inserted_between_page_loads_are_not_repeated_nor_skip_others(handler, procedure):
    department = kodomo(procedure)
    for _ in range(6):
        make_app(procedure)
    first = inbox_page(handler, department, _filter(), page_size=3)
    before = receipts(inbox_queryset(handler, department, _filter()))
    # new applications arrive (newest first: they would shift an OFFSET page)
    newcomers = [make_app(procedure, submitted_at=timezone.now()) for _ in range(2)]
    second = inbox_page(handler, department, _filter(cursor=first.next_cursor), page_size=3)
    assert receipts(first.rows) == before[:3]
    assert receipts(second.rows) == before[3:6]
    assert not set(receipts(second.rows)) & {n.receipt_number for n in newcomers}
    # going back shows the rows before the page, then the newcomers appear on page 1
    back = inbox_page(handler, department, _filter(cursor=second.prev_cursor), page_size=3)
    assert receipts(back.rows) == before[:3]
    assert back.prev_cursor  # the newcomers are before it now
    top = inbox_page(handler, department, _filter(cursor=back.prev_cursor), page_size=3)
    assert receipts(top.rows) == sorted((n.receipt_number for n in newcomers), reverse=True)
    assert top.prev_cursor == ""


@pytest.mark.django_db
def test_bad_cursor_gives_the_first_page(handler, procedure):
    department = kodomo(procedure)
    make_app(procedure)
    for cursor in ["garbage", "eyJ4IjoxfQ", "W10"]:
        page = inbox_page(handler, department, _filter(cursor=cursor))
        assert len(page.rows) == 1


@pytest.mark.django_db
def test_any_page_costs_the_same_few_queries(handler, procedure, django_assert_num_queries):
    department = kodomo(procedure)
    for _ in range(9):
        make_app(procedure)
    from madoguchi.tenants.permissions import memberships, staff_departments

    memberships(handler)
    staff_departments(handler)
    first = inbox_page(handler, department, _filter(), page_size=3)
    # the department's procedure ids + rows + counts (the departments the user may open are
    # kept on the user object for the request)
    with django_assert_num_queries(3):
        page = inbox_page(handler, department, _filter(cursor=first.next_cursor), page_size=3)
        for row in page.rows:
            assert row.procedure_id == procedure.pk
            assert row.assignee_name == ""
    # the view passes the procedure ids it already read for the filter's list: rows + counts
    ids = [procedure.pk]
    with django_assert_num_queries(2):
        inbox_page(handler, department, _filter(cursor=first.next_cursor), procedure_ids=ids)


@pytest.mark.django_db
def test_a_first_page_holding_every_match_counts_from_its_rows(
    handler, procedure, django_assert_num_queries
):
    """A 受付番号 (or any filter with fewer matches than a page): the rows are the counts,
    one statement instead of two."""
    department = kodomo(procedure)
    wanted = make_app(procedure, status=Status.IN_PROGRESS)
    make_app(procedure)
    ids = [procedure.pk]
    with django_assert_num_queries(1):
        page = inbox_page(handler, department, _filter(q=wanted.receipt_number), procedure_ids=ids)
    assert [row.pk for row in page.rows] == [wanted.pk]
    assert page.counts_by_status == {s: int(s == Status.IN_PROGRESS) for s in inbox.INBOX_STATUSES}
    assert page.total == 1 and not page.capped
    # A status filter hides the other statuses from the rows: their counts are read.
    with django_assert_num_queries(2):
        page = inbox_page(
            handler,
            department,
            _filter(q=wanted.receipt_number, status=["received"]),
            procedure_ids=ids,
        )
    assert page.rows == [] and page.counts_by_status[Status.IN_PROGRESS] == 1


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    q=st.one_of(st.just(""), QUERIES),
    statuses=st.lists(
        st.sampled_from(["received", "in_progress", "completed", "returned"]),
        max_size=2,
        unique=True,
    ),
    page_size=st.sampled_from([1, 7, 50]),
)
def test_the_counts_are_the_filters_whether_the_page_holds_every_match_or_not(
    handler, procedure, many_names, q, statuses, page_size
):
    department = kodomo(procedure)
    f = _filter(q=q, status=statuses) if q.strip() else _filter(status=statuses)
    page = inbox_page(handler, department, f, page_size=page_size)
    assert page.counts_by_status == status_counts(handler, department, f)
    expected = _expected(many_names, q) if q.strip() else set(many_names)
    assert page.counts_by_status == {
        s: sum(1 for a in expected if a.status == s) for s in inbox.INBOX_STATUSES
    }


# ------------------------------------------------------------------ counts


@pytest.mark.django_db
def test_counts_ignore_the_status_part_of_the_filter(handler, procedure):
    department = kodomo(procedure)
    make_app(procedure, status=Status.RECEIVED)
    make_app(procedure, status=Status.RECEIVED, channel=Channel.COUNTER)
    make_app(procedure, status=Status.IN_PROGRESS)
    make_app(procedure, status=Status.COMPLETED, channel=Channel.COUNTER)
    page = inbox_page(handler, department, _filter(status=["received"]))
    assert page.counts_by_status["received"] == 2
    assert page.counts_by_status["in_progress"] == 1
    assert page.counts_by_status["completed"] == 1
    assert page.counts_by_status["rejected"] == 0
    assert "draft" not in page.counts_by_status
    assert page.total == 2
    counts = status_counts(handler, department, _filter(channel="counter"))
    assert counts["received"] == 1 and counts["completed"] == 1 and counts["in_progress"] == 0


# ------------------------------------------------------------------ counts of a search


def _bulk_apps(procedure, count, *, name, kana, status):
    """`count` submitted applications in one INSERT (the triggers keep the status counts
    and the grams as for any insert)."""
    now = timezone.now()
    start = next(_numbers)
    for _ in range(count):
        next(_numbers)
    Application.objects.bulk_create(
        Application(
            municipality=procedure.municipality,
            procedure=procedure,
            form_version=procedure.current_version,
            channel=Channel.PORTAL,
            status=status,
            receipt_number=f"2026-{start + i:06d}",
            applicant_name=name,
            applicant_name_kana=kana,
            search_name=search_name(name),
            search_kana=search_key(kana),
            submitted_at=now - dt.timedelta(minutes=start + i),
            answers={},
        )
        for i in range(count)
    )


@pytest.mark.django_db
@pytest.mark.parametrize("grams", ["always", "never"])
def test_below_the_cap_a_searchs_counts_are_exact_counts(
    handler, procedure, many_names, monkeypatch, grams, django_assert_num_queries
):
    """Both ways of counting a search (PostgreSQL: the grams' candidates grouped by status,
    or every name by status up to the cap; SQLite: the latter) give the exact COUNT of each
    status while below the cap, in one statement."""
    monkeypatch.setattr(inbox, "COUNT_GRAM_SHARE", 2.0 if grams == "always" else 0.0)
    department = kodomo(procedure)
    ids = inbox.department_procedures(department)
    if connection.vendor == "postgresql":
        inbox.gram_shares()  # PostgreSQL's statistics, read once per 10 minutes
    for q in ["山", "やま", "子", "ミサキ", "ﾊﾅ", "美咲", "中"]:
        f = _filter(q=q)
        scope = inbox.inbox_scope(handler, department, procedure_ids=ids)
        with django_assert_num_queries(1) as captured:
            counts = inbox._counts(scope, handler, f, procedure_ids=ids)
        limited = "UNION ALL" in captured.captured_queries[0]["sql"]
        assert limited == (connection.vendor == "sqlite" or grams == "never"), q
        exact = {
            status: Application.objects.filter(pk__in=[a.pk for a in _expected(many_names, q)])
            .filter(status=status)
            .count()
            for status in inbox.INBOX_STATUSES
        }
        assert counts == exact, q
        page = inbox_page(handler, department, f)
        assert page.capped == frozenset() and page.counts_by_status == exact
        assert page.total == sum(exact.values()) and not page.total_capped


@pytest.mark.django_db
@pytest.mark.parametrize("grams", ["always", "never"])
def test_a_status_over_the_cap_shows_1000_or_more(client, handler, procedure, monkeypatch, grams):
    monkeypatch.setattr(inbox, "COUNT_GRAM_SHARE", 2.0 if grams == "always" else 0.0)
    department = kodomo(procedure)
    _bulk_apps(procedure, 1001, name="鷲尾　美咲", kana="ワシオ　ミサキ", status=Status.COMPLETED)
    _bulk_apps(procedure, 3, name="鷲尾　蓮", kana="ワシオ　レン", status=Status.RECEIVED)
    _bulk_apps(procedure, 2, name="山田　花子", kana="ヤマダ　ハナコ", status=Status.RECEIVED)

    f = _filter(q="わしお")
    counts = status_counts(handler, department, f)
    assert counts[Status.COMPLETED] == inbox.SEARCH_COUNT_CAP + 1  # "more than the cap"
    assert counts[Status.RECEIVED] == 3 and counts[Status.IN_PROGRESS] == 0
    page = inbox_page(handler, department, f)
    assert page.capped == {Status.COMPLETED}
    assert page.counts_by_status[Status.COMPLETED] == 1000
    assert page.counts_by_status[Status.RECEIVED] == 3
    assert page.total_capped and len(page.rows) == 50 and page.next_cursor
    received = inbox_page(handler, department, _filter(q="わしお", status=["received"]))
    assert not received.total_capped and received.total == 3 and len(received.rows) == 3

    login_with_2fa(client, handler)
    url = reverse("staff:inbox", args=[department.pk])
    body = client.get(url, {"q": "わしお"}).content.decode()
    tabs = body[body.index('id="status-tabs"') : body.index('id="result-count"')]
    assert re.search(
        r'id="count-completed" data-count="1000\+"[^>]*>完了 '
        r'<span class="staff-tabs__count">1,000件以上</span>',
        tabs,
    )
    assert re.search(r'id="count-received" data-count="3"[^>]*>受付 <span[^>]*>3</span>', tabs)
    # すべて: at least 1,000 too
    assert re.search(r'すべて <span class="staff-tabs__count">1,000件以上</span>', tabs)
    assert re.search(r'<p id="result-count" aria-live="polite">1,000件以上（絞り込み中）</p>', body)
    assert 'id="page-next"' in body  # pagination as before
    # Only the search's counts stop at the cap: without one, every count is exact.
    body = client.get(url).content.decode()
    assert "件以上" not in body
    assert re.search(r'id="count-completed" data-count="1001"', body)
    assert re.search(r'<p id="result-count" aria-live="polite">1006件</p>', body)
    body = client.get(url, {"status": "completed", "channel": "portal"}).content.decode()
    assert "件以上" not in body
    assert re.search(r'<p id="result-count" aria-live="polite">1001件（絞り込み中）</p>', body)
    with translation.override("en"):
        assert translation.gettext("%(count)s件以上") % {"count": "1,000"} == "1,000+"


@pytest.mark.django_db
def test_a_rows_cells_name_its_procedure_and_assignee(client, django_user_model, procedure):
    """The rows are columns alone (InboxRow): the procedure's name comes from the filter's
    list, or is read for a procedure of no department (a municipality-wide 管理者's combined
    inbox); the assignee is 「姓 名」, else the user name."""
    admin = make_staff(django_user_model, "admin1", procedure.municipality, role="admin")
    named = make_staff(django_user_model, "sato", procedure.municipality, "kodomo")
    named.last_name, named.first_name = "佐藤", "花子"
    named.save()
    bare = make_staff(django_user_model, "tanaka-t", procedure.municipality, "kodomo")
    orphan = make_procedure(procedure.municipality, slug="orphan", department_code="tmp")
    Procedure.objects.filter(pk=orphan.pk).update(name="課のない手続")
    orphan.departments.clear()
    first = make_app(procedure, assigned_to=named)
    second = make_app(procedure, assigned_to=bare)
    third = make_app(orphan)
    page = inbox_page(admin, None, _filter())
    rows = {row.pk: row for row in page.rows}
    assert rows[first.pk].assignee_name == "佐藤 花子"
    assert rows[second.pk].assignee_name == "tanaka-t"
    assert rows[third.pk].assignee_name == "" and rows[third.pk].procedure_id == orphan.pk
    assert rows[first.pk].receipt_number == first.receipt_number
    assert rows[first.pk].submitted_at == first.submitted_at

    login_with_2fa(client, admin)
    body = client.get(reverse("staff:inbox_all")).content.decode()
    row = re.search(rf'<tr id="row-{first.pk}".*?</tr>', body).group(0)
    assert "テスト手続" in row and "佐藤 花子" in row and first.receipt_number in row
    assert "tanaka-t" in re.search(rf'<tr id="row-{second.pk}".*?</tr>', body).group(0)
    assert "課のない手続" in re.search(rf'<tr id="row-{third.pk}".*?</tr>', body).group(0)
    # the bulk form's staff: get_full_name, else the user name; not the user themselves
    options = re.search(r'id="bulk-assignee">(.*?)</select>', body, re.S).group(1)
    assert f'<option value="{named.pk}">花子 佐藤</option>' in options
    assert f'<option value="{bare.pk}">tanaka-t</option>' in options
    assert f'value="{admin.pk}"' not in options


@pytest.mark.django_db
def test_the_combined_inbox_counts_are_the_scopes_counts(
    django_user_model, procedure, other_procedure
):
    """Without a department the counts come from the maintained per-procedure counts of the
    procedures in the user's scope; they equal counting the scope's applications."""
    municipality = procedure.municipality
    water = make_procedure(municipality, slug="water", department_code="suido")
    tax = make_procedure(municipality, slug="tax", department_code="zeimu")
    orphan = make_procedure(municipality, slug="orphan", department_code="tmp")
    orphan.departments.clear()
    statuses = [Status.RECEIVED, Status.IN_PROGRESS, Status.COMPLETED, Status.RETURNED]
    for i, target in enumerate([procedure, water, tax, orphan, other_procedure] * 3):
        make_app(target, status=statuses[i % len(statuses)])
    Application.objects.create(  # a draft is counted nowhere
        municipality=municipality,
        procedure=procedure,
        form_version=procedure.current_version,
        status=Status.DRAFT,
    )
    admin = make_staff(django_user_model, "all-admin", municipality, role="admin")
    two = make_staff(django_user_model, "two-departments", municipality, "kodomo")
    StaffMembership.objects.create(
        user=two,
        municipality=municipality,
        department=Department.objects.get(municipality=municipality, code="suido"),
        role="viewer",
    )
    for user in (admin, two):
        scope = inbox.inbox_scope(user)
        for query in ({}, {"procedure": str(water.pk)}, {"status": ["received"]}):
            expected = dict.fromkeys(inbox.INBOX_STATUSES, 0)
            counted = scope.filter(procedure=water) if "procedure" in query else scope
            for status in counted.values_list("status", flat=True):
                expected[status] += 1
            assert inbox_page(user, None, _filter(**query)).counts_by_status == expected
    assert sum(inbox_page(admin, None, _filter()).counts_by_status.values()) == 12
    assert sum(inbox_page(two, None, _filter()).counts_by_status.values()) == 6
    with CaptureQueriesContext(connection) as captured:
        inbox_page(admin, None, _filter())
    counted = [q["sql"] for q in captured if "COUNT(" in q["sql"].upper()]
    assert not any('"applications_application"' in sql for sql in counted), counted


@pytest.mark.django_db
def test_a_form_editor_sees_no_application_in_the_combined_inbox(
    client, django_user_model, procedure
):
    """A 様式作成者 builds forms and sees no application: not through 全体 either, not even
    with another membership that sees some (only that membership's applications show)."""
    municipality = procedure.municipality
    water = make_procedure(municipality, slug="water", department_code="suido")
    kodomo_case, water_case = make_app(procedure), make_app(water)
    editor = make_staff(django_user_model, "editor", municipality, role="form_editor")
    both = make_staff(django_user_model, "editor-and-handler", municipality, "suido")
    StaffMembership.objects.create(user=both, municipality=municipality, role="form_editor")
    assert receipts(inbox_page(editor, None, _filter()).rows) == []
    assert inbox_page(editor, None, _filter()).counts_by_status == dict.fromkeys(
        inbox.INBOX_STATUSES, 0
    )
    assert receipts(inbox_page(both, None, _filter()).rows) == [water_case.receipt_number]
    login_with_2fa(client, editor)
    body = client.get(reverse("staff:inbox_all")).content.decode()
    assert kodomo_case.receipt_number not in body and water_case.receipt_number not in body
    login_with_2fa(client, both)
    body = client.get(reverse("staff:inbox_all")).content.decode()
    assert kodomo_case.receipt_number not in body and water_case.receipt_number in body


# ------------------------------------------------------------------ rows compiled once


@pytest.fixture
def mixed_inbox(handler, procedure, other_procedure, django_user_model):
    """Applications of the department in every status, channel and assignment, with due
    dates and without, and their twins in another department (never shown)."""
    other = make_staff(django_user_model, "kodomo2", procedure.municipality, "kodomo")
    statuses = [Status.RECEIVED, Status.IN_PROGRESS, Status.COMPLETED, Status.RETURNED]
    channels = [Channel.PORTAL, Channel.MYNAPORTAL, Channel.COUNTER]
    apps = []
    for i in range(24):
        kwargs = {
            "status": statuses[i % 4],
            "channel": channels[i % 3],
            "assigned_to": [None, handler, other][i % 3 if i % 5 else 0],
            "due_at": timezone.now() + dt.timedelta(days=i % 7 - 3) if i % 2 else None,
        }
        apps.append(make_app(procedure, **kwargs))
        make_app(other_procedure, **kwargs)
    return apps


def _rows_both_ways(handler, department, f, page_size, ids):
    """The page's rows and the rows statement's SQL, through the compiled rows and through
    the ORM path."""
    from unittest import mock

    def page():
        with CaptureQueriesContext(connection) as captured:
            rows = inbox_page(handler, department, f, page_size=page_size, procedure_ids=ids).rows
        return rows, [q["sql"] for q in captured.captured_queries][0]

    assert inbox._preparable(department, f, None, ids)
    prepared = page()
    with mock.patch.object(inbox, "_preparable", return_value=False):
        orm = page()
    return prepared, orm


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    statuses=st.lists(
        st.sampled_from(["received", "in_progress", "completed", "returned"]),
        max_size=3,
        unique=True,
    ),
    channel=st.sampled_from(["", "portal", "mynaportal", "counter"]),
    assigned=st.sampled_from(["", "me", "unassigned"]),
    sort=st.sampled_from(list(inbox.SORTS)),
    receipt=st.sampled_from(["", "hit", "miss", "spaced"]),
    page_size=st.sampled_from([1, 5, 50]),
)
def test_the_compiled_rows_are_the_orm_rows_with_the_same_sql(
    handler, procedure, mixed_inbox, statuses, channel, assigned, sort, receipt, page_size
):
    department = kodomo(procedure)
    q = {
        "": "",
        "hit": mixed_inbox[7].receipt_number,
        "miss": "2099-000001",
        "spaced": " ２０２６ - " + mixed_inbox[3].receipt_number[5:],  # full-width, spaces
    }[receipt]
    f = _filter(status=statuses, channel=channel, assigned=assigned, sort=sort, q=q)
    (rows, sql), (orm_rows, orm_sql) = _rows_both_ways(
        handler, department, f, page_size, [procedure.pk]
    )
    assert rows == orm_rows
    assert sql == orm_sql
    if receipt in ("hit", "spaced") and not statuses and not channel and not assigned:
        wanted = mixed_inbox[7 if receipt == "hit" else 3]
        assert [row.pk for row in rows] == [wanted.pk]


@pytest.mark.django_db
def test_dates_cursors_procedures_and_other_searches_take_the_orm_path(handler, procedure):
    department = kodomo(procedure)
    ids = [procedure.pk]
    for params in [
        {"date_from": "2026-01-01"},
        {"date_to": "2026-01-01"},
        {"overdue": "1"},
        {"procedure": str(procedure.pk)},
        {"q": "山田"},
        {"q": "2026-0001"},
        {"q": "0001"},
    ]:
        assert not inbox._preparable(department, _filter(**params), None, ids), params
    assert not inbox._preparable(None, _filter(), None, ids)  # 全体
    assert not inbox._preparable(department, _filter(), None, [])  # no procedure
    assert not inbox._preparable(department, _filter(), ("n", "x", 1), ids)  # a cursor


@pytest.mark.django_db
def test_the_combined_inbox_builds_its_scope_once(handler, procedure, django_assert_num_queries):
    """全体 reads the procedures of each department membership to build its scope: once per
    page, for the rows and the counts together."""
    for _ in range(4):
        make_app(procedure)
    from madoguchi.tenants.permissions import memberships, seeing_memberships

    memberships(handler)
    seeing_memberships(handler)
    # the department's procedures (the scope) + rows + the counts (their procedures, then the
    # status-count table)
    with django_assert_num_queries(4):
        page = inbox_page(handler, None, _filter(), page_size=2)
    assert len(page.rows) == 2 and page.total == 4
