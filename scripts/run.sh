#!/usr/bin/env bash
# Starts the shop on this machine: PostgreSQL and Redis (installed and started where needed),
# a seeded demo catalog, and the core API on http://127.0.0.1:8080.
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
cargo build --release -p edgeshop-core --bin edgeshop-core
core="${CARGO_TARGET_DIR:-target}/release/edgeshop-core"

"$core" seed --products "${EDGESHOP_SEED_PRODUCTS:-10000}"
"$core" user create --email admin@edgeshop.local --password edgeshop-admin --role admin \
  --first-name Admin --if-missing

say "demo accounts: admin@edgeshop.local / edgeshop-admin; customers and sellers *@demo.edgeshop.local / edgeshop-demo"
say "catalog API: http://${EDGESHOP_BIND}/api/products   API document: http://${EDGESHOP_BIND}/api/openapi.json"
exec "$core" serve
