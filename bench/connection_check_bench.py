"""The connection check before a request's first query (CONN_HEALTH_CHECKS, production):
Django's `SELECT 1` against ours (madoguchi.ops.postgresql: nothing sent to a quiet
connection). Asserts nothing.

    .venv/bin/python bench/connection_check_bench.py     # or: python bench/run.py connection

On its own PostgreSQL database (CONNECTION_BENCH_DATABASE_URL, default
bench_connection_check) with one municipality: the portal's front page requested through
Django's WSGI handler, as a gunicorn worker serves it (the test client would turn the check
off), with a persistent connection and the check on; the two checks in turns, their order
alternating from one round to the next. Prints the CPU time (this thread) and the wall time
per request with each check, and the check alone.
"""

from __future__ import annotations

import io
import logging
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchdb  # noqa: E402
import report  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_connection_check"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "12"))
PER_ROUND = int(os.environ.get("BENCH_REQUESTS", "300"))
LG_CODE = "131016"


def main() -> int:
    benchdb.setup_django(
        benchdb.database_url("CONNECTION_BENCH_DATABASE_URL", DEFAULT_URL),
        prefix="madoguchi-bench-connection-",
    )
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connections
    from django.db.backends.postgresql.base import DatabaseWrapper as DjangoWrapper
    from django.test import RequestFactory

    from madoguchi.ops.postgresql.base import DatabaseWrapper as OurWrapper
    from madoguchi.tenants.models import Municipality

    logging.getLogger("madoguchi").setLevel(logging.ERROR)  # a line per request otherwise
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["*"]
    Municipality.objects.get_or_create(
        lg_code=LG_CODE, defaults={"name": "千代田区", "prefecture": "東京都"}
    )
    connection = connections["default"]
    if not isinstance(connection, OurWrapper) or not connection.settings_dict["CONN_HEALTH_CHECKS"]:
        print("the settings do not name madoguchi.ops.postgresql with health checks on")
        return 1
    handler = WSGIHandler()
    factory = RequestFactory()
    path = f"/{LG_CODE}/"

    def request() -> None:
        environ = factory.get(path).environ
        environ["wsgi.input"] = io.BytesIO(b"")
        environ["wsgi.errors"] = io.StringIO()
        status = []
        response = handler(environ, lambda line, headers, exc_info=None: status.append(line))
        b"".join(response)
        response.close()
        if not status[0].startswith("200"):
            raise SystemExit(f"{path} answered {status[0]}")

    checks = {"SELECT 1 (Django)": DjangoWrapper.is_usable, "socket (ours)": OurWrapper.is_usable}

    def timed(check, count: int, fn) -> tuple[float, float]:
        type(connection).is_usable = check
        cpu, wall = time.thread_time(), time.perf_counter()
        for _ in range(count):
            fn()
        return (
            (time.thread_time() - cpu) / count * 1000,
            (time.perf_counter() - wall) / count * 1000,
        )

    try:
        for check in checks.values():
            timed(check, 100, request)  # warm: templates, the connection
        figures: dict[str, list[tuple[float, float]]] = {name: [] for name in checks}
        alone: dict[str, list[tuple[float, float]]] = {name: [] for name in checks}
        names = list(checks)
        for round_ in range(ROUNDS):
            for name in names if round_ % 2 == 0 else reversed(names):
                figures[name].append(timed(checks[name], PER_ROUND, request))
                alone[name].append(timed(checks[name], PER_ROUND, connection.is_usable))
    finally:
        type(connection).is_usable = OurWrapper.is_usable

    print(
        f"portal front page through the WSGI handler, persistent connection, check on; "
        f"median of {ROUNDS} rounds of {PER_ROUND} requests, the checks in turns:"
    )
    medians = {}
    for name in names:
        cpu = statistics.median(c for c, _ in figures[name])
        wall = statistics.median(w for _, w in figures[name])
        check_cpu = statistics.median(c for c, _ in alone[name]) * 1000
        check_wall = statistics.median(w for _, w in alone[name]) * 1000
        medians[name] = (cpu, wall)
        report.emit("connection", f"front page, check {name}, CPU", median=cpu)
        print(
            f"  {name:18s} {cpu:6.3f} ms CPU, {wall:6.3f} ms wall per request; "
            f"the check alone {check_cpu:5.1f} µs CPU, {check_wall:5.1f} µs wall"
        )
    (django_cpu, django_wall), (our_cpu, our_wall) = medians[names[0]], medians[names[1]]
    print(
        f"  saved per request: {django_cpu - our_cpu:.3f} ms CPU, "
        f"{django_wall - our_wall:.3f} ms wall (and the server's work for the statement)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
