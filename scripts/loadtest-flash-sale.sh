#!/usr/bin/env bash
# A whole flash sale on this machine: PostgreSQL, Redis, the sandbox gateway, the core and the
# edge (the Worker under wrangler's dev server by default; LOADTEST_EDGE=spin for the Spin component),
# with prepared buyers, driven by edgeshop-loadtest. The report and chart go to
# bench-results/flash-sale/ (report.md, report.json, chart.png).
#
#   ./scripts/loadtest-flash-sale.sh                       # 100,000 buyers, 10,000 units
#   LOADTEST_BUYERS=5000 LOADTEST_UNITS=500 ./scripts/loadtest-flash-sale.sh
#
# With the Worker (the default), buyers talk to the runtime `wrangler dev` starts, past its
# reload proxy (LOADTEST_EDGE_ENTRY=proxy: through it). The edge runs as LOADTEST_EDGE_NODES
# nodes (2 for the Worker, 1 for Spin), each buyer keeping to one, as buyers reach the point of
# presence nearest them: a Worker's requests run on one thread of its runtime, so one dev
# server uses one core of the two (the README has two against one, measured).
#
# Every simulated buyer comes from 127.0.0.1, so the per-address limits are turned off (the
# per-buyer one and the cap on checkouts in flight stay on), and the admission rate is raised
# (30,000 a minute) above what this machine can check out, so that the system, not the rate,
# limits the sale. Admission is not held back for checkouts (LOADTEST_MAX_ACTIVE_BUYERS,
# 1,000,000 admitted buyers on their way at most): measured here, pacing it by checkouts
# (1,000, the sale's default) shortens the wait in checkout but sells slower. Early joiners
# join over the 90 s before the start. Extra arguments go to the tool.
#
# LOADTEST_EDGE_PROFILE_SECONDS=30 also samples the Worker's CPU through its inspector for
# that long from the sale's start (scripts/profile-edge.mjs): edge-profile.txt and
# edge.cpuprofile beside the report. The inspector slows the edge, so such a run's figures
# are not the system's.

set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh

BUYERS="${LOADTEST_BUYERS:-100000}"
UNITS="${LOADTEST_UNITS:-10000}"
EDGE="${LOADTEST_EDGE:-workers}"
NODES="${LOADTEST_EDGE_NODES:-$([ "$EDGE" = workers ] && echo 2 || echo 1)}"
[[ "$NODES" =~ ^[1-9][0-9]*$ ]] || { say "LOADTEST_EDGE_NODES must be a whole number, at least 1"; exit 1; }
ENTRY="${LOADTEST_EDGE_ENTRY:-runtime}"
[[ "$ENTRY" == runtime || "$ENTRY" == proxy ]] || { say "LOADTEST_EDGE_ENTRY must be runtime or proxy"; exit 1; }
CORE_BIND="${LOADTEST_CORE_BIND:-127.0.0.1:28080}"
EDGE_PORT="${LOADTEST_EDGE_PORT:-28787}"
GATEWAY_BIND="${LOADTEST_GATEWAY_BIND:-127.0.0.1:28090}"

ensure_services
ensure_rust_targets
ensure_fonts
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/edgeshop/target}"
say "building (release) ..."
cargo build --release -p edgeshop-core --bin edgeshop-core -p edgeshop-gateway --bin edgeshop-gateway \
  -p edgeshop-loadtest --bin edgeshop-loadtest
case "$EDGE" in
  workers) source scripts/edge-toolchain.sh; ensure_edge_toolchain; bash scripts/build-worker.sh >/dev/null ;;
  spin)
    cargo build --release -p edgeshop-spin-host --bin edgeshop-spin-host
    cargo build --release -p edgeshop-edge-spin --target wasm32-wasip2
    ;;
  *) say "LOADTEST_EDGE must be workers or spin"; exit 1 ;;
esac

scratch=$(mktemp -d)
export SERVERS_LOG="$scratch/servers.log"
trap 'stop_servers; rm -rf "$scratch"' EXIT

bin="$CARGO_TARGET_DIR/release"
export DATABASE_URL="${LOADTEST_DATABASE_URL:-postgres://edgeshop:edgeshop@127.0.0.1:5432/edgeshop_loadtest}"
# A fresh database each run (the core creates it on first use).
psql "${DATABASE_URL%/*}/postgres" -w -qc "DROP DATABASE IF EXISTS \"${DATABASE_URL##*/}\"" >/dev/null
export EDGESHOP_BIND="$CORE_BIND" RUST_LOG=warn REDIS_KEY_PREFIX="loadtest:$(date +%s):"
export EDGESHOP_JWT_PRIVATE_KEY_FILE="$scratch/jwt.pem" EDGESHOP_ADMISSION_KEY_FILE="$scratch/admission.key"
export EDGESHOP_EDGE_SECRET="loadtest-edge-secret-0123"
export EDGESHOP_RATE_LIMIT_PER_IP=0 EDGESHOP_SWEEP_INTERVAL_SECONDS=1 DATABASE_MAX_CONNECTIONS=40
export GATEWAY_BIND PAYMENT_GATEWAY_URL="http://$GATEWAY_BIND"

"$bin/edgeshop-core" seed --products 100 >/dev/null
"$bin/edgeshop-core" user create --email admin@edgeshop.local --password edgeshop-admin --role admin \
  --if-missing >/dev/null
say "preparing $BUYERS buyers ..."
"$bin/edgeshop-core" user load-test-buyers --count "$BUYERS" --prefix "sale" --out "$scratch/buyers.csv"

start_server "$bin/edgeshop-gateway"
start_server "$bin/edgeshop-core" serve
core_url="http://$CORE_BIND"
wait_for_url "$core_url/healthz"
key=$(curl -sf "$core_url/.well-known/jwks.json" | sed -n 's/.*"x":"\([^"]*\)".*/\1/p')
admission=$(cat "$EDGESHOP_ADMISSION_KEY_FILE")
edge_urls=()
for ((node = 0; node < NODES; node++)); do
  port=$((EDGE_PORT + node))
  edge_url="http://127.0.0.1:$port"
  case "$EDGE" in
    workers)
      # wrangler's dev server without its DevTools inspector; buyers go to the Worker's runtime
      # directly, not through the dev server's reload proxy, unless LOADTEST_EDGE_ENTRY=proxy
      # (see scripts/edge-dev-server.mjs). One node at a time: each runs the Worker's build
      # once as it starts. The first node is the one profiled.
      dir="$scratch/edge-$node"
      mkdir -p "$dir"
      profiled=()
      if [ "$node" = 0 ] && [ -n "${LOADTEST_EDGE_PROFILE_SECONDS:-}" ]; then
        profiled=(--inspector-port "${LOADTEST_EDGE_INSPECTOR_PORT:-9229}"
          --inspector-url-file "$scratch/edge-inspector")
      fi
      start_edge_worker "$port" "$dir" "$core_url" "$key" "$admission" ${profiled[@]+"${profiled[@]}"}
      runtime=$(worker_runtime_url "$dir")
      if [ "$ENTRY" = runtime ]; then edge_url=$runtime; fi
      ;;
    spin)
      start_edge_spin "$port" "$core_url" "$key" "$admission" "loadtest-edge:$(date +%s):$node:"
      ;;
  esac
  wait_for_url "$edge_url/api/cart"
  edge_urls+=("$edge_url")
done
edge_list=$(IFS=,; echo "${edge_urls[*]}")

say "the sale: $BUYERS buyers, $UNITS units, edge $EDGE ($NODES node(s)) at $edge_list"
mkdir -p bench-results/flash-sale
# A profile beside the report is this run's or none.
rm -f bench-results/flash-sale/edge-profile.txt bench-results/flash-sale/edge.cpuprofile
if [ -n "${LOADTEST_EDGE_PROFILE_SECONDS:-}" ] && [ ! -s "$scratch/edge-inspector" ]; then
  say "no profile: the Worker's inspector is not known (LOADTEST_EDGE=workers profiles)"
elif [ -n "${LOADTEST_EDGE_PROFILE_SECONDS:-}" ]; then
  (
    sleep "${LOADTEST_START_IN:-90}"
    node scripts/profile-edge.mjs --inspector "$(cat "$scratch/edge-inspector")" \
      --seconds "$LOADTEST_EDGE_PROFILE_SECONDS" --out bench-results/flash-sale/edge.cpuprofile \
      > bench-results/flash-sale/edge-profile.txt 2>&1 || say "the edge's profile failed (edge-profile.txt)"
  ) &
fi
"$bin/edgeshop-loadtest" flash-sale --edge "$edge_list" --core "$core_url" \
  --buyers-file "$scratch/buyers.csv" --units "$UNITS" \
  --admission-rate "${LOADTEST_ADMISSION_RATE:-30000}" --max-active-buyers "${LOADTEST_MAX_ACTIVE_BUYERS:-1000000}" \
  --token-ttl "${LOADTEST_TOKEN_TTL:-20}" \
  --start-in "${LOADTEST_START_IN:-90}" --late-window "${LOADTEST_LATE_WINDOW:-30}" \
  --concurrency "${LOADTEST_CONCURRENCY:-256}" \
  --out bench-results/flash-sale "$@"
