#!/usr/bin/env bash
# Runs the test suite on the real services when they answer.
# With CI=true PostgreSQL, Redis and Chromium are required: a missing one fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

answers() { # host port
  "$PY" - "$1" "$2" <<'PYEOF'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
except OSError:
    sys.exit(1)
PYEOF
}

ci="${CI:-false}"
if [ -z "${DATABASE_URL:-}" ]; then
  if answers 127.0.0.1 5432; then
    export DATABASE_URL="postgres://postgres@127.0.0.1:5432/contactcenter"
  elif [ "$ci" = "true" ]; then
    echo "CI=true but PostgreSQL does not answer on 127.0.0.1:5432" >&2; exit 1
  else
    echo "PostgreSQL not found: running on SQLite; PostgreSQL-only tests will skip."
  fi
fi
if [ -z "${REDIS_URL:-}" ]; then
  if answers 127.0.0.1 6379; then
    export REDIS_URL="redis://127.0.0.1:6379/${TEST_REDIS_DB:-9}"
  elif [ "$ci" = "true" ]; then
    echo "CI=true but Redis does not answer on 127.0.0.1:6379" >&2; exit 1
  else
    echo "Redis not found: in-memory channel layer; Redis-only tests will skip."
  fi
fi
if [ "$ci" = "true" ] && [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  echo "CI=true but Chromium is missing at ${CHROMIUM_PATH:-/usr/bin/chromium}" >&2; exit 1
fi
# Most tests run tasks in-process; the worker tests start a real Celery worker themselves.
export CELERY_TASK_ALWAYS_EAGER=true
echo "database: ${DATABASE_URL:-sqlite}  redis: ${REDIS_URL:-none}"
# Three workers on two cores: most long tests wait on servers, browsers and workers, not the CPU
# (measured: 6m15s with 3 workers; 8 to 10 minutes with 2). Each xdist worker has its
# own test database and Redis db (settings.py). The long tests are collected first
# (tests/conftest.py) and handed out two at a time, so that no worker is left with a queue of
# them at the end while the others idle.
exec "$PY" -m pytest -n "${PYTEST_WORKERS:-3}" --maxschedchunk=2 "$@"
