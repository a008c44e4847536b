"""One form step of 100 fields of mixed types: render (GET) and validate (POST) through
Django's test client (every middleware, the database, the templates; no network), on a
throw-away SQLite database.

    .venv/bin/python bench/form_bench.py        # or: make bench / python bench/run.py form

Per request it reports the wall time AND the CPU time of this process (`time.process_time`):
on a busy machine the wall time mostly measures the other processes, the CPU time measures
our work. Beside the form step it measures the portal front page (the municipality's
procedure list) as the yardstick of "one ordinary page", and the form engine alone (render
and validate without the HTTP stack, the database or the page template) as the limit the
request could approach. It also counts the SQL statements of each request and prints the
load average.

Targets: median under 30 ms per request on the 2-core reference machine; a form step's CPU
within 3x of the front page's. Nothing here asserts a time. BENCH_ROUNDS (default 200)
requests each. The POST is sent as the page's <form> says (url-encoded unless the step takes
files); BENCH_FORM_MULTIPART=1 sends it as multipart/form-data anyway.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "200"))
TARGET_MS = 30.0
FRONT_RATIO = 3.0

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


class Figures:
    """Wall and CPU milliseconds of ROUNDS calls."""

    def __init__(self, fn, rounds: int = ROUNDS):
        fn()  # warm-up (template loading, first query plans)
        wall, cpu = [], []
        for _ in range(rounds):
            start_cpu, start = time.process_time(), time.perf_counter()
            fn()
            wall.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        self.wall = self._stats(wall)
        self.cpu = self._stats(cpu)

    @staticmethod
    def _stats(samples: list[float]) -> tuple[float, float]:
        samples.sort()
        return statistics.median(samples), samples[int(len(samples) * 0.9)]


def count_queries(fn) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        fn()
    return len(captured.captured_queries)


def load_average() -> str:
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg()) + f"  ({os.cpu_count()} CPUs)"
    except OSError:
        return "unknown"


def setup() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="madoguchi-bench-"))
    os.environ["MADOGUCHI_VAR_DIR"] = str(workdir)
    (workdir / "static").mkdir()  # WhiteNoise looks for collectstatic output
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def main() -> None:
    setup()
    from django.test import Client

    from madoguchi.applications import services
    from madoguchi.catalog.models import FormVersion, Procedure
    from madoguchi.formengine.rendering import render_step
    from madoguchi.formengine.validation import collect_raw, validate_step
    from madoguchi.tenants.models import Municipality

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
    front_url = "/131016/"
    url = f"/131016/apply/{token}/all/"
    client = Client()
    data = valid_post()

    front = client.get(front_url)
    assert front.status_code == 200, front.status_code
    first = client.get(url)
    assert first.status_code == 200, first.status_code
    # POST the way a browser sends this page's <form>: multipart only when it says so.
    # BENCH_FORM_MULTIPART=1 posts multipart anyway (as a step with a file field is sent).
    multipart = 'enctype="multipart/form-data"' in first.content.decode() or bool(
        os.environ.get("BENCH_FORM_MULTIPART")
    )
    if multipart:
        post = partial(client.post, url, data)
    else:
        post = partial(
            client.post,
            url,
            urlencode(data),
            content_type="application/x-www-form-urlencoded",
        )
    check = post()
    if check.status_code != 302:
        body = check.content.decode()
        print(
            "warning: the valid POST did not pass validation; errors shown:",
            body.count("dads-error-text"),
        )

    queries = {
        "front": count_queries(lambda: client.get(front_url)),
        "get": count_queries(lambda: client.get(url)),
        "post": count_queries(post),
    }
    load_before = load_average()
    front_fig = Figures(lambda: client.get(front_url))
    get_fig = Figures(lambda: client.get(url))
    post_fig = Figures(post)

    # The form engine alone, on the form of a freshly loaded version (as a request has it).
    version = FormVersion.objects.select_related("procedure").get(procedure=procedure)
    form = version.form
    step = form.step("all")
    raw = collect_raw(step, data)
    engine_render = Figures(lambda: render_step(form, "all", raw, [], {"answers": {}}))
    engine_validate = Figures(
        lambda: validate_step(form, "all", collect_raw(step, data), {}, {}, None)
    )
    load_after = load_average()

    def line(name: str, fig: Figures, sql: int | None = None) -> str:
        wall, cpu = fig.wall, fig.cpu
        text = (
            f"  {name:<22} wall median {wall[0]:6.1f} ms  p90 {wall[1]:6.1f} ms   "
            f"cpu median {cpu[0]:6.1f} ms  p90 {cpu[1]:6.1f} ms"
        )
        return text + (f"   sql {sql}" if sql is not None else "")

    front_cpu = front_fig.cpu[0]
    for name, fig, engine, sql in (
        ("form step render (GET)", get_fig, engine_render, queries["get"]),
        ("form step validate (POST)", post_fig, engine_validate, queries["post"]),
    ):
        report.emit("form", f"{name}, wall", median=fig.wall[0], target=f"< {TARGET_MS:.0f} ms")
        report.emit(
            "form",
            f"{name}, CPU",
            median=fig.cpu[0],
            limit=engine.cpu[0],
            limit_label="engine alone",
            statements=sql,
        )
    print(f"form_100_fields  rounds={ROUNDS}  python {sys.version.split()[0]}")
    print(f"  load average {load_before} before, {load_after} after")
    print(
        f"  POST body: {'multipart/form-data' if multipart else 'url-encoded'} (as the page's form)"
    )
    print(line("front page (GET)", front_fig, queries["front"]))
    print(line("form step render (GET)", get_fig, queries["get"]))
    print(line("form step valid. (POST)", post_fig, queries["post"]))
    print(line("engine render", engine_render))
    print(line("engine validate", engine_validate))
    print(
        f"  form step cpu / front page cpu: GET {get_fig.cpu[0] / front_cpu:4.1f}x  "
        f"POST {post_fig.cpu[0] / front_cpu:4.1f}x   (target <= {FRONT_RATIO:.0f}x)"
    )
    print(
        f"  request cpu / engine cpu (the limit): GET "
        f"{get_fig.cpu[0] / engine_render.cpu[0]:4.1f}x  POST "
        f"{post_fig.cpu[0] / engine_validate.cpu[0]:4.1f}x"
    )
    print(
        f"  target: median < {TARGET_MS:.0f} ms per request (wall on a quiet machine, CPU always)"
    )


if __name__ == "__main__":
    main()
