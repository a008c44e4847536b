"""Inbox benchmark on 1,000,000 applications (PostgreSQL only). Prints figures; asserts nothing.

    .venv/bin/python bench/inbox_bench.py        # or: make bench / python bench/run.py inbox

Database: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/madoguchi_bench). It
is a dedicated database, created when missing, migrated, and filled once: when it already
holds the generated rows the generation is skipped (idempotent). Never point it at a
database whose data you want to keep. Tune with BENCH_APPLICATIONS (default 1,000,000) and
BENCH_RUNS (default 30 timed runs per query, after 3 warm-up runs).

Data: one municipality, 10 departments, 20 procedures (procedure 1 holds exactly 10 % of the
rows, the export benchmark uses it; the others follow a Zipf-like popularity), submitted over
the last 3 years; statuses mostly finished for old cases and open for recent ones; channels
60 % portal / 20 % マイナポータル / 15 % 窓口 / 5 % 紙; applicant names in kanji with their
reading (search_name / search_kana as services.submit fills them); 0.1 % of the names carry a
character outside CP932 (𠮷) so that the export report path is exercised.

Timed (as the screen runs them, through `applications.inbox`), for a 担当者 of the busiest
department: the first page (rows + status counts), a filtered page (status + procedure + a
3-month date range), a kana name search, and a deep keyset page (~50,000 rows in).
Aims: median < 50 ms, p95 < 150 ms.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchdb  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/madoguchi_bench"
TOTAL = int(os.environ.get("BENCH_APPLICATIONS", "1000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "30"))
LG_CODE = "131016"
PROCEDURES = 20
DEPARTMENTS = 10
SEED = 20240424

FAMILY = [
    ("山田", "ヤマダ"), ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"),
    ("田中", "タナカ"), ("伊藤", "イトウ"), ("渡辺", "ワタナベ"), ("山本", "ヤマモト"),
    ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("加藤", "カトウ"), ("吉田", "ヨシダ"),
    ("山口", "ヤマグチ"), ("松本", "マツモト"), ("井上", "イノウエ"), ("木村", "キムラ"),
    ("林", "ハヤシ"), ("斎藤", "サイトウ"), ("清水", "シミズ"), ("山崎", "ヤマザキ"),
    ("森", "モリ"), ("池田", "イケダ"), ("橋本", "ハシモト"), ("阿部", "アベ"),
    ("石川", "イシカワ"), ("山下", "ヤマシタ"), ("中島", "ナカジマ"), ("石井", "イシイ"),
    ("小川", "オガワ"), ("前田", "マエダ"), ("岡田", "オカダ"), ("長谷川", "ハセガワ"),
    ("藤田", "フジタ"), ("後藤", "ゴトウ"), ("近藤", "コンドウ"), ("村上", "ムラカミ"),
    ("遠藤", "エンドウ"), ("青木", "アオキ"), ("坂本", "サカモト"), ("福田", "フクダ"),
]  # fmt: skip
GIVEN = [
    ("花子", "ハナコ"), ("太郎", "タロウ"), ("陽菜", "ヒナ"), ("蓮", "レン"),
    ("結衣", "ユイ"), ("大翔", "ヒロト"), ("さくら", "サクラ"), ("悠真", "ユウマ"),
    ("美咲", "ミサキ"), ("翔太", "ショウタ"), ("葵", "アオイ"), ("湊", "ミナト"),
    ("凛", "リン"), ("健", "ケン"), ("恵子", "ケイコ"), ("誠", "マコト"),
    ("由美", "ユミ"), ("浩", "ヒロシ"), ("愛", "アイ"), ("直樹", "ナオキ"),
]  # fmt: skip

FORM = {
    "title": "ベンチマーク用の申請",
    "steps": [
        {
            "key": "main",
            "title": "申請内容",
            "fields": [
                {"key": "applicant_name", "type": "name", "label": "氏名", "required": True},
                {"key": "email", "type": "email", "label": "メールアドレス"},
                {"key": "phone", "type": "phone", "label": "電話番号"},
                {"key": "birth_date", "type": "date", "label": "生年月日"},
                {"key": "address", "type": "address", "label": "住所"},
                {"key": "income", "type": "money", "label": "所得"},
                {
                    "key": "children",
                    "type": "repeat",
                    "label": "児童",
                    "item_label": "児童",
                    "fields": [
                        {"key": "child_name", "type": "text", "label": "氏名"},
                        {"key": "child_birth", "type": "date", "label": "生年月日"},
                    ],
                },
            ],
        }
    ],
}


def setup_django() -> None:
    """Django on BENCH_DATABASE_URL (also used by the export, API and マイナポータル benches)."""
    benchdb.setup_django(benchdb.database_url("BENCH_DATABASE_URL", DEFAULT_URL))


# --- data --------------------------------------------------------------------------------


def ensure_catalog():
    """Municipality, departments, procedures and staff (get_or_create: idempotent)."""
    from django.contrib.auth import get_user_model

    from madoguchi.tenants.models import Municipality, StaffMembership

    municipality, _ = Municipality.objects.get_or_create(
        lg_code=LG_CODE, defaults={"name": "千代田区", "prefecture": "東京都"}
    )
    departments, procedures = benchdb.ensure_departments_and_procedures(
        municipality,
        departments=DEPARTMENTS,
        procedures=PROCEDURES,
        slug="bench-{i:02d}",
        name="ベンチマーク手続{i:02d}",
        reading="べんちまーくてつづき",
        form=FORM,
    )
    users = {}
    User = get_user_model()
    for username, department, role in [
        ("bench-admin", None, StaffMembership.Role.ADMIN),
        ("bench-handler", departments[0], StaffMembership.Role.HANDLER),
    ]:
        user, created = User.objects.get_or_create(username=username)
        if created:
            StaffMembership.objects.create(
                user=user, municipality=municipality, department=department, role=role
            )
        users[username] = user
    return municipality, departments, procedures, users


def _procedure_weights() -> list[float]:
    """Procedure 0 gets exactly 10 % (drawn separately); the others Zipf-like."""
    raw = [1 / (rank + 1) ** 0.9 for rank in range(PROCEDURES - 1)]
    total = sum(raw)
    return [w / total for w in raw]


def generate(municipality, procedures, users) -> None:
    """COPY the applications in; skipped when they are already there."""
    from django.db import connection

    from madoguchi.applications.models import Application
    from madoguchi.jp.kana import search_key

    existing = Application.objects.filter(municipality=municipality).count()
    if existing >= TOTAL:
        print(f"data: {existing:,} applications already present (generation skipped)")
        return
    if existing:
        print(f"data: {existing:,} applications from an interrupted run: regenerating")
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM applications_application WHERE municipality_id = %s",
                [municipality.pk],
            )

    rng = random.Random(SEED)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    start = now - dt.timedelta(days=3 * 365)
    span = (now - start).total_seconds()
    others = procedures[1:]
    weights = _procedure_weights()
    handler = users["bench-handler"]
    kana_keys = {(f, g): search_key(fk + gk) for f, fk in FAMILY for g, gk in GIVEN}

    # Receipt numbers per year, in submission order: generate timestamps first, then sort.
    print(f"data: generating {TOTAL:,} applications ...", flush=True)
    t0 = time.perf_counter()
    stamps = sorted(start + dt.timedelta(seconds=rng.random() * span) for _ in range(TOTAL))
    columns = [f.column for f in Application._meta.concrete_fields if f.column != "id"]
    defaults = {column: benchdb.column_default(Application, column) for column in columns}
    sequence: dict[int, int] = {}
    with connection.cursor() as cursor, benchdb.without_row_triggers(cursor):
        raw = cursor.connection  # psycopg 3 connection
        copy_sql = f"COPY applications_application ({', '.join(columns)}) FROM STDIN"
        with raw.cursor() as pg, pg.copy(copy_sql) as copy:
            for n, submitted in enumerate(stamps):
                procedure = procedures[0] if n % 10 == 0 else rng.choices(others, weights)[0]
                age_days = (now - submitted).days
                open_share = 0.9 if age_days < 30 else (0.3 if age_days < 180 else 0.02)
                if rng.random() < open_share:
                    status = rng.choices(["received", "in_progress", "returned"], [0.5, 0.4, 0.1])[
                        0
                    ]
                    finished = None
                else:
                    status = rng.choices(["completed", "rejected", "withdrawn"], [0.85, 0.05, 0.1])[
                        0
                    ]
                    finished = submitted + dt.timedelta(days=rng.randint(1, 40))
                    finished = min(finished, now)
                channel = rng.choices(
                    ["portal", "mynaportal", "counter", "paper"], [0.6, 0.2, 0.15, 0.05]
                )[0]
                (family, family_kana), (given, given_kana) = rng.choice(FAMILY), rng.choice(GIVEN)
                kana = kana_keys[(family, given)]
                if rng.random() < 0.001:
                    family = "𠮷" + family[1:]  # outside CP932: shows in the export report
                year = submitted.year
                sequence[year] = sequence.get(year, 0) + 1
                children = [
                    {"child_name": f"{family}{rng.choice(GIVEN)[0]}", "child_birth": "2019-04-01"}
                    for _ in range(rng.choice([0, 1, 1, 2, 3]))
                ]
                answers = {
                    "applicant_name": {
                        "family": family,
                        "given": given,
                        "family_kana": family_kana,
                        "given_kana": given_kana,
                    },
                    "email": f"user{n}@example.jp",
                    "phone": f"090{n % 100000000:08d}",
                    "birth_date": f"19{rng.randint(50, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                    "address": f"東京都千代田区千代田{rng.randint(1, 9)}-{rng.randint(1, 30)}",
                    "income": rng.randint(0, 8_000_000),
                    "children": children,
                }
                values = {
                    "municipality_id": municipality.pk,
                    "procedure_id": procedure.pk,
                    "form_version_id": procedure.current_version_id,
                    "channel": channel,
                    "status": status,
                    "receipt_number": f"{year}-{sequence[year]:06d}",
                    "draft_values": "{}",
                    "answers": json.dumps(answers, ensure_ascii=False),
                    "current_step": "",
                    "furthest_step_index": 1,
                    "applicant_name": f"{family}\u3000{given}",
                    "applicant_name_kana": f"{family_kana}\u3000{given_kana}",
                    "applicant_email": f"user{n}@example.jp",
                    "verified_email": "",
                    "is_proxy": False,
                    "proxy_name": "",
                    "assigned_to_id": handler.pk if rng.random() < 0.3 else None,
                    "lock_version": 0,
                    "search_name": f"{family}{given}",
                    "search_kana": kana,
                    "due_at": submitted + dt.timedelta(days=14),
                    "status_token_digest": f"{n:064x}",
                    "resume_token_digest": "",
                    "created_at": submitted - dt.timedelta(minutes=15),
                    "updated_at": finished or submitted,
                    "submitted_at": submitted,
                    "finished_at": finished,
                }
                copy.write_row([values.get(column, defaults[column]) for column in columns])
                if n and n % 100_000 == 0:
                    print(f"  {n:,} rows ({time.perf_counter() - t0:.0f} s)", flush=True)
    # The status counts need index-only scans: the visibility map must be set.
    benchdb.vacuum_analyze("applications_application")
    print(f"data: {TOTAL:,} rows in {time.perf_counter() - t0:.0f} s")


def prepare():
    """Django set up on the benchmark database, with the data in place."""
    setup_django()
    municipality, departments, procedures, users = ensure_catalog()
    generate(municipality, procedures, users)
    return municipality, departments, procedures, users


# --- timing ------------------------------------------------------------------------------


def timed(fn, runs: int = RUNS) -> tuple[float, float]:
    for _ in range(3):
        fn()
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(round(len(samples) * 0.95)) - 1)]
    return statistics.median(samples), p95


def main() -> None:
    municipality, departments, procedures, users = prepare()
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

    # A cursor ~50,000 rows deep (found once, outside the timing).
    deep_row = (
        inbox_queryset(user, department, InboxFilter()).values_list("submitted_at", "pk")[
            50_000:50_001
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
        ("deep keyset page (~50,000 rows in)", page(f"cursor={deep_cursor}", with_counts=False)),
    ]
    print(f"inbox_bench  applications={TOTAL:,}  in department={in_department:,}  runs={RUNS}")
    print(f"  load average {load_average()}")
    print("  inbox_page() alone:")
    for label, fn in cases:
        median, p95 = timed(fn)
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
        ("inbox: deep keyset page (~50,000 rows in)", f"cursor={deep_cursor}"),
        ("inbox: 受付番号 exact", f"q={sample}"),
        ("inbox: 受付番号 prefix", f"q={sample[:9]}"),
        ("inbox: 受付番号 last digits", f"q={sample[-4:]}"),
        ("inbox: partial name 「美咲」 (given name)", "q=美咲"),
        ("inbox: partial kana 「みさき」", "q=みさき"),
    ]
    client = staff_client(user)
    base = f"/staff/d/{department.pk}/"
    print("  through the request (Django test client; SQL alone = the same statements run")
    print("  directly on the same connection in the same run):")
    for label, query in view_cases:
        view_figures(client, label, f"{base}?{query}", median_aim=50)
    application_id = (
        inbox_queryset(user, department, InboxFilter()).values_list("pk", flat=True).first()
    )
    view_figures(client, "review screen", f"/staff/applications/{application_id}/", median_aim=100)
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
    client, label: str, url: str, *, median_aim: float, method: str = "get", data=None
):
    call = (lambda: client.get(url)) if method == "get" else (lambda: client.post(url, data))
    response = call()
    if response.status_code not in (200, 302):
        print(f"  {label:<46} HTTP {response.status_code} (skipped)")
        return
    _response, statements = captured_statements(call)
    median, p95 = timed(call)
    sql_median, _sql_p95 = timed(sql_alone(statements))
    ratio = median / sql_median if sql_median else float("inf")
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
        response = client.post("/staff/exports/new/", data)
        ExportJob.objects.filter(state=ExportJob.State.QUEUED).delete()
        return response

    response, statements = captured_statements(start)
    if response.status_code != 302:
        print(f"  export start: HTTP {response.status_code} (skipped)")
        return
    # The statements of the job's deletion (bench housekeeping) are not the page's.
    statements = [sql for sql in statements if "DELETE" not in sql.upper()[:10]]
    median, p95 = timed(start)
    sql_median, _ = timed(sql_alone(statements))
    print(
        f"  {'export start (POST, job queued)':<46} median {median:7.1f} ms   p95 {p95:7.1f} ms   "
        f"statements {len(statements):2d}   SQL alone {sql_median:6.1f} ms   "
        f"ratio {median / sql_median if sql_median else 0:4.1f}x"
    )


if __name__ == "__main__":
    main()
