// The webgpu backend (llvmpipe in CI): values against the independent scipy reference, values
// and gradients against the cpu backend (which tests/loss_test.ts and tests/gradient_test.ts
// check against references and finite differences), every backend x distance mix, device loss.
import { describe } from "node:test";
import assert from "node:assert/strict";
import {
  builtinPlugins,
  createRegistry,
  createScorer,
  createWebgpuBackend,
  defaultRegistry,
  getDefaultWebgpuDevice,
  jfaTransform,
  requestWebgpuDevice,
  webgpuPlugin,
} from "../mod.ts";
import type { EvaluateResult, NdArray, Registry, ScorerConfig } from "../mod.ts";
import { coords, gpuTest, rng } from "./webgpu_gate.ts";
import { readFixture } from "./util.ts";

const reference = readFixture("reference/reference.json");

/** |a − b| ≤ 1e-5·|b| + 1e-5·max|b| elementwise (relative, with a floor at the array scale). */
function assertRel(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = 1e-5) {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  for (let i = 0; i < want.length; i++) {
    const a = got[i]!, b = want[i]!;
    assert.ok(
      Math.abs(a - b) <= tol * Math.abs(b) + tol * scale,
      `${what}[${i}]: ${a} vs ${b} (scale ${scale})`,
    );
  }
}

function assertSameResult(got: EvaluateResult, want: EvaluateResult, what: string, tol = 1e-5) {
  assert.deepEqual(Object.keys(got.terms), Object.keys(want.terms));
  for (const k of Object.keys(want.terms)) {
    assertRel([got.terms[k]!], [want.terms[k]!], `${what} ${k}`, tol);
  }
  assertRel([got.total], [want.total], `${what} total`, tol);
  if (want.gradient) {
    assert.ok(got.gradient, `${what}: gradient missing`);
    assert.deepEqual(got.gradient.shape, want.gradient.shape);
    assert.equal(got.gradient.data.constructor, want.gradient.data.constructor);
    assertRel(got.gradient.data, want.gradient.data, `${what} gradient`, tol);
  }
}

const LOSSES: ScorerConfig["losses"] = [
  { name: "dice" },
  { name: "generalized-dice" },
  { name: "cross-entropy" },
  { name: "boundary", weight: 0.01 },
];

async function run(
  config: Partial<ScorerConfig>,
  request: Parameters<Awaited<ReturnType<typeof createScorer>>["evaluate"]>[0],
  registry: Registry = defaultRegistry,
): Promise<EvaluateResult> {
  const scorer = await createScorer({ losses: LOSSES, ...config } as ScorerConfig, {
    registry,
  });
  try {
    return await scorer.evaluate(request);
  } finally {
    scorer.dispose();
  }
}

/** Random logits and blob labels (every class present in most samples). */
function batch(
  n: number,
  c: number,
  spatial: number[],
  seed: number,
): { input: NdArray<Float32Array>; target: NdArray<Uint8Array> } {
  const r = rng(seed);
  const v = spatial.reduce((a, b) => a * b, 1);
  const input = new Float32Array(n * c * v).map(() => (r() - 0.5) * 6);
  const labels = new Uint8Array(n * v);
  for (let s = 0; s < n; s++) {
    const centres = Array.from({ length: 6 }, () => ({
      at: spatial.map((e) => r() * e),
      rad: 1 + r() * Math.min(...spatial) / 4,
      cls: 1 + Math.floor(r() * (c - 1)),
    }));
    for (let i = 0; i < v; i++) {
      let lab = 0;
      const x = spatial.map(() => 0);
      coords(spatial, i, x);
      for (const b of centres) {
        let d2 = 0;
        for (let d = 0; d < spatial.length; d++) d2 += (x[d]! - b.at[d]!) ** 2;
        if (d2 < b.rad * b.rad) lab = b.cls;
      }
      labels[s * v + i] = lab;
    }
  }
  return {
    input: { data: input, shape: [n, c, ...spatial] },
    target: { data: labels, shape: [n, ...spatial] },
  };
}

describe("webgpu backend", () => {
  gpuTest(
    "webgpu matches the scipy reference values and the cpu backend on every reference case",
    async () => {
      for (const c of reference.cases) {
        const input = { data: Float32Array.from(c.probs), shape: c.shape };
        const target = {
          data: Int32Array.from(c.labels),
          shape: [c.shape[0], ...c.shape.slice(2)],
        };
        const config: Partial<ScorerConfig> = {
          input: "probs",
          losses: [
            { name: "boundary", options: { classes: [1] } },
            { name: "cross-entropy" },
            { name: "dice" },
            { name: "generalized-dice" },
          ],
        };
        const req = { input, target, spacing: c.spacing ?? undefined, gradient: true };
        const gpu = await run({ ...config, backend: "webgpu" }, req);
        const cpu = await run({ ...config, backend: "cpu" }, req);
        assertRel([gpu.terms.boundary!], [c.boundary_classes_1], `${c.name} boundary vs scipy`);
        assertRel([gpu.terms["cross-entropy"]!], [c.cross_entropy_mean], `${c.name} CE vs scipy`);
        assertSameResult(gpu, cpu, c.name);
        if (c.logits) {
          const lreq = { ...req, input: { data: Float32Array.from(c.logits), shape: c.shape } };
          const gl = await run({ ...config, input: "logits", backend: "webgpu" }, lreq);
          const cl = await run({ ...config, input: "logits", backend: "cpu" }, lreq);
          assertSameResult(gl, cl, `${c.name} logits`);
        }
      }
    },
  );

  gpuTest(
    "webgpu equals cpu (exact maps) on random 2-D and 3-D batches: values and gradients",
    async () => {
      const cases = [
        { n: 3, c: 4, spatial: [32, 40], spacing: undefined },
        { n: 2, c: 3, spatial: [12, 14, 16], spacing: [2, 0.75, 1] },
        { n: 1, c: 9, spatial: [20, 24], spacing: [0.5, 1.5] }, // more classes than one block
      ];
      for (const [i, k] of cases.entries()) {
        const { input, target } = batch(k.n, k.c, k.spatial, 100 + i);
        const req = { input, target, spacing: k.spacing, gradient: true };
        const cpu = await run({ backend: "cpu", distance: "edt" }, req);
        const gpu = await run({ backend: "webgpu", distance: "edt" }, req);
        assertSameResult(gpu, cpu, `case ${i} logits`);
        // probabilities (softmax of the logits, computed here), float64 input
        const probs = new Float64Array(input.data.length);
        const v = k.spatial.reduce((a, b) => a * b, 1);
        for (let s = 0; s < k.n; s++) {
          for (let j = 0; j < v; j++) {
            let m = -Infinity, sum = 0;
            for (let c = 0; c < k.c; c++) m = Math.max(m, input.data[(s * k.c + c) * v + j]!);
            for (let c = 0; c < k.c; c++) sum += Math.exp(input.data[(s * k.c + c) * v + j]! - m);
            for (let c = 0; c < k.c; c++) {
              probs[(s * k.c + c) * v + j] = Math.exp(input.data[(s * k.c + c) * v + j]! - m) / sum;
            }
          }
        }
        const preq = { ...req, input: { data: probs, shape: input.shape } };
        const pc = await run({ backend: "cpu", input: "probs" }, preq);
        const pg = await run({ backend: "webgpu", input: "probs" }, preq);
        assertSameResult(pg, pc, `case ${i} probs (float64)`);
      }
    },
  );

  gpuTest("webgpu equals cpu with a one-hot target, an ignore label and squared dice", async () => {
    const { input, target } = batch(2, 3, [24, 20], 7);
    const v = 24 * 20;
    const onehot = new Float32Array(2 * 3 * v);
    for (let s = 0; s < 2; s++) {
      for (let j = 0; j < v; j++) onehot[(s * 3 + target.data[s * v + j]!) * v + j] = 1;
    }
    const losses = [
      { name: "dice", options: { squared: true, includeBackground: true } },
      { name: "boundary", weight: 0.5 },
    ];
    const req = { input, target: { data: onehot, shape: [2, 3, 24, 20] }, gradient: true };
    assertSameResult(
      await run({ backend: "webgpu", losses }, req),
      await run({ backend: "cpu", losses }, req),
      "one-hot",
    );
    const labels = Int32Array.from(target.data);
    for (let j = 0; j < labels.length; j += 7) labels[j] = 255;
    // ignored voxels count as background in the maps, on the device as on the cpu
    const ce = [{ name: "cross-entropy", options: { ignoreIndex: 255 } }, { name: "boundary" }];
    const ireq = { input, target: { data: labels, shape: target.shape }, gradient: true };
    assertSameResult(
      await run({ backend: "webgpu", distance: "jfa", losses: ce }, ireq),
      await run({ backend: "cpu", losses: ce }, ireq),
      "ignore label",
    );
  });

  gpuTest("a single sigmoid channel (binary) gives the same result on webgpu and cpu", async () => {
    const { input, target } = batch(2, 2, [18, 22], 8);
    const one = { data: input.data.slice(0, 2 * 18 * 22), shape: [2, 1, 18, 22] };
    for (const kind of ["logits", "probs"] as const) {
      const data = kind === "logits" ? one.data : one.data.map((x) => 1 / (1 + Math.exp(-x)));
      const req = { input: { data, shape: one.shape }, target, gradient: true };
      assertSameResult(
        await run({ backend: "webgpu", distance: "jfa", input: kind }, req),
        await run({ backend: "cpu", input: kind }, req),
        `binary ${kind}`,
      );
    }
  });

  gpuTest("every mix (webgpu+jfa, webgpu+edt, cpu+jfa) equals cpu+edt", async () => {
    const { input, target } = batch(2, 3, [40, 48], 9);
    const req = { input, target, spacing: [1, 0.6], gradient: true };
    const want = await run({ backend: "cpu", distance: "edt" }, req);
    for (const [backend, distance] of [["webgpu", "jfa"], ["webgpu", "edt"], ["cpu", "jfa"]]) {
      const got = await run({ backend, distance }, req);
      assertSameResult(got, want, `${backend}+${distance}`);
    }
    const three = batch(1, 2, [20, 22, 24], 10);
    const req3 = { ...three, spacing: [2, 1, 1], gradient: true };
    assertSameResult(
      await run({ backend: "webgpu", distance: "jfa" }, req3),
      await run({ backend: "cpu", distance: "edt" }, req3),
      "3-D webgpu+jfa",
    );
  });

  gpuTest("webgpu+jfa computes the maps on the device (jfa.edt is never called)", async () => {
    const jfa = jfaTransform();
    const spy = {
      ...jfa,
      edt: () => Promise.reject(new Error("maps left the device")),
    };
    const registry = createRegistry([
      ...builtinPlugins,
      { kind: "distance", name: "jfa", create: () => spy } as const,
    ]);
    const { input, target } = batch(2, 3, [30, 34], 11);
    const req = { input, target, gradient: true };
    const got = await run({ backend: "webgpu", distance: "jfa" }, req, registry);
    assertSameResult(got, await run({ backend: "cpu" }, req), "on-device maps");
    // on a different device it falls back to jfa.edt (through signedDistance) and says so
    await assert.rejects(
      run({ backend: "cpu", distance: "jfa" }, req, registry),
      /maps left the device/,
    );
  });

  gpuTest(
    "absent and whole-volume classes give zero maps on the device, as on the cpu",
    async () => {
      const v = 16 * 18;
      const labels = new Uint8Array(2 * v);
      for (let j = 0; j < v; j++) labels[j] = j % 18 < 6 ? 1 : 0; // sample 0: no class 2
      labels.fill(2, v); // sample 1: class 2 everywhere
      const r = rng(12);
      const input = {
        data: new Float32Array(2 * 3 * v).map(() => r() * 4 - 2),
        shape: [2, 3, 16, 18],
      };
      const req = { input, target: { data: labels, shape: [2, 16, 18] }, gradient: true };
      const losses = [{ name: "boundary", options: { includeBackground: true } }];
      for (const convention of ["kervadec", "signed", "inner-zero"] as const) {
        assertSameResult(
          await run({ backend: "webgpu", distance: "jfa", losses, convention }, {
            ...req,
            spacing: [0.7, 1.3],
          }),
          await run({ backend: "cpu", distance: "edt", losses, convention }, {
            ...req,
            spacing: [0.7, 1.3],
          }),
          convention,
        );
      }
    },
  );

  gpuTest("backend auto picks webgpu on hardware, cpu on a software adapter or none", async () => {
    const scorer = await createScorer({ backend: "auto", losses: [{ name: "dice" }] });
    const adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
    const software = adapter!.info.isFallbackAdapter ||
      /llvmpipe|swiftshader|lavapipe|software/i.test(adapter!.info.description);
    assert.equal(scorer.backend, software ? "cpu" : "webgpu"); // llvmpipe in CI: cpu
    scorer.dispose();
    const registry = createRegistry([
      ...builtinPlugins,
      { ...webgpuPlugin, isAvailable: () => false },
    ]);
    const s2 = await createScorer({ backend: "auto", losses: [{ name: "dice" }] }, { registry });
    assert.equal(s2.backend, "cpu");
    s2.dispose();
  });

  gpuTest(
    "a lost default device is replaced; a lost device handed in is a clear error",
    async () => {
      const { input, target } = batch(1, 2, [16, 16], 13);
      const req = { input, target, gradient: true };
      const want = await run({ backend: "cpu" }, req);
      const first = await getDefaultWebgpuDevice();
      assertSameResult(await run({ backend: "webgpu", distance: "jfa" }, req), want, "before");
      first.destroy();
      await first.lost;
      assertSameResult(await run({ backend: "webgpu", distance: "jfa" }, req), want, "after");
      assert.notEqual(await getDefaultWebgpuDevice(), first);

      const mine = await requestWebgpuDevice();
      const backend = createWebgpuBackend({ device: mine });
      assert.equal(await backend.device(), mine);
      const prepared = await backend.prepare({
        input,
        inputKind: "logits",
        numClasses: 2,
        labels: Int32Array.from(target.data),
      });
      mine.destroy();
      await assert.rejects(prepared.statistics(new Set(["pt"])), /lost/);
      await assert.rejects(
        backend.prepare({ input, inputKind: "logits", numClasses: 2 }),
        /GPUDevice handed in was lost/,
      );
      backend.dispose();
    },
  );

  gpuTest("no adapter: requesting a device is a clear Error", async () => {
    const nav = globalThis.navigator as unknown as Record<string, unknown>;
    Object.defineProperty(nav, "gpu", { value: undefined, configurable: true });
    try {
      await assert.rejects(requestWebgpuDevice(), /WebGPU is not available: navigator.gpu/);
    } finally {
      delete nav.gpu;
    }
    assert.ok(globalThis.navigator.gpu);
  });

  gpuTest("prepared batches check their input and refuse use after dispose", async () => {
    const backend = createWebgpuBackend();
    await assert.rejects(
      backend.prepare({
        input: { data: new Float32Array(8), shape: [1, 2, 4] },
        inputKind: "logits",
        numClasses: 3,
      }),
      RangeError,
    );
    await assert.rejects(
      backend.prepare({
        input: { data: new Float32Array(8), shape: [1, 2, 4] },
        inputKind: "logits",
        numClasses: 2,
        labels: new Int32Array(3),
      }),
      /batch.labels to have 4 elements/,
    );
    const p = await backend.prepare({
      input: { data: new Float32Array([1, 2, 3, 4]), shape: [1, 2, 2] },
      inputKind: "probs",
      numClasses: 2,
      labels: new Int32Array([0, 1]),
    });
    await assert.rejects(p.statistics(new Set(["bogus" as "p"])), RangeError);
    await assert.rejects(p.statistics(new Set(["pphi"])), /distanceRequest/);
    const s = await p.statistics(new Set(["p", "pt", "t", "p2", "t2", "tlogp"]));
    assert.deepEqual(Array.from(s.sums.p!), [3, 7]); // class 0 = [1, 2], class 1 = [3, 4]
    assert.deepEqual(Array.from(s.sums.pt!), [1, 4]);
    assert.deepEqual(Array.from(s.sums.t!), [1, 1]);
    assert.deepEqual(Array.from(s.sums.p2!), [5, 25]);
    assert.ok(Math.abs(s.sums.tlogp![1]! - Math.log(4)) < 1e-6);
    p.dispose();
    await assert.rejects(p.statistics(new Set(["p"])), /disposed/);
    backend.dispose();
  });

  gpuTest("the webgpu plugin is registered; its priority ranks it against cpu", async () => {
    assert.equal(defaultRegistry.get("backend", "webgpu"), webgpuPlugin);
    assert.equal(await webgpuPlugin.isAvailable!(), true);
    const adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
    const software = adapter!.info.isFallbackAdapter ||
      /llvmpipe|swiftshader|lavapipe|software/i.test(adapter!.info.description);
    const cpu = defaultRegistry.get("backend", "cpu").priority ?? 0;
    if (software) assert.ok(webgpuPlugin.priority! < cpu);
    else assert.ok(webgpuPlugin.priority! > cpu);
  });
});
