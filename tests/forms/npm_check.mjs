// Run by tests/forms/npm_test.ts inside the transpiled tree (scripts/build_npm.ts), under
// Node and Bun: `node check.mjs <server_cases.json>`. Exercises what breaks when the package
// is served as JavaScript: Worker module URLs (parallel EDT, signed distance on Workers, the
// service's Worker pool), the WebAssembly SIMD kernel, WebGPU detection, precise errors.
// Prints one JSON line; the test compares it with the numpy/scipy fixture values.
import { readFileSync } from "node:fs";

// the package beside this file (computed URLs: `deno check tests/` must not resolve them here)
const pkg = (path) => import(new URL(path, import.meta.url).href);
const {
  capabilities,
  createEdtWorkerPool,
  createScorer,
  edtParallel,
  edtTransform,
  isWebgpuAvailable,
  signedDistance,
} = await pkg("./mod.js");
const { createApp } = await pkg("./server/mod.js");

const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = {};
const maxErr = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

out.capabilities = await capabilities();

// parallel EDT on 2 Workers vs scipy
const e = cases.edt;
const mask = { data: new Uint8Array(e.mask.data), shape: e.mask.shape };
const d = await edtParallel(mask, { spacing: e.spacing, workers: 2 });
const pool = createEdtWorkerPool({ workers: 2 });
const d2 = await pool.edt(mask, { spacing: e.spacing });
out.edt = {
  maxErr: Math.max(maxErr(Array.from(d.data), e.expected), maxErr(Array.from(d2.data), e.expected)),
  threaded: pool.threaded,
};
pool.close();

// signed distance maps through a Worker-backed transform vs scipy
const s = cases.distance;
const t = edtTransform({ workers: 2, parallelThreshold: 1 });
const sd = await signedDistance(
  { data: new Uint8Array(s.labels.data), shape: s.labels.shape },
  { numClasses: s.numClasses, spacing: s.spacing, transform: t },
);
t.dispose?.();
out.signed = { maxErr: maxErr(Array.from(sd.data), s.expected), shape: sd.shape };

// the cpu scorer (float32 logits + labels: the WebAssembly SIMD kernel where available)
const c = cases.small2d;
const scorer = await createScorer(c.config);
const r = await scorer.evaluate({
  input: { data: new Float32Array(c.input.data), shape: c.input.shape },
  target: { data: new Uint8Array(c.target.data), shape: c.target.shape },
  gradient: true,
});
out.scorer = {
  total: r.total,
  terms: r.terms,
  gradMaxErr: maxErr(Array.from(r.gradient.data), c.gradient),
  info: scorer.info(),
};
scorer.dispose();

// WebGPU detection: no adapter on Node/Bun, no throw, "auto" falls back to cpu
out.webgpu = { available: await isWebgpuAvailable() };
const autoScorer = await createScorer({ backend: "auto", losses: [{ name: "dice" }] });
out.webgpu.auto = autoScorer.backend;
autoScorer.dispose();

// precise errors survive the transpile
try {
  await edtParallel(mask, { spacing: [1, -1], workers: 2 });
  out.error = "no error";
} catch (err) {
  out.error = `${err.name}: ${err.message}`;
}

// the service's Worker pool (compute "worker": every request crosses into a Worker)
const app = createApp({ compute: "worker", workers: 2 });
const postLoss = (target) =>
  app.request("/v1/loss", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ config: c.config, input: c.input, target }),
  });
const res = await postLoss(c.target);
const body = await res.json();
// labels out of range: a 422 across the Worker boundary
const bad = await postLoss({ shape: c.target.shape, data: c.target.data.map(() => 7) });
out.service = {
  status: res.status,
  total: body.total,
  timing: res.headers.get("server-timing"),
  badStatus: bad.status,
  health: await (await app.request("/healthz")).json(),
};
app.close();
// by default, large jobs go to the Worker pool here too (worker_threads on Node)
const auto = createApp();
out.service.defaultCompute = auto.computeMode;
auto.close();

console.log(JSON.stringify(out));
