#!/usr/bin/env bash
# The edge against the core, side by side in one run, on the requests a shop's edge answers
# itself: a product's JSON (each edge from its edge cache; the core directly is the baseline)
# and a flash sale's waiting room (a buyer's status poll and join, which every buyer of a sale
# sends and the edge answers without the core). The Worker runs under wrangler's dev server
# (as in the flash-sale load test: without the DevTools inspector, addressed at its runtime)
# and the Spin component under edgeshop-spin-host. wrk drives each in turn with the same
# connections and duration; the figures are printed together, with the CPU each server used
# per request and the Wasm size of each adapter, raw and gzip. The Worker's requests run on
# one thread, so 1,000,000 / its CPU µs per request is what it can answer a second at most.
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
# A fresh database each run (the core creates it on first use): no earlier run's sale in the way.
psql "${DATABASE_URL%/*}/postgres" -w -qc "DROP DATABASE IF EXISTS \"${DATABASE_URL##*/}\"" >/dev/null
core="$CARGO_TARGET_DIR/release/edgeshop-core"
"$core" seed --products 1000 >/dev/null
start_server "$core" serve
core_url="http://$CORE_BIND"
wait_for_url "$core_url/healthz"
key=$(curl -sf "$core_url/.well-known/jwks.json" | sed -n 's/.*"x":"\([^"]*\)".*/\1/p')
product=$(curl -sf "$core_url/api/products?size=1" | sed -n 's/.*"productId":"\([0-9]*\)".*/\1/p' | head -1)

admission=$(cat "$EDGESHOP_ADMISSION_KEY_FILE")
start_edge_worker "$WORKERS_PORT" "$scratch" "$core_url" "$key" "$admission"
start_edge_spin "$SPIN_PORT" "$core_url" "$key" "$admission" "bench-edge-spin:$(date +%s):"
workers_url=$(worker_runtime_url "$scratch")
declare -A base=([core]="$core_url" [workers]="$workers_url" [spin]="http://127.0.0.1:$SPIN_PORT")
path="/api/products/$product"
for name in core workers spin; do wait_for_url "${base[$name]}$path"; done

# A flash sale an hour away, and a buyer in its waiting room (joined at the Worker: both edges
# share the admission key, so either checks the ticket).
# api METHOD URL [curl args...]: the answer's body; a refusal stops the bench, saying why.
api() {
  local method=$1 url=$2 answer status
  shift 2
  answer=$(curl -s -X "$method" -w '\n%{http_code}' "$@" "$url")
  status=${answer##*$'\n'}
  answer=${answer%$'\n'*}
  [[ $status == 2* ]] || { say "$method $url answered $status: $answer"; exit 1; }
  printf '%s' "$answer"
}
field() { sed -n "s/.*\"$1\":\"\\{0,1\\}\\([^\",]*\\).*/\\1/p"; }
json=(-H 'content-type: application/json')
"$core" user create --email admin@edgeshop.local --password edgeshop-admin --role admin \
  --if-missing >/dev/null
admin=(-H "authorization: Bearer $(api POST "$core_url/api/auth/login" "${json[@]}" \
  -d '{"email":"admin@edgeshop.local","password":"edgeshop-admin"}' | field accessToken)")
# The sale's item, stocked in one warehouse (the seeded products are stocked per variant).
category=$(api GET "$core_url/api/categories" | field categoryId)
console=$(api POST "$core_url/api/admin/products" "${admin[@]}" "${json[@]}" \
  -d "{\"name\":\"Bench Console\",
  \"brand\":\"Edgeshop\",\"categoryId\":\"$category\",\"currency\":\"USD\",\"basePrice\":\"499.00\",
  \"sku\":\"BENCH-CONSOLE\",\"maxQuantityPerOrder\":1}" | field productId)
warehouse=$(api GET "$core_url/api/admin/warehouses" "${admin[@]}" | field warehouseId)
api PUT "$core_url/api/admin/inventory" "${admin[@]}" "${json[@]}" \
  -d "{\"productId\":\"$console\",\"warehouseId\":\"$warehouse\",\"quantityTotal\":100}" >/dev/null
starts_at=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
sale=$(api POST "$core_url/api/admin/flash-sales" "${admin[@]}" "${json[@]}" \
  -d "{\"productId\":\"$console\",\"units\":100,\"salePrice\":\"249.00\",\"startsAt\":\"$starts_at\"}" |
  field flashSaleId)
"$core" user load-test-buyers --count 1 --prefix "bench-$(date +%s)" \
  --out "$scratch/buyer.csv" >/dev/null
buyer=$(cut -d, -f3 "$scratch/buyer.csv")
ticket=$(api POST "${base[workers]}/api/flash-sales/$sale/queue" -H "authorization: Bearer $buyer" |
  field ticket)
cat >"$scratch/join.lua" <<'LUA'
wrk.method = "POST"
LUA

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
bearer=(-H "authorization: Bearer $buyer")

# measure LABEL SERVER URL WRK-ARGS...: one row of the table. A short warm-up first fills the
# edge caches (and the Worker's kept cursor and remembered token), then the measured run.
measure() {
  local label=$1 name=$2 url=$3 out before after rps p50 p99 count per_request errors
  shift 3
  wrk -t2 -c"$CONNECTIONS" -d2s "${headers[@]}" "$@" "$url" >/dev/null
  before=$(cpu_seconds "${serving[$name]}")
  out=$(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency "${headers[@]}" "$@" "$url")
  after=$(cpu_seconds "${serving[$name]}")
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  count=$(awk '/requests in/ {print $1}' <<<"$out")
  per_request=$(awk -v a="$before" -v b="$after" -v n="$count" 'BEGIN {printf "%.0f", (b - a) * 1e6 / n}')
  errors=$(awk '/Non-2xx|Socket errors/' <<<"$out")
  printf '%-44s %-8s %12s %10s %10s %14s %s\n' "$label" "$name" "$rps" "$p50" "$p99" "$per_request" "$errors"
}

say "product $product, flash sale $sale; $CONNECTIONS connections, ${SECONDS_EACH}s each"
printf '%-44s %-8s %12s %10s %10s %14s\n' "request" "server" "requests/s" "p50" "p99" "CPU µs/request"
for name in core workers spin; do
  measure "GET $path" "$name" "${base[$name]}$path"
done
# Answered at the edge: the core is asked for the admission cursor about once a second, not
# per poll (the Worker keeps it in its isolate, Spin in its edge cache), and hears of joins
# in batched reports.
for name in workers spin; do
  measure "GET /api/flash-sales/$sale/status" "$name" "${base[$name]}/api/flash-sales/$sale/status" \
    "${bearer[@]}" -H "x-queue-ticket: $ticket"
done
for name in workers spin; do
  measure "POST /api/flash-sales/$sale/queue" "$name" "${base[$name]}/api/flash-sales/$sale/queue" \
    "${bearer[@]}" -s "$scratch/join.lua"
done

say "Wasm size of each adapter"
for wasm in edge/workers/build/index_bg.wasm \
  "$CARGO_TARGET_DIR/wasm32-wasip2/release/edgeshop_edge_spin.wasm"; do
  raw=$(stat -c %s "$wasm")
  gz=$(gzip -9 -c "$wasm" | wc -c)
  printf '%-60s raw %8d B   gzip %8d B\n' "${wasm#"$CARGO_TARGET_DIR/"}" "$raw" "$gz"
done
