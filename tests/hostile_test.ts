// The hostile-client suite (issue 9): each class of attack that once took the service down or
// got a wrong answer, sent as a hostile client would, asserting the status, the JSON error,
// a time bound, and that a valid request afterwards still gets the right value (numpy/scipy:
// tests/fixtures/server_cases.json; the small metrics and EDT cases are derived by hand
// beside them). The random-body fuzzing lives in server_fuzz_test.ts; the slow-connection and
// body-limit cases run against a live server process (deno serve / bun run of server/main.ts)
// at the end. `HOSTILE_REPORT=1` prints, per class: sent, statuses, worst time, peak RSS.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { createApp, decodeNpy, encodeNpy } from "../server/mod.ts";
import type { LogEntry, SeglossApp } from "../server/mod.ts";
import { NpyFormatError } from "../io/npy.ts";
import {
  createRegistry,
  defaultRegistry,
  LimitError,
  SeglossRangeError,
  SeglossTypeError,
  UnavailableError,
} from "../mod.ts";
import { buildMultipart, type MultipartPart } from "./_multipart.ts";
import { jsonBody } from "../server/arrays.ts";
import { runMetricsJob } from "../server/routes/metrics_job.ts";
import cases from "./fixtures/server_cases.json" with { type: "json" };
import { freePort } from "./util.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
const small = cases.small2d;
const JSON_HEADERS = { "Content-Type": "application/json" };

// ---------------------------------------------------------------- per-class bookkeeping
interface ClassStats {
  sent: number;
  statuses: Map<number, number>;
  worstMs: number;
  peakRss: number;
}
const stats = new Map<string, ClassStats>();

// printed once every describe block has run
after(() => {
  if (!process.env.HOSTILE_REPORT) return;
  console.log("class | sent | statuses | worst ms | peak RSS MiB");
  for (const [klass, s] of stats) {
    const st = [...s.statuses].map(([c, n]) => `${c}x${n}`).join(" ");
    console.log(
      `${klass} | ${s.sent} | ${st} | ${s.worstMs.toFixed(1)} | ${
        (s.peakRss / 2 ** 20).toFixed(0)
      }`,
    );
  }
});

function rss(): number {
  try {
    return process.memoryUsage().rss;
  } catch {
    return 0;
  }
}

function record(klass: string, status: number, ms: number): void {
  let s = stats.get(klass);
  if (!s) stats.set(klass, s = { sent: 0, statuses: new Map(), worstMs: 0, peakRss: 0 });
  s.sent++;
  s.statuses.set(status, (s.statuses.get(status) ?? 0) + 1);
  s.worstMs = Math.max(s.worstMs, ms);
  s.peakRss = Math.max(s.peakRss, rss());
}

interface Answer {
  status: number;
  text: string;
  json:
    & { error?: { status: number; code: string; message: string; requestId: string } }
    & Record<
      string,
      unknown
    >;
  headers: Headers;
  ms: number;
}

/** Sends one request to the app, timing it, and records it under `klass`. */
async function send(
  app: SeglossApp,
  klass: string,
  path: string,
  init: RequestInit,
): Promise<Answer> {
  const t0 = performance.now();
  const res = await app.request(path, init);
  const text = await res.text();
  const ms = performance.now() - t0;
  record(klass, res.status, ms);
  let json = {} as Answer["json"];
  try {
    json = JSON.parse(text);
  } catch {
    // .npy or empty
  }
  return { status: res.status, text, json, headers: res.headers, ms };
}

function postJson(app: SeglossApp, klass: string, path: string, body: unknown, headers = {}) {
  return send(app, klass, path, {
    method: "POST",
    headers: { ...JSON_HEADERS, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Sends `parts` as a multipart/form-data POST, like {@linkcode postJson}. */
function postParts(app: SeglossApp, klass: string, path: string, parts: readonly MultipartPart[]) {
  const mp = buildMultipart(parts);
  return send(app, klass, path, {
    method: "POST",
    headers: { "Content-Type": mp.contentType },
    body: mp.body as BodyInit,
  });
}

/** A JSON 4xx/5xx with a request id, the status expected, no stack, a short message. */
function assertError(a: Answer, status: number, message?: RegExp): void {
  assert.equal(a.status, status, `status ${a.status}: ${a.text.slice(0, 400)}`);
  assert.ok(a.json.error, `a JSON error body: ${a.text.slice(0, 200)}`);
  assert.equal(a.json.error.status, status);
  assert.equal(a.json.error.requestId, a.headers.get("x-request-id"));
  assert.ok(!/\n\s+at /.test(a.text), "no stack trace");
  assert.ok(a.text.length < 2000, `a short error body (${a.text.length} bytes)`);
  if (message) assert.match(a.json.error.message, message);
}

/** The valid requests whose right answers prove the server still works after an attack. */
async function stillRight(app: SeglossApp): Promise<void> {
  const loss = await postJson(app, "valid afterwards", "/v1/loss", {
    config: small.config,
    input: small.input,
    target: small.target,
    gradient: true,
  });
  assert.equal(loss.status, 200, loss.text.slice(0, 300));
  assert.ok(Math.abs((loss.json.total as number) - small.total) < 1e-5);
  const grad = (loss.json.gradient as { data: number[] }).data;
  small.gradient.forEach((g, i) => assert.ok(Math.abs(grad[i]! - g) < 1e-5));
  // EDT of [0, 1, 1, 1]: distances to the zero at index 0 (by hand)
  const edt = await postJson(app, "valid afterwards", "/v1/distance", {
    mask: { shape: [4], data: [0, 1, 1, 1] },
  });
  assert.equal(edt.status, 200);
  assert.deepEqual(edt.json.data, [0, 1, 2, 3]);
  // dice of class 1: prediction {1, 2}, target {2, 3}: 2·1 / (2 + 2) = 0.5 (by hand)
  const metrics = await postJson(app, "valid afterwards", "/v1/metrics", {
    prediction: { shape: [1, 4], data: [0, 1, 1, 0] },
    target: { shape: [1, 4], data: [0, 0, 1, 1] },
    options: { metrics: ["dice"] },
  });
  assert.equal(metrics.status, 200, metrics.text.slice(0, 300));
  const dice = (metrics.json.metrics as { dice: { values: number[][] } }).dice;
  assert.equal(dice.values[0]![0], 0.5);
}

function npyHeader(text: string, major = 1): Uint8Array {
  const h = new TextEncoder().encode(text);
  const start = major === 1 ? 10 : 12;
  const out = new Uint8Array(start + h.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const v = new DataView(out.buffer);
  if (major === 1) v.setUint16(8, h.length, true);
  else v.setUint32(8, h.length, true);
  out.set(h, start);
  return out;
}

/** The small case's loss request as multipart parts, with `input` as the input's `.npy`. */
function npyParts(input: Uint8Array): MultipartPart[] {
  return [
    { name: "config", value: JSON.stringify(small.config) },
    { name: "input", value: input },
    {
      name: "target",
      value: encodeNpy({ data: new Int32Array(small.target.data), shape: small.target.shape }),
    },
  ];
}

// ---------------------------------------------------------------- in-process classes
describe("hostile clients, in process", () => {
  const logs: LogEntry[] = [];
  const app = createApp({
    compute: "hybrid",
    workers: 2,
    maxElements: 4_000_000,
    maxBodyBytes: 8_000_000,
    maxJsonBytes: 1_000_000,
    maxClasses: 256,
    bodyTimeoutMs: 2_000,
    timeoutMs: 5_000,
    log: (e) => logs.push(e),
  });
  after(() => app.close());

  test("1. client-driven allocation: classes and work refused before any work, in ms", async () => {
    const k = "1 allocation";
    const tiny = { shape: [1, 2], data: [0, 1] };
    // the 114-byte request that killed Deno (numClasses 1e8) and its 1e6 variant
    for (const numClasses of [1e8, 1e6, 2 ** 31]) {
      const a = await postJson(app, k, "/v1/metrics", {
        prediction: tiny,
        target: tiny,
        options: { numClasses },
      });
      assertError(a, 413, /maxClasses/);
      assert.equal(
        (a.json.error as { limit?: { resource: string } }).limit?.resource,
        "maxClasses",
      );
      assert.ok(a.ms < 500, `${a.ms} ms`);
    }
    // a label of 2^31 - 1 in the target (metrics and distance), and as a .npy part
    const big = { shape: [1, 2], data: [0, 2147483647] };
    for (
      const [path, body] of [
        ["/v1/metrics", { prediction: tiny, target: big }],
        ["/v1/metrics", { prediction: big, target: tiny }],
        ["/v1/distance", { labels: big }],
        ["/v1/distance", { labels: tiny, numClasses: 2 ** 31 }],
      ] as const
    ) {
      const a = await postJson(app, k, path, body);
      assertError(a, 413, /maxClasses/);
      assert.ok(a.ms < 500, `${path}: ${a.ms} ms`);
    }
    const labels = encodeNpy({ data: new Int32Array([0, 2147483647]), shape: [1, 2] });
    assertError(
      await postParts(app, k, "/v1/metrics", [
        { name: "prediction", value: labels },
        { name: "target", value: labels },
      ]),
      413,
      /maxClasses/,
    );
    // options.classes repeated 10^5 times: K over maxClasses
    assertError(
      await postJson(app, k, "/v1/metrics", {
        prediction: tiny,
        target: tiny,
        options: { classes: Array(100_000).fill(1) },
      }),
      413,
      /maxClasses/,
    );
    // scores with 5000 channels (fits maxElements, not maxClasses)
    assertError(
      await postJson(app, k, "/v1/loss", {
        config: { losses: [{ name: "cross-entropy" }] },
        input: { shape: [1, 5000, 1], data: Array(5000).fill(0) },
        target: { shape: [1, 1], data: [0] },
      }),
      413,
      /maxClasses/,
    );
    // within maxClasses but N x K tables over maxWorkElements (6 x 4e6 here)
    const n = 400_000;
    const many = encodeNpy({ data: new Uint8Array(2 * n), shape: [n, 2] });
    const w = await postParts(app, k, "/v1/metrics", [
      { name: "prediction", value: many },
      { name: "target", value: many },
      { name: "options", value: JSON.stringify({ numClasses: 250 }) },
    ]);
    assertError(w, 413, /maxWorkElements/);
    assert.ok(w.ms < 500, `${w.ms} ms`);
    await stillRight(app);
  });

  test("2. .npy headers are parsed in linear time (382-byte part with a 32-digit shape)", async () => {
    const k = "2 npy header";
    const digits = "9".repeat(32);
    const headers = [
      // the 382-byte part of the report: 32 digits where the regex backtracked
      `{'descr': '<f4', 'fortran_order': False, 'shape': (${digits} ${digits} ${digits}` +
      `${" ".repeat(200)}`,
      `{'descr': '<f4', 'fortran_order': False, 'shape': (${digits}, ${digits}), }`,
      `{'descr': '<f4', 'fortran_order': False, 'shape': (${"1, ".repeat(20_000)}`,
      `{'descr': '<f4', 'fortran_order': False, 'shape': (${" 1 ".repeat(20_000)}), }`,
      `{'descr': '${"\\'".repeat(30_000)}`,
      `{'descr': [${"(".repeat(30_000)}`,
      `{${"'a': 1, ".repeat(5000)}}`,
      `{'descr': '<f4', 'fortran_order': ${"F".repeat(60_000)}`,
    ];
    for (const h of headers) {
      const major = h.length > 65_000 ? 2 : 1;
      const part = npyHeader(h, major);
      const once = () => postParts(app, k, "/v1/loss", npyParts(part));
      let a = await once();
      // one retry tells a scheduling hiccup on a loaded machine from super-linear parsing
      // (the bound is far from linear parsing's ~1 ms and from the 145 s of the old regex, so a
      // GC pause under CI's parallel load does not fail it)
      if (a.ms >= 1000) a = await once();
      assert.ok(a.status === 400 || a.status === 413, `${a.status} ${a.text.slice(0, 200)}`);
      assertError(a, a.status);
      assert.ok(a.ms < 1000, `${h.slice(0, 60)}: ${a.ms} ms`);
    }
    // the library module throws by class: malformed, unsupported, too large
    assert.throws(() => decodeNpy(npyHeader(headers[1]!), "x"), NpyFormatError);
    assert.throws(
      () => decodeNpy(npyHeader("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }"), "x"),
      (e) => e instanceof SeglossTypeError && !(e instanceof NpyFormatError),
    );
    assert.throws(
      () =>
        decodeNpy(npyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (9, 9), }"), "x", {
          maxElements: 10,
        }),
      (e) => e instanceof LimitError && e.limit === 10 && e.requested === 81,
    );
    await stillRight(app);
  });

  test("3. thread counts are the server's: distanceOptions.workers is a 422 naming the key", async () => {
    const k = "3 threads";
    for (const key of ["workers", "parallelThreshold"]) {
      const a = await postJson(app, k, "/v1/loss", {
        config: { ...small.config, distanceOptions: { [key]: key === "workers" ? 512 : 0 } },
        input: small.input,
        target: small.target,
      });
      assertError(a, 422, new RegExp(`distanceOptions\\.${key}`));
    }
    assert.throws(() => createApp({ compute: "worker", workers: 512 }), RangeError);
    assert.throws(() => createApp({ compute: "worker", workers: 2.5 }), RangeError);
    await stillRight(app);
  });

  test("4. big JSON is refused by Content-Length or streamed count, before parsing", async () => {
    const k = "4 big JSON";
    // a Content-Length over maxJsonBytes: refused without reading a byte
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled++;
        c.enqueue(new Uint8Array(64 * 1024).fill(32));
      },
    });
    const a = await send(app, k, "/v1/loss", {
      method: "POST",
      headers: { ...JSON_HEADERS, "Content-Length": String(255 * 2 ** 20) },
      body: endless,
      duplex: "half",
    } as RequestInit);
    assertError(a, 413, /maxJsonBytes/);
    // no Content-Length: the read stops at the limit (not at the end of an endless body)
    const b = await send(app, k, "/v1/loss", {
      method: "POST",
      headers: JSON_HEADERS,
      body: new ReadableStream<Uint8Array>({
        pull(c) {
          pulled++;
          c.enqueue(new Uint8Array(64 * 1024).fill(32));
        },
      }),
      duplex: "half",
    } as RequestInit);
    assertError(b, 413, /maxJsonBytes/);
    assert.ok(pulled < 100, `${pulled} chunks pulled`);
    // a JSON text part of a multipart body has the same limit
    assertError(
      await postParts(app, k, "/v1/loss", [{
        name: "config",
        value: " ".repeat(1_200_000) + "{}",
      }]),
      413,
      /maxJsonBytes/,
    );
    await stillRight(app);
  });

  test("5. aborted uploads and lying lengths are a 400 logged as a client fault, no stack", async () => {
    const k = "5 aborted";
    logs.length = 0;
    let sent = 0;
    const breaking = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent++ < 2) c.enqueue(new TextEncoder().encode('{"config": '));
        else c.error(new Error("connection reset by peer"));
      },
    });
    const a = await send(app, k, "/v1/loss", {
      method: "POST",
      headers: JSON_HEADERS,
      body: breaking,
      duplex: "half",
    } as RequestInit);
    assertError(a, 400, /broke off/);
    // Content-Length longer than what was sent
    const short = JSON.stringify({ config: small.config });
    const b = await send(app, k, "/v1/loss", {
      method: "POST",
      headers: { ...JSON_HEADERS, "Content-Length": String(short.length + 100) },
      body: new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode(short));
          c.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    assertError(b, 400, /broke off/);
    const entries = logs.filter((e) => e.status === 400);
    assert.equal(entries.length, 2);
    for (const e of entries) {
      assert.equal(e.level, "info");
      assert.equal(e.fault, "client");
      assert.ok(!/\n\s+at /.test(e.message), "no stack in the log");
    }
    assert.ok(!logs.some((e) => e.status === 500));
    await stillRight(app);
  });

  test("6. a plugin unavailable here is a 503 naming it; /v1/plugins says so", async () => {
    const k = "6 unavailable";
    const base = defaultRegistry.list("distance").find((p) => p.name === "edt")!;
    const registry = defaultRegistry.with([
      { ...base, name: "gpu-only", kind: "distance", isAvailable: () => false },
    ] as never);
    const custom = createApp({ compute: "inline", registry });
    try {
      const a = await postJson(custom, k, "/v1/distance", {
        mask: { shape: [4], data: [0, 1, 1, 1] },
        transform: "gpu-only",
      });
      assertError(a, 503, /gpu-only.*not available/);
      assert.equal(a.json.error!.code, "unavailable");
      const b = await postJson(custom, k, "/v1/loss", {
        config: { ...small.config, distance: "gpu-only" },
        input: small.input,
        target: small.target,
      });
      assertError(b, 503, /gpu-only/);
      const plugins = await (await custom.request("/v1/plugins")).json();
      const entry = plugins.distances.find((p: { name: string }) => p.name === "gpu-only");
      assert.equal(entry.available, false);
    } finally {
      custom.close();
    }
    // the real jfa: 503 where WebGPU is missing (Bun), 200 where it is there
    const plugins = await (await app.request("/v1/plugins")).json();
    const jfa = plugins.distances.find((p: { name: string }) => p.name === "jfa");
    const r = await postJson(app, k, "/v1/distance", {
      mask: { shape: [1, 4, 4], data: [0, ...Array(15).fill(1)] },
      transform: "jfa",
      spatialDims: 2,
    });
    if (jfa.available) assert.equal(r.status, 200, r.text.slice(0, 300));
    else assertError(r, 503, /jfa.*WebGPU/);
    await stillRight(app);
  });

  test("9. error messages never echo attacker strings in full", { timeout: 60_000 }, async () => {
    const k = "9 echo";
    const huge = "x".repeat(5 * 2 ** 20);
    const bodies: [string, unknown][] = [
      ["/v1/loss", {
        config: { losses: [{ name: huge }] },
        input: small.input,
        target: small.target,
      }],
      ["/v1/loss", { [huge.slice(0, 400_000)]: 1 }],
      ["/v1/loss", { config: small.config, input: { ...small.input, dtype: huge } }],
      ["/v1/distance", { mask: { shape: [2], data: [0, 1] }, transform: huge }],
      ["/v1/metrics", {
        prediction: { shape: [1, 2], data: [0, 1] },
        target: { shape: [1, 2], data: [0, 1] },
        options: { metrics: [huge] },
      }],
    ];
    const bigApp = createApp({ compute: "inline", maxJsonBytes: 8 * 2 ** 20 });
    try {
      for (const [path, body] of bodies) {
        const a = await postJson(bigApp, k, path, body);
        assert.ok(a.status === 422, `${a.status}: ${a.text.slice(0, 200)}`);
        assertError(a, 422);
      }
      const a = await postParts(bigApp, k, "/v1/loss", [{
        name: huge.slice(0, 100_000),
        value: "1",
      }]);
      assertError(a, 422);
      const t = await send(bigApp, k, "/v1/loss", {
        method: "POST",
        headers: { "Content-Type": "text/" + huge.slice(0, 10_000) },
        body: "x",
      });
      assertError(t, 415);
    } finally {
      bigApp.close();
    }
  });

  test("10. Accept q-values, non-finite numbers in and out", async () => {
    const k = "10 accept/numbers";
    const body = { config: small.config, input: small.input, target: small.target, gradient: true };
    const json = await postJson(app, k, "/v1/loss", body, {
      Accept: "application/json, application/x-npy;q=0.1",
    });
    assert.equal(json.status, 200);
    assert.match(json.headers.get("content-type")!, /json/);
    const zero = await postJson(app, k, "/v1/loss", body, { Accept: "application/x-npy;q=0" });
    assert.match(zero.headers.get("content-type")!, /json/);
    const npy = await postJson(app, k, "/v1/loss", body, {
      Accept: "application/json;q=0.5, application/x-npy",
    });
    assert.equal(npy.headers.get("content-type"), "application/x-npy");
    // epoch 1e400 overflows to Infinity in JSON.parse: a 422 that says so
    const e = await postJson(
      app,
      k,
      "/v1/loss",
      `{"config": ${JSON.stringify(small.config)}, "input": ${JSON.stringify(small.input)}, ` +
        `"target": ${JSON.stringify(small.target)}, "epoch": 1e400}`,
    );
    assertError(e, 422, /epoch.*Infinity/);
    assert.ok(!/found number null/.test(e.text));
    const s = await postJson(app, k, "/v1/loss", { ...body, spacing: [1, "x"] });
    assertError(s, 422, /spacing/);
    // the one encoding of non-finite numbers in responses: strings
    const inf = await postJson(app, k, "/v1/distance", { mask: { shape: [2], data: [1, 1] } });
    assert.deepEqual(inf.json.data, ["Infinity", "Infinity"]);
    await stillRight(app);
  });

  test("11. big array answers stream in chunks: no 500, /healthz answers between chunks", {
    timeout: 60_000,
  }, async () => {
    // Before: the JSON answer was one string (JSON.stringify), so a (1, 3, 4096, 4096) signed
    // map (952 MB of JSON) was a RangeError "Invalid string length" -> 500 after ~34 s with the
    // request thread blocked; a .npy answer was copied into one 201 MB buffer on that thread.
    // Expected values by hand: one zero at (300, 300) of a 600x600 mask -> hypot(dy, dx).
    const H = 600, W = 600, z = 300 * W + 300;
    const data = new Array<number>(H * W).fill(1);
    data[z] = 0;
    const expected = (i: number) => Math.fround(Math.hypot(Math.floor(i / W) - 300, (i % W) - 300));
    const chunks = async (res: Response, between?: () => Promise<void>) => {
      const reader = res.body!.getReader();
      const parts: Uint8Array[] = [];
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parts.push(value);
        if (parts.length === 1 && between) await between();
      }
      const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
      let at = 0;
      for (const p of parts) out.set(p, at), at += p.length;
      return { parts: parts.length, bytes: out };
    };
    const body = JSON.stringify({ mask: { shape: [1, H, W], data } });
    let healthz = 0;
    const res = await app.request("/v1/distance", {
      method: "POST",
      headers: JSON_HEADERS,
      body,
    });
    assert.equal(res.status, 200);
    const got = await chunks(res, async () => {
      healthz = (await app.request("/healthz")).status; // served before the answer ends
    });
    assert.equal(healthz, 200);
    assert.ok(got.parts > 1, `expected a streamed answer, got ${got.parts} chunk(s)`);
    const text = new TextDecoder().decode(got.bytes);
    const json = JSON.parse(text) as { shape: number[]; dtype: string; data: number[] };
    assert.deepEqual(json.shape, [1, H, W]);
    assert.equal(json.dtype, "float32");
    assert.equal(json.data.length, H * W);
    for (let i = 0; i < H * W; i += 997) assert.equal(json.data[i], expected(i), `element ${i}`);
    assert.equal(json.data[H * W - 1], expected(H * W - 1));
    // the same answer as .npy: header then the bytes, in chunks
    const npyRes = await app.request("/v1/distance", {
      method: "POST",
      headers: { ...JSON_HEADERS, Accept: "application/x-npy" },
      body,
    });
    assert.equal(npyRes.status, 200);
    const npy = await chunks(npyRes);
    assert.ok(npy.parts > 1);
    const a = decodeNpy(npy.bytes, "answer");
    assert.deepEqual(a.shape, [1, H, W]);
    assert.deepEqual(Array.from(a.data as Float32Array), json.data);
    // a streamed JSON gradient keeps the summary fields before it
    const N = 2, C = 2, S = 256; // 262144 gradient elements: over the streaming threshold
    const labels = new Int32Array(N * S * S).map((_, i) => i % 2);
    const loss = await postParts(app, "11 streamed answers", "/v1/loss", [
      { name: "config", value: JSON.stringify({ input: "probs", losses: [{ name: "dice" }] }) },
      {
        name: "input",
        value: encodeNpy({ data: new Float32Array(N * C * S * S).fill(0.5), shape: [N, C, S, S] }),
      },
      { name: "target", value: encodeNpy({ data: labels, shape: [N, S, S] }) },
      { name: "gradient", value: "true" },
    ]);
    assert.equal(loss.status, 200, loss.text.slice(0, 300));
    const g = loss.json as { total: number; terms: { dice: number }; gradient: { data: number[] } };
    // p = 0.5 everywhere, each class on half the voxels, per (n, c): 1 - 2(V/4)/(V/2 + V/2) = 0.5
    assert.ok(Math.abs(g.terms.dice - 0.5) < 1e-6, String(g.terms.dice));
    assert.equal(g.total, g.terms.dice);
    assert.equal(g.gradient.data.length, N * C * S * S);
    await stillRight(app);
  });

  test(
    "12. absurd but well-formed configs: 10^4 losses, repeated metric classes, spacing strings",
    {
      timeout: 30_000,
    },
    async () => {
      const k = "12 absurd configs";
      // before: 10^5 copies of {"name":"dice"} (1.6 MB) answered 200 after 5-7 s, +300 MiB
      // (10^4 here: this app's maxJsonBytes is 1 MB)
      const many = await postJson(app, k, "/v1/loss", {
        config: { ...small.config, losses: new Array(10_000).fill({ name: "dice" }) },
        input: small.input,
        target: small.target,
      });
      assertError(many, 413, /at most 64 entries in config\.losses but found 10000/);
      assert.ok(many.ms < 1000, `${many.ms} ms`);
      assert.deepEqual((many.json.error as { limit?: unknown }).limit, {
        resource: "maxLosses",
        requested: 10000,
        limit: 64,
      });
      const ok64 = await postJson(app, k, "/v1/loss", {
        config: { ...small.config, losses: new Array(64).fill({ name: "dice" }) },
        input: small.input,
        target: small.target,
      });
      assert.equal(ok64.status, 200);
      // before: options.classes [1, 1] answered 200 with class 1 reported twice
      const mask = { shape: [1, 4, 4], data: [0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0] };
      const dup = await postJson(app, k, "/v1/metrics", {
        prediction: mask,
        target: mask,
        options: { classes: [1, 1] },
      });
      assertError(dup, 422, /options\.classes to name each class once but found 1 twice/);
      // before: a 75-character boundary was cut to 70 and failed as "a delimiter is not followed
      // by a line break"; 70 characters (RFC 2046's most) still parse
      for (const [len, status] of [[75, 400], [70, 200]] as const) {
        const mp = buildMultipart(
          npyParts(
            encodeNpy({ data: new Float32Array(small.input.data), shape: small.input.shape }),
          ),
        );
        const old = /boundary=(\S+)/.exec(mp.contentType)![1]!;
        const b = "b".repeat(len);
        const text = Array.from(mp.body, (c) => String.fromCharCode(c)).join("");
        const body = Uint8Array.from(text.replaceAll(old, b), (ch) => ch.charCodeAt(0));
        const a = await send(app, k, "/v1/loss", {
          method: "POST",
          headers: { "Content-Type": `multipart/form-data; boundary=${b}` },
          body: body as Uint8Array<ArrayBuffer>,
        });
        if (status === 400) assertError(a, 400, /boundary has 75 characters, more than the 70/);
        else assert.equal(a.status, 200, a.text);
      }
      // before: "found an array" for an array holding a string
      const sp = await postJson(app, k, "/v1/loss", {
        config: small.config,
        input: small.input,
        target: small.target,
        spacing: [1, "1"],
      });
      assertError(sp, 422, /found string "1" at spacing\[1\]/);
      await stillRight(app);
    },
  );

  test("13. big metrics reports: written as JSON by the job, the biggest streamed", {
    timeout: 60_000,
  }, async () => {
    // before: the report came back from the Worker as objects (a structured clone of every
    // row) and was JSON.stringify'd on the request thread (200000 samples of (1, 2), 3 classes:
    // a 33 MB answer, 1.6 s to encode, /healthz waiting). 60000 samples with prediction equal to
    // the target: by hand, dice 1 and every distance 0 in every sample holding the class.
    const N = 60_000;
    const labels = new Array<number>(N * 2).fill(0).map((_, i) => (i % 3 === 0 ? 1 : 0));
    const mask = { shape: [N, 1, 2], data: labels };
    const job = runMetricsJob({
      kind: "metrics",
      prediction: { data: Int32Array.from(labels), shape: mask.shape },
      target: { data: Int32Array.from(labels), shape: mask.shape },
      options: {},
    });
    assert.equal(job.result.report, undefined, "a big report crosses back as text");
    assert.equal(typeof job.result.json, "string");
    const res = await postJson(app, "13 big reports", "/v1/metrics", {
      prediction: mask,
      target: mask,
    });
    assert.equal(res.status, 200);
    assert.equal(res.text, job.result.json);
    const report = res.json as unknown as {
      numSamples: number;
      metrics: Record<string, { values: (number | string)[][]; mean: number | string }>;
    };
    assert.equal(report.numSamples, N);
    const present = (n: number) => labels[2 * n] === 1 || labels[2 * n + 1] === 1;
    for (
      const [name, want] of [["dice", 1], ["iou", 1], ["hausdorff", 0], ["hd95", 0], [
        "assd",
        0,
      ]] as const
    ) {
      const t = report.metrics[name]!;
      assert.equal(t.values.length, N);
      for (let n = 0; n < N; n += 7) {
        if (present(n)) assert.equal(t.values[n]![0], want, `${name} sample ${n}`);
      }
      assert.equal(t.mean, want, name);
    }
    // reports too big for one string are streamed: the same text as JSON.stringify, in chunks
    const big = {
      a: [1, NaN, -Infinity, 0.1],
      b: Array.from({ length: 40_000 }, (_, i) => [i, i / 3, Infinity]),
      c: { d: 'x"y', e: [] },
    };
    const body = jsonBody(big, 1 << 20);
    assert.ok(body instanceof ReadableStream);
    const parts: string[] = [];
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      parts.push(new TextDecoder().decode(chunk));
    }
    assert.ok(parts.length > 1);
    const expected = JSON.stringify(
      big,
      (_, v) => typeof v === "number" && !Number.isFinite(v) ? String(v) : v,
    );
    assert.equal(parts.join(""), expected);
  });

  test("auth: every hostile variant of the Authorization header is a 401", async () => {
    const k = "auth";
    const token = "s3cret-T0ken";
    const secured = createApp({ compute: "inline", token });
    try {
      const variants: [Record<string, string>, string][] = [
        [{ Authorization: "Bearer  wrong" }, "two spaces, wrong token"],
        [{ Authorization: "Bearer" }, "bare Bearer"],
        [{ Authorization: "Bearer " }, "Bearer and a space"],
        [{ Authorization: `Bearer\t${token}` }, "a tab"],
        [{ Authorization: `Bearer \t${token}` }, "space and tab"],
        [{ Authorization: "bearer wrong" }, "lower case, wrong token"],
        [{ Authorization: "BEARER wrong" }, "upper case, wrong token"],
        [{ Authorization: `Basic ${token}` }, "another scheme"],
        [{ Authorization: token }, "no scheme"],
        [{ Authorization: `Bearer ${token}x` }, "token plus a character"],
        [{ Authorization: `Bearer ${token.slice(0, -1)}` }, "token minus a character"],
        [{ Authorization: `Bearer ${token}, Bearer ${token}` }, "two credentials"],
        [{ Authorization: `Bearer ${"A".repeat(100_000)}` }, "a 100 kB token"],
        [{}, "no header"],
      ];
      for (const [headers, why] of variants) {
        const a = await send(secured, k, "/v1/plugins", { headers });
        assertError(a, 401);
        assert.match(a.headers.get("www-authenticate") ?? "", /^Bearer/, why);
      }
      for (const q of [`token=${token}`, `access_token=${token}`]) {
        assertError(await send(secured, k, `/v1/plugins?${q}`, {}), 401);
      }
      // RFC 6750: the scheme is case-insensitive and 1*SP separates it from the token
      for (const h of [`Bearer ${token}`, `bearer ${token}`, `Bearer  ${token}`]) {
        const ok = await send(secured, k, "/v1/plugins", { headers: { Authorization: h } });
        assert.equal(ok.status, 200, h);
      }
    } finally {
      secured.close();
    }
  });

  test("errors map by class, across the Worker boundary too; 500s only for our faults", {
    timeout: 60_000,
  }, async () => {
    const k = "error classes";
    const throwing = (err: () => Error) => ({
      kind: "distance",
      name: "thrower",
      create: () => ({ name: "thrower", edt: () => Promise.reject(err()) }),
    });
    const cases: [() => Error, number][] = [
      [() => new SeglossRangeError("Expected spacing[0] to be > 0 but found -1"), 422],
      [() => new SeglossTypeError("Expected mask to be an NdArray"), 422],
      [() => new LimitError("maxElements", 10, 5, "Expected at most 5 elements"), 413],
      [() => new UnavailableError("webgpu", "WebGPU is not available"), 503],
      [() => new TypeError("x is not a function"), 500],
      [() => new RangeError("Invalid typed array length: 1e12"), 500],
      [() => new Error("boom"), 500],
    ];
    for (const [err, status] of cases) {
      logs.length = 0;
      const custom = createApp({
        compute: "inline",
        registry: createRegistry([...defaultRegistry.list("distance"), throwing(err)] as never),
        log: (e) => logs.push(e),
      });
      try {
        const a = await postJson(custom, k, "/v1/distance", {
          mask: { shape: [2], data: [0, 1] },
          transform: "thrower",
        });
        assertError(a, status);
        if (status === 500) {
          assert.equal(logs.length, 1);
          assert.equal(logs[0]!.level, "error");
          assert.match(logs[0]!.message, /\n\s+at /, "the log has the stack");
          assert.ok(!a.text.includes(err().message), "the message stays in the log");
        }
      } finally {
        custom.close();
      }
    }
    // through a Worker: a library SeglossRangeError (labels out of range) is still a 422
    const pooled = createApp({ compute: "worker", workers: 1 });
    try {
      const a = await postJson(pooled, k, "/v1/loss", {
        config: small.config,
        input: small.input,
        target: { shape: [1, 8, 8], data: Array(64).fill(7) },
      });
      assertError(a, 422, /target/);
    } finally {
      pooled.close();
    }
  });

  test(
    "every route's work is under the time limit (metrics on the pool)",
    { timeout: 60_000 },
    async () => {
      const k = "time limit";
      const slow = createApp({
        compute: "hybrid",
        workers: 1,
        timeoutMs: 300,
        maxClasses: 256,
        maxElements: 2 ** 24,
      });
      try {
        // 200 scattered classes x surface metrics over 4 x 256 x 256 voxels: several seconds of
        // work on any machine (a 300 ms limit)
        const n = 4 * 256 * 256;
        const labels = new Uint8Array(n);
        for (let i = 0; i < n; i++) labels[i] = (i * 2654435761 >>> 24) % 200;
        const a = await postParts(slow, k, "/v1/metrics", [
          { name: "prediction", value: encodeNpy({ data: labels, shape: [4, 256, 256] }) },
          { name: "target", value: encodeNpy({ data: labels.reverse(), shape: [4, 256, 256] }) },
          { name: "options", value: JSON.stringify({ metrics: ["hausdorff", "assd"] }) },
        ]);
        assertError(a, 503, /time limit/);
        assert.ok(a.ms < 4000, `${a.ms} ms`);
        // the server answers at once afterwards
        const h = await send(slow, k, "/healthz", {});
        assert.equal(h.status, 200);
        assert.ok(h.ms < 500);
      } finally {
        slow.close();
      }
    },
  );
});

// ---------------------------------------------------------------- a live server process
interface Raw {
  status: number;
  head: string;
  closed: boolean;
  /** Milliseconds to the first byte of the response. */
  ms: number;
}

/**
 * Sends raw bytes over TCP (`chunks` with `gapMs` between them) and reads the response; it
 * resolves when the server closes the connection, when the response is complete and
 * `waitForClose` is false, or when `waitMs` passes.
 */
function rawRequest(
  port: number,
  chunks: string[],
  gapMs: number,
  waitMs: number,
  waitForClose: boolean,
): Promise<Raw> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const sock = connect(port, "127.0.0.1");
    let data = "";
    let done = false;
    let firstMs = Infinity;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      resolve({ status, head: data.slice(0, 3000), closed, ms: firstMs });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    sock.on("data", (d) => {
      if (data === "") firstMs = performance.now() - t0;
      data += d.toString("latin1");
      const end = data.indexOf("\r\n\r\n");
      const len = Number(/content-length: *(\d+)/i.exec(data)?.[1] ?? NaN);
      if (!waitForClose && end >= 0 && data.length >= end + 4 + len) finish(false);
    });
    sock.on("close", () => finish(true));
    sock.on("error", () => finish(true));
    let i = 0;
    const next = () => {
      if (done || i >= chunks.length) return;
      sock.write(chunks[i++]!);
      setTimeout(next, gapMs);
    };
    sock.on("connect", next);
  });
}

/** How to start the service as its own process: the command, and what its runtime does. */
interface Launcher {
  /** A name for the describe block. */
  name: string;
  /** Prepares (for example bundles) and returns the command line. */
  command(port: number): Promise<{ cmd: string; args: string[] }>;
  /** Whether the runtime closes the connection after a 408 with Connection: close. */
  closes: boolean;
  /** Whether the runtime has a body limit of its own under ours (Bun's 128 MiB). */
  ownBodyLimit: boolean;
}

const here: Launcher = {
  name: isBun ? "bun run server/main.ts" : "deno serve server/main.ts",
  command: (port) =>
    Promise.resolve({
      cmd: process.execPath,
      args: isBun
        ? ["run", "server/main.ts"]
        : ["serve", "-A", "--host", "127.0.0.1", "--port", String(port), "server/main.ts"],
    }),
  closes: isBun,
  ownBodyLimit: isBun,
};

/** Node 20 with @hono/node-server: server/node.ts bundled by esbuild (skipped without them). */
const onNode: Launcher = {
  name: "node server/node.ts (@hono/node-server, bundled with esbuild)",
  command: async () => {
    const dir = mkdtempSync(join(tmpdir(), "segloss-node-"));
    const out = join(dir, "node.mjs");
    await new Promise<void>((resolve, reject) => {
      execFile(
        join(ROOT, "node_modules/.bin/esbuild"),
        [
          "server/node.ts",
          "--bundle",
          "--platform=node",
          "--format=esm",
          `--outfile=${out}`,
          "--log-level=warning",
        ],
        { cwd: ROOT },
        (err, _o, e) => (err ? reject(new Error(`${err.message}\n${e}`)) : resolve()),
      );
    });
    return { cmd: NODE, args: [out] };
  },
  closes: true,
  ownBodyLimit: false,
};

const NODE = "/usr/bin/node";

for (const launcher of existsSync(NODE) ? [here, onNode] : [here]) liveSuite(launcher);

function liveSuite(launcher: Launcher): void {
  describe(`hostile clients against a live process: ${launcher.name}`, () => {
    let child: ChildProcess | undefined;
    let port = 0;
    let stderr = "";
    const BODY_TIMEOUT = 3000;

    async function start(): Promise<void> {
      port = await freePort();
      const env = {
        ...process.env,
        PORT: String(port),
        HOST: "127.0.0.1",
        SEGLOSS_BODY_TIMEOUT_MS: String(BODY_TIMEOUT),
        SEGLOSS_MAX_BODY_BYTES: String(160 * 2 ** 20),
        SEGLOSS_COMPUTE: "inline",
      };
      const { cmd, args } = await launcher.command(port);
      child = spawn(cmd, args, { cwd: ROOT, env, stdio: ["ignore", "ignore", "pipe"] });
      child.stderr!.on("data", (d) => (stderr += d));
      for (let i = 0; i < 200; i++) {
        try {
          const r = await fetch(`http://127.0.0.1:${port}/healthz`);
          if (r.status === 200) return void (await r.body?.cancel());
        } catch {
          // not yet listening
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`the server did not start: ${stderr}`);
    }

    before(start, { timeout: 60_000 });
    after(() => {
      if (process.env.HOSTILE_REPORT && child?.pid) {
        try {
          const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
          const peak = /VmHWM:\s*(\d+ kB)/.exec(status)?.[1];
          console.log(`${launcher.name}: server peak RSS ${peak}`);
        } catch {
          // no /proc here
        }
      }
      child?.kill("SIGTERM");
    });

    test("slow bodies (1 byte per 200 ms, a lying Content-Length) get a 408 and are closed", {
      timeout: 60_000,
    }, async () => {
      const head = (len: number) =>
        `POST /v1/distance HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${len}\r\n\r\n`;
      const body = JSON.stringify({ mask: { shape: [2], data: [0, 1] } });
      const trickle = [head(body.length), ...body.split("")];
      const [slow, lying] = await Promise.all([
        rawRequest(port, trickle, 200, BODY_TIMEOUT + 4000, launcher.closes),
        rawRequest(port, [head(body.length + 50), body], 10, BODY_TIMEOUT + 4000, launcher.closes),
      ]);
      for (const [r, why] of [[slow, "1 byte per 200 ms"], [lying, "lying length"]] as const) {
        record("8 slow (live)", r.status, r.ms);
        assert.equal(r.status, 408, `${why}: ${r.head}`);
        assert.match(r.head, /"request_timeout"/);
        assert.match(r.head, /x-request-id/i);
        // Bun and Node close the connection after the 408 (Connection: close); Deno.serve gives
        // the app no way to close a socket and keeps it until the client stops (docs/server.md)
        if (launcher.closes) assert.ok(r.closed, `${why}: the connection is closed`);
        assert.ok(r.ms < BODY_TIMEOUT + 2500, `${why}: ${r.ms} ms`);
      }
      // an upload the client aborts mid-body (socket closed after 10 of 1000 bytes): the
      // server logs a client fault, never a 500 or a stack
      await rawRequest(port, [head(1000), body.slice(0, 10)], 10, 300, true);
      for (let i = 0; i < 50 && !/broke off/.test(stderr); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(stderr, /"fault":"client".*broke off/);
      assert.ok(!/"status":500/.test(stderr), stderr);
      assert.ok(!/\n\s+at /.test(stderr), "no stack traces in the log");
      // healthy afterwards, right value
      const ok = await fetch(`http://127.0.0.1:${port}/v1/distance`, {
        method: "POST",
        headers: JSON_HEADERS,
        body: JSON.stringify({ mask: { shape: [4], data: [0, 1, 1, 1] } }),
      });
      assert.deepEqual((await ok.json()).data, [0, 1, 2, 3]);
    });

    test(
      "body limits: a JSON 413 with a request id by Content-Length; >128 MiB reaches the app on Bun",
      { timeout: 60_000 },
      async () => {
        // a declared 1 GiB body: the app's JSON 413 (not Bun's bare one), without reading it
        const r = await rawRequest(
          port,
          [
            `POST /v1/loss HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n` +
            `Content-Length: ${2 ** 30}\r\n\r\n--b\r\n`,
          ],
          10,
          5000,
          false,
        );
        record("7 body limit (live)", r.status, r.ms);
        assert.equal(r.status, 413, r.head);
        assert.match(r.head, /x-request-id/i);
        assert.match(r.head, /"payload_too_large"/);
        assert.match(r.head, /maxBodyBytes/);
        // 130 MiB (over Bun's own 128 MiB default, under our 160 MiB): the app answers (a 400 for
        // the malformed multipart), not Bun's bare 413. Deno has no limit of its own to lift.
        // the 114-byte request that killed the server: refused in ms over a real connection
        const t1 = performance.now();
        const cls = await fetch(`http://127.0.0.1:${port}/v1/metrics`, {
          method: "POST",
          headers: JSON_HEADERS,
          body: JSON.stringify({
            prediction: { shape: [1, 2], data: [0, 1] },
            target: { shape: [1, 2], data: [0, 1] },
            options: { numClasses: 100000000 },
          }),
        });
        const clsBody = await cls.json();
        record("1 allocation (live)", cls.status, performance.now() - t1);
        assert.equal(cls.status, 413);
        assert.equal(clsBody.error.limit.resource, "maxClasses");
        if (!launcher.ownBodyLimit) return;
        const body = new Uint8Array(130 * 2 ** 20);
        const t0 = performance.now();
        const res = await fetch(`http://127.0.0.1:${port}/v1/loss`, {
          method: "POST",
          headers: { "Content-Type": "multipart/form-data; boundary=b" },
          body,
        });
        const text = await res.text();
        record("7 body limit (live)", res.status, performance.now() - t0);
        // the app's answer (a 400 for the malformed multipart; a 408 when 130 MiB took longer
        // than the body time limit on a loaded machine), never Bun's bare 413
        assert.ok(res.status === 400 || res.status === 408, `${res.status} ${text.slice(0, 300)}`);
        assert.equal(JSON.parse(text).error.requestId, res.headers.get("x-request-id"));
      },
    );
  });
}
