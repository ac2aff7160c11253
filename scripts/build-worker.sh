#!/usr/bin/env bash
# Builds the Workers adapter (edge/workers) into edge/workers/build, as wrangler.toml expects.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/edge-toolchain.sh
ensure_edge_toolchain
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/edgeshop/target}"
cd edge/workers
worker-build --release
