"""Benchmarks, run with `make bench` (or `.venv/bin/python bench/run.py [form|inbox|export|api]`,
all of them when no name is given). Prints figures; nothing here asserts a time, and none of
this runs in the test suite. Each benchmark runs in its own process (each sets up Django on
its own database).

inbox / export / api / kpi (bench/inbox_bench.py, export_bench.py, api_bench.py,
kpi_bench.py): the generated cases of bench/dataset.py, one dedicated PostgreSQL database per
size (madoguchi_bench_10k, _100k, _1m; BENCH_DATABASE_URL with "{size}"), each bench run at
every size of BENCH_SIZES (default 10k,100k,1M; `--size 10k,100k` here too) with its figures
printed side by side per size; skipped with a message when PostgreSQL cannot be reached.

builder (bench/builder_bench.py): 様式作成 on a 100-field form in its own PostgreSQL database
(BUILDER_BENCH_DATABASE_URL): open the builder (< 1 s), save one field (< 150 ms), preview
refresh (< 200 ms).

submission (bench/submission_bench.py): a resident's complete submission as the load test's
resident files it (every GET and POST of the journey, through Django's test client on its own
PostgreSQL database, SUBMISSION_BENCH_DATABASE_URL, prepared as the load test prepares its):
CPU time and SQL statements per request kind and per complete submission, beside the front
page.

connection (bench/connection_check_bench.py): the check of a persistent connection before a
request's first query, Django's SELECT 1 against ours (madoguchi.ops.postgresql), per request
of the portal's front page through the WSGI handler, in its own PostgreSQL database.

form (bench/form_bench.py): render (GET) and validate (POST) one step holding 100 fields of
mixed types through Django's test client, on a throw-away SQLite database; wall and CPU time per
request beside the portal front page and the form engine alone. Target: median under 30 ms per
request on the 2-core reference machine.
"""

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
BENCHES = {
    "form": BENCH_DIR / "form_bench.py",
    "inbox": BENCH_DIR / "inbox_bench.py",
    "export": BENCH_DIR / "export_bench.py",
    "mynaportal": BENCH_DIR / "mynaportal_bench.py",
    "api": BENCH_DIR / "api_bench.py",
    "kpi": BENCH_DIR / "kpi_bench.py",
    "builder": BENCH_DIR / "builder_bench.py",
    "submission": BENCH_DIR / "submission_bench.py",
    "connection": BENCH_DIR / "connection_check_bench.py",
}


def postgres_reachable() -> bool:
    import psycopg

    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    admin = url.replace("postgres://", "postgresql://", 1).rsplit("/", 1)[0] + "/postgres"
    try:
        psycopg.connect(admin, connect_timeout=3).close()
    except Exception as exc:
        print(f"PostgreSQL not reachable ({type(exc).__name__}): inbox/export benchmarks skipped")
        return False
    return True


def main(argv: list[str]) -> int:
    """Run the benches named (all by default), then one summary table of every figure they
    emitted (bench/report.py)."""
    import subprocess

    sizes = []
    if "--size" in argv:
        i = argv.index("--size")
        sizes = argv[i : i + 2]
        argv = argv[:i] + argv[i + 2 :]
    names = argv or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
        return 2
    status = 0
    pg = None
    with tempfile.NamedTemporaryFile(prefix="bench-", suffix=".jsonl", delete=False) as f:
        results = f.name
    env = {**os.environ, report.VARIABLE: results}
    env.pop("BENCH_CURRENT_SIZE", None)
    try:
        for name in names:
            command = [sys.executable, str(BENCHES[name]), *sizes]
            if name == "form":  # SQLite: needs no PostgreSQL
                status |= subprocess.run(command, env=env).returncode
                continue
            if pg is None:
                pg = postgres_reachable()
            if pg:
                status |= subprocess.run(command, env=env).returncode
        print()
        load = " ".join(f"{v:.1f}" for v in os.getloadavg())
        print(f"summary (median/p95; limit = the same work alone; load average now {load})")
        report.summary_table(report.read(results))
    finally:
        os.unlink(results)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
