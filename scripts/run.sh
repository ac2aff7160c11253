#!/usr/bin/env bash
# Starts the shop on this machine: PostgreSQL and Redis (installed and started where needed),
# the sandbox payment gateway on http://127.0.0.1:8090, a seeded demo catalog, and the core API
# on http://127.0.0.1:8080.
#
#   ./scripts/run.sh              # 10,000 demo products
#   EDGESHOP_SEED_PRODUCTS=100000 ./scripts/run.sh

set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh

ensure_services

export DATABASE_URL="${DATABASE_URL:-postgres://edgeshop:edgeshop@127.0.0.1:5432/edgeshop}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
export EDGESHOP_BIND="${EDGESHOP_BIND:-127.0.0.1:8080}"
# Development signing key, generated on first start into the git-ignored .dev/ folder.
export EDGESHOP_JWT_PRIVATE_KEY_FILE="${EDGESHOP_JWT_PRIVATE_KEY_FILE:-.dev/keys/jwt-ed25519.pem}"

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
"$core" serve
