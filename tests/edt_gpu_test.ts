// The exact WebGPU EDT (`edt-gpu`; llvmpipe in CI) against scipy (fixtures) and against the
// CPU `edt` / `signedDistance`, which tests/edt_test.ts and tests/signed_distance_test.ts check
// against scipy. Unlike the jump flood it has no tolerance for wrong voxels: every voxel must
// agree within float32 rounding.
import { describe } from "node:test";
import assert from "node:assert/strict";
import {
  builtinPlugins,
  createRegistry,
  createScorer,
  createWebgpuBackend,
  defaultRegistry,
  edt,
  getDefaultWebgpuDevice,
  requestWebgpuDevice,
  signedDistance,
} from "../mod.ts";
import type {
  DistanceTransform,
  EvaluateResult,
  NdArray,
  Registry,
  ScorerConfig,
  SignedDistanceConvention,
} from "../mod.ts";
import { edtGpuPlugin, edtGpuTransform } from "../transforms/edt_gpu.ts";
import type { EdtGpuKernel } from "../transforms/edt_gpu.ts";
import { balls, coords, gpuTest, rng } from "./webgpu_gate.ts";
import { readFixture } from "./util.ts";

const CONVENTIONS: SignedDistanceConvention[] = ["kervadec", "signed", "inner-zero"];

/** Both line kernels, forced: "auto" picks the workgroup one for these small batches. */
const KERNELS: EdtGpuKernel[] = ["thread", "workgroup"];

/**
 * Tolerance against the CPU transforms, in float32 units in the last place of the expected
 * value: the GPU sums squared distances in float32 (the CPU in float64) and WGSL's sqrt may be
 * off by 2.5 ulp on hardware; measured on llvmpipe: at most 1 ulp (1.1e-7 relative).
 */
const ULPS = 4;

function ulp(x: number): number {
  const a = Math.abs(x);
  return a < 2 ** -126 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(a)) - 23);
}

/** Asserts that no voxel differs by more than `ULPS` float32 ulps (+ an absolute floor). */
function assertUlps(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  what: string,
  floor = 0,
): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let wrong = 0, first = -1;
  for (let i = 0; i < want.length; i++) {
    const a = got[i]!, b = want[i]!;
    if (a === b) continue; // Infinity === Infinity, and the exact integer cases
    if (!(Math.abs(a - b) <= ULPS * ulp(b) + floor)) {
      wrong++;
      if (first < 0) first = i;
    }
  }
  assert.equal(
    wrong,
    0,
    `${what}: ${wrong} of ${want.length} voxels differ (first at ${first}: got ${
      got[first]
    }, want ${want[first]})`,
  );
}

/**
 * Against scipy fixtures: they are printed with 7 significant digits (5e-8 relative), and the
 * float32 result adds 4 ulps (4.8e-7): 5.5e-7 relative, plus 1e-6 absolute for values near 0
 * in the shifted signed maps.
 */
function assertFixture(got: ArrayLike<number>, want: readonly number[], what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const a = got[i]!, b = want[i]!;
    assert.ok(
      Math.abs(a - b) <= 5.5e-7 * Math.abs(b) + 1e-6,
      `${what}: element ${i} is ${a}, scipy says ${b}`,
    );
  }
}

/** Random masks with ones at density `p` (zeros are the sites). */
function noise(n: number, p: number, seed: number): Uint8Array {
  const r = rng(seed);
  return Uint8Array.from({ length: n }, () => (r() < p ? 1 : 0));
}

/** Random blob labels in [0, C) (nearest of a few random centres), so every class has area. */
function blobLabels(n: number, spatial: number[], C: number, seed: number): Int32Array {
  const r = rng(seed);
  const V = spatial.reduce((a, b) => a * b, 1);
  const out = new Int32Array(n * V);
  const x = new Array<number>(spatial.length).fill(0);
  for (let s = 0; s < n; s++) {
    const centres = Array.from({ length: 3 * C }, (_, j) => ({
      at: spatial.map((e) => r() * e),
      c: j % C,
    }));
    for (let v = 0; v < V; v++) {
      coords(spatial, v, x);
      let best = Infinity, label = 0;
      for (const ce of centres) {
        let d2 = 0;
        for (let d = 0; d < spatial.length; d++) d2 += (x[d]! - ce.at[d]!) ** 2;
        if (d2 < best) [best, label] = [d2, ce.c];
      }
      out[s * V + v] = r() < 0.03 ? Math.floor(r() * C) : label; // some label noise
    }
  }
  return out;
}

describe("edt-gpu", () => {
  gpuTest("edt-gpu.edt matches scipy on every EDT fixture case (1-D to 3-D, batches)", async () => {
    const t = edtGpuTransform();
    for (const c of readFixture("edt_cases.json").cases) {
      const got = await t.edt(
        { data: Uint8Array.from(c.mask), shape: c.shape },
        { spacing: c.spacing, spatialDims: c.spatialDims },
      );
      assert.deepEqual(got.shape, c.shape);
      assertFixture(got.data, c.expected, c.name);
    }
    t.dispose();
  });

  gpuTest("edt-gpu.signedDistance matches scipy fixtures in every convention", async () => {
    const t = edtGpuTransform();
    for (const c of readFixture("signed_distance_cases.json").cases) {
      for (const convention of CONVENTIONS) {
        const got = await t.signedDistance(
          { data: Int32Array.from(c.labels), shape: c.shape },
          { numClasses: c.numClasses, spacing: c.spacing, convention },
        );
        assert.deepEqual(got.shape, [c.shape[0], c.numClasses, ...c.shape.slice(1)]);
        assertFixture(got.data, c[convention], `${c.name} ${convention}`);
      }
    }
    t.dispose();
  });

  gpuTest("edt-gpu.edt equals the CPU edt on random 2-D masks: no wrong voxel", async () => {
    for (const kernel of KERNELS) await random2d(kernel);
  });

  async function random2d(kernel: EdtGpuKernel): Promise<void> {
    const t = edtGpuTransform({ kernel });
    const cases: [string, Uint8Array, number[], number[] | undefined][] = [
      ["128x128 noise 50%", noise(128 * 128, 0.5, 1), [128, 128], undefined],
      ["128x128 sparse zeros (0.05%)", noise(128 * 128, 0.9995, 2), [128, 128], undefined],
      ["128x128 balls of zeros", balls([128, 128], 6, 20, 3, true), [128, 128], [0.7, 1.9]],
      ["120x128 dense ones, spacing", noise(120 * 128, 0.97, 4), [120, 128], [1.3, 0.45]],
      ["3x40x50 batch, spacing", noise(3 * 40 * 50, 0.99, 5), [3, 40, 50], [0.3, 3]],
      ["1x128 row", noise(128, 0.95, 6), [1, 128], undefined],
      ["128x1 column, spacing", noise(128, 0.95, 7), [128, 1], [0.5, 3]],
    ];
    for (const [name, mask, shape, spacing] of cases) {
      const spatialDims = 2;
      const got = await t.edt({ data: mask, shape }, { spacing, spatialDims });
      const want = edt({ data: mask, shape }, { spacing, spatialDims });
      assertUlps(got.data, want.data, `${name} (${kernel})`);
    }
    t.dispose();
  }

  gpuTest("edt-gpu.edt equals the CPU edt on random 3-D masks and 1-D rows", async () => {
    for (const kernel of KERNELS) await random3d(kernel);
  });

  async function random3d(kernel: EdtGpuKernel): Promise<void> {
    const t = edtGpuTransform({ kernel });
    const cases: [string, Uint8Array, number[], number[] | undefined, number][] = [
      ["32^3 noise 30%", noise(32 ** 3, 0.3, 8), [32, 32, 32], undefined, 3],
      ["32^3 sparse zeros", noise(32 ** 3, 0.9995, 9), [32, 32, 32], [2.5, 0.6, 1.1], 3],
      [
        "24x32x28 balls of zeros",
        balls([24, 32, 28], 5, 8, 10, true),
        [24, 32, 28],
        [1, 1, 0.5],
        3,
      ],
      ["2x16x20x24 batch", noise(2 * 16 * 20 * 24, 0.98, 11), [2, 16, 20, 24], [3, 1, 0.5], 3],
      ["5x300 rows", noise(1500, 0.99, 12), [5, 300], [0.3], 1],
    ];
    for (const [name, mask, shape, spacing, spatialDims] of cases) {
      const got = await t.edt({ data: mask, shape }, { spacing, spatialDims });
      const want = edt({ data: mask, shape }, { spacing, spatialDims });
      assertUlps(got.data, want.data, `${name} (${kernel})`);
    }
    t.dispose();
  }

  gpuTest("a volume without zeros gives Infinity, and volumes never leak", async () => {
    const t = edtGpuTransform();
    // volume 0: no zero at all; volume 1: a single zero in a corner
    const mask = new Uint8Array(2 * 9 * 11).fill(1);
    mask[9 * 11] = 0;
    const got = await t.edt({ data: mask, shape: [2, 9, 11] }, { spatialDims: 2 });
    assert.ok(got.data.subarray(0, 99).every((v) => v === Infinity));
    assert.equal(got.data[99], 0);
    assert.equal(got.data[99 + 98], Math.fround(Math.hypot(8, 10)));
    t.dispose();
  });

  gpuTest("signed maps equal the CPU signedDistance on random labels, spacing", async () => {
    for (const kernel of KERNELS) await randomSigned(kernel);
  });

  async function randomSigned(kernel: EdtGpuKernel): Promise<void> {
    const t = edtGpuTransform({ kernel });
    const cases: [number[], number, number[]][] = [
      [[3, 64, 72], 4, [1, 1]],
      [[2, 48, 40], 3, [0.7, 1.3]],
      [[2, 20, 24, 28], 3, [2, 0.5, 1.25]],
      [[4, 40], 5, [0.3]],
    ];
    for (const [shape, numClasses, spacing] of cases) {
      const labels = blobLabels(shape[0]!, shape.slice(1), numClasses, shape.length * 7);
      const target = { data: labels, shape };
      for (const convention of CONVENTIONS) {
        const o = { numClasses, spacing, convention };
        const got = await t.signedDistance(target, o);
        const want = await signedDistance(target, o);
        // shift − d can cancel to ~0 inside: 4 ulps of the distance, not of the difference
        assertUlps(
          got.data,
          want.data,
          `${shape.join("x")} ${convention} (${kernel})`,
          4 * ulp(64),
        );
      }
    }
    t.dispose();
  }

  gpuTest(
    "the workgroup kernel falls back to a thread per line for lines over its capacity",
    async () => {
      // 1 x 5000: longer than any workgroup-memory capacity (at most 4096), so even "workgroup"
      // runs the row on the thread kernel; the 40 x 5000 batch's columns (40) use workgroups
      const t = edtGpuTransform({ kernel: "workgroup" });
      const mask = noise(40 * 5000, 0.999, 13);
      const got = await t.edt({ data: mask, shape: [40, 5000] }, { spacing: [1.5, 0.5] });
      const want = edt({ data: mask, shape: [40, 5000] }, { spacing: [1.5, 0.5] });
      assertUlps(got.data, want.data, "40x5000");
      t.dispose();
    },
  );

  gpuTest("bad arguments are precise errors", async () => {
    const t = edtGpuTransform();
    const mask = { data: new Uint8Array(16), shape: [2, 2, 2, 2] };
    await assert.rejects(t.edt(mask, { spatialDims: 4 }), RangeError);
    await assert.rejects(t.edt(mask, { spacing: [1, -1], spatialDims: 2 }), RangeError);
    await assert.rejects(
      t.signedDistance({ data: new Int32Array([0, 3]), shape: [1, 2] }, { numClasses: 2 }),
      /labels in \[0, 2\) but found 3 at flat index 1/,
    );
    await assert.rejects(
      t.signedDistance({ data: new Int32Array(16), shape: [1, 2, 2, 2, 2] }, { numClasses: 2 }),
      TypeError,
    );
    assert.throws(() => edtGpuTransform({ device: 3 as unknown as GPUDevice }), TypeError);
    assert.throws(() => edtGpuTransform({ kernel: "warp" as "auto" }), /options.kernel/);
    t.dispose();
  });

  gpuTest("the edt-gpu plugin is registered as a distance transform", async () => {
    assert.equal(defaultRegistry.get("distance", "edt-gpu"), edtGpuPlugin);
    assert.equal(await edtGpuPlugin.isAvailable!(), true);
    const t = await edtGpuPlugin.create();
    assert.equal(t.exact, true);
    t.dispose?.();
  });
});

// ---------------------------------------------------------------------------------------------
// on-device maps: the capability, for the built-in and for a third party's transform

const LOSSES: ScorerConfig["losses"] = [{ name: "dice" }, { name: "boundary", weight: 0.01 }];

async function run(
  config: Partial<ScorerConfig>,
  request: Parameters<Awaited<ReturnType<typeof createScorer>>["evaluate"]>[0],
  registry: Registry = defaultRegistry,
): Promise<EvaluateResult> {
  const scorer = await createScorer({ losses: LOSSES, ...config } as ScorerConfig, { registry });
  try {
    return await scorer.evaluate(request);
  } finally {
    scorer.dispose();
  }
}

/**
 * Same result: both runs use the `webgpu` backend (identical float32 reductions), only the maps
 * differ, by at most 4 ulps per voxel: 1e-6 relative is far above that and far below what a
 * single wrong voxel of the jump flood moves.
 */
function assertSame(got: EvaluateResult, want: EvaluateResult, what: string): void {
  for (const k of Object.keys(want.terms)) {
    const a = got.terms[k]!, b = want.terms[k]!;
    assert.ok(Math.abs(a - b) <= 1e-6 * Math.abs(b), `${what} ${k}: ${a} vs ${b}`);
  }
  const g = got.gradient!.data, h = want.gradient!.data;
  let max = 0, scale = 0;
  for (let i = 0; i < h.length; i++) {
    max = Math.max(max, Math.abs(g[i]! - h[i]!));
    scale = Math.max(scale, Math.abs(h[i]!));
  }
  assert.ok(max <= 1e-6 * scale, `${what} gradient: max difference ${max} (scale ${scale})`);
}

function request(n: number, c: number, spatial: number[], seed: number) {
  const r = rng(seed);
  const V = spatial.reduce((a, b) => a * b, 1);
  const input = {
    data: new Float32Array(n * c * V).map(() => (r() - 0.5) * 6),
    shape: [n, c, ...spatial],
  };
  const target: NdArray = { data: blobLabels(n, spatial, c, seed), shape: [n, ...spatial] };
  return { input, target, gradient: true };
}

/** Counts the mappable (readback) buffers created on `device` while `fn` runs. */
async function countReadbacks(device: GPUDevice, fn: () => Promise<unknown>): Promise<number[]> {
  const sizes: number[] = [];
  const original = device.createBuffer;
  device.createBuffer = function (descriptor: GPUBufferDescriptor) {
    if (descriptor.usage & 0x0001) sizes.push(descriptor.size); // GPUBufferUsage.MAP_READ
    return original.call(this, descriptor);
  };
  try {
    await fn();
  } finally {
    device.createBuffer = original;
  }
  return sizes;
}

describe("edt-gpu on the device", () => {
  gpuTest("webgpu + edt-gpu reads no map back and equals webgpu + edt", async () => {
    const req = { ...request(2, 3, [40, 36], 21), spacing: [0.8, 1.25] };
    const want = await run({ backend: "webgpu", distance: "edt" }, req);
    const device = await getDefaultWebgpuDevice();
    let got: EvaluateResult | undefined;
    const sizes = await countReadbacks(device, async () => {
      got = await run({ backend: "webgpu", distance: "edt-gpu" }, req);
    });
    assertSame(got!, want, "webgpu+edt-gpu");
    // exactly two readbacks: the statistics' partial sums and the gradient; a map readback
    // (edt-gpu.edt through signedDistance) would add one per transform call
    assert.equal(sizes.length, 2, `readbacks: ${JSON.stringify(sizes)}`);
    assert.equal(sizes[1], 2 * 3 * 40 * 36 * 4); // the gradient
  });

  gpuTest("cpu + edt-gpu (maps through edt-gpu.edt, read back) equals cpu + edt", async () => {
    const req = { ...request(2, 3, [18, 20], 23), spacing: [1.2, 0.7] };
    const got = await run({ backend: "cpu", distance: "edt-gpu" }, req);
    const want = await run({ backend: "cpu", distance: "edt" }, req);
    // the cpu backend sums in float64: only the maps differ (by at most 4 ulps per voxel)
    assertSame(got, want, "cpu+edt-gpu");
  });

  gpuTest("an outside transform implementing signedOnDevice takes the on-device path", async () => {
    const exact = edtGpuTransform();
    let calls = 0;
    // a third party's transform: no JFA_SOURCE, no registry entry of ours, only the interface
    const outside: DistanceTransform = {
      name: "outside-gpu",
      exact: true,
      edt: () => Promise.reject(new Error("maps left the device")),
      signedOnDevice: (r) => {
        calls++;
        return exact.signedOnDevice(r);
      },
    };
    const registry = createRegistry([
      ...builtinPlugins,
      { kind: "distance", name: "outside-gpu", create: () => outside } as const,
    ]);
    for (const convention of CONVENTIONS) {
      const req = request(2, 4, [12, 14, 10], 31);
      const got = await run(
        { backend: "webgpu", distance: "outside-gpu", convention },
        req,
        registry,
      );
      const want = await run({ backend: "webgpu", distance: "edt", convention }, req);
      assertSame(got, want, `outside ${convention}`);
    }
    assert.equal(calls, 3);
    // the cpu backend has no device: it falls back to outside.edt, which says so
    await assert.rejects(
      run({ backend: "cpu", distance: "outside-gpu" }, request(1, 2, [8, 8], 2), registry),
      /maps left the device/,
    );
    exact.dispose();
  });

  gpuTest("signedOnDevice runs on a device handed in by the caller (any device)", async () => {
    const device = await requestWebgpuDevice();
    try {
      const t = edtGpuTransform(); // its own default device is not `device`
      const backend = createWebgpuBackend({ device });
      const { input, target } = request(2, 3, [20, 22], 41);
      const prepared = await backend.prepare({
        input,
        inputKind: "logits",
        numClasses: 3,
        labels: Int32Array.from(target.data as Int32Array),
        distanceRequest: { transform: t, spacing: [1, 1], convention: "kervadec" },
      });
      const sizes = await countReadbacks(device, () => prepared.statistics(new Set(["pphi"])));
      assert.equal(sizes.length, 1, "only the partial sums are read back");
      const maps = await signedDistance(target, { numClasses: 3 });
      const probs = new Float64Array(2 * 3 * 440);
      for (let k = 0; k < 2; k++) { // softmax on the CPU, then Σ p·phi per (n, c)
        for (let v = 0; v < 440; v++) {
          let m = -Infinity, s = 0;
          for (let c = 0; c < 3; c++) m = Math.max(m, input.data[(k * 3 + c) * 440 + v]!);
          for (let c = 0; c < 3; c++) s += Math.exp(input.data[(k * 3 + c) * 440 + v]! - m);
          for (let c = 0; c < 3; c++) {
            probs[(k * 3 + c) * 440 + v] = Math.exp(input.data[(k * 3 + c) * 440 + v]! - m) / s;
          }
        }
      }
      const stats = await prepared.statistics(new Set(["pphi"]));
      for (let j = 0; j < 6; j++) {
        let want = 0;
        for (let v = 0; v < 440; v++) want += probs[j * 440 + v]! * maps.data[j * 440 + v]!;
        const got = stats.sums.pphi![j]!;
        assert.ok(
          Math.abs(got - want) <= 1e-5 * (Math.abs(want) + 1),
          `pphi[${j}] ${got} vs ${want}`,
        );
      }
      prepared.dispose();
      backend.dispose();
      t.dispose();
    } finally {
      device.destroy();
    }
  });
});

describe("edt-gpu on tfjs-backend-webgpu", () => {
  gpuTest(
    "signedDistanceTfWebgpu with edt-gpu: exact maps on tfjs's device, no readback",
    async () => {
      const tf = await import("@tensorflow/tfjs-core");
      const { registerTfjsWebgpu, signedDistanceTfWebgpu } = await import(
        "../backends/tfjs/webgpu.ts"
      );
      const w = await registerTfjsWebgpu({ name: "segloss-edt-gpu-test" });
      const before = tf.getBackend();
      try {
        await tf.setBackend(w.name);
        const exact = edtGpuTransform(); // its own default device is not tfjs's
        const shape = [2, 24, 30];
        const labels = { data: blobLabels(2, [24, 30], 3, 51), shape };
        for (const convention of CONVENTIONS) {
          const o = { numClasses: 3, spacing: [0.9, 1.4], convention };
          let phi: import("@tensorflow/tfjs-core").Tensor | undefined;
          const sizes = await countReadbacks(w.device, async () => {
            phi = await signedDistanceTfWebgpu(labels, { ...o, transform: exact });
          });
          assert.deepEqual(sizes, [], "no readback while the maps are made");
          const want = await signedDistance(labels, o);
          assert.deepEqual(phi!.shape, [2, 3, 24, 30]);
          assertUlps(await phi!.data() as Float32Array, want.data, convention, 4 * ulp(64));
          phi!.dispose();
        }
        exact.dispose();
      } finally {
        if (before) await tf.setBackend(before);
        w.dispose();
      }
    },
  );
});
