"""Inbox benchmark on the generated cases (PostgreSQL only). Prints figures; asserts nothing.

    .venv/bin/python bench/inbox_bench.py [--size 10k,100k,1M]   # or: python bench/run.py inbox

Data and databases: bench/dataset.py (one dedicated database per size, generated once;
sizes from --size or BENCH_SIZES, default 10k, 100k and 1M, each run in its own process and
the figures printed side by side per size). BENCH_RUNS (default 30 timed runs per query,
after 3 warm-up runs).

Timed (as the screen runs them, through `applications.inbox`), for a 担当者 of the busiest
department: the first page (rows + status counts), a filtered page (status + procedure + a
3-month date range), name searches (kana, kanji, and names of one or two characters in
kanji, hiragana, katakana and half-width kana: SHORT_NAMES; 「山田」 and 「はやし」 are in
1-3 % of the names, where the rows or the counts take the grams' index), and a deep keyset
page (~40 % of the department's rows in, at most 50,000); then the same screens, the review
screen and the start of an export through the full request (Django test client) beside the
same SQL statements alone. With a search, each status is counted up to 1,000 matches (the
screen shows 「1,000件以上」 beyond: applications.inbox.SEARCH_COUNT_CAP), so its "SQL alone"
is that capped count.
Aims: median < 50 ms, p95 < 150 ms.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dataset  # noqa: E402
import report  # noqa: E402

TOTAL = dataset.sizes()[0]  # the size of this process (bench/dataset.py)
RUNS = int(os.environ.get("BENCH_RUNS", "30"))
LG_CODE = dataset.MUNICIPALITIES[0][0]
PROCEDURES = dataset.PROCEDURES
DEPARTMENTS = dataset.DEPARTMENTS
FORM = dataset.FORM
# Names of one or two characters (no trigram: the grams' index answers them on PostgreSQL).
SHORT_NAMES = {
    "田": "1 kanji, in many family names",
    "林": "1 kanji",
    "美咲": "2 kanji, a given name",
    "山田": "2 kanji, a family name in ~2 %",
    "さき": "2 hiragana",
    "ミサ": "2 katakana",
    "ｻｷ": "2 half-width katakana",
}


def setup_django(size: int | None = None) -> None:
    """Django on the benchmark database of `size` (default: the first of BENCH_SIZES; also
    used by the export, API and マイナポータル benches)."""
    dataset.setup_django(size or TOTAL)


# --- data --------------------------------------------------------------------------------


def generate(municipality, procedures, users) -> None:
    """TOTAL generated cases on `procedures` of one municipality (bench/dataset.py; the load
    test's database is filled this way); skipped when they are already there."""
    handler = users.get("bench-handler") or next(iter(users.values()))
    place = dataset.Place(municipality, 1.0, [], procedures, {"admin": handler, "handler": handler})
    dataset.generate(TOTAL, [place])


def prepare(size: int | None = None):
    """Django set up on the benchmark database, with the data in place: the first
    municipality, its departments and procedures, and its staff by username."""
    size = size or TOTAL
    setup_django(size)
    world = dataset.ensure_catalog()
    dataset.generate(size, world)
    first = world[0]
    users = {user.username: user for user in first.users.values()}
    return first.municipality, first.departments, first.procedures, users


# --- timing ------------------------------------------------------------------------------


def timed(fn, runs: int = RUNS) -> tuple[float, float]:
    """Median and p95 of `fn` in ms."""
    for _ in range(3):
        fn()
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return _median_p95(samples)


def _median_p95(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(round(len(samples) * 0.95)) - 1)]
    return statistics.median(samples), p95


def timed_pair(first, second, runs: int = RUNS, *, after_first=None):
    """Median and p95 in ms of `first` and of `second`, run in turns (the order alternating
    from one round to the next), so that both see the same machine: on a busy machine the
    load changes within a second, and a ratio of two figures measured one after the other
    moved by a third between runs. `after_first` (untimed) runs after each call of `first`."""
    for _ in range(3):
        first()
        if after_first is not None:
            after_first()
        second()
    samples: tuple[list[float], list[float]] = ([], [])
    for round_ in range(runs):
        order = ((0, first), (1, second)) if round_ % 2 == 0 else ((1, second), (0, first))
        for index, fn in order:
            t = time.perf_counter()
            fn()
            samples[index].append((time.perf_counter() - t) * 1000)
            if index == 0 and after_first is not None:
                after_first()
    return _median_p95(samples[0]), _median_p95(samples[1])


def main() -> int:
    return dataset.bench_main(__file__, run)


def run(size: int) -> None:
    municipality, departments, procedures, users = prepare(size)
    import logging

    logging.getLogger("madoguchi.access").setLevel(logging.WARNING)  # one line per request
    from django.http import QueryDict

    from madoguchi.applications.inbox import InboxFilter, inbox_page, inbox_queryset

    user = users["bench-handler"]
    department = departments[0]  # procedures 0 and 10: the busiest department
    in_department = inbox_queryset(user, department, InboxFilter()).count()
    today = dt.date.today()

    def page(query: str, **kwargs):
        f = InboxFilter.from_query(QueryDict(query))
        return lambda: inbox_page(user, department, f, **kwargs)

    # A cursor ~50,000 rows deep at 1M (found once, outside the timing).
    depth = min(50_000, in_department * 2 // 5)
    deep_row = (
        inbox_queryset(user, department, InboxFilter()).values_list("submitted_at", "pk")[
            depth : depth + 1
        ]
    ).first()
    from madoguchi.applications.inbox import _encode_cursor

    deep_cursor = _encode_cursor("n", "received_desc", deep_row[0], deep_row[1]) if deep_row else ""
    date_from = (today - dt.timedelta(days=200)).isoformat()
    date_to = (today - dt.timedelta(days=110)).isoformat()
    cases = [
        ("first page (rows + status counts)", page("")),
        ("first page (rows only)", page("", with_counts=False)),
        (
            "filtered: status + procedure + 3-month range",
            page(
                f"status=in_progress&procedure={procedures[0].pk}&date_from={date_from}&date_to={date_to}"
            ),
        ),
        ("kana name search 「やまだ」", page("q=やまだ")),
        ("kanji name search 「山田花子」", page("q=山田花子")),
        *[(f"short name search 「{q}」", page(f"q={q}")) for q in SHORT_NAMES],
        (
            "deep keyset page (~40 % in, ≤ 50,000 rows)",
            page(f"cursor={deep_cursor}", with_counts=False),
        ),
    ]
    print(f"inbox_bench  applications={size:,}  in department={in_department:,}  runs={RUNS}")
    print(f"  load average {load_average()}")
    print("  inbox_page() alone:")
    for label, fn in cases:
        median, p95 = timed(fn)
        report.emit("inbox", label, median=median, p95=p95, target="< 50 / < 150 ms")
        flag = "ok" if median < 50 and p95 < 150 else "over aim"
        print(f"  {label:<46} median {median:7.1f} ms   p95 {p95:7.1f} ms   {flag}")
    print("  aims: median < 50 ms, p95 < 150 ms")

    # Through the full request, as staff wait for it.
    sample = (
        inbox_queryset(user, department, InboxFilter())
        .values_list("receipt_number", flat=True)
        .first()
    )
    view_cases = [
        ("inbox: first page", ""),
        (
            "inbox: status + procedure + 3-month range",
            f"status=in_progress&procedure={procedures[0].pk}&date_from={date_from}&date_to={date_to}",
        ),
        ("inbox: kana name 「やまだ」", "q=やまだ"),
        ("inbox: kanji name 「山田花子」", "q=山田花子"),
        ("inbox: deep keyset page (~40 % in, ≤ 50,000 rows)", f"cursor={deep_cursor}"),
        ("inbox: 受付番号 exact", f"q={sample}"),
        ("inbox: 受付番号 prefix", f"q={sample[:9]}"),
        ("inbox: 受付番号 last digits", f"q={sample[-4:]}"),
        ("inbox: partial kana 「みさき」", "q=みさき"),
        ("inbox: partial kana 「はやし」", "q=はやし"),
        *[(f"inbox: short name 「{q}」 ({what})", f"q={q}") for q, what in SHORT_NAMES.items()],
    ]
    client = staff_client(user)
    base = f"/staff/d/{department.pk}/"
    print("  through the request (Django test client; SQL alone = the same statements run")
    print("  directly on the same connection, the two timed in turns):")
    for label, query in view_cases:
        view_figures(client, label, f"{base}?{query}", median_aim=50)
    application_id = (
        inbox_queryset(user, department, InboxFilter()).values_list("pk", flat=True).first()
    )
    view_figures(client, "review screen", f"/staff/applications/{application_id}/", median_aim=100)
    # A 管理者 of the whole municipality opens 全体 (every department's applications at once).
    view_figures(
        staff_client(users["bench-admin"]),
        "inbox: 全体, 管理者 (every department)",
        "/staff/all/",
        median_aim=50,
    )
    export_start(client, department, procedures[0])
    print("  aims: inbox median < 50 ms and p95 < 150 ms, review median < 100 ms, ratio <= 3")


def load_average() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def staff_client(user):
    """A test client logged in as `user` with a verified second factor."""
    from django.conf import settings
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if "testserver" not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def sql_alone(statements: list[str]):
    """The statements a request ran, run again directly on the same connection (every row
    fetched); writes (the 閲覧ログ of a search, the session) inside a transaction that is
    rolled back."""
    from django.db import connection, transaction

    skip = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")
    statements = [sql for sql in statements if not sql.lstrip().upper().startswith(skip)]

    def run():
        with transaction.atomic(), connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
                if cursor.description is not None:
                    cursor.fetchall()
            transaction.set_rollback(True)

    return run


def captured_statements(call) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = call()
    return response, [q["sql"] for q in captured.captured_queries]


def view_figures(
    client,
    label: str,
    url: str,
    *,
    median_aim: float,
    method: str = "get",
    data=None,
    bench: str = "inbox",
):
    call = (lambda: client.get(url)) if method == "get" else (lambda: client.post(url, data))
    response = call()
    if response.status_code not in (200, 302):
        print(f"  {label:<46} HTTP {response.status_code} (skipped)")
        return
    _response, statements = captured_statements(call)
    (median, p95), (sql_median, _sql_p95) = timed_pair(call, sql_alone(statements))
    ratio = median / sql_median if sql_median else float("inf")
    report.emit(
        bench,
        label.removeprefix(f"{bench}: ") + " (request)",
        median=median,
        p95=p95,
        target=f"< {median_aim:.0f} ms, ≤ 3x SQL",
        limit=sql_median,
        limit_label="SQL alone",
        statements=len(statements),
    )
    ok = median < median_aim and (median_aim != 50 or p95 < 150) and ratio <= 3
    print(
        f"  {label:<46} median {median:7.1f} ms   p95 {p95:7.1f} ms   "
        f"statements {len(statements):2d}   SQL alone {sql_median:6.1f} ms   "
        f"ratio {ratio:4.1f}x   limit {median_aim:.0f} ms / 3x   {'ok' if ok else 'over aim'}"
    )


def export_start(client, department, procedure):
    """POST of the export form until the redirect to the job page (the job itself is not
    run here: export_bench.py times it)."""
    from madoguchi.exports import views as export_views
    from madoguchi.exports.models import ExportJob

    export_views.dispatch = lambda *args, **kwargs: None
    data = {
        "department": department.pk,
        "format": "csv",
        "encoding": "cp932",
        "procedure_choice": procedure.pk,
    }

    def start():
        return client.post("/staff/exports/new/", data)

    def housekeeping():  # the queued job deleted again, outside the timing
        ExportJob.objects.filter(state=ExportJob.State.QUEUED).delete()

    response, statements = captured_statements(start)
    housekeeping()
    if response.status_code != 302:
        print(f"  export start: HTTP {response.status_code} (skipped)")
        return
    (median, p95), (sql_median, _sql_p95) = timed_pair(
        start, sql_alone(statements), after_first=housekeeping
    )
    report.emit(
        "inbox",
        "export start (POST, job queued)",
        median=median,
        p95=p95,
        limit=sql_median,
        limit_label="SQL alone",
        statements=len(statements),
    )
    print(
        f"  {'export start (POST, job queued)':<46} median {median:7.1f} ms   p95 {p95:7.1f} ms   "
        f"statements {len(statements):2d}   SQL alone {sql_median:6.1f} ms   "
        f"ratio {median / sql_median if sql_median else 0:4.1f}x"
    )


if __name__ == "__main__":
    sys.exit(main())
