// POST /v1/metrics through app.request(): JSON and multipart/.npy bodies, the Worker pool,
// the OpenAPI entry and the error classes. Expected numbers come from
// tests/fixtures/make_metrics_fixtures.py (numpy + scipy), never from segloss.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createApp, encodeNpy } from "../server/mod.ts";
import { buildMultipart } from "./_multipart.ts";
import { dec, type Encoded, fixtures } from "./metrics_fixtures.ts";

type Json = Record<string, unknown>;
const byName = (s: string) => fixtures.cases.find((c) => c.name.includes(s))!;

const app = createApp({ compute: "inline", maxElements: 1_000_000, maxBodyBytes: 4_000_000 });
after(() => app.close());

function postJson(body: unknown, target = app) {
  return target.request("/v1/metrics", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

function postParts(parts: Parameters<typeof buildMultipart>[0]) {
  const { body, contentType } = buildMultipart(parts);
  return app.request("/v1/metrics", {
    method: "POST",
    headers: { "Content-Type": contentType },
    body: body as Uint8Array<ArrayBuffer>,
  });
}

function checkValues(actual: Encoded[][], expected: Encoded[][], what: string, rel = 2e-6) {
  assert.equal(actual.length, expected.length, what);
  expected.forEach((row, n) =>
    row.forEach((e, k) => {
      const a = actual[n]![k]!;
      const x = dec(e);
      if (!Number.isFinite(x)) {
        assert.equal(a, e, `${what}[${n}][${k}]`);
        return;
      }
      assert.equal(typeof a, "number", `${what}[${n}][${k}]`);
      assert.ok(
        Math.abs((a as number) - x) <= rel * Math.max(1, Math.abs(x)),
        `${what}[${n}][${k}]: ${a} vs ${x}`,
      );
    })
  );
}

async function expectError(res: Response, status: number, pattern?: RegExp) {
  const text = await res.text();
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${text}`);
  const body = JSON.parse(text) as { error: Json };
  assert.equal(body.error.status, status);
  assert.ok(!/\bat .*:\d+:\d+/.test(text), `no stack trace in responses: ${text}`);
  if (pattern) assert.match(body.error.message as string, pattern);
}

describe("POST /v1/metrics", () => {
  test("JSON labels: every metric matches numpy/scipy on a 2-D multi-class batch", async () => {
    const c = byName("2d multi-class");
    const res = await postJson({
      prediction: c.prediction,
      target: c.target,
      spacing: c.spacing,
      options: { classes: c.classes, tolerance: c.tolerance },
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.match(res.headers.get("server-timing") ?? "", /compute;(desc="[a-z]+";)?dur=/);
    const body = await res.json();
    assert.deepEqual(body.classes, c.classes);
    assert.deepEqual(body.spacing, c.spacing);
    assert.deepEqual(Object.keys(body.metrics), [
      "dice",
      "iou",
      "hausdorff",
      "hd95",
      "assd",
      "nsd",
    ]);
    for (const m of ["dice", "iou", "hausdorff", "hd95", "assd", "nsd"]) {
      checkValues(body.metrics[m].values, c.values[m]!, m);
    }
    const mean = dec(c.averages.hd95!.mean);
    assert.ok(Math.abs(body.metrics.hd95.mean - mean) <= 2e-6 * mean);
  });

  test("empty cases come back as the strings NaN and Infinity", async () => {
    const c = byName("empty cases");
    const res = await postJson({
      prediction: c.prediction,
      target: c.target,
      options: { spacing: c.spacing, metrics: ["dice", "hd95", "nsd"], tolerance: 1 },
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    checkValues(body.metrics.dice.values, c.values.dice!, "dice");
    checkValues(body.metrics.hd95.values, c.values.hd95!, "hd95");
    checkValues(body.metrics.nsd.values, c.values.nsd!, "nsd");
    assert.equal(body.metrics.hd95.mean, "Infinity");
    assert.equal(body.metrics.dice.count, c.averages.dice!.count);
  });

  test("multipart: .npy float32 scores (argmax) and int64 labels, medpy convention", async () => {
    const c = byName("scores argmax");
    const scores = encodeNpy({
      data: Float32Array.from(c.prediction.data),
      shape: c.prediction.shape,
    });
    const labels = encodeNpy({
      data: BigInt64Array.from(c.target.data.map((v) => BigInt(v))),
      shape: c.target.shape,
    });
    const res = await postParts([
      { name: "prediction", value: scores },
      { name: "target", value: labels },
      {
        name: "options",
        value: JSON.stringify({ classes: c.classes, hausdorffConvention: "medpy" }),
      },
    ]);
    assert.equal(res.status, 200, await res.clone().text());
    const body = await res.json();
    assert.equal(body.conventions.hausdorff, "medpy");
    checkValues(body.metrics.hd95.values, c.values.hd95_medpy!, "hd95 medpy");
    checkValues(body.metrics.assd.values, c.values.assd!, "assd");
  });

  test("the Worker pool runs the job (3-D, anisotropic, stray voxel)", async () => {
    const pooled = createApp({ compute: "worker", workers: 1 });
    try {
      const c = byName("stray");
      const res = await postJson({
        prediction: c.prediction,
        target: c.target,
        spacing: c.spacing,
        options: { metrics: ["hausdorff", "hd95"] },
      }, pooled);
      assert.equal(res.status, 200, await res.clone().text());
      const body = await res.json();
      checkValues(body.metrics.hausdorff.values, c.values.hausdorff!, "hd");
      checkValues(body.metrics.hd95.values, c.values.hd95!, "hd95");
    } finally {
      pooled.close();
    }
  });

  test("border, connectivity, conventions and the new metrics pass through to the library", async () => {
    const c = byName("3d thin structures");
    const res = await postJson({
      prediction: c.prediction,
      target: c.target,
      spacing: c.spacing,
      options: {
        classes: c.classes,
        tolerance: c.tolerance,
        border: "none",
        connectivity: "full",
        assdConvention: "medpy-0.4",
        metrics: ["recall", "vs", "hd95", "assd", "nsd"],
      },
    });
    assert.equal(res.status, 200, await res.clone().text());
    const body = await res.json();
    assert.deepEqual(Object.keys(body.metrics), ["recall", "vs", "hd95", "assd", "nsd"]);
    assert.equal(body.conventions.border, "none");
    assert.equal(body.conventions.connectivity, "full");
    const v = c.variants["none+full"]!;
    checkValues(body.metrics.hd95.values, v.values.hd95!, "hd95 none+full");
    checkValues(body.metrics.assd.values, v.values.assd_medpy04!, "assd medpy-0.4 none+full");
    checkValues(body.metrics.nsd.values, v.values.nsd!, "nsd none+full", 1e-12);
    checkValues(body.metrics.recall.values, c.values.recall!, "recall", 1e-12);
    checkValues(body.metrics.vs.values, c.values.vs!, "vs", 1e-12);
    assert.equal(body.metrics.recall.skipped, c.averages.recall!.skipped);
  });

  test("an unknown or misspelt option is a 422 naming it, with a suggestion", async () => {
    const m = { shape: [1, 4], data: [0, 1, 1, 0] };
    await expectError(
      await postJson({ prediction: m, target: m, options: { spacin: [2] } }),
      422,
      /"spacin".*did you mean "spacing"/,
    );
    await expectError(
      await postJson({ prediction: m, target: m, options: { border: "outside" } }),
      422,
      /border/,
    );
  });

  test("GET /openapi.json documents /v1/metrics and every $ref resolves", async () => {
    const doc = await (await app.request("/openapi.json")).json() as Json;
    const paths = doc.paths as Record<string, Json>;
    assert.ok(paths["/v1/metrics"]?.post, "the metrics path");
    assert.ok(paths["/v1/loss"], "the other paths stay");
    const components = doc.components as Record<string, Record<string, unknown>>;
    const refs = JSON.stringify(doc).match(/"\$ref":"#\/components\/[^"]+"/g) ?? [];
    assert.ok(refs.some((r) => r.includes("MetricsRequest")));
    const schemas = components.schemas as Record<string, Json>;
    const props = ((schemas.MetricsRequest!.properties as Json).options as Json)
      .properties as Record<string, Json>;
    assert.deepEqual(props.border!.enum, ["surface", "none"]);
    assert.ok(props.connectivity, "connectivity documented");
    assert.deepEqual(props.assdConvention!.enum, ["monai", "medpy", "medpy-0.4"]);
    const names = (props.metrics!.items as Json).enum as string[];
    for (const m of ["precision", "recall", "specificity", "ravd", "vs", "hd95"]) {
      assert.ok(names.includes(m), m);
    }
    for (const r of refs) {
      const [, kind, name] = r.slice(8, -1).replace("#/", "").split("/");
      assert.ok(components[kind!]?.[name!], `unresolved ${r}`);
    }
  });

  test("client mistakes are precise 4xx answers", async () => {
    const m = { shape: [1, 4], data: [0, 1, 1, 0] };
    await expectError(
      await postJson({ prediction: { shape: [1, 5], data: [0, 1, 1, 0, 0] }, target: m }),
      422,
      /prediction/,
    );
    await expectError(await postJson({ prediction: m }), 422, /target/);
    await expectError(await postJson({ target: m }), 422, /prediction/);
    await expectError(await postJson({ prediction: m, target: m, options: [1] }), 422, /options/);
    await expectError(
      await postJson({ prediction: m, target: m, options: { metrics: ["hd99"] } }),
      422,
      /hd99/,
    );
    await expectError(
      await postJson({ prediction: m, target: m, options: { metrics: ["nsd"] } }),
      422,
      /tolerance/,
    );
    await expectError(
      await postJson({ prediction: m, target: m, spacing: [1], options: { spacing: [1] } }),
      422,
      /not both/,
    );
    await expectError(
      await postJson({ prediction: m, target: { shape: [1, 4], data: [0, 1, 7, -1] } }),
      422,
      /target/,
    );
    await expectError(await postJson({ prediction: m, target: m, extra: 1 }), 422, /extra/);
    await expectError(await postJson("{not json"), 400);
    await expectError(await app.request("/v1/metrics"), 405, /POST \/v1\/metrics/);
    const res = await app.request("/v1/metrics", {
      method: "POST",
      headers: { "Content-Type": "text/plain" },
      body: "x",
    });
    await expectError(res, 415);
    const tiny = createApp({ compute: "inline", maxElements: 10 });
    try {
      const big = { shape: [1, 8], data: [0, 1, 1, 0, 0, 0, 0, 0] };
      await expectError(await postJson({ prediction: big, target: big }, tiny), 413);
    } finally {
      tiny.close();
    }
    // a valid request still works afterwards
    const ok = await postJson({ prediction: m, target: m, options: { metrics: ["dice"] } });
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).metrics.dice.mean, 1);
  });
});
