#!/usr/bin/env bash
# The edge against the core, side by side in one run: the same product's JSON fetched from the
# edge (the Worker under wrangler dev, and the Spin component under edgeshop-spin-host, both
# answering from their edge cache) and from the core directly. wrk drives each in turn with the
# same connections and duration and the figures are printed together, with the Wasm size of each
# adapter, raw and gzip.
#
#   ./scripts/bench-edge.sh
#   BENCH_SECONDS=20 BENCH_CONNECTIONS=64 ./scripts/bench-edge.sh

set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh

SECONDS_EACH="${BENCH_SECONDS:-10}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
CORE_BIND="${BENCH_CORE_BIND:-127.0.0.1:18080}"
WORKERS_PORT="${BENCH_WORKERS_PORT:-18787}"
SPIN_PORT="${BENCH_SPIN_PORT:-13000}"

ensure_services
ensure_rust_targets
command -v wrk >/dev/null 2>&1 || apt_install wrk
source scripts/edge-toolchain.sh
ensure_edge_toolchain

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/edgeshop/target}"
say "building (release) ..."
cargo build --release -p edgeshop-core --bin edgeshop-core -p edgeshop-spin-host --bin edgeshop-spin-host
cargo build --release -p edgeshop-edge-spin --target wasm32-wasip2
bash scripts/build-worker.sh >/dev/null

scratch=$(mktemp -d)
export SERVERS_LOG="$scratch/servers.log"
trap 'stop_servers; rm -rf "$scratch"' EXIT

export DATABASE_URL="${BENCH_DATABASE_URL:-postgres://edgeshop:edgeshop@127.0.0.1:5432/edgeshop_bench_edge}"
export EDGESHOP_BIND="$CORE_BIND" EDGESHOP_JWT_PRIVATE_KEY_FILE="$scratch/jwt.pem" RUST_LOG=warn
export EDGESHOP_ADMISSION_KEY_FILE="$scratch/admission.key"
export REDIS_KEY_PREFIX="bench-edge:" EDGESHOP_EDGE_SECRET="bench-edge-secret-0123"
core="$CARGO_TARGET_DIR/release/edgeshop-core"
"$core" seed --products 1000 >/dev/null
start_server "$core" serve
core_url="http://$CORE_BIND"
wait_for_url "$core_url/healthz"
key=$(curl -sf "$core_url/.well-known/jwks.json" | sed -n 's/.*"x":"\([^"]*\)".*/\1/p')
product=$(curl -sf "$core_url/api/products?size=1" | sed -n 's/.*"productId":"\([0-9]*\)".*/\1/p' | head -1)

start_server wrangler dev --ip 127.0.0.1 --port "$WORKERS_PORT" --inspector-port "$((WORKERS_PORT + 1))" \
  --var "CORE_URL:$core_url" --var "EDGE_JWT_PUBLIC_KEY:$key" --var "EDGE_SECRET:$EDGESHOP_EDGE_SECRET" \
  --persist-to "$scratch/wrangler" --show-interactive-dev-session=false
spin_wasm="$CARGO_TARGET_DIR/wasm32-wasip2/release/edgeshop_edge_spin.wasm"
SPIN_VARIABLE_CORE_URL="$core_url" SPIN_VARIABLE_EDGE_JWT_PUBLIC_KEY="$key" SPIN_KV_PREFIX="bench-edge-spin:" \
  start_server "$CARGO_TARGET_DIR/release/edgeshop-spin-host" --addr "127.0.0.1:$SPIN_PORT" "$spin_wasm"

path="/api/products/$product"
declare -A urls=(
  [core]="$core_url$path"
  [workers]="http://127.0.0.1:$WORKERS_PORT$path"
  [spin]="http://127.0.0.1:$SPIN_PORT$path"
)
for name in core workers spin; do wait_for_url "${urls[$name]}"; done

# The processes that answer each URL (their command names, as /proc has them).
declare -A serving=([core]="edgeshop-core" [workers]="workerd" [spin]="edgeshop-spin-h")
# CPU seconds the named processes have used so far (user and system).
cpu_seconds() {
  local ticks=0 pid
  for pid in $(pgrep -x "$1"); do
    ticks=$((ticks + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t / hz}'
}
# What a browser sends with a JSON request; every request's headers cross into the edge's Wasm.
headers=(-H "accept: application/json" -H "accept-language: en-US,en;q=0.9"
  -H "user-agent: Mozilla/5.0 (X11; Linux x86_64) edgeshop-bench"
  -H "x-correlation-id: 7b0f6c5e-2a7e-4b8a-9d65-3c1f0a9e4d21")

say "product $product, $CONNECTIONS connections, ${SECONDS_EACH}s each"
printf '%-28s %12s %10s %10s %14s\n' "GET $path from" "requests/s" "p50" "p99" "CPU µs/request"
for name in core workers spin; do
  # A short warm-up fills the edge cache and the core's, then the measured run.
  wrk -t2 -c"$CONNECTIONS" -d2s "${headers[@]}" "${urls[$name]}" >/dev/null
  before=$(cpu_seconds "${serving[$name]}")
  out=$(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency "${headers[@]}" "${urls[$name]}")
  after=$(cpu_seconds "${serving[$name]}")
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  count=$(awk '/requests in/ {print $1}' <<<"$out")
  per_request=$(awk -v a="$before" -v b="$after" -v n="$count" 'BEGIN {printf "%.0f", (b - a) * 1e6 / n}')
  errors=$(awk '/Non-2xx|Socket errors/' <<<"$out")
  printf '%-28s %12s %10s %10s %14s %s\n' "$name" "$rps" "$p50" "$p99" "$per_request" "$errors"
done

say "Wasm size of each adapter"
for wasm in edge/workers/build/index_bg.wasm "$spin_wasm"; do
  raw=$(stat -c %s "$wasm")
  gz=$(gzip -9 -c "$wasm" | wc -c)
  printf '%-60s raw %8d B   gzip %8d B\n' "${wasm#"$CARGO_TARGET_DIR/"}" "$raw" "$gz"
done
