// The Worker under wrangler's local dev server, for load runs: the same Miniflare and workerd
// that `wrangler dev` starts (through wrangler's own startWorker), without its DevTools
// inspector. With the inspector on, every request's network events are sent to the wrangler
// process as debug messages, three HTTP calls per request, which on a 2-core machine halves
// the requests per second the edge can serve (measured: 450 against 970 req/s for a 404).
// The worker must be built already (scripts/build-worker.sh); wrangler is the one
// scripts/edge-toolchain.sh installs (its node_modules in EDGE_NPM).
//
//   node scripts/edge-dev-server.mjs --port 8787 --persist-to DIR --var NAME:VALUE ...

import { createRequire } from "node:module";

const npm = process.env.EDGE_NPM ?? `${process.env.HOME}/.cache/edgeshop/npm`;
const { unstable_startWorker } = createRequire(`${npm}/`)("wrangler");

const args = process.argv.slice(2);
let port = 8787;
let hostname = "127.0.0.1";
let persist = false;
const bindings = {};
for (let i = 0; i < args.length; i++) {
  const value = args[i + 1];
  switch (args[i]) {
    case "--port": port = Number(value); i++; break;
    case "--ip": hostname = value; i++; break;
    case "--persist-to": persist = value; i++; break;
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

const worker = await unstable_startWorker({
  config: new URL("../wrangler.toml", import.meta.url).pathname,
  bindings,
  // Built beforehand; wrangler.toml's build command is for `wrangler dev` and deploys.
  build: { custom: { command: "", watch: [] } },
  dev: {
    server: { hostname, port },
    inspector: false,
    logLevel: "warn",
    persist,
    watch: false,
    liveReload: false,
  },
});
await worker.ready;
console.log(`edge (wrangler dev server, no inspector) ready on http://${hostname}:${port}`);

const stop = async () => {
  await worker.dispose();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
