#!/usr/bin/env bash
# Runs the whole test suite twice: on SQLite (the embedded default) and on PostgreSQL
# (production). Browser tests need Debian's chromium (/usr/bin/chromium); see tools/ensure-browser.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG_URL="${DATABASE_URL_PG:-postgres://postgres@127.0.0.1:5432/test}"

bash tools/ensure-browser.sh || true
bash tools/ensure-xmlsec.sh || true
# Not optional: the receipt tests check the glyphs the embedded PDF font draws.
bash tools/ensure-fonts.sh

export MADOGUCHI_VAR_DIR="$(mktemp -d)"
trap 'rm -rf "$MADOGUCHI_VAR_DIR"' EXIT

echo "== deployment artifacts (rendered and checked offline)"
bash tools/check-deploy.sh

echo "== tests on SQLite"
env -u DATABASE_URL "$BIN/pytest" -n 2 -q "$@"

if "$BIN/python" - "$PG_URL" <<'PY'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1].replace("postgres://", "postgresql://"), connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL not reachable: {exc}")
    sys.exit(1)
PY
then
  echo "== outbox delivery through a real Celery worker (Redis + PostgreSQL)"
  bash tools/run-celery-tests.sh
  echo "== tests on PostgreSQL"
  DATABASE_URL="$PG_URL" "$BIN/pytest" -n 2 -q "$@"
  if [ "$#" -eq 0 ]; then
    # The whole cluster (HAProxy, 2 app servers, 2 workers, beat, Redis, S3) under load for a
    # minute with an app server and a worker killed and Redis restarted; it stops every
    # process it started, and exits 1 when a check after the run fails.
    echo "== cluster load test with faults (short)"
    LOADTEST_PG_URL="${PG_URL%/*}/postgres" "$BIN/python" bench/load/cluster.py --short
  fi
elif [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL is required in CI" >&2
  exit 1
else
  echo "== PostgreSQL not reachable at $PG_URL: skipped the PostgreSQL run (set DATABASE_URL_PG)"
fi
