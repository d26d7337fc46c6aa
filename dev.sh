#!/usr/bin/env bash
# The two commands of the README:
#   ./dev.sh run   set up, migrate, build the demo district, serve http://127.0.0.1:8000
#   ./dev.sh test  set up (browser included), run the whole suite on SQLite and PostgreSQL, ruff
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
VENV="${GRIDGOV_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"

log() { printf '\033[1;34m==> %s\033[0m\n' "$*"; }

find_python() {
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      echo "$candidate"; return
    fi
  done
  echo "gridgov needs Python 3.11 (python3.11 or python3 on PATH)" >&2; exit 1
}

setup_python() {
  if [ ! -x "$PY" ]; then
    log "Creating virtualenv $VENV"
    "$(find_python)" -m venv "$VENV"
  fi
  local stamp="$VENV/.gridgov-installed"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
    log "Installing Python dependencies"
    "$PY" -m pip install --quiet --upgrade pip
    "$PY" -m pip install --quiet -c constraints.txt -e ".[test]"
    touch "$stamp"
  fi
}

setup_node() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "Installing front-end libraries (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

migrate() {
  log "Migrating the database"
  "$PY" -m gridgov migrate --noinput -v 0
}

ensure_services() {
  # The test suite talks to PostgreSQL and Redis; start them if they are down.
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    log "Starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
    log "Starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  fi
}

setup_browser() {
  # Browser tests drive Debian's Chromium; Playwright never downloads a browser here. The
  # scale-out test makes network namespaces with iproute2's `ip`.
  if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi 'wqy' || ! command -v ip >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
      log "Installing Debian's chromium, fonts-wqy-microhei and iproute2"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei iproute2 >/dev/null
    else
      echo "Browser tests need /usr/bin/chromium: sudo apt-get install chromium fonts-wqy-microhei" >&2
    fi
  fi
}

setup_fonts() {
  # PDF reports embed a Chinese font; Debian's WenQuanYi Micro Hei is the one looked for first.
  if ! fc-list 2>/dev/null | grep -qi 'wqy'; then
    if [ "$(id -u)" = 0 ]; then
      log "Installing fonts-wqy-microhei (for PDF reports)"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null
    else
      echo "PDF reports need a Chinese font: sudo apt-get install fonts-wqy-microhei" >&2
    fi
  fi
}

cmd_run() {
  setup_python
  setup_node
  setup_fonts
  migrate
  "$PY" -m gridgov demo --profile "${GRIDGOV_DEMO_PROFILE:-fengqiao}"
  log "Starting the background worker (huey: time limits, escalation)"
  local var_dir="${GRIDGOV_VAR_DIR:-$ROOT/var}"; mkdir -p "$var_dir"
  "$PY" -m gridgov run_huey --workers 1 --flush-locks >"$var_dir/huey.log" 2>&1 &
  local huey_pid=$!
  trap 'kill $huey_pid 2>/dev/null' EXIT INT TERM
  log "Serving on http://127.0.0.1:8000 (Ctrl-C to stop)"
  "$VENV/bin/gunicorn" gridgov.wsgi --bind 127.0.0.1:8000 --workers 2 --threads 4 \
    --access-logfile - --log-level warning \
    --access-logformat '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'  # path only: a search query may hold an ID number
}

run_suite() {
  local label=$1; shift
  log "Test suite on $label"
  env "$@" "$PY" -m pytest -p no:cacheprovider
}

cmd_test() {
  setup_python
  setup_node
  ensure_services
  setup_browser
  log "ruff"
  "$VENV/bin/ruff" check gridgov bench
  local tmp; tmp=$(mktemp -d)
  run_suite "SQLite" GRIDGOV_VAR_DIR="$tmp/sqlite" DATABASE_URL="sqlite:///$tmp/sqlite/db.sqlite3"
  run_suite "PostgreSQL" GRIDGOV_VAR_DIR="$tmp/pg" \
    DATABASE_URL="${GRIDGOV_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
  rm -rf "$tmp"
}

case "${1:-}" in
  run) shift; cmd_run "$@" ;;
  test) shift; cmd_test "$@" ;;
  *) echo "usage: ./dev.sh run | ./dev.sh test" >&2; exit 2 ;;
esac
