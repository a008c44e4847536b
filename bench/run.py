"""Benchmarks, run with `make bench` (or `.venv/bin/python bench/run.py [form|inbox|export|api]`,
all of them when no name is given). Prints figures; nothing here asserts a time, and none of
this runs in the test suite. Each benchmark runs in its own process (each sets up Django on
its own database).

inbox / export / api (bench/inbox_bench.py, bench/export_bench.py, bench/api_bench.py):
1,000,000 applications in a
dedicated PostgreSQL database (BENCH_DATABASE_URL); skipped with a message when PostgreSQL
cannot be reached.

kpi (bench/kpi_bench.py): the KPI dashboard's queries on 1,000,000 applications and ~5,000,000
events in its own PostgreSQL database (KPI_BENCH_DATABASE_URL, default madoguchi_kpi_bench).

builder (bench/builder_bench.py): 様式作成 on a 100-field form in its own PostgreSQL database
(BUILDER_BENCH_DATABASE_URL): open the builder (< 1 s), save one field (< 150 ms), preview
refresh (< 200 ms).

form_100_fields: render (GET) and validate (POST) one step holding 100 fields of mixed types
through Django's test client, on a throw-away SQLite database. Target: median under 30 ms per
request on the 2-core reference machine.
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "200"))


def hundred_field_form() -> dict:
    extras = {
        "integer": {"min": 0, "max": 100},
        "money": {"min": 0, "max": 10_000_000},
        "select": {"options": [{"value": f"o{i}", "label": f"選択肢{i}"} for i in range(5)]},
    }
    fields = []
    for i in range(100):
        kind = KIND_ORDER[i % len(KIND_ORDER)]
        extra = extras.get(kind, {})
        fields.append(
            {"key": f"f{i}", "type": kind, "label": f"項目{i}", "required": True, **extra}
        )
    return {
        "title": "100項目のフォーム",
        "steps": [{"key": "all", "title": "すべて", "fields": fields}],
    }


KIND_ORDER = [
    "text",
    "katakana",
    "date",
    "phone",
    "email",
    "integer",
    "money",
    "select",
    "yesno",
    "postal_code",
]
VALID_VALUES = {
    "text": "東京都千代田区",
    "katakana": "やまだ",
    "phone": "03-1234-5678",
    "email": "taro@example.jp",
    "integer": "42",
    "money": "12000",
    "select": "o2",
    "yesno": "yes",
    "postal_code": "100-0001",
}


def valid_post() -> dict:
    data = {"_action": "next"}
    for i in range(100):
        kind, key = KIND_ORDER[i % len(KIND_ORDER)], f"f{i}"
        if kind == "date":
            data.update(
                {
                    f"{key}__era": "令和",
                    f"{key}__year": "6",
                    f"{key}__month": "5",
                    f"{key}__day": "1",
                }
            )
        else:
            data[key] = VALID_VALUES[kind]
    return data


def median_ms(fn) -> tuple[float, float]:
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9)]


def form_bench() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="madoguchi-bench-"))
    os.environ["MADOGUCHI_VAR_DIR"] = str(workdir)
    (workdir / "static").mkdir()  # WhiteNoise looks for collectstatic output
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from madoguchi.applications import services
    from madoguchi.catalog.models import FormVersion, Procedure
    from madoguchi.tenants.models import Municipality

    call_command("migrate", verbosity=0)
    municipality = Municipality.objects.create(lg_code="131016", name="千代田区")
    procedure = Procedure.objects.create(
        municipality=municipality,
        slug="bench",
        name="ベンチマーク",
        reading="べんちまーく",
        category="other",
    )
    FormVersion.new_draft(procedure, schema=hundred_field_form()).publish()
    procedure.refresh_from_db()
    _application, token = services.start_draft(procedure)
    url = f"/131016/apply/{token}/all/"
    client = Client()
    data = valid_post()

    first = client.get(url)
    assert first.status_code == 200, first.status_code
    check = client.post(url, data)
    if check.status_code != 302:
        body = check.content.decode()
        print(
            "warning: the valid POST did not pass validation; errors shown:",
            body.count("dads-error-text"),
        )

    get_median, get_p90 = median_ms(lambda: client.get(url))
    post_median, post_p90 = median_ms(lambda: client.post(url, data))
    print(f"form_100_fields  rounds={ROUNDS}")
    print(f"  render   (GET)  median {get_median:6.1f} ms   p90 {get_p90:6.1f} ms")
    print(f"  validate (POST) median {post_median:6.1f} ms   p90 {post_p90:6.1f} ms")
    print("  target: median < 30 ms per request")


BENCH_DIR = Path(__file__).resolve().parent
BENCHES = {
    "form": None,  # this file
    "inbox": BENCH_DIR / "inbox_bench.py",
    "export": BENCH_DIR / "export_bench.py",
    "mynaportal": BENCH_DIR / "mynaportal_bench.py",
    "api": BENCH_DIR / "api_bench.py",
    "kpi": BENCH_DIR / "kpi_bench.py",
    "builder": BENCH_DIR / "builder_bench.py",
}


def postgres_reachable() -> bool:
    import psycopg

    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/madoguchi_bench")
    admin = url.replace("postgres://", "postgresql://", 1).rsplit("/", 1)[0] + "/postgres"
    try:
        psycopg.connect(admin, connect_timeout=3).close()
    except Exception as exc:
        print(f"PostgreSQL not reachable ({type(exc).__name__}): inbox/export benchmarks skipped")
        return False
    return True


def main(argv: list[str]) -> int:
    import subprocess

    names = argv or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
        return 2
    if names == ["form"] or os.environ.get("BENCH_FORM_CHILD"):
        form_bench()
        return 0
    status = 0
    pg = None
    for name in names:
        if name == "form":
            env = {**os.environ, "BENCH_FORM_CHILD": "1"}
            status |= subprocess.run([sys.executable, __file__, "form"], env=env).returncode
            continue
        if pg is None:
            pg = postgres_reachable()
        if pg:
            status |= subprocess.run([sys.executable, str(BENCHES[name])]).returncode
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
