"""API benchmark on the generated cases of bench/dataset.py (one database per size, default
10k, 100k and 1M, printed side by side; --size or BENCH_SIZES). Prints figures; asserts
nothing.

    .venv/bin/python bench/api_bench.py [--size 1M]     # or: python bench/run.py api

Timed through Django's test client (whole stack: middleware, token authentication, scope,
throttle, serialisation), for a client with a grant on every procedure:
list (first page of 100, a filtered page, a deep cursor page, not_acknowledged) and detail
(random cases): first each list URL and one detail through the full request with its SQL
statement count beside the same statements run alone (the ratio is what the application adds
to its SQL), then mixes with 1 and 8 concurrent clients (threads, each with its own connection;
BENCH_API_REQUESTS requests per thread, default 100). Aims with one client: list median
< 50 ms, p95 < 150 ms.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dataset  # noqa: E402
import inbox_bench  # noqa: E402
import report  # noqa: E402

REQUESTS = int(os.environ.get("BENCH_API_REQUESTS", "100"))


def percentile(samples: list[float], p: float) -> float:
    samples = sorted(samples)
    return samples[min(len(samples) - 1, max(0, int(round(len(samples) * p)) - 1))]


def ensure_client(municipality):
    from madoguchi.api.credentials import issue_token
    from madoguchi.api.models import ApiClient, ApiGrant

    client, _ = ApiClient.objects.get_or_create(
        client_id="bench-api",
        defaults={"municipality": municipality, "name": "bench", "rate_limit_per_minute": 10**6},
    )
    ApiGrant.objects.get_or_create(
        client=client, procedure=None, defaults={"can_read_attachments": True}
    )
    token, _ = issue_token(client)
    return token


def run(urls_for_thread, threads: int) -> list[float]:
    from django.db import connection
    from django.test import Client

    samples: list[float] = []
    lock = threading.Lock()

    def worker(i: int):
        http = Client(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        mine = []
        for url in urls_for_thread(i):
            t = time.perf_counter()
            response = http.get(url)
            mine.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        with lock:
            samples.extend(mine)
        connection.close()

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return samples


def main() -> int:
    return dataset.bench_main(__file__, run_size)


def run_size(size: int) -> None:
    global TOKEN
    municipality, _departments, procedures, _users = inbox_bench.prepare(size)
    from django.conf import settings

    from madoguchi.applications.models import Application

    settings.ALLOWED_HOSTS = ["*"]
    TOKEN = ensure_client(municipality)
    from django.test import Client

    http = Client(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    total = Application.objects.filter(municipality=municipality).count()
    # A cursor ~50,000 rows in at 1M (found once, outside the timing).
    deep = http.get("/api/v1/applications?limit=1").json()["next_cursor"]
    row = (
        Application.objects.filter(municipality=municipality)
        .exclude(status="draft")
        .order_by("submitted_at", "pk")
        .values_list("submitted_at", "pk")[min(50_000, total // 20)]
    )
    from madoguchi.api.views import encode_cursor

    deep = encode_cursor("received", row[0], row[1])
    numbers = list(
        Application.objects.filter(municipality=municipality)
        .exclude(status="draft")
        .order_by("?")
        .values_list("receipt_number", flat=True)[:2000]
    )
    slug = procedures[0].slug
    lists = [
        "/api/v1/applications",
        f"/api/v1/applications?procedure={slug}&status=in_progress",
        f"/api/v1/applications?cursor={deep}",
        "/api/v1/applications?not_acknowledged=true",
        "/api/v1/applications?order=updated&limit=50",
    ]
    rng = random.Random(1)

    def list_urls(i):
        return [lists[(i + k) % len(lists)] for k in range(REQUESTS)]

    def detail_urls(i):
        return [f"/api/v1/applications/{rng.choice(numbers)}" for _ in range(REQUESTS)]

    for warm in lists:
        http.get(warm)
    print(f"api_bench  applications={total:,}  requests per thread={REQUESTS}")
    print("  one request at a time, through the full request beside its SQL alone:")
    labels = ["list: first page", "list: procedure + status", "list: deep cursor"]
    labels += ["list: not_acknowledged", "list: order=updated, 50"]
    for label, url in zip(labels, lists, strict=True):
        inbox_bench.view_figures(http, label, url, median_aim=50, bench="api")
    inbox_bench.view_figures(
        http, "detail", f"/api/v1/applications/{numbers[0]}", median_aim=50, bench="api"
    )
    for label, urls in (("list", list_urls), ("detail", detail_urls)):
        for threads in (1, 8):
            t0 = time.perf_counter()
            samples = run(urls, threads)
            elapsed = time.perf_counter() - t0
            median, p95 = statistics.median(samples), percentile(samples, 0.95)
            flag = ""
            if threads == 1 and label == "list":
                flag = "ok" if median < 50 and p95 < 150 else "over aim"
            report.emit(
                "api",
                f"{label} mix, {threads} client{'s' if threads > 1 else ''}",
                median=median,
                p95=p95,
                target="< 50 / < 150 ms" if flag else "",
            )
            print(
                f"  {label:<6} clients={threads}  median {median:7.1f} ms   p95 {p95:7.1f} ms"
                f"   {len(samples) / elapsed:6.0f} req/s  {flag}"
            )
    print("  aims (1 client, list): median < 50 ms, p95 < 150 ms")


TOKEN = ""

if __name__ == "__main__":
    sys.exit(main())
