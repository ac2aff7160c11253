#!/usr/bin/env bash
# Runs every test of edgeshop against real services: PostgreSQL and Redis are installed and
# started where needed; each test gets a fresh database and its own Redis key prefix.

set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh

ensure_services
ensure_rust_targets
ensure_browser
ensure_fonts

# sqlx::test keeps its bookkeeping in this database and creates one database per test beside it.
export DATABASE_URL="${DATABASE_URL:-postgres://edgeshop:edgeshop@127.0.0.1:5432/edgeshop_test}"
ensure_database "$DATABASE_URL"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"

say "the edge's Wasm tools, and the Worker and the Spin component the end-to-end tests run ..."
source scripts/edge-toolchain.sh
ensure_edge_toolchain
bash scripts/build-worker.sh
cargo build -p edgeshop-edge-spin --target wasm32-wasip2 --release

say "unit, property and integration tests ..."
cargo test --workspace --no-fail-fast

say "the shared model and the edge must build for both Wasm runtimes ..."
cargo build -p shared-model -p edgeshop-edge -p edgeshop-edge-workers --target wasm32-unknown-unknown
cargo build -p shared-model -p edgeshop-edge -p edgeshop-edge-spin --target wasm32-wasip2

say "all tests passed"
