// The edge claim, tested: server/main.ts bundled into one ES module (deno bundle under Deno,
// bun build under Bun) runs inside workerd, Cloudflare's Workers runtime (npm package
// `workerd`), on loopback, with tests/workerd/config.capnp; one /v1/loss request (JSON) and one
// multipart .npy request are scored through it and checked against numpy/scipy values
// (tests/fixtures/server_cases.json). Skipped, with a message, only when the binary cannot run.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { decodeNpy, encodeNpy } from "../server/mod.ts";
import { buildMultipart } from "./_multipart.ts";
import cases from "./fixtures/server_cases.json" with { type: "json" };
import { startWorkerd, type Workerd, workerdBinary } from "./_workerd.ts";

const small = cases.small2d;

describe("the bundled app inside workerd", () => {
  let bin: string | undefined;
  let served: Workerd | undefined;
  let url = "";
  const log = () => served?.log() ?? "";

  before(async () => {
    bin = await workerdBinary();
    if (!bin) return;
    const config = readFileSync(new URL("./workerd/config.capnp", import.meta.url), "utf8");
    served = await startWorkerd(bin, config);
    url = served.url;
  });

  after(() => served?.stop());

  test("GET /healthz: the service runs inline (no Web Workers in workerd)", async (t) => {
    if (!bin) return t.skip("the workerd binary from the npm package cannot run on this machine");
    const body = await (await fetch(`${url}/healthz`)).json();
    assert.equal(body.status, "ok");
    assert.equal(body.compute, "inline");
  });

  test("POST /v1/loss (JSON) through workerd matches numpy/scipy", async (t) => {
    if (!bin) return t.skip("the workerd binary from the npm package cannot run on this machine");
    const res = await fetch(`${url}/v1/loss`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ config: small.config, input: small.input, target: small.target }),
    });
    assert.equal(res.status, 200, log());
    const body = await res.json();
    assert.ok(Math.abs(body.total - small.total) < 1e-5, `${body.total} vs ${small.total}`);
    assert.ok(Math.abs(body.terms.dice - small.terms.dice) < 1e-5);
    assert.ok(Math.abs(body.terms.boundary - small.terms.boundary) < 1e-5);
  });

  test("POST /v1/loss (multipart .npy, gradient as .npy) through workerd matches finite differences", async (t) => {
    if (!bin) return t.skip("the workerd binary from the npm package cannot run on this machine");
    const { body, contentType } = buildMultipart([
      { name: "config", value: JSON.stringify(small.config) },
      { name: "gradient", value: "true" },
      {
        name: "input",
        value: encodeNpy({ data: new Float32Array(small.input.data), shape: small.input.shape }),
      },
      {
        name: "target",
        value: encodeNpy({ data: new Uint8Array(small.target.data), shape: small.target.shape }),
      },
    ]);
    const res = await fetch(`${url}/v1/loss`, {
      method: "POST",
      headers: { "Content-Type": contentType, Accept: "application/x-npy" },
      body: body as Uint8Array<ArrayBuffer>,
    });
    assert.equal(res.status, 200, log());
    const summary = JSON.parse(res.headers.get("x-segloss-result")!);
    assert.ok(Math.abs(summary.total - small.total) < 1e-5);
    const grad = decodeNpy(new Uint8Array(await res.arrayBuffer()), "gradient");
    small.gradient.forEach((g: number, i: number) =>
      assert.ok(Math.abs((grad.data[i] as number) - g) < 1e-5)
    );
  });

  test("a malformed body through workerd is a 400, not a crash", async (t) => {
    if (!bin) return t.skip("the workerd binary from the npm package cannot run on this machine");
    const res = await fetch(`${url}/v1/loss`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "{oops",
    });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.code, "bad_request");
  });

  test("the hostile-client limits and statuses hold inside workerd", async (t) => {
    if (!bin) return t.skip("the workerd binary from the npm package cannot run on this machine");
    const post = async (path: string, body: string, headers: Record<string, string> = {}) => {
      const t0 = performance.now();
      const res = await fetch(`${url}${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...headers },
        body,
      });
      const json = await res.json();
      assert.equal(json.error?.requestId, res.headers.get("x-request-id"), JSON.stringify(json));
      return { status: res.status, error: json.error, ms: performance.now() - t0 };
    };
    const tiny = { shape: [1, 2], data: [0, 1] };
    // classes asked for by the client (SEGLOSS_MAX_CLASSES=256 in config.capnp)
    const a = await post(
      "/v1/metrics",
      JSON.stringify({ prediction: tiny, target: tiny, options: { numClasses: 1e8 } }),
    );
    assert.equal(a.status, 413);
    assert.equal(a.error.limit.resource, "maxClasses");
    assert.ok(a.ms < 1000, `${a.ms} ms`);
    const b = await post(
      "/v1/distance",
      JSON.stringify({ labels: { shape: [1, 2], data: [0, 2147483647] } }),
    );
    assert.equal(b.status, 413);
    assert.equal(b.error.limit.resource, "maxClasses");
    // a JSON body over SEGLOSS_MAX_JSON_BYTES=1000000
    const c = await post("/v1/loss", " ".repeat(1_100_000) + "{}");
    assert.equal(c.status, 413);
    assert.equal(c.error.limit.resource, "maxJsonBytes");
    // threads are the server's; non-finite JSON numbers are named
    const d = await post(
      "/v1/loss",
      JSON.stringify({
        config: { ...small.config, distanceOptions: { workers: 512 } },
        input: small.input,
        target: small.target,
      }),
    );
    assert.equal(d.status, 422);
    assert.match(d.error.message, /distanceOptions\.workers/);
    const e = await post(
      "/v1/loss",
      `{"config": ${JSON.stringify(small.config)}, "input": ${JSON.stringify(small.input)}, ` +
        `"target": ${JSON.stringify(small.target)}, "epoch": 1e400}`,
    );
    assert.equal(e.status, 422);
    assert.match(e.error.message, /epoch.*Infinity/);
    // jfa needs WebGPU, which workerd lacks: a 503 naming it
    const f = await post(
      "/v1/distance",
      JSON.stringify({ mask: { shape: [1, 2, 2], data: [0, 1, 1, 1] }, transform: "jfa" }),
    );
    assert.equal(f.status, 503);
    assert.equal(f.error.code, "unavailable");
  });
});
