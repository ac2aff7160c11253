// The Worker under wrangler's local dev server, for load runs: the same Miniflare and workerd
// that `wrangler dev` starts (through wrangler's own DevEnv, the API behind `wrangler dev`),
// without its DevTools inspector. With the inspector on, every request's network events are
// sent to the wrangler process as debug messages, three HTTP calls per request, which on a
// 2-core machine halves the requests per second the edge can serve (measured: 450 against 970
// req/s for a 404).
//
// `wrangler dev` puts a proxy (a second workerd) in front of the Worker's runtime, so that its
// address survives reloads; every request then crosses two workerd processes. Load runs
// never reload, so `--runtime-url-file` writes the runtime's own address (where the proxy
// forwards to) for clients to use directly: on 2 cores a 404 is answered 2,582 times a second
// through the proxy and 5,269 directly (wrk -c64, this script's two addresses, same run).
//
// wrangler is the one scripts/edge-toolchain.sh installs (its node_modules in EDGE_NPM).
//
//   node scripts/edge-dev-server.mjs --port 8787 --persist-to DIR --var NAME:VALUE ...
//        [--runtime-url-file FILE] [--inspector-port PORT --inspector-url-file FILE]
//
// `--inspector-port` turns the inspector on; `--inspector-url-file` then gets the runtime's
// own inspector (host:port), which scripts/profile-edge.mjs samples. The inspector costs the
// throughput above, so profiles show shares, not speed.

import { renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const npm = process.env.EDGE_NPM ?? `${process.env.HOME}/.cache/edgeshop/npm`;
const { unstable_DevEnv } = createRequire(`${npm}/`)("wrangler");

const args = process.argv.slice(2);
let port = 8787;
let hostname = "127.0.0.1";
let persist = false;
let runtimeUrlFile;
let inspector = false;
let inspectorUrlFile;
const bindings = {};
for (let i = 0; i < args.length; i++) {
  const value = args[i + 1];
  switch (args[i]) {
    case "--port": port = Number(value); i++; break;
    case "--ip": hostname = value; i++; break;
    case "--persist-to": persist = value; i++; break;
    case "--runtime-url-file": runtimeUrlFile = value; i++; break;
    case "--inspector-port": inspector = { hostname: "127.0.0.1", port: Number(value) }; i++; break;
    case "--inspector-url-file": inspectorUrlFile = value; i++; break;
    case "--var": {
      const at = value.indexOf(":");
      if (at < 1) throw new Error(`--var wants NAME:VALUE, got ${value}`);
      bindings[value.slice(0, at)] = { type: "plain_text", value: value.slice(at + 1) };
      i++;
      break;
    }
    default: throw new Error(`unknown argument ${args[i]}`);
  }
}

const devEnv = new unstable_DevEnv();
// The runtime's address reaches the proxy in the event that says the Worker is (re)loaded;
// `worker.ready` (the proxy's) comes before it.
const dispatch = devEnv.dispatch.bind(devEnv);
let loaded;
const runtimeUrl = new Promise((resolve) => (loaded = resolve));
devEnv.dispatch = (event) => {
  if (event.type === "reloadComplete") {
    const { protocol, hostname: host, port: at } = event.proxyData.userWorkerUrl;
    const inspected = event.proxyData.userWorkerInspectorUrl;
    loaded({
      direct: `${protocol}//${host}:${at}`,
      inspector: inspected && `${inspected.hostname}:${inspected.port}`,
    });
  }
  return dispatch(event);
};
const worker = await devEnv.startWorker({
  config: new URL("../wrangler.toml", import.meta.url).pathname,
  bindings,
  // wrangler still runs wrangler.toml's build command once at the start (on a built tree,
  // only its wasm-opt pass costs time); nothing is watched, so nothing rebuilds mid-run.
  build: { custom: { command: "", watch: [] } },
  dev: {
    server: { hostname, port },
    inspector,
    logLevel: process.env.EDGE_DEV_LOG ?? "warn",
    persist,
    watch: false,
    liveReload: false,
  },
});
await worker.ready;
const { direct, inspector: runtimeInspector } = await runtimeUrl;
const writeAtOnce = (file, text) => {
  writeFileSync(`${file}.part`, `${text}\n`);
  renameSync(`${file}.part`, file);
};
if (runtimeUrlFile) writeAtOnce(runtimeUrlFile, direct);
if (inspectorUrlFile && runtimeInspector) writeAtOnce(inspectorUrlFile, runtimeInspector);
console.log(
  `edge (wrangler dev server, ${inspector ? `inspector on ${inspector.port}` : "no inspector"}) ready on http://${hostname}:${port}, its runtime on ${direct}`,
);

const stop = async () => {
  await worker.dispose();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
