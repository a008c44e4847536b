"""The generated cases the big benchmarks (inbox, export, API, KPI) run on, one dedicated
PostgreSQL database per size, generated inside PostgreSQL (INSERT … SELECT over
generate_series) rather than row by row in Python: 1,000,000 cases with their answers,
revisions, department progress and ~5,000,000 events load in a few minutes.

    .venv/bin/python bench/dataset.py --size 10k          # generate (idempotent)
    .venv/bin/python bench/dataset.py --size 10k --check  # and check it (SQL + screens)

Sizes: BENCH_SIZES (default "10k,100k,1M"; a bench given --size uses that one). The database
of a size: BENCH_DATABASE_URL with "{size}" replaced by the size's label (default
postgres://postgres@127.0.0.1:5432/madoguchi_bench_{size}, e.g. madoguchi_bench_10k). A
database already holding the requested number of cases is used as it is (generation
skipped); one holding a different number is regenerated. Never point it at a database whose
data you want to keep.

Data (deterministic: PostgreSQL's random() after setseed):
- two municipalities, 千代田区 (131016, 70 % of the cases) and 中央区 (131024, 30 %), each
  with 10 departments and 20 procedures (procedure i handled by department i mod 10) on one
  published form (name with reading, e-mail, phone, date, address, money, a repeat group of
  children);
- cases over the last 3 years, submission times increasing with the case number, so the
  受付番号 (per municipality and local year) follow the submission order; 千代田区's procedure
  bench-00 holds exactly 10 % of all cases (the export benchmark exports it), never drafts;
  the other procedures follow a Zipf-like popularity; 5 % of the others are abandoned
  portal drafts;
- channels 60 % portal / 20 % マイナポータル / 15 % 窓口 / 5 % 紙 (窓口 and 紙 entered by
  the 管理者); statuses mostly finished for old cases and open for recent ones, 10 % returned
  (要再申請) of which 85 % resubmitted (back to the status before, revision 2);
- applicant names in kanji with their reading, surnames Zipf-like, short ones (田, 林, 森) and
  short given names (蓮, 美咲); 0.1 % carry 𠮷 (outside CP932, for the export report);
  search_name / search_kana computed by the application's own functions
  (lifecycle.search_name, kana.search_key);
- events as the application writes them: started, step_completed, submitted (with the
  受付番号 and channel), status changes, returns with a reason, resubmissions, withdrawals,
  feedback on 20 % of portal cases (~5 per case); one AnswerRevision per submission; one
  DepartmentProgress row per department of the procedure.

Two connections load at the same time (the application rows on one, the events on the
other; indexes and VACUUM shared out likewise). The status-count triggers are off during the
load (session_replication_role = replica) and the counts are rebuilt exactly afterwards; the
secondary indexes are dropped and rebuilt (noted first, so that an interrupted load gets them
back at the next run, which then regenerates); the 受付番号 counters are moved past the
generated numbers; VACUUM ANALYZE at the end. The KPI
aggregates are left to the application's own rebuild from the events (bench/kpi_bench.py runs
it once per database, timed apart: it is the application's own rebuild, set-based on PostgreSQL, not a load).
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchdb  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/madoguchi_bench_{size}"
DEFAULT_SIZES = "10k,100k,1M"
PROCEDURES = 20
DEPARTMENTS = 10
SEED = 0.20240424
DRAFT_SHARE = 0.05
MUNICIPALITIES = [("131016", "千代田区", 0.7), ("131024", "中央区", 0.3)]

FAMILY = [
    ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"),
    ("伊藤", "イトウ"), ("渡辺", "ワタナベ"), ("山本", "ヤマモト"), ("中村", "ナカムラ"),
    ("小林", "コバヤシ"), ("加藤", "カトウ"), ("吉田", "ヨシダ"), ("山田", "ヤマダ"),
    ("山口", "ヤマグチ"), ("松本", "マツモト"), ("井上", "イノウエ"), ("木村", "キムラ"),
    ("林", "ハヤシ"), ("斎藤", "サイトウ"), ("清水", "シミズ"), ("山崎", "ヤマザキ"),
    ("森", "モリ"), ("池田", "イケダ"), ("橋本", "ハシモト"), ("阿部", "アベ"),
    ("石川", "イシカワ"), ("山下", "ヤマシタ"), ("中島", "ナカジマ"), ("石井", "イシイ"),
    ("小川", "オガワ"), ("前田", "マエダ"), ("岡田", "オカダ"), ("長谷川", "ハセガワ"),
    ("藤田", "フジタ"), ("後藤", "ゴトウ"), ("近藤", "コンドウ"), ("村上", "ムラカミ"),
    ("遠藤", "エンドウ"), ("青木", "アオキ"), ("坂本", "サカモト"), ("福田", "フクダ"),
    ("東海林", "ショウジ"), ("小鳥遊", "タカナシ"), ("田", "デン"), ("髙橋", "タカハシ"),
]  # fmt: skip
GIVEN = [
    ("花子", "ハナコ"), ("太郎", "タロウ"), ("陽菜", "ヒナ"), ("蓮", "レン"),
    ("結衣", "ユイ"), ("大翔", "ヒロト"), ("さくら", "サクラ"), ("悠真", "ユウマ"),
    ("美咲", "ミサキ"), ("翔太", "ショウタ"), ("葵", "アオイ"), ("湊", "ミナト"),
    ("凛", "リン"), ("健", "ケン"), ("恵子", "ケイコ"), ("誠", "マコト"),
    ("由美", "ユミ"), ("浩", "ヒロシ"), ("愛", "アイ"), ("直樹", "ナオキ"),
    ("ヴィクトリア", "ヴィクトリア"), ("一", "ハジメ"),
]  # fmt: skip
RARE_FAMILY = ("𠮷田", "ヨシダ")  # outside CP932: shows in the export report
RARE_SHARE = 0.001
REASONS = [
    "添付書類が不足しています。",
    "氏名の記載に誤りがあります。",
    "住所を確認してください。",
    "口座情報が読み取れません。",
]
FEEDBACK = ["", "", "", "", "", "", "", "", "", "使いやすかった"]

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

APP = "applications_application"
EVENT = "applications_applicationevent"
REVISION = "applications_answerrevision"
PROGRESS = "applications_departmentprogress"
TABLES = (APP, EVENT, REVISION, PROGRESS)


# --- sizes and databases -------------------------------------------------------------------


def parse_size(text: str) -> int:
    text = text.strip().lower().replace(",", "").replace("_", "")
    for suffix, factor in (("k", 1_000), ("m", 1_000_000)):
        if text.endswith(suffix):
            return int(float(text[:-1]) * factor)
    return int(text)


def label(size: int) -> str:
    if size >= 1_000_000 and size % 1_000_000 == 0:
        return f"{size // 1_000_000}m"
    if size >= 1_000 and size % 1_000 == 0:
        return f"{size // 1_000}k"
    return str(size)


def sizes(argv: list[str] | None = None) -> list[int]:
    """The sizes to run: `--size X[,Y]` on the command line, else BENCH_SIZES, else 10k,100k,1M
    (BENCH_APPLICATIONS, the older single-size setting, still names one size)."""
    argv = sys.argv[1:] if argv is None else argv
    text = None
    for i, arg in enumerate(argv):
        if arg.startswith("--size="):
            text = arg.split("=", 1)[1]
        elif arg == "--size" and i + 1 < len(argv):
            text = argv[i + 1]
    if text is None:
        text = os.environ.get("BENCH_SIZES") or os.environ.get("BENCH_APPLICATIONS")
    return [parse_size(part) for part in (text or DEFAULT_SIZES).split(",") if part.strip()]


def database_url(size: int) -> str:
    template = benchdb.database_url("BENCH_DATABASE_URL", DEFAULT_URL)
    return template.replace("{size}", label(size))


def setup_django(size: int) -> None:
    benchdb.setup_django(database_url(size))


# --- catalog -------------------------------------------------------------------------------


@dataclass
class Place:
    """One municipality of the data set: its share of the cases, departments, procedures and
    the staff the benchmarks act as (管理者 `admin`, 担当者 of department 0 `handler`)."""

    municipality: object
    share: float
    departments: list
    procedures: list
    users: dict = field(default_factory=dict)


def ensure_catalog() -> list[Place]:
    """Municipalities, departments, procedures and staff (get_or_create: idempotent).
    Staff of the first municipality: bench-admin, bench-handler; of the others
    bench-admin-<lg_code>, bench-handler-<lg_code>."""
    from django.contrib.auth import get_user_model

    from madoguchi.tenants.models import Municipality, StaffMembership

    User = get_user_model()
    world = []
    for index, (lg_code, name, share) in enumerate(MUNICIPALITIES):
        municipality, _ = Municipality.objects.get_or_create(
            lg_code=lg_code, defaults={"name": name, "prefecture": "東京都"}
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
        suffix = "" if index == 0 else f"-{lg_code}"
        for role, department, kind in (
            ("admin", None, StaffMembership.Role.ADMIN),
            ("handler", departments[0], StaffMembership.Role.HANDLER),
        ):
            user, created = User.objects.get_or_create(username=f"bench-{role}{suffix}")
            if created:
                StaffMembership.objects.create(
                    user=user, municipality=municipality, department=department, role=kind
                )
            users[role] = user
        world.append(Place(municipality, share, departments, procedures, users))
    return world


def prepare(size: int) -> list[Place]:
    """Django set up on the database of `size`, with the data in place."""
    setup_django(size)
    world = ensure_catalog()
    generate(size, world)
    return world


# --- generation ----------------------------------------------------------------------------


def _cumulative(weights: list[float]) -> list[float]:
    """Thresholds for width_bucket(random(), …): bucket i has probability weights[i]."""
    total, running, out = sum(weights), 0.0, []
    for w in weights[:-1]:
        running += w
        out.append(running / total)
    return out


def _zipf(n: int, s: float = 0.9) -> list[float]:
    return _cumulative([1 / (rank + 1) ** s for rank in range(n)])


def _names_rows() -> list[tuple]:
    """(family index, given index, name, reading, search_name, search_kana, answer JSON,
    family) for every combination; the family at index len(FAMILY) is the rare one."""
    from madoguchi.applications.lifecycle import search_name
    from madoguchi.jp.kana import search_key

    rows = []
    for f, (family, family_kana) in enumerate([*FAMILY, RARE_FAMILY]):
        for g, (given, given_kana) in enumerate(GIVEN):
            name, kana = f"{family}\u3000{given}", f"{family_kana}\u3000{given_kana}"
            answer = {
                "family": family,
                "given": given,
                "family_kana": family_kana,
                "given_kana": given_kana,
            }
            rows.append(
                (
                    f,
                    g,
                    name,
                    kana,
                    search_name(name)[:200],
                    search_key(kana)[:200],
                    json.dumps(answer, ensure_ascii=False),
                    family,
                )
            )
    return rows


def _count(cursor, world) -> int:
    ids = [p.pk for place in world for p in place.procedures]
    cursor.execute(f"SELECT COUNT(*) FROM {APP} WHERE procedure_id = ANY(%s)", [ids])
    return cursor.fetchone()[0]


def _delete_cases(cursor, world) -> None:
    """Remove the cases of the data set's procedures and every row pointing at them (found in
    the catalog, so a table added later is covered), without triggers (counts rebuilt later)."""
    ids = [p.pk for place in world for p in place.procedures]
    cursor.execute(
        "SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "WHERE c.contype = 'f' AND c.confrelid = %s::regclass",
        [APP],
    )
    referencing = cursor.fetchall()
    cursor.execute(
        f"CREATE TEMP TABLE bench_doomed AS SELECT id FROM {APP} WHERE procedure_id = ANY(%s)",
        [ids],
    )
    for table, column in referencing:
        cursor.execute(f'DELETE FROM {table} WHERE "{column}" IN (SELECT id FROM bench_doomed)')
    cursor.execute(f"DELETE FROM {APP} WHERE id IN (SELECT id FROM bench_doomed)")
    cursor.execute("DROP TABLE bench_doomed")


def generate(size: int, world: list[Place], *, log=print) -> dict:
    """Generate `size` cases over `world` (skipped when exactly that many are there).
    Returns what was done: {"cases", "events", "seconds", "skipped"}."""
    from django.db import connection, transaction

    from madoguchi.applications.status_counts import POSTGRESQL_REBUILD

    with connection.cursor() as cursor:
        interrupted = _restore(cursor, log)
        existing = _count(cursor, world)
        if existing == size and not interrupted:
            cursor.execute(f"SELECT COUNT(*) FROM {EVENT}")
            events = cursor.fetchone()[0]
            log(f"data: {existing:,} cases present (generation skipped)")
            return {"cases": existing, "events": events, "seconds": 0.0, "skipped": True}
    t0 = time.perf_counter()
    log(f"data: generating {size:,} cases in PostgreSQL ...")
    steps: list[tuple[str, float]] = []

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    cpu = [_cpu_seconds(backend)]

    def step(name: str, started: float) -> float:
        now = time.perf_counter()
        used = _cpu_seconds(backend)
        steps.append((name, now - started))
        server = f"   server CPU {used - cpu[0]:6.1f} s" if used else ""
        cpu[0] = used
        log(f"  {_pad(name, 36)} {now - started:6.1f} s{server}", flush=True)
        return now

    # Two connections, one per core: the application rows on this one, the events on a
    # second, at the same time; the indexes and VACUUM are shared out the same way. The
    # dropped indexes are noted in bench_dropped_index (committed with the drop), so a load
    # interrupted halfway gets them back at the next run (_restore), which then regenerates.
    other = _second_connection()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            _session(cursor)
            t = time.perf_counter()
            if existing:
                log(f"  {existing:,} cases of another size or an interrupted run: deleting")
                _delete_cases(cursor, world)
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)"
                " AND indexname NOT IN (SELECT conname FROM pg_constraint)",
                [list(TABLES)],
            )
            dropped = cursor.fetchall()
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS bench_dropped_index (name text, tablename text,"
                " definition text)"
            )
            cursor.execute(
                "INSERT INTO bench_dropped_index SELECT indexname, tablename, indexdef"
                " FROM pg_indexes WHERE tablename = ANY(%s)"
                " AND indexname NOT IN (SELECT conname FROM pg_constraint)",
                [list(TABLES)],
            )
            for name, _definition in dropped:
                cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
            _lookup_tables(cursor, world)
            t = step("lookup tables", t)
            _cases_table(cursor, world, size)
            t = step("case plan (bench_case)", t)

        def applications(cursor):
            _insert_applications(cursor)
            _insert_revisions(cursor)
            _insert_progress(cursor)

        _both(connection, other, applications, _insert_events)
        t = step("applications, revisions, progress | events", t)
        definitions = _pending_indexes(connection)
        _both(
            connection,
            other,
            lambda c: [c.execute(d) for table, d in definitions if table != EVENT],
            lambda c: [c.execute(d) for table, d in definitions if table == EVENT],
        )
        t = step(f"{len(definitions)} indexes rebuilt", t)
        with transaction.atomic(), connection.cursor() as cursor:
            _counters(cursor)
            for statement in POSTGRESQL_REBUILD:
                cursor.execute(statement)
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{APP}', 'id'),"
                f" (SELECT COALESCE(MAX(id), 1) FROM {APP}))"
            )
            cursor.execute(f"SELECT COUNT(*) FROM {EVENT}")
            events = cursor.fetchone()[0]
            cursor.execute("DROP TABLE IF EXISTS bench_dropped_index")
            for table in STAGING:
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
            t = step("status counts, 受付番号 counters", t)
        _both(
            connection,
            other,
            lambda c: [c.execute(f"VACUUM ANALYZE {table}") for table in (APP, REVISION)],
            lambda c: [c.execute(f"VACUUM ANALYZE {table}") for table in (EVENT, PROGRESS)],
            autocommit=True,
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE applications_applicationstatuscount")
        step("VACUUM ANALYZE", t)
    finally:
        other.close()
    seconds = time.perf_counter() - t0
    load = " ".join(f"{v:.1f}" for v in os.getloadavg())
    import report

    report.emit(
        "dataset",
        "generation (all tables, indexes, ANALYZE)",
        median=seconds,
        unit="s",
        size=size,
        target="< 180 s at 1M",
    )
    log(f"data: {size:,} cases, {events:,} events in {seconds:.0f} s (load average {load})")
    return {"cases": size, "events": events, "seconds": seconds, "skipped": False}


STAGING = ("bench_case", "bench_name", "bench_proc", "bench_proc_dept")


def _session(cursor) -> None:
    """Bulk-load settings for the current transaction: no per-row triggers nor FK checks (the
    generated rows are consistent by construction; the status counts are rebuilt after)."""
    cursor.execute("SET LOCAL synchronous_commit = off")
    cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
    cursor.execute("SET LOCAL work_mem = '256MB'")
    cursor.execute("SET LOCAL session_replication_role = replica")


def _second_connection():
    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("server_side_binding", None)
    return psycopg.connect(**params)


def _both(connection, other, mine, theirs, *, autocommit: bool = False) -> None:
    """`mine(cursor)` on the Django connection and `theirs(cursor)` on `other` at the same
    time, each in its own transaction (or in autocommit, for VACUUM)."""
    import threading

    from django.db import transaction

    errors: list[BaseException] = []

    def run_other():
        try:
            if autocommit:
                other.autocommit = True
                with other.cursor() as cursor:
                    theirs(cursor)
                other.autocommit = False
            else:
                with other.transaction(), other.cursor() as cursor:
                    _session(cursor)
                    theirs(cursor)
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    thread = threading.Thread(target=run_other)
    thread.start()
    try:
        if autocommit:
            previous = connection.get_autocommit()
            connection.set_autocommit(True)
            try:
                with connection.cursor() as cursor:
                    mine(cursor)
            finally:
                connection.set_autocommit(previous)
        else:
            with transaction.atomic(), connection.cursor() as cursor:
                _session(cursor)
                mine(cursor)
    finally:
        thread.join()
    if errors:
        raise errors[0]


def _pending_indexes(connection) -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename, definition FROM bench_dropped_index")
        return cursor.fetchall()


def _restore(cursor, log) -> bool:
    """After an interrupted load: the dropped indexes back, the staging tables away; True
    then (the cases are regenerated, whatever their number: a part may be missing)."""
    cursor.execute("SELECT to_regclass('bench_dropped_index') IS NOT NULL")
    if not cursor.fetchone()[0]:
        return False
    cursor.execute("SELECT definition FROM bench_dropped_index")
    definitions = [row[0] for row in cursor.fetchall()]
    log(f"  interrupted load: restoring {len(definitions)} indexes")
    for definition in definitions:
        cursor.execute(definition.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))
    for table in ("bench_dropped_index", *STAGING):
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
    return True


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a local PostgreSQL backend so far; 0 when not readable
    (a remote server): on a loaded machine it says what the load itself cost."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pad(text: str, width: int) -> str:
    import unicodedata

    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - used)


def _lookup_tables(cursor, world: list[Place]) -> None:
    """Temporary lookups the generating statements join: procedures (per municipality and
    rank), their departments, and the names with their search keys."""
    cursor.execute(
        "CREATE UNLOGGED TABLE bench_proc (m int, idx int, procedure_id bigint, form_version_id"
        " bigint, municipality_id bigint, target_days int, admin_id int, handler_id int,"
        " PRIMARY KEY (m, idx))"
    )
    cursor.execute(
        "CREATE UNLOGGED TABLE bench_proc_dept (procedure_id bigint, department_id bigint)"
    )
    for m, place in enumerate(world):
        for idx, p in enumerate(place.procedures):
            cursor.execute(
                "INSERT INTO bench_proc VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    m,
                    idx,
                    p.pk,
                    p.current_version_id,
                    place.municipality.pk,
                    p.target_days or 14,
                    place.users["admin"].pk,
                    place.users["handler"].pk,
                ],
            )
            for department_id in p.departments.values_list("pk", flat=True):
                cursor.execute("INSERT INTO bench_proc_dept VALUES (%s, %s)", [p.pk, department_id])
    cursor.execute(
        "CREATE UNLOGGED TABLE bench_name (f int, g int, name text, kana text, search_name text,"
        " search_kana text, answer jsonb, family text, PRIMARY KEY (f, g))"
    )
    with cursor.connection.cursor() as pg, pg.copy("COPY bench_name FROM STDIN") as copy:
        for row in _names_rows():
            copy.write_row(row)
    cursor.execute("ANALYZE bench_proc; ANALYZE bench_proc_dept; ANALYZE bench_name")


def _cases_table(cursor, world: list[Place], size: int) -> None:
    """bench_case: one row per case with every draw made (procedure, channel, name, times,
    history), so the statements filling the tables agree with each other."""
    cursor.execute("SELECT COALESCE(MAX(id), 0) FROM applications_application")
    base_id = cursor.fetchone()[0]
    first_share = world[0].share
    # Procedure bench-00 of the first municipality takes every 10th case; the remaining 90 %
    # are split so that the first municipality still gets its share overall.
    share_rest = max(0.0, (first_share - 0.1) / 0.9) if len(world) > 1 else 1.0
    params = {
        "seed": SEED,
        "size": size,
        "base_id": base_id,
        "share": share_rest,
        "draft": DRAFT_SHARE,
        "rare": RARE_SHARE,
        "nf": len(FAMILY),
        "ng": len(GIVEN),
        "family_cum": _zipf(len(FAMILY), 0.7),
        "rest_cum": _zipf(PROCEDURES - 1),
        "all_cum": _zipf(PROCEDURES),
        "channel_cum": _cumulative([0.6, 0.2, 0.15, 0.05]),
        "reasons": REASONS,
    }
    cursor.execute("SELECT setseed(%(seed)s)", params)
    # One statement: the draws (submission or start times increasing with n over the last 3
    # years), the history they make, and the 受付番号 (per municipality and local year, in
    # submission order, after any number already issued there).
    cursor.execute(
        """
CREATE UNLOGGED TABLE bench_case AS
WITH draws AS (
  SELECT n,
    CASE WHEN n %% 10 = 0 OR random() < %(share)s THEN 0 ELSE 1 END AS m,
    random() AS r_proc, random() AS r_draft, random() AS r_open, random() AS r_final,
    random() AS r_ip, random() AS r_ret, random() AS r_resub, random() AS r_fb,
    random() AS r_assign, random() AS r_rare, random() AS r_chan,
    random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5,
    random() AS r_fam, floor(random() * %(ng)s)::int AS g,
    now() - interval '1095 days'
      + (n + random()) * (interval '1095 days' / %(size)s) AS t
  FROM generate_series(0, %(size)s - 1) AS n
), placed AS (
  SELECT d.*,
    CASE WHEN n %% 10 = 0 THEN 0
         WHEN m = 0 THEN 1 + width_bucket(r_proc, %(rest_cum)s::float8[])
         ELSE width_bucket(r_proc, %(all_cum)s::float8[]) END AS idx,
    (n %% 10 <> 0 AND r_draft < %(draft)s) AS draft,
    CASE WHEN r_rare < %(rare)s THEN %(nf)s
         ELSE width_bucket(r_fam, %(family_cum)s::float8[]) END AS f,
    extract(epoch FROM now() - t) / 86400 AS age,
    extract(year FROM t AT TIME ZONE 'Asia/Tokyo')::int AS year,
    t + (2 + floor(r1 * 71)) * interval '1 hour' AS t_ip
  FROM draws d
), steps AS (
  SELECT p.*,
    NOT draft AND (r_ip > 0.15 OR age > 60) AND t_ip < now() AS went_ip,
    CASE WHEN age < 30 THEN 0.9 WHEN age < 180 THEN 0.3 ELSE 0.02 END AS open_share
  FROM placed p
), returns AS (
  SELECT s.*,
    CASE WHEN went_ip THEN t_ip ELSE t END + (1 + floor(r2 * 5)) * interval '1 day' AS t_ret
  FROM steps s
), resub AS (
  SELECT r.*,
    NOT draft AND r_ret < 0.1 AND t_ret < now() AS ret,
    t_ret + (1 + floor(r3 * 10)) * interval '1 day' AS t_resub
  FROM returns r
), outcome AS (
  SELECT x.*,
    ret AND r_resub < 0.85 AND t_resub < now() AS resubmitted
  FROM resub x
), ended AS (
  SELECT o.*,
    NOT draft AND r_open > open_share AND NOT (ret AND NOT resubmitted) AS done,
    LEAST(now(), CASE WHEN resubmitted THEN t_resub WHEN ret THEN t_ret
                      WHEN went_ip THEN t_ip ELSE t END
                 + (1 + floor(r3 * 30)) * interval '1 day') AS t_end,
    CASE WHEN went_ip THEN 'in_progress' ELSE 'received' END AS before_ret,
    CASE WHEN r_final < 0.85 THEN 'completed' WHEN r_final < 0.9 THEN 'rejected'
         ELSE 'withdrawn' END AS final_status
  FROM outcome o
)
SELECT %(base_id)s + c.n + 1 AS id, c.n, c.draft,
  CASE WHEN c.draft THEN 'portal' ELSE (ARRAY['portal', 'mynaportal', 'counter', 'paper'])[
    1 + width_bucket(c.r_chan, %(channel_cum)s::float8[])] END AS channel,
  c.t, c.t_ip, c.went_ip, c.ret, c.t_ret,
  (%(reasons)s::text[])[1 + floor(c.r4 * 4)::int] AS reason,
  c.before_ret, c.resubmitted, c.t_resub, c.done, c.f, c.g,
  floor(c.r5 * 4)::int AS children, c.r_assign, c.r_fb, c.r1, c.r2,
  CASE WHEN c.done THEN c.t_end END AS t_fin,
  CASE WHEN c.draft THEN 'draft' WHEN c.done THEN c.final_status
       WHEN c.ret AND NOT c.resubmitted THEN 'returned' ELSE c.before_ret END AS status,
  CASE WHEN c.draft THEN NULL ELSE c.year || '-' || lpad((COALESCE(rc.last_value, 0)
    + row_number() OVER (PARTITION BY p.municipality_id, c.draft, c.year ORDER BY c.n))::text,
    6, '0') END AS receipt,
  p.procedure_id, p.form_version_id, p.municipality_id, p.target_days, p.admin_id,
  p.handler_id
FROM ended c JOIN bench_proc p ON p.m = c.m AND p.idx = c.idx
LEFT JOIN applications_receiptcounter rc
  ON rc.municipality_id = p.municipality_id AND rc.year = c.year
ORDER BY c.n
""",
        params,
    )
    cursor.execute("ANALYZE bench_case")


def _child(k: int) -> str:
    return (
        "jsonb_build_object('child_name', nm.family || (ARRAY['花子','蓮','美咲','湊','結衣'])"
        f"[1 + (c.n + {k}) % 5], 'child_birth', to_char(date '2010-04-02'"
        f" + ((c.n * 7 + {k * 331}) % 5000), 'YYYY-MM-DD'))"
    )


def _insert_applications(cursor) -> None:
    # bench_case is in case order: read in one pass, the rows land in id (= time) order.
    children = (
        "CASE c.children WHEN 0 THEN '[]'::jsonb"
        + "".join(
            f" WHEN {n} THEN jsonb_build_array({', '.join(_child(k) for k in range(1, n + 1))})"
            for n in (1, 2)
        )
        + f" ELSE jsonb_build_array({', '.join(_child(k) for k in range(1, 4))}) END"
    )
    cursor.execute(
        f"""
INSERT INTO {APP} (
  id, municipality_id, procedure_id, form_version_id, channel, status, receipt_number,
  draft_values, answers, current_step, furthest_step_index, applicant_name,
  applicant_name_kana, applicant_email, verified_email, is_proxy, proxy_name, entered_by_id,
  assigned_to_id, lock_version, search_name, search_kana, resubmitted_at, source_reference,
  atena_number, identity, due_at, status_token_digest, resume_token_digest, created_at,
  updated_at, submitted_at, finished_at)
SELECT c.id, c.municipality_id, c.procedure_id, c.form_version_id, c.channel, c.status,
  c.receipt, '{{}}'::jsonb,
  CASE WHEN c.draft THEN '{{}}'::jsonb ELSE jsonb_build_object(
    'applicant_name', nm.answer,
    'email', 'user' || c.n || '@example.jp',
    'phone', '090' || lpad((c.n % 100000000)::text, 8, '0'),
    'birth_date', to_char(date '1950-01-01' + floor(c.r1 * 18000)::int, 'YYYY-MM-DD'),
    'address', '東京都千代田区千代田' || (1 + c.n % 9) || '-' || (1 + c.n % 30),
    'income', floor(c.r2 * 8000000)::int,
    'children', {children}
  ) END,
  CASE WHEN c.draft THEN 'main' ELSE '' END,
  CASE WHEN c.draft THEN (c.n % 2) ELSE 1 END,
  CASE WHEN c.draft THEN '' ELSE nm.name END,
  CASE WHEN c.draft THEN '' ELSE nm.kana END,
  CASE WHEN c.draft THEN '' ELSE 'user' || c.n || '@example.jp' END,
  '', false, '',
  CASE WHEN c.channel IN ('counter', 'paper') THEN c.admin_id END,
  CASE WHEN NOT c.draft AND c.r_assign < 0.3 THEN c.handler_id END,
  (c.went_ip::int + c.ret::int + c.resubmitted::int + c.done::int),
  CASE WHEN c.draft THEN '' ELSE nm.search_name END,
  CASE WHEN c.draft THEN '' ELSE nm.search_kana END,
  CASE WHEN c.resubmitted THEN c.t_resub END,
  '', '', '{{}}'::jsonb,
  CASE WHEN NOT c.draft THEN c.t + c.target_days * interval '1 day'
    + CASE WHEN c.resubmitted THEN c.t_resub - c.t_ret ELSE interval '0' END END,
  CASE WHEN c.draft THEN '' ELSE lpad(to_hex(c.id), 64, '0') END,
  CASE WHEN c.draft THEN 'r' || lpad(to_hex(c.id), 63, '0') ELSE '' END,
  CASE WHEN c.draft THEN c.t ELSE c.t - interval '10 minutes' END,
  COALESCE(c.t_fin, c.t_resub, c.t_ret, CASE WHEN c.went_ip THEN c.t_ip END, c.t),
  CASE WHEN c.draft THEN NULL ELSE c.t END,
  c.t_fin
FROM bench_case c JOIN bench_name nm ON nm.f = c.f AND nm.g = c.g
"""
    )


def _insert_revisions(cursor) -> None:
    cursor.execute(
        f"""
INSERT INTO {REVISION} (municipality_id, application_id, number, answers, submitted_at)
SELECT a.municipality_id, a.id, v.number, a.answers, v.at
FROM bench_case c JOIN {APP} a ON a.id = c.id
CROSS JOIN LATERAL (VALUES (1, c.t, true), (2, c.t_resub, c.resubmitted)) AS v(number, at, ok)
WHERE NOT c.draft AND v.ok
"""
    )


def _insert_progress(cursor) -> None:
    # As the application keeps them: 受付 at submission, the department's state follows the
    # case's status changes to 処理中/完了/却下; 取り下げ and 要再申請 leave it as it was.
    cursor.execute(
        f"""
INSERT INTO {PROGRESS} (municipality_id, application_id, department_id, state, updated_at,
  updated_by_id)
SELECT c.municipality_id, c.id, d.department_id,
  CASE WHEN c.status IN ('in_progress', 'completed', 'rejected') THEN c.status
       WHEN c.status IN ('returned', 'withdrawn') THEN c.before_ret ELSE 'received' END,
  COALESCE(c.t_fin, CASE WHEN c.went_ip THEN c.t_ip END, c.t), NULL
FROM bench_case c JOIN bench_proc_dept d ON d.procedure_id = c.procedure_id
WHERE NOT c.draft
"""
    )


def _insert_events(cursor) -> None:
    cursor.execute(
        f"""
INSERT INTO {EVENT} (municipality_id, application_id, kind, actor_type, actor_user_id,
  actor_client_id, from_status, to_status, message, data, created_at)
SELECT c.municipality_id, c.id, e.kind, e.actor, e.user_id, NULL, e.from_s, e.to_s, e.message,
  e.data, e.at
FROM bench_case c
CROSS JOIN LATERAL (VALUES
  (true, 'started', 'applicant', NULL::int, '', '', '', '{{}}'::jsonb,
   CASE WHEN c.draft THEN c.t ELSE c.t - interval '10 minutes' END),
  (NOT c.draft OR c.n % 2 = 1, 'step_completed', 'applicant', NULL, '', '', '',
   '{{"step": "main", "index": 0}}'::jsonb,
   CASE WHEN c.draft THEN c.t ELSE c.t - interval '10 minutes' END + interval '2 minutes'),
  (NOT c.draft, 'submitted',
   CASE WHEN c.channel IN ('counter', 'paper') THEN 'staff' ELSE 'applicant' END,
   CASE WHEN c.channel IN ('counter', 'paper') THEN c.admin_id END, 'draft', 'received', '',
   jsonb_build_object('receipt_number', c.receipt, 'channel', c.channel), c.t),
  (NOT c.draft AND c.went_ip, 'status_changed', 'staff', c.handler_id, 'received',
   'in_progress', '', '{{}}'::jsonb, c.t_ip),
  (NOT c.draft AND c.ret, 'status_changed', 'staff', c.handler_id, c.before_ret, 'returned',
   c.reason, '{{}}'::jsonb, c.t_ret),
  (c.resubmitted, 'resubmitted', 'applicant', NULL, 'returned', c.before_ret, '',
   '{{"revision": 2}}'::jsonb, c.t_resub),
  (c.done AND c.status = 'withdrawn', 'withdrawn', 'applicant', NULL, c.before_ret,
   'withdrawn', '', '{{}}'::jsonb, c.t_fin),
  (c.done AND c.status <> 'withdrawn', 'status_changed', 'staff', c.handler_id, c.before_ret,
   c.status, '', '{{}}'::jsonb, c.t_fin),
  (NOT c.draft AND c.channel = 'portal' AND c.r_fb < 0.2, 'feedback', 'applicant', NULL, '',
   '', '', jsonb_build_object('rating', 1 + floor(c.r1 * 5)::int, 'comment',
   CASE WHEN c.r2 < 0.1 THEN '使いやすかった' ELSE '' END), c.t + interval '1 minute')
) AS e(ok, kind, actor, user_id, from_s, to_s, message, data, at)
WHERE e.ok
"""
    )


def _counters(cursor) -> None:
    """The 受付番号 counters past the generated numbers, so live submissions continue."""
    cursor.execute(
        f"""
INSERT INTO applications_receiptcounter (municipality_id, year, last_value)
SELECT municipality_id, split_part(receipt_number, '-', 1)::int,
       MAX(split_part(receipt_number, '-', 2)::int)
FROM {APP} WHERE receipt_number ~ '^[0-9]{{4}}-[0-9]+$'
GROUP BY 1, 2
ON CONFLICT (municipality_id, year)
DO UPDATE SET last_value = GREATEST(applications_receiptcounter.last_value, EXCLUDED.last_value)
"""
    )


# --- checking -------------------------------------------------------------------------------


def check(world: list[Place]) -> list[str]:
    """The generated data is what the application would have written: returns the problems
    found (empty when none). Counts and keys in SQL over every row; then the inbox page, the
    review screen of cases in each status (with revisions and department progress) and an
    export of a small procedure, through the application."""
    from django.db import connection

    from madoguchi.applications.lifecycle import search_name
    from madoguchi.applications.models import Application, Status
    from madoguchi.jp.kana import search_key

    problems = []

    def scalar(sql: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()[0]

    sql_checks = {
        "status counts differ from the rows": f"""
SELECT COUNT(*) FROM (SELECT procedure_id, status, COUNT(*) AS n FROM {APP}
  GROUP BY 1, 2) r FULL JOIN applications_applicationstatuscount c USING (procedure_id, status)
WHERE r.n IS DISTINCT FROM c.count AND COALESCE(c.count, 0) <> 0""",
        "受付番号 not in submission order": f"""
SELECT COUNT(*) FROM (SELECT receipt_number, lag(receipt_number) OVER w AS previous
  FROM {APP} WHERE receipt_number IS NOT NULL
  WINDOW w AS (PARTITION BY municipality_id, left(receipt_number, 4) ORDER BY submitted_at, id)
) x WHERE previous >= receipt_number""",
        "受付番号 counter behind the numbers": f"""
SELECT COUNT(*) FROM {APP} a LEFT JOIN applications_receiptcounter c
  ON c.municipality_id = a.municipality_id AND c.year = left(a.receipt_number, 4)::int
WHERE a.receipt_number IS NOT NULL
  AND COALESCE(c.last_value, 0) < split_part(a.receipt_number, '-', 2)::int""",
        "submitted cases without their 申請 event": f"""
SELECT COUNT(*) FROM {APP} a WHERE a.status <> 'draft' AND NOT EXISTS (
  SELECT 1 FROM {EVENT} e WHERE e.application_id = a.id AND e.kind = 'submitted')""",
        "submitted cases without revision 1": f"""
SELECT COUNT(*) FROM {APP} a WHERE a.status <> 'draft' AND NOT EXISTS (
  SELECT 1 FROM {REVISION} r WHERE r.application_id = a.id AND r.number = 1)""",
        "submitted cases without department progress": f"""
SELECT COUNT(*) FROM {APP} a WHERE a.status <> 'draft' AND NOT EXISTS (
  SELECT 1 FROM {PROGRESS} p WHERE p.application_id = a.id)""",
        "status differs from the last status event": f"""
SELECT COUNT(*) FROM {APP} a JOIN LATERAL (SELECT to_status FROM {EVENT} e
  WHERE e.application_id = a.id AND e.to_status <> '' ORDER BY e.created_at DESC, e.id DESC
  LIMIT 1) last ON true WHERE a.status <> 'draft' AND last.to_status <> a.status""",
        "events after now": f"SELECT COUNT(*) FROM {EVENT} WHERE created_at > now()",
        "drafts with a history": f"""
SELECT COUNT(*) FROM {APP} a WHERE a.status = 'draft' AND (a.resubmitted_at IS NOT NULL
  OR a.lock_version <> 0 OR a.finished_at IS NOT NULL OR EXISTS (SELECT 1 FROM {EVENT} e
  WHERE e.application_id = a.id AND e.kind NOT IN ('started', 'step_completed')))""",
    }
    for problem, sql in sql_checks.items():
        found = scalar(sql)
        if found:
            problems.append(f"{problem}: {found:,}")
    rows = Application.objects.exclude(status=Status.DRAFT).values_list(
        "applicant_name", "applicant_name_kana", "search_name", "search_kana"
    )
    for name, kana, key, kana_key in rows.order_by("?")[:2000]:
        if key != search_name(name)[:200] or kana_key != search_key(kana)[:200]:
            problems.append(f"search keys of {name} / {kana}: {key} / {kana_key}")
            break
    problems += _check_screens(world)
    return problems


def _check_screens(world: list[Place]) -> list[str]:
    from django.conf import settings
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from madoguchi.applications.models import Application
    from madoguchi.exports import runner
    from madoguchi.exports.models import ExportJob

    problems = []
    settings.ALLOWED_HOSTS = ["*"]
    place = world[0]
    admin = place.users["admin"]
    device = TOTPDevice.objects.filter(user=admin, confirmed=True).first()
    device = device or TOTPDevice.objects.create(user=admin, name="bench", confirmed=True)
    client = Client()
    client.force_login(admin)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    department = place.departments[0]
    pages = [
        f"/staff/d/{department.pk}/",
        f"/staff/d/{department.pk}/?q=やまだ",
        f"/staff/d/{department.pk}/?q=美咲",
        f"/staff/d/{department.pk}/?status=returned",
    ]
    cases = Application.objects.filter(municipality=place.municipality)
    for status in ("received", "in_progress", "returned", "completed", "rejected", "withdrawn"):
        case = cases.filter(status=status).order_by("-submitted_at").first()
        if case is None:
            problems.append(f"no case in status {status}")
            continue
        pages.append(f"/staff/applications/{case.pk}/")
    resubmitted = cases.filter(resubmitted_at__isnull=False).first()
    if resubmitted:
        pages.append(f"/staff/applications/{resubmitted.pk}/")
    for url in pages:
        response = client.get(url)
        if response.status_code != 200:
            problems.append(f"GET {url}: HTTP {response.status_code}")
    # An export of the least used procedure (a sample), all form columns, CP932.
    procedure = place.procedures[-1]
    job = ExportJob.objects.create(
        municipality=place.municipality,
        requested_by=admin,
        procedure=procedure,
        format=ExportJob.Format.CSV,
        encoding=ExportJob.Encoding.CP932,
    )
    runner.run(job.pk)
    job.refresh_from_db()
    expected = cases.filter(procedure=procedure).exclude(status="draft").count()
    if job.state != ExportJob.State.DONE or job.done_rows != expected:
        problems.append(f"export: {job.state}, {job.done_rows} rows of {expected}: {job.error}")
    else:
        with job.file.open("rb") as f:
            lines = f.read().decode("cp932").splitlines()
        if len(lines) < expected + 1:
            problems.append(f"export file: {len(lines)} lines for {expected} rows")
    if job.file:
        job.file.delete(save=False)
    job.delete()
    return problems


def bench_main(script: str, run) -> int:
    """A bench's entry point: `run(size)` here when this process has one size to run (a
    child of `report.run_sizes`), else one child per size and the growth table."""
    import report

    chosen = sizes()
    if os.environ.get("BENCH_CURRENT_SIZE") and len(chosen) == 1:
        return run(chosen[0]) or 0
    return report.run_sizes(script, chosen)


def main(argv: list[str]) -> int:
    """Generate each size (one child process per size: Django is set up on one database per
    process)."""
    import subprocess

    chosen = sizes(argv)
    if len(chosen) > 1:
        status = 0
        for size in chosen:
            command = [sys.executable, __file__, "--size", label(size)]
            command += ["--check"] if "--check" in argv else []
            status |= subprocess.run(command).returncode
        return status
    (size,) = chosen
    print(f"== {label(size)}: {database_url(size)}", flush=True)
    world = prepare(size)
    if "--check" in argv:
        problems = check(world)
        for problem in problems:
            print(f"  CHECK FAILED: {problem}")
        print(f"check: {'ok' if not problems else f'{len(problems)} problem(s)'}")
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
