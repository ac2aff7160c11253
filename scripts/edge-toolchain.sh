#!/usr/bin/env bash
# The edge's build and run tools, installed once into a cache outside the checkout and then
# only checked: worker-build and wasm-bindgen-cli (pinned to the wasm-bindgen in Cargo.lock),
# wrangler and wasm-opt from npm (package-lock.json). The Spin component needs none of these:
# it runs under edgeshop-spin-host, a binary of the workspace.
# Source it: it exports PATH, WASM_BINDGEN_BIN and WASM_OPT_BIN.

EDGE_TOOLS="${EDGE_TOOLS:-$HOME/.cache/edgeshop/tools}"
EDGE_NPM="${EDGE_NPM:-$HOME/.cache/edgeshop/npm}"
EDGESHOP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

_edge_cargo_install() { # crate version binary
  local crate=$1 version=$2 binary=$3
  # One install at a time: two scripts installing at once share the build directory, and
  # one's copy of a binary fails when the other replaces it.
  (
    flock 9
    if [ -x "$EDGE_TOOLS/bin/$binary" ] && "$EDGE_TOOLS/bin/$binary" --version 2>/dev/null | grep -q "$version"; then
      exit 0
    fi
    echo "[edgeshop] installing $crate $version (once; cached in $EDGE_TOOLS) ..." >&2
    CARGO_TARGET_DIR="$HOME/.cache/edgeshop/tool-build" \
      cargo install "$crate" --version "=$version" --root "$EDGE_TOOLS" "${@:4}"
  ) 9>"$EDGE_TOOLS/.install.lock"
}

ensure_edge_toolchain() {
  mkdir -p "$EDGE_TOOLS" "$EDGE_NPM"
  local bindgen
  bindgen=$(grep -A1 '^name = "wasm-bindgen"$' "$EDGESHOP_ROOT/Cargo.lock" | sed -n 's/^version = "\(.*\)"$/\1/p')
  _edge_cargo_install worker-build 0.8.7 worker-build --locked
  # Not --locked: wasm-bindgen-cli's own lockfile does not build on this toolchain.
  _edge_cargo_install wasm-bindgen-cli "$bindgen" wasm-bindgen
  # Under the same lock: two scripts copying the lockfile and running `npm ci` at once broke
  # one of them (cp: "File exists").
  (
    flock 9
    if ! cmp -s "$EDGESHOP_ROOT/package-lock.json" "$EDGE_NPM/package-lock.json" \
        || [ ! -x "$EDGE_NPM/node_modules/.bin/wrangler" ]; then
      echo "[edgeshop] installing wrangler and wasm-opt from npm (cached in $EDGE_NPM) ..." >&2
      cp "$EDGESHOP_ROOT/package.json" "$EDGESHOP_ROOT/package-lock.json" "$EDGE_NPM/"
      (cd "$EDGE_NPM" && npm ci --no-audit --no-fund)
    fi
  ) 9>"$EDGE_TOOLS/.install.lock" || return 1
  export PATH="$EDGE_TOOLS/bin:$EDGE_NPM/node_modules/.bin:$PATH"
  export WASM_BINDGEN_BIN="$EDGE_TOOLS/bin/wasm-bindgen"
  export WASM_OPT_BIN="$EDGE_NPM/node_modules/.bin/wasm-opt"
  export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false
}
