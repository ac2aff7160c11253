#!/usr/bin/env bash
# Makes sure the services edgeshop needs are installed and running on this machine:
# PostgreSQL (>= 15) with an `edgeshop` role, and Redis. Debian/Ubuntu packages are
# installed where missing. Sourced by run.sh and test.sh; safe to run again and again.

set -euo pipefail

EDGESHOP_PG_HOST="${EDGESHOP_PG_HOST:-127.0.0.1}"
EDGESHOP_PG_PORT="${EDGESHOP_PG_PORT:-5432}"
EDGESHOP_REDIS_PORT="${EDGESHOP_REDIS_PORT:-6379}"

say() { printf '\033[1m[edgeshop]\033[0m %s\n' "$*" >&2; }

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    say "please install: $* (this script installs packages only on Debian/Ubuntu)"
    return 1
  fi
  say "installing $* ..."
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

postgres_up() {
  pg_isready -q -h "$EDGESHOP_PG_HOST" -p "$EDGESHOP_PG_PORT" 2>/dev/null
}

ensure_postgres() {
  if ! command -v pg_isready >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    if ! postgres_up 2>/dev/null; then
      apt_install postgresql postgresql-client
    fi
  fi
  if ! postgres_up; then
    say "starting PostgreSQL ..."
    if command -v pg_ctlcluster >/dev/null 2>&1; then
      for version in $(ls /etc/postgresql); do
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
      done
    elif command -v systemctl >/dev/null 2>&1; then
      as_root systemctl start postgresql
    fi
    for _ in $(seq 1 30); do postgres_up && break; sleep 1; done
    postgres_up || { say "PostgreSQL did not start"; return 1; }
  fi
  ensure_edgeshop_role
  local version
  version=$(PGPASSWORD=edgeshop psql -h "$EDGESHOP_PG_HOST" -p "$EDGESHOP_PG_PORT" -U edgeshop -d postgres -w -Atqc 'SHOW server_version_num')
  if [ "$version" -lt 150000 ]; then
    say "PostgreSQL 15 or newer is needed (the schema uses UNIQUE NULLS NOT DISTINCT); found $version"
    return 1
  fi
}

# psql as the database superuser: over TCP where the server trusts local connections,
# else through the `postgres` OS account (peer authentication).
psql_superuser() {
  if psql -h "$EDGESHOP_PG_HOST" -p "$EDGESHOP_PG_PORT" -U postgres -d postgres -w -Atqc 'SELECT 1' >/dev/null 2>&1; then
    psql -h "$EDGESHOP_PG_HOST" -p "$EDGESHOP_PG_PORT" -U postgres -d postgres -w -v ON_ERROR_STOP=1 -Atq "$@"
  elif [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- psql -p "$EDGESHOP_PG_PORT" -d postgres -v ON_ERROR_STOP=1 -Atq "$@"
  else
    sudo -u postgres psql -p "$EDGESHOP_PG_PORT" -d postgres -v ON_ERROR_STOP=1 -Atq "$@"
  fi
}

# The shop connects as `edgeshop` (password `edgeshop`, may create databases: the core creates
# its own in development, and every test gets a fresh one).
ensure_edgeshop_role() {
  if PGPASSWORD=edgeshop psql -h "$EDGESHOP_PG_HOST" -p "$EDGESHOP_PG_PORT" -U edgeshop -d postgres -w -Atqc 'SELECT 1' >/dev/null 2>&1; then
    return 0
  fi
  say "creating the PostgreSQL role edgeshop ..."
  psql_superuser -c "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'edgeshop') THEN
        CREATE ROLE edgeshop LOGIN PASSWORD 'edgeshop' CREATEDB;
      ELSE
        ALTER ROLE edgeshop LOGIN PASSWORD 'edgeshop' CREATEDB;
      END IF;
    END \$\$;"
}

# Creates the database a URL names, as the edgeshop role, if it does not exist.
ensure_database() {
  local url="$1" name="${1##*/}"
  name="${name%%\?*}"
  local server="${url%/*}"
  if ! psql "$server/postgres" -w -Atqc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
    say "creating the database $name ..."
    psql "$server/postgres" -w -v ON_ERROR_STOP=1 -qc "CREATE DATABASE \"$name\""
  fi
}

redis_up() {
  redis-cli -h 127.0.0.1 -p "$EDGESHOP_REDIS_PORT" ping 2>/dev/null | grep -q PONG
}

ensure_redis() {
  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    apt_install redis-server redis-tools
  fi
  if ! redis_up; then
    say "starting Redis ..."
    # Redis is a cache and a counter store here: PostgreSQL holds the truth, so nothing is
    # persisted to disk.
    redis-server --daemonize yes --bind 127.0.0.1 --port "$EDGESHOP_REDIS_PORT" \
      --save "" --appendonly no --dir /tmp --logfile /tmp/edgeshop-redis.log
    for _ in $(seq 1 30); do redis_up && break; sleep 0.2; done
    redis_up || { say "Redis did not start"; return 1; }
  fi
}

# Workers runs wasm32-unknown-unknown; Spin runs WASI components (wasm32-wasip2).
ensure_rust_targets() {
  local target
  for target in wasm32-unknown-unknown wasm32-wasip2; do
    rustup target list --installed 2>/dev/null | grep -q "^${target}\$" \
      || rustup target add "$target"
  done
}

# Headless Chromium and its WebDriver, for the storefront's browser test.
ensure_browser() {
  if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    apt_install chromium chromium-driver
  fi
}

# The load tool draws its chart's text with DejaVu Sans.
ensure_fonts() {
  if [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
    apt_install fonts-dejavu-core
  fi
}

# A script's background servers: each in a process group of its own (so stopping it stops
# what it started), their output in $SERVERS_LOG, all stopped by stop_servers.
server_pids=()
start_server() { setsid "$@" >>"$SERVERS_LOG" 2>&1 & server_pids+=("$!"); }
stop_servers() {
  for pid in "${server_pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
}
wait_for_url() { # url
  for _ in $(seq 1 300); do curl -sf -o /dev/null "$1" && return 0; sleep 1; done
  say "$1 did not answer; the servers said:"; tail -50 "$SERVERS_LOG"; return 1
}

# The edge for load runs and benchmarks, with the waiting room's key and without the edge's
# per-address limit (every simulated client is 127.0.0.1). Both read EDGESHOP_EDGE_SECRET.
# start_edge_worker PORT DIR CORE_URL JWT_KEY ADMISSION_KEY [edge-dev-server.mjs args...]: the
# Worker under wrangler's dev server without its DevTools inspector (scripts/edge-dev-server.mjs),
# its state in DIR; worker_runtime_url DIR then prints the address of its runtime.
start_edge_worker() {
  local port=$1 dir=$2 core=$3 jwt=$4 admission=$5
  shift 5
  export EDGE_NPM
  start_server node scripts/edge-dev-server.mjs --ip 127.0.0.1 --port "$port" \
    --var "CORE_URL:$core" --var "EDGE_JWT_PUBLIC_KEY:$jwt" --var "EDGE_SECRET:$EDGESHOP_EDGE_SECRET" \
    --var "ADMISSION_KEY:$admission" --var "EDGE_RATE_LIMIT_PER_IP:0" \
    --persist-to "$dir/wrangler" --runtime-url-file "$dir/edge-runtime-url" "$@"
}
worker_runtime_url() { # dir
  # Written once the Worker is loaded (wrangler builds it first).
  for _ in $(seq 1 300); do [ -s "$1/edge-runtime-url" ] && break; sleep 1; done
  [ -s "$1/edge-runtime-url" ] || { say "the Worker did not start:"; tail -50 "$SERVERS_LOG"; return 1; }
  cat "$1/edge-runtime-url"
}
# start_edge_spin PORT CORE_URL JWT_KEY ADMISSION_KEY KV_PREFIX: the Spin component (release)
# under edgeshop-spin-host.
start_edge_spin() {
  SPIN_VARIABLE_CORE_URL="$2" SPIN_VARIABLE_EDGE_JWT_PUBLIC_KEY="$3" \
    SPIN_VARIABLE_EDGE_SECRET="$EDGESHOP_EDGE_SECRET" SPIN_VARIABLE_ADMISSION_KEY="$4" \
    SPIN_VARIABLE_EDGE_RATE_LIMIT_PER_IP=0 SPIN_KV_PREFIX="$5" \
    start_server "$CARGO_TARGET_DIR/release/edgeshop-spin-host" --addr "127.0.0.1:$1" \
    "$CARGO_TARGET_DIR/wasm32-wasip2/release/edgeshop_edge_spin.wasm"
}

ensure_services() {
  ensure_postgres
  ensure_redis
}
