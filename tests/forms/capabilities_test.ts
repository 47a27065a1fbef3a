// What ran is visible from source too (Deno and Bun): capabilities(), the scorer's info(), an
// EDT pool's `threaded`, and the Worker module URL rule that survives a transpile.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { capabilities, createEdtWorkerPool, createScorer } from "../../mod.ts";
import { siblingModuleUrl, threadKind } from "../../core/_worker.ts";

const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";

const input = (Ctor: Float32ArrayConstructor | Float64ArrayConstructor) => ({
  data: new Ctor([2, -1, 0.5, 1, -2, 1, 0, 3]),
  shape: [1, 2, 4],
});
const target = { data: new Uint8Array([0, 1, 1, 0]), shape: [1, 4] };

describe("capabilities() and what ran", () => {
  test("capabilities() names this runtime, its threads and the SIMD kernel", async () => {
    const c = await capabilities();
    assert.equal(c.runtime.name, isBun ? "bun" : "deno");
    assert.equal(c.threads.kind, "web-worker");
    assert.equal(c.threads.available, true);
    assert.equal(c.threads.sharedMemory, true);
    assert.ok(Number.isInteger(c.threads.cores) && c.threads.cores >= 1);
    assert.deepEqual(c.simd, { available: true });
    if (isBun) {
      assert.equal(c.webgpu.available, false);
      assert.match(c.webgpu.reason!, /Bun has no WebGPU/);
    } else if (c.webgpu.available) {
      assert.equal(typeof c.webgpu.adapter, "string");
      assert.equal(typeof c.webgpu.isSoftware, "boolean");
    }
  });

  test("scorer.info(): wasm-simd for float32 logits, js for float64 or with simd off", async () => {
    const config = { losses: [{ name: "dice" }] };
    const simd = await createScorer(config);
    assert.equal(simd.info().kernel, undefined, "nothing ran yet");
    await simd.evaluate({ input: input(Float32Array), target });
    assert.deepEqual(simd.info(), {
      kernel: "wasm-simd",
      fallback: undefined,
      backend: "cpu",
      distance: "edt",
    });
    await simd.evaluate({ input: input(Float64Array), target });
    assert.equal(simd.info().kernel, "js");
    simd.dispose();
    const off = await createScorer({ ...config, backendOptions: { simd: false } });
    await off.evaluate({ input: input(Float32Array), target });
    assert.equal(off.info().kernel, "js");
    assert.equal(off.info().fallback, "the simd option is false");
    off.dispose();
  });

  test("an EDT pool says it runs on threads", () => {
    const pool = createEdtWorkerPool({ workers: 2 });
    assert.equal(pool.threaded, true);
    assert.equal(threadKind(), "web-worker");
    pool.close();
  });

  test("Worker module URLs keep the caller's extension (source .ts, transpiled or bundled .js)", () => {
    const cases: [name: string, caller: string, expected: string][] = [
      ["edt_worker", "file:///pkg/transforms/edt_pool.ts", "file:///pkg/transforms/edt_worker.ts"],
      ["edt_worker", "file:///pkg/transforms/edt_pool.js", "file:///pkg/transforms/edt_worker.js"],
      ["worker", "https://cdn.example/dist/mod.mjs?v=1", "https://cdn.example/dist/worker.mjs"],
      ["edt_worker", "http://localhost/app/", "http://localhost/app/edt_worker.js"],
    ];
    for (const [name, caller, expected] of cases) {
      assert.equal(siblingModuleUrl(name, caller).href, expected, `${name} beside ${caller}`);
    }
  });
});
