#!/usr/bin/env bash
# Starts the shop on this machine: PostgreSQL and Redis (installed and started where needed),
# the sandbox payment gateway on http://127.0.0.1:8090, a seeded demo catalog, and the core API
# on http://127.0.0.1:8080; with EDGESHOP_EDGE=workers also the storefront edge in front of the
# core, as a Worker under wrangler dev on http://127.0.0.1:8787, or with EDGESHOP_EDGE=spin as
# the Spin component under edgeshop-spin-host on http://127.0.0.1:3000.
#
#   ./scripts/run.sh              # 10,000 demo products
#   EDGESHOP_SEED_PRODUCTS=100000 ./scripts/run.sh
#   EDGESHOP_EDGE=workers ./scripts/run.sh
#   EDGESHOP_EDGE=spin ./scripts/run.sh

set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh

ensure_services

export DATABASE_URL="${DATABASE_URL:-postgres://edgeshop:edgeshop@127.0.0.1:5432/edgeshop}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
export EDGESHOP_BIND="${EDGESHOP_BIND:-127.0.0.1:8080}"
# Development signing key, generated on first start into the git-ignored .dev/ folder.
export EDGESHOP_JWT_PRIVATE_KEY_FILE="${EDGESHOP_JWT_PRIVATE_KEY_FILE:-.dev/keys/jwt-ed25519.pem}"
# The waiting room's admission secret, shared with the edge; generated the same way.
export EDGESHOP_ADMISSION_KEY_FILE="${EDGESHOP_ADMISSION_KEY_FILE:-.dev/keys/admission.key}"
# Shared with the edge, whose cart snapshots carry it (a development value).
export EDGESHOP_EDGE_SECRET="${EDGESHOP_EDGE_SECRET:-edgeshop-development-edge-secret}"

say "building ..."
cargo build --release -p edgeshop-core --bin edgeshop-core -p edgeshop-gateway --bin edgeshop-gateway
core="${CARGO_TARGET_DIR:-target}/release/edgeshop-core"
gateway="${CARGO_TARGET_DIR:-target}/release/edgeshop-gateway"

# The sandbox card gateway the core charges (stopped with the shop).
export GATEWAY_BIND="${GATEWAY_BIND:-127.0.0.1:8090}"
export PAYMENT_GATEWAY_URL="${PAYMENT_GATEWAY_URL:-http://${GATEWAY_BIND}}"
"$gateway" &
gateway_pid=$!
trap 'kill "$gateway_pid" 2>/dev/null || true' EXIT

"$core" seed --products "${EDGESHOP_SEED_PRODUCTS:-10000}"
"$core" user create --email admin@edgeshop.local --password edgeshop-admin --role admin \
  --first-name Admin --if-missing

say "demo accounts: admin@edgeshop.local / edgeshop-admin; customers and sellers *@demo.edgeshop.local / edgeshop-demo"
say "catalog API: http://${EDGESHOP_BIND}/api/products   API document: http://${EDGESHOP_BIND}/api/openapi.json"
say "sandbox gateway: ${PAYMENT_GATEWAY_URL} (test cards: tok_visa, tok_chargeDeclined, tok_insufficientFunds, tok_timeout, tok_errorAfterCapture)"

if [ -z "${EDGESHOP_EDGE:-}" ]; then
  "$core" serve
  exit
fi

"$core" serve &
core_pid=$!
trap 'kill "$gateway_pid" "$core_pid" 2>/dev/null || true' EXIT
core_url="http://${EDGESHOP_BIND}"
for _ in $(seq 1 60); do curl -sf "$core_url/healthz" >/dev/null && break; sleep 1; done
# The edge verifies buyers' tokens with the core's public key (the JWKS `x`).
key=$(curl -sf "$core_url/.well-known/jwks.json" | sed -n 's/.*"x":"\([^"]*\)".*/\1/p')
[ -n "$key" ] || { say "the core did not publish its token key at $core_url/.well-known/jwks.json"; exit 1; }
# The waiting room's secret, which the core generated on its first start.
admission="${EDGESHOP_ADMISSION_KEY:-$(cat "$EDGESHOP_ADMISSION_KEY_FILE")}"
case "$EDGESHOP_EDGE" in
  workers)
    source scripts/edge-toolchain.sh
    ensure_edge_toolchain
    say "storefront edge (Cloudflare Worker under wrangler dev): http://127.0.0.1:8787"
    wrangler dev --ip 127.0.0.1 --port 8787 --var "CORE_URL:$core_url" --var "EDGE_JWT_PUBLIC_KEY:$key" \
      --var "EDGE_SECRET:$EDGESHOP_EDGE_SECRET" --var "ADMISSION_KEY:$admission"
    ;;
  spin)
    ensure_rust_targets
    cargo build --release -p edgeshop-spin-host --bin edgeshop-spin-host
    cargo build --release -p edgeshop-edge-spin --target wasm32-wasip2
    say "storefront edge (Spin component under edgeshop-spin-host): http://127.0.0.1:3000"
    SPIN_VARIABLE_CORE_URL="$core_url" SPIN_VARIABLE_EDGE_JWT_PUBLIC_KEY="$key" \
      SPIN_VARIABLE_EDGE_SECRET="$EDGESHOP_EDGE_SECRET" SPIN_VARIABLE_ADMISSION_KEY="$admission" \
      "${CARGO_TARGET_DIR:-target}/release/edgeshop-spin-host" --addr 127.0.0.1:3000 \
      "${CARGO_TARGET_DIR:-target}/wasm32-wasip2/release/edgeshop_edge_spin.wasm"
    ;;
  *)
    say "EDGESHOP_EDGE must be workers or spin, not $EDGESHOP_EDGE"
    exit 1
    ;;
esac
