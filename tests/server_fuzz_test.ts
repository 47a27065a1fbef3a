// Fuzzing the scoring service: 3,600 malformed or hostile bodies (random bytes, truncated and
// lying .npy headers, long digit runs in .npy shapes, huge declared shapes, client-chosen class
// counts, NaN/Infinity, deep JSON, wrong multipart boundaries, labels out of range, wrong
// types); tests/hostile_test.ts has the targeted classes. Every answer must be a 4xx JSON error
// with a request id, and afterwards the server is healthy and scores a valid request correctly
// (expected value from numpy/scipy: tests/fixtures/server_cases.json).
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createApp, encodeNpy } from "../server/mod.ts";
import { buildMultipart } from "./_multipart.ts";
import cases from "./fixtures/server_cases.json" with { type: "json" };
import { mulberry32 as prng } from "./util.ts";

const small = cases.small2d;
const PER_KIND = 200;

const rand = prng(20261126);
const int = (n: number) => Math.floor(rand() * n);
const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

const goodInput = encodeNpy({ data: new Float32Array(small.input.data), shape: small.input.shape });
const goodTarget = encodeNpy({
  data: new Int32Array(small.target.data),
  shape: small.target.shape,
});
const config = JSON.stringify(small.config);

interface Case {
  kind: string;
  contentType?: string;
  body: Uint8Array | string;
  path?: string;
}

function npyParts(input: Uint8Array, target: Uint8Array = goodTarget): Case {
  const { body, contentType } = buildMultipart([
    { name: "config", value: config },
    { name: "input", value: input },
    { name: "target", value: target },
  ]);
  return { kind: "", body, contentType };
}

function header(descr: string, shape: string, fortran = "False"): Uint8Array {
  const text = `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
  const h = new TextEncoder().encode(text.padEnd(118, " ") + "\n");
  const out = new Uint8Array(10 + h.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, h.length, true);
  out.set(h, 10);
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

const generators: Record<string, () => Case> = {
  "random bytes as JSON": () => ({
    kind: "",
    contentType: "application/json",
    body: bytes(1 + int(300)),
  }),
  "random bytes as multipart": () => ({
    kind: "",
    contentType: "multipart/form-data; boundary=xyz",
    body: concat(new TextEncoder().encode("--xyz\r\n"), bytes(1 + int(300))),
  }),
  "random bytes as a .npy part": () => npyParts(bytes(1 + int(400))),
  "truncated .npy": () => npyParts(goodInput.subarray(0, int(goodInput.length - 1))),
  "lying .npy header length": () => {
    const b = goodInput.slice();
    new DataView(b.buffer).setUint16(8, int(65536), true);
    return npyParts(b);
  },
  "mutated .npy header bytes": () => {
    const b = goodInput.slice();
    for (let k = 0; k < 1 + int(4); k++) b[8 + int(120)] = int(256);
    return npyParts(b);
  },
  "huge declared .npy shape": () => {
    const dims = Array.from({ length: 1 + int(4) }, () => 1 + int(2 ** 31));
    return npyParts(concat(header("<f4", `(${dims.join(", ")},)`), bytes(int(64))));
  },
  "huge declared JSON shape": () => ({
    kind: "",
    contentType: "application/json",
    body: JSON.stringify({
      config: small.config,
      input: { shape: [1, 2, 1 + int(2 ** 20), 1 + int(2 ** 20)], data: [1, 2, 3] },
      target: small.target,
    }),
  }),
  "NaN/Infinity in .npy scores": () => {
    const d = new Float32Array(small.input.data);
    d[int(d.length)] = pick([NaN, Infinity, -Infinity]);
    return npyParts(encodeNpy({ data: d, shape: small.input.shape }));
  },
  "Infinity via 1e999 in JSON": () => {
    const data = small.input.data.slice();
    const text = JSON.stringify({
      config: small.config,
      input: { shape: small.input.shape, data },
      target: small.target,
    });
    return {
      kind: "",
      contentType: "application/json",
      body: text.replace(/-?\d+\.\d+/, pick(["1e999", "-1e999"])),
    };
  },
  "deep JSON nesting": () => {
    const depth = 100 + int(100_000);
    const open = pick(["[", '{"a":']);
    const close = open === "[" ? "]" : "}";
    const deep = open.repeat(depth) + "0" + close.repeat(depth);
    const where = int(3);
    const body = where === 0
      ? deep
      : where === 1
      ? `{"config": ${deep}}`
      : `{"config": ${JSON.stringify(small.config)}, "input": ${deep}}`;
    return { kind: "", contentType: "application/json", body };
  },
  "wrong multipart boundary": () => {
    const { body } = buildMultipart([
      { name: "config", value: config },
      { name: "input", value: goodInput },
    ], "boundary-" + int(1e9));
    return { kind: "", contentType: `multipart/form-data; boundary=other-${int(1e9)}`, body };
  },
  "labels out of range": () => {
    const labels = Int32Array.from(small.target.data);
    labels[int(labels.length)] = pick([2, 3, 255, -1, 2 ** 31 - 1, -(2 ** 31)]);
    return npyParts(goodInput, encodeNpy({ data: labels, shape: small.target.shape }));
  },
  "wrong shapes and types in JSON": () => {
    const variants: unknown[] = [
      { ...small, input: { shape: [1, 2, 8], data: small.input.data } },
      {
        config: small.config,
        input: small.input,
        target: { shape: [1, 7, 8], data: Array(56).fill(0) },
      },
      { config: int(10), input: small.input, target: small.target },
      { config: small.config, input: "abc", target: small.target },
      { config: small.config, input: { shape: "x", data: [] }, target: small.target },
      {
        config: { losses: [{ name: "dice", weight: -int(5) - 1 }] },
        input: small.input,
        target: small.target,
      },
      { config: { losses: [] }, input: small.input, target: small.target },
      { config: small.config, input: small.input, target: small.target, spacing: [0, 1] },
      { config: small.config, input: small.input, target: small.target, epoch: -1 },
      [1, 2, 3],
      "string",
      null,
    ];
    return { kind: "", contentType: "application/json", body: JSON.stringify(pick(variants)) };
  },
  "unsupported media types": () => ({
    kind: "",
    contentType: pick([
      "text/plain",
      "application/xml",
      "image/png",
      "application/octet-stream",
      "",
    ]),
    body: bytes(1 + int(100)),
  }),
  "long digit runs and repeats in .npy headers": () => {
    const run = "9".repeat(1 + int(40));
    const shape = pick([
      `(${run} ${run} ${run}`,
      `(${run}, ${run})`,
      `(${"1, ".repeat(int(5000))}`,
      `(${" ".repeat(int(5000))}${run}`,
    ]);
    return npyParts(header("<f4", shape));
  },
  "client-chosen class counts": () => {
    const big = pick([2 ** 31 - 1, 1e6 + int(1e8), 2 ** 20, 65536]);
    const tiny = { shape: [1, 2], data: [0, 1] };
    const variants: [string, unknown][] = [
      ["/v1/metrics", { prediction: tiny, target: tiny, options: { numClasses: big } }],
      ["/v1/metrics", { prediction: tiny, target: { shape: [1, 2], data: [0, big] } }],
      ["/v1/distance", { labels: { shape: [1, 2], data: [0, big] } }],
      ["/v1/distance", { labels: tiny, numClasses: big }],
    ];
    const [path, body] = pick(variants);
    return { kind: "", path, contentType: "application/json", body: JSON.stringify(body) };
  },
  "bad /v1/distance bodies": () => {
    const variants: unknown[] = [
      { labels: { shape: [1, 3], data: [0, -1, 2] } },
      { labels: { shape: [1, 3], data: [0, 1, 2] }, numClasses: 2 },
      { mask: { shape: [2, 2], data: [0, 1, 1, 1] }, spacing: [1, -2] },
      { mask: { shape: [2, 2], data: [0, 1, 1, 1] }, spatialDims: 5 },
      { labels: { shape: [1, 2], data: [0, 1] }, transform: "nope" },
      {},
    ];
    return {
      kind: "",
      path: "/v1/distance",
      contentType: "application/json",
      body: JSON.stringify(pick(variants)),
    };
  },
};

describe("fuzzing the service with hostile bodies", () => {
  const app = createApp({
    compute: "worker",
    workers: 2,
    maxElements: 4_000_000,
    maxBodyBytes: 2_000_000,
  });
  after(() => app.close());

  test(`${PER_KIND} bodies of each of ${Object.keys(generators).length} kinds all get a 4xx`, {
    timeout: 120_000,
  }, async () => {
    const statuses = new Map<string, Map<number, number>>();
    let total = 0;
    for (const [kind, gen] of Object.entries(generators)) {
      const seen = new Map<number, number>();
      statuses.set(kind, seen);
      // a few at a time, as concurrent clients would send them
      for (let i = 0; i < PER_KIND; i += 8) {
        const batch = Array.from({ length: Math.min(8, PER_KIND - i) }, () => gen());
        const results = await Promise.all(batch.map(async (c) => {
          const headers: Record<string, string> = {};
          if (c.contentType) headers["Content-Type"] = c.contentType;
          const res = await app.request(c.path ?? "/v1/loss", {
            method: "POST",
            headers,
            body: c.body as BodyInit,
          });
          const text = await res.text();
          return { status: res.status, text, id: res.headers.get("x-request-id") };
        }));
        for (const r of results) {
          total++;
          seen.set(r.status, (seen.get(r.status) ?? 0) + 1);
          assert.ok(
            r.status >= 400 && r.status < 500,
            `${kind}: status ${r.status}: ${r.text.slice(0, 300)}`,
          );
          const body = JSON.parse(r.text);
          assert.equal(body.error.requestId, r.id);
          assert.ok(!/\n\s+at /.test(r.text), "no stack trace");
        }
      }
    }
    if (process.env.FUZZ_VERBOSE) {
      for (const [k, m] of statuses) console.log(k, JSON.stringify([...m]));
    }
    assert.ok(total >= 2000, `${total} bodies`);
    // the generators reach the status classes they are meant to
    const all = new Set([...statuses.values()].flatMap((m) => [...m.keys()]));
    for (const s of [400, 413, 415, 422]) assert.ok(all.has(s), `some ${s}`);
  });

  test("afterwards the server is healthy and scores a valid request right", async () => {
    assert.equal((await app.request("/healthz")).status, 200);
    const res = await app.request("/v1/loss", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        config: small.config,
        input: small.input,
        target: small.target,
        gradient: true,
      }),
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.ok(Math.abs(body.total - small.total) < 1e-5);
    small.gradient.forEach((g: number, i: number) =>
      assert.ok(Math.abs(body.gradient.data[i] - g) < 1e-5)
    );
  });
});
