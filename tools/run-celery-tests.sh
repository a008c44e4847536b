#!/usr/bin/env bash
# Outbox delivery through a real Celery worker: Redis as the broker, PostgreSQL shared by the
# worker and the check (tools/check_celery_outbox.py); then the マイナポータル kill tests
# (tests/channels/mynaportal/test_worker_kill.py, test_orphans.py) on a test database of that server. Creates a dedicated database and a
# dedicated queue for this run, starts `celery -A madoguchi worker --pool=solo`, runs the
# check, then stops the worker and drops the database.
#
#   tools/run-celery-tests.sh            # prints "celery_outbox: N passed, M failed"
#
# DATABASE_URL_PG (default postgres://postgres@127.0.0.1:5432/test) names the server (the
# database part is replaced); CELERY_CHECK_REDIS_URL (default redis://127.0.0.1:6379/15).
# When Redis or PostgreSQL is not reachable the check is skipped (exit 0), except in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/.venv/bin"
PG_URL="${DATABASE_URL_PG:-postgres://postgres@127.0.0.1:5432/test}"
REDIS="${CELERY_CHECK_REDIS_URL:-redis://127.0.0.1:6379/15}"
DB_NAME="madoguchi_celery_check_$$"
ADMIN_URL="${PG_URL/postgres:\/\//postgresql://}"

if ! "$BIN/python" - "$ADMIN_URL" "$REDIS" <<'PY'
import sys, psycopg, redis
try:
    psycopg.connect(sys.argv[1], connect_timeout=3).close()
    redis.Redis.from_url(sys.argv[2], socket_connect_timeout=3).ping()
except Exception as exc:
    print(f"celery_outbox: skipped ({type(exc).__name__}: {exc})")
    sys.exit(1)
PY
then
  [ "${CI:-}" = "true" ] && { echo "Redis and PostgreSQL are required in CI" >&2; exit 1; }
  exit 0
fi

WORK="$(mktemp -d)"
WORKER_PID=""
pg() {  # run one statement on the server (autocommit: CREATE/DROP DATABASE)
  "$BIN/python" - "$ADMIN_URL" "$1" <<'PY'
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as connection:
    connection.execute(sys.argv[2])
PY
}
cleanup() {
  if [ -n "$WORKER_PID" ] && kill -0 "$WORKER_PID" 2>/dev/null; then
    kill -TERM "$WORKER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$WORKER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$WORKER_PID" 2>/dev/null || true
    wait "$WORKER_PID" 2>/dev/null || true
  fi
  pg "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" || true
  rm -rf "$WORK"
}
trap cleanup EXIT

export DATABASE_URL="${PG_URL%/*}/$DB_NAME"
export REDIS_URL="$REDIS"
export CELERY_QUEUE="madoguchi-check-$$"
export EMAIL_BACKEND="check_celery_outbox.SwitchableBackend"
export MADOGUCHI_CHECK_MAIL_DIR="$WORK/mail"
export MADOGUCHI_VAR_DIR="$WORK/var"
export DJANGO_SETTINGS_MODULE="madoguchi.settings"
export PYTHONPATH="$PWD/tools${PYTHONPATH:+:$PYTHONPATH}"
export LOG_LEVEL="${LOG_LEVEL:-WARNING}"

pg "CREATE DATABASE $DB_NAME"
"$BIN/madoguchi" migrate --noinput -v 0

"$BIN/celery" -A madoguchi worker --pool=solo -l warning -Q "$CELERY_QUEUE" \
  -n "check-$$@%h" --without-gossip --without-mingle >"$WORK/worker.log" 2>&1 &
WORKER_PID=$!

rc=0
"$BIN/python" tools/check_celery_outbox.py || rc=$?
if [ "$rc" -ne 0 ]; then
  echo "---- worker log (last 40 lines)"
  tail -n 40 "$WORK/worker.log" || true
fi

# マイナポータル: a worker SIGKILLed mid-delivery and restarted (the test starts its own
# worker and simulator), and an import process SIGKILLed mid-write followed by the orphan
# sweep and the next pull. pytest-django creates (and drops) test_<name> on the same server;
# this process runs its own tasks inline like any test run, so the variables above that
# point Celery at Redis are removed for it.
env -u REDIS_URL -u CELERY_QUEUE -u EMAIL_BACKEND -u MADOGUCHI_CHECK_MAIL_DIR \
  DATABASE_URL="${PG_URL%/*}/madoguchi_mynaportal_check_$$" CELERY_CHECK_REDIS_URL="$REDIS" \
  MADOGUCHI_VAR_DIR="$WORK/pytest-var" \
  "$BIN/pytest" -q -p no:cacheprovider \
  tests/channels/mynaportal/test_worker_kill.py tests/channels/mynaportal/test_orphans.py || rc=$?
exit "$rc"
