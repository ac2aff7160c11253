// Where the Worker's CPU goes: samples it through the dev server's DevTools inspector (V8's
// sampling profiler, the same one DevTools' Performance tab uses) for a while, writes the
// profile (open it in DevTools) and prints the functions that took the most time themselves.
//
//   node scripts/profile-edge.mjs --inspector 127.0.0.1:9229 [--seconds 30] [--out FILE]
//
// Start the edge with the inspector on (scripts/edge-dev-server.mjs --inspector-port 9229, or
// LOADTEST_EDGE_INSPECTOR_PORT=9229 ./scripts/loadtest-flash-sale.sh) and load it meanwhile.
// The inspector slows the Worker down, so read the shares, not the speed.

import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const npm = process.env.EDGE_NPM ?? `${process.env.HOME}/.cache/edgeshop/npm`;
const WebSocket = createRequire(`${npm}/`)("ws");

const args = process.argv.slice(2);
let inspector = "127.0.0.1:9229";
let seconds = 30;
let out = "edge.cpuprofile";
let top = 40;
for (let i = 0; i < args.length; i += 2) {
  const value = args[i + 1];
  switch (args[i]) {
    case "--inspector": inspector = value; break;
    case "--seconds": seconds = Number(value); break;
    case "--out": out = value; break;
    case "--top": top = Number(value); break;
    default: throw new Error(`unknown argument ${args[i]}`);
  }
}

const targets = await (await fetch(`http://${inspector}/json`)).json();
// The runtime's inspector lists every worker of the dev session; the Worker is `core:user:…`.
const target =
  targets.find((t) => t.id?.startsWith("core:user:")) ?? targets.find((t) => t.webSocketDebuggerUrl);
if (!target) throw new Error(`no debuggable Worker at ${inspector}: ${JSON.stringify(targets)}`);
// One session: the profile, or an error if the inspector drops the connection (wrangler's own
// inspector proxy connects to the runtime too, and a session can be closed under us).
async function profileOnce() {
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  let next = 0;
  const waiting = new Map();
  let closed = false;
  socket.on("close", () => {
    closed = true;
    for (const answer of waiting.values()) answer.reject(new Error("the inspector closed the connection"));
    waiting.clear();
  });
  socket.on("message", (data) => {
    const message = JSON.parse(data.toString());
    const answer = waiting.get(message.id);
    if (!answer) return;
    waiting.delete(message.id);
    if (message.error) answer.reject(new Error(JSON.stringify(message.error)));
    else answer.resolve(message.result);
  });
  const call = (method, params = {}) =>
    new Promise((resolve, reject) => {
      if (closed) return reject(new Error("the inspector closed the connection"));
      const id = ++next;
      waiting.set(id, { resolve, reject });
      socket.send(JSON.stringify({ id, method, params }));
    });
  try {
    await call("Profiler.enable");
    await call("Profiler.setSamplingInterval", { interval: 1000 });
    await call("Profiler.start");
    console.error(`profiling ${target.title ?? target.id} for ${seconds} s ...`);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    return (await call("Profiler.stop")).profile;
  } finally {
    socket.close();
  }
}

let profile;
for (let attempt = 1; !profile; attempt++) {
  try {
    profile = await profileOnce();
  } catch (err) {
    if (attempt === 5) throw err;
    console.error(`${err.message}; again (${attempt}) ...`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
writeFileSync(out, JSON.stringify(profile));

// Self time per function: each sample is charged to the node it was taken in.
const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
const counts = new Map();
for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
const self = new Map();
let total = 0;
let idle = 0;
for (const [id, count] of counts) {
  const { callFrame } = byNode.get(id);
  const name = callFrame.functionName || "(anonymous)";
  if (name === "(idle)") {
    idle += count;
    continue;
  }
  const where = callFrame.url ? ` ${callFrame.url.split("/").pop()}` : "";
  const key = `${name}${where}`;
  self.set(key, (self.get(key) ?? 0) + count);
  total += count;
}
const share = (n) => ((100 * n) / total).toFixed(1).padStart(5);
console.log(`${profile.samples.length} samples; busy ${total}, idle ${idle} (${share(idle)} % of busy)`);
console.log("self %  function");
for (const [key, count] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${share(count)}  ${key}`);
}
console.log(`profile written to ${out}`);
