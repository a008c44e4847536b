"""Probes for processes that serve no HTTP: `python -m madoguchi.ops.probe beat FILE`
succeeds while Celery beat keeps writing its schedule file (it syncs it every few minutes),
fails when the file is missing or older than MAX_AGE (a hung or dead beat)."""

from __future__ import annotations

import os
import sys
import time

MAX_AGE_SECONDS = 15 * 60


def beat_alive(
    schedule_file: str, *, now: float | None = None, max_age: float = MAX_AGE_SECONDS
) -> bool:
    candidates = [schedule_file, schedule_file + ".db", schedule_file + ".dat"]
    mtimes = [os.path.getmtime(path) for path in candidates if os.path.exists(path)]
    if not mtimes:
        return False
    return ((now if now is not None else time.time()) - max(mtimes)) <= max_age


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] != "beat":
        print("usage: python -m madoguchi.ops.probe beat SCHEDULE_FILE", file=sys.stderr)
        return 2
    if beat_alive(argv[2]):
        return 0
    print("beat schedule file missing or stale", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
