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

form (bench/form_bench.py): render (GET) and validate (POST) one step holding 100 fields of
mixed types through Django's test client, on a throw-away SQLite database; wall and CPU time per
request beside the portal front page and the form engine alone. Target: median under 30 ms per
request on the 2-core reference machine.
"""

import os
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
BENCHES = {
    "form": BENCH_DIR / "form_bench.py",
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
    status = 0
    pg = None
    for name in names:
        if name == "form":  # SQLite: needs no PostgreSQL
            status |= subprocess.run([sys.executable, str(BENCHES[name])]).returncode
            continue
        if pg is None:
            pg = postgres_reachable()
        if pg:
            status |= subprocess.run([sys.executable, str(BENCHES[name])]).returncode
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
