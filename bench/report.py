"""Machine-readable figures of the benchmarks, and the tables printed from them.

Every bench child process calls `emit(...)` for each figure it measures: one JSON line is
appended to the file named by BENCH_RESULTS (nothing happens when it is unset, so a bench run
on its own just prints). `bench/run.py` sets BENCH_RESULTS, runs the benches and ends with
`summary_table` over everything collected; a bench run at several sizes prints
`growth_table` (the same figure side by side per size, with the growth factor from one size to
the next, so a step worse than the data's growth shows).

A line: {"bench", "figure", "size", "median", "p95", "unit", "target", "limit",
"limit_label", "ratio", "statements", "load"}; absent values are null.
"""

from __future__ import annotations

import json
import os
from itertools import pairwise
from pathlib import Path

VARIABLE = "BENCH_RESULTS"


def emit(
    bench: str,
    figure: str,
    *,
    median: float,
    p95: float | None = None,
    unit: str = "ms",
    size: int | None = None,
    target: str = "",
    limit: float | None = None,
    limit_label: str = "",
    statements: float | None = None,
) -> dict:
    """Record one figure (to BENCH_RESULTS when set). `limit`: the same work without the
    application around it (the SQL alone, COPY, bare verification) in the same unit; the
    ratio is computed from it."""
    ratio = median / limit if limit else None
    record = {
        "bench": bench,
        "figure": figure,
        "size": size if size is not None else current_size(),
        "median": round(median, 3),
        "p95": None if p95 is None else round(p95, 3),
        "unit": unit,
        "target": target,
        "limit": None if limit is None else round(limit, 3),
        "limit_label": limit_label,
        "ratio": None if ratio is None else round(ratio, 2),
        "statements": statements,
        "load": round(os.getloadavg()[0], 1),
    }
    path = os.environ.get(VARIABLE)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return record


def current_size() -> int | None:
    value = os.environ.get("BENCH_CURRENT_SIZE")
    return int(value) if value else None


def read(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def size_label(size: int | None) -> str:
    if not size:
        return "-"
    if size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    if size % 1_000 == 0:
        return f"{size // 1_000}k"
    return str(size)


def _value(record: dict) -> str:
    unit = record["unit"]
    if record["p95"] is None:
        return f"{record['median']:.1f} {unit}"
    return f"{record['median']:.1f}/{record['p95']:.1f} {unit}"


def _width(text: str) -> int:
    """Display width: East Asian wide characters take two columns."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  " + "  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)))


def growth_table(records: list[dict]) -> None:
    """One row per figure, one column per size (median/p95), then the growth factor of the
    median from each size to the next."""
    sizes = sorted({r["size"] for r in records if r["size"]})
    figures: dict[tuple[str, str], dict[int, dict]] = {}
    for r in records:
        figures.setdefault((r["bench"], r["figure"]), {})[r["size"]] = r
    header = ["figure", *(size_label(s) for s in sizes)]
    header += [f"{size_label(a)}→{size_label(b)}" for a, b in pairwise(sizes)]
    rows = []
    for (bench, figure), by_size in figures.items():
        row = [f"{bench}: {figure}"]
        row += [_value(by_size[s]) if s in by_size else "" for s in sizes]
        for a, b in pairwise(sizes):
            if a in by_size and b in by_size and by_size[a]["median"]:
                row.append(f"×{by_size[b]['median'] / by_size[a]['median']:.1f}")
            else:
                row.append("")
        rows.append(row)
    if rows:
        print(f"cost growth (median/p95; data ×{sizes[-1] // sizes[0] if sizes else 1} overall)")
        _print_table(header, rows)


def ratio_text(ratio: float | None) -> str:
    """A ratio as the aims state it: two decimals below 1 (the intake's aim is ≥ 0.6, and
    0.55 must not print as 0.6), one above (≤ 3x)."""
    if ratio is None:
        return ""
    return f"{ratio:.2f}x" if ratio < 1 else f"{ratio:.1f}x"


def statements_text(statements: float | None) -> str:
    """SQL statements per request: a mean over journeys is shown to one decimal."""
    if statements is None:
        return ""
    return f"{statements:.1f}".removesuffix(".0") if statements >= 1 else f"{statements:.2f}"


def summary_table(records: list[dict]) -> None:
    """Everything measured: figure, target, measured (median/p95), limit, ratio, size, load."""
    header = ["figure", "target", "measured", "limit", "ratio", "SQL", "size", "load"]
    rows = []
    for r in records:
        limit = ""
        if r["limit"] is not None:
            limit = f"{r['limit']:.1f} {r['unit']} ({r['limit_label']})"
        rows.append(
            [
                f"{r['bench']}: {r['figure']}",
                r["target"] or "",
                _value(r),
                limit,
                ratio_text(r["ratio"]),
                statements_text(r["statements"]),
                size_label(r["size"]),
                f"{r['load']:.1f}",
            ]
        )
    if rows:
        _print_table(header, rows)


def run_sizes(script: str, sizes: list[int], extra_env: dict | None = None) -> int:
    """Run `script` once per size (a child process each: Django is set up on one database
    per process), then print the growth table of what they emitted."""
    import subprocess
    import sys
    import tempfile

    status = 0
    parent = os.environ.get(VARIABLE)
    with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as tmp:
        mine = tmp.name
    try:
        for size in sizes:
            env = {
                **os.environ,
                **(extra_env or {}),
                VARIABLE: mine,
                "BENCH_CURRENT_SIZE": str(size),
                "BENCH_SIZES": str(size),
            }
            status |= subprocess.run(
                [sys.executable, script, "--size", str(size)], env=env
            ).returncode
        records = read(mine)
        if len(sizes) > 1:
            growth_table(records)
        if parent:
            with open(parent, "a", encoding="utf-8") as f:
                for record in records:
                    f.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        os.unlink(mine)
    return status
