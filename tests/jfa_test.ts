// The jump-flood distance transform (WebGPU; llvmpipe in CI) against scipy's EDT (fixtures)
// and against the exact `edt`, which tests/edt_test.ts checks against scipy.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  defaultRegistry,
  edt,
  jfaPlugin,
  jfaTransform,
  requestWebgpuDevice,
  signedDistance,
} from "../mod.ts";
import type { NdArray, SignedDistanceConvention } from "../mod.ts";
import { jfaSteps } from "../transforms/jfa_gpu.ts";
import { balls, coords, gpuTest, rng } from "./webgpu_gate.ts";
import { diskAndNotch, readFixture } from "./util.ts";

/**
 * The accuracy target: at most 1e-4 of the voxels differ by more than 1e-3, and none
 * by more than one voxel spacing (the smallest axis spacing).
 */
function assertClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  maxError: number,
  what: string,
): { wrong: number; max: number } {
  assert.equal(got.length, want.length, `${what}: length`);
  let wrong = 0, max = 0;
  for (let i = 0; i < want.length; i++) {
    const a = got[i]!, b = want[i]!;
    if (a === b) continue; // Infinity === Infinity
    const d = Math.abs(a - b);
    if (!(d <= 1e-3)) wrong++;
    if (!(d <= max)) max = d;
  }
  assert.ok(
    wrong <= 1e-4 * want.length,
    `${what}: ${wrong} of ${want.length} voxels off by > 1e-3 (max ${max})`,
  );
  assert.ok(max <= maxError, `${what}: max error ${max} > ${maxError}`);
  return { wrong, max };
}

/** Thin structures: one-voxel lines (2-D) / planes and lines (3-D) as members or as zeros. */
function thin(shape: number[], seed: number, zeros: boolean): Uint8Array {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const m = new Uint8Array(n).fill(zeros ? 1 : 0);
  const x: number[] = [];
  const lines = Array.from({ length: 6 }, () => ({
    axis: Math.floor(r() * shape.length),
    at: shape.map((s) => Math.floor(r() * s)),
    slope: r() * 2 - 1,
  }));
  for (let i = 0; i < n; i++) {
    coords(shape, i, x);
    for (const l of lines) {
      // a line/plane along the last axis, tilted: x[a] == at[a] + slope·x[last]
      const a = l.axis === shape.length - 1 ? 0 : l.axis;
      const last = shape.length - 1;
      if (Math.round(l.at[a]! + l.slope * x[last]!) === x[a]) {
        m[i] = zeros ? 0 : 1;
        break;
      }
    }
  }
  // thin members need zeros somewhere: there are, all the off-line voxels
  return m;
}

/**
 * A label map: `count` random disks/balls (radius 2 to 2 + rmax) painted in order with labels
 * in [1, C) over 0. Their overlaps make concave cusps, whose seeds own thin Voronoi cells.
 */
function labelMap(shape: number[], count: number, rmax: number, seed: number, C: number) {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const lab = new Uint8Array(n);
  const bs = Array.from({ length: count }, () => ({
    at: shape.map((s) => r() * s),
    rad: 2 + r() * rmax,
    l: 1 + Math.floor(r() * (C - 1)),
  }));
  const x: number[] = [];
  for (let i = 0; i < n; i++) {
    coords(shape, i, x);
    for (const b of bs) {
      let s = 0;
      for (let d = 0; d < shape.length; d++) s += (x[d]! - b.at[d]!) ** 2;
      if (s < b.rad * b.rad) lab[i] = b.l;
    }
  }
  return lab;
}

/** `(2C, ...shape)` masks of a label map: per class, the class, then everything but it. */
function classMasks(lab: Uint8Array, C: number): Uint8Array {
  const V = lab.length;
  const m = new Uint8Array(2 * C * V);
  for (let c = 0; c < C; c++) {
    for (let v = 0; v < V; v++) {
      m[c * V + v] = lab[v] === c ? 1 : 0;
      m[(C + c) * V + v] = lab[v] !== c ? 1 : 0;
    }
  }
  return m;
}

function limitsOf(device: GPUDevice): Record<string, number> {
  const out: Record<string, number> = {};
  for (
    const key of Object.keys(Object.getOwnPropertyDescriptors(Object.getPrototypeOf(device.limits)))
  ) {
    const v = (device.limits as unknown as Record<string, unknown>)[key];
    if (typeof v === "number") out[key] = v;
  }
  return out;
}

describe("jfa", () => {
  gpuTest(
    "jfa.edt matches scipy on every EDT fixture case (1-D to 3-D, batches, spacing)",
    async () => {
      const jfa = jfaTransform();
      for (const c of readFixture("edt_cases.json").cases) {
        const got = await jfa.edt({ data: Uint8Array.from(c.mask), shape: c.shape }, {
          spacing: c.spacing,
          spatialDims: c.spatialDims,
        });
        assert.deepEqual(got.shape, c.shape);
        const sp: number[] = c.spacing ?? [1];
        assertClose(got.data, c.expected, Math.min(...sp), c.name);
      }
    },
  );

  const cases2d: [string, Uint8Array][] = [
    ["small blob (background around it)", balls([256, 256], 1, 5, 11, true)],
    ["random blobs", balls([256, 256], 70, 18, 12)],
    ["thin lines as zeros", thin([256, 256], 13, true)],
    ["thin lines as members", thin([256, 256], 14, false)],
  ];
  for (const [name, mask] of cases2d) {
    for (const spacing of [undefined, [0.8, 1.7]]) {
      gpuTest(
        `jfa.edt 2-D 256x256 ${name}${spacing ? " with spacing" : ""} meets the target`,
        async () => {
          const shape = [256, 256];
          const want = edt({ data: mask, shape }, { spacing });
          const got = await jfaTransform().edt({ data: mask, shape }, { spacing });
          assertClose(got.data, want.data, Math.min(...(spacing ?? [1])), name);
        },
      );
    }
  }

  const shape3 = [48, 56, 64];
  const cases3d: [string, Uint8Array][] = [
    ["small blob (background around it)", balls(shape3, 1, 3, 21, true)],
    ["random blobs", balls(shape3, 45, 9, 22)],
    ["thin planes as zeros", thin(shape3, 23, true)],
    ["thin planes as members", thin(shape3, 24, false)],
  ];
  for (const [name, mask] of cases3d) {
    for (const spacing of [undefined, [2.5, 0.7, 1.1]]) {
      gpuTest(
        `jfa.edt 3-D 48x56x64 ${name}${spacing ? " with spacing" : ""} meets the target`,
        async () => {
          const want = edt({ data: mask, shape: shape3 }, { spacing });
          const got = await jfaTransform().edt({ data: mask, shape: shape3 }, { spacing });
          assertClose(got.data, want.data, Math.min(...(spacing ?? [1])), name);
        },
      );
    }
  }

  test("jfaSteps lengthens the refinement tail with the spacing ratio (max / min)", () => {
    // 200 voxels: log steps 128 ... 1; jfa+2 adds 2, 1 (hand-derived)
    const log = [128, 64, 32, 16, 8, 4, 2, 1];
    assert.deepEqual(jfaSteps(200, "jfa+2"), [...log, 2, 1]);
    assert.deepEqual(jfaSteps(200, "jfa+2", [1, 1]), [...log, 2, 1]);
    assert.deepEqual(jfaSteps(200, "jfa+2", [1, 1.2]), [...log, 2, 1]); // ratio <= 1.25
    assert.deepEqual(jfaSteps(200, "jfa+2", [1, 0.5]), [...log, 4, 2, 1]); // 2^ceil(log2 4)
    assert.deepEqual(jfaSteps(200, "jfa+2", [1.2, 0.3]), [...log, 8, 4, 2, 1]); // 4 in floats
    assert.deepEqual(jfaSteps(200, "jfa+2", [3, 1, 1]), [...log, 8, 4, 2, 1]);
    assert.deepEqual(jfaSteps(200, "jfa+2", [0.8, 1.7]), [...log, 8, 4, 2, 1]);
    assert.deepEqual(jfaSteps(200, "1+jfa+2", [1, 0.125]), [1, ...log, 16, 8, 4, 2, 1]);
    assert.deepEqual(jfaSteps(200, "jfa+4+2+1", [1, 0.5]), [...log, 4, 2, 1]);
    assert.deepEqual(jfaSteps(200, "jfa+1", [4, 1]), [...log, 1]); // explicit: left alone
    assert.deepEqual(jfaSteps(6, "jfa+2", [1, 0.01]), [4, 2, 1, 4, 2, 1]); // capped by extent
  });

  // Anisotropic spacing stretches the seeds' Voronoi cells along the finer axis into slivers
  // that the log-step flood cuts. This mask, at spacing [4, 1] with steps 2, 1 after the flood, left voxels
  // of the bottom row holding a seed 100 voxels from their nearest: error 1.14 > 1.
  const aniso2d = classMasks(labelMap([96, 128], 10, 25, 3, 3), 3);
  for (const spacing of [[4, 1], [1, 0.25], [1, 0.5], [0.5, 1], [1, 0.125]]) {
    gpuTest(
      `jfa.edt 2-D label-map masks, anisotropic spacing [${spacing}], meets the target`,
      async () => {
        const shape = [6, 96, 128];
        const want = edt({ data: aniso2d, shape }, { spacing, spatialDims: 2 });
        const got = await jfaTransform().edt({ data: aniso2d, shape }, { spacing, spatialDims: 2 });
        assertClose(got.data, want.data, Math.min(...spacing), `spacing [${spacing}]`);
      },
    );
  }

  // At spacing [4, 1, 1] with JFA+2 alone, 117 voxels of "everything but class 1" here were
  // off (4e-4 of these two volumes), by up to 0.95.
  const shapeA3 = [40, 56, 64];
  const lab3 = labelMap(shapeA3, 14, 20, 6, 3);
  const aniso3d = classMasks(lab3, 3).subarray(lab3.length, 2 * lab3.length);
  const aniso3dInv = classMasks(lab3, 3).subarray(4 * lab3.length, 5 * lab3.length);
  const pair3 = new Uint8Array(2 * lab3.length);
  pair3.set(aniso3d, 0);
  pair3.set(aniso3dInv, lab3.length);
  for (const spacing of [[4, 1, 1], [3, 1, 1], [2, 0.7, 0.7], [1, 0.25, 1], [1, 1, 0.5]]) {
    gpuTest(
      `jfa.edt 3-D label-map masks, anisotropic spacing [${spacing}], meets the target`,
      async () => {
        const shape = [2, ...shapeA3];
        const want = edt({ data: pair3, shape }, { spacing, spatialDims: 3 });
        const got = await jfaTransform().edt({ data: pair3, shape }, { spacing, spatialDims: 3 });
        assertClose(got.data, want.data, Math.min(...spacing), `spacing [${spacing}]`);
      },
    );
  }

  gpuTest(
    "signedDistance({ transform: jfa }) and jfa.signedDistance with anisotropic spacing",
    async () => {
      const jfa = jfaTransform();
      const lab = labelMap([96, 128], 10, 25, 3, 3);
      // the tfjs suite's 2-D case: a disk and a notched half-disk region, 2 samples
      const tf = diskAndNotch();
      for (
        const [target, spacing] of [
          [{ data: lab, shape: [1, 96, 128] }, [4, 1]],
          [{ data: lab, shape: [1, 96, 128] }, [1, 0.25]],
          [tf, [1, 0.5]],
          [tf, [0.5, 1]],
        ] as [NdArray, number[]][]
      ) {
        const o = { numClasses: 3, spacing, convention: "signed" as const };
        const want = await signedDistance(target, o);
        const what = `[${target.shape}] spacing [${spacing}]`;
        const viaEdt = await signedDistance(target, { ...o, transform: jfa });
        assertClose(viaEdt.data, want.data, Math.min(...spacing), `${what} via jfa.edt`);
        const onDevice = await jfa.signedDistance(target, o);
        assertClose(onDevice.data, want.data, Math.min(...spacing), `${what} on device`);
      }
    },
  );

  gpuTest(
    "jfa.edt batches volumes without leaking across them; no zero gives Infinity",
    async () => {
      const a = balls([40, 50], 6, 8, 31);
      const b = new Uint8Array(40 * 50).fill(1); // no zero element: Infinity everywhere
      const c = balls([40, 50], 3, 12, 32, true);
      const data = new Uint8Array(3 * 2000);
      data.set(a, 0);
      data.set(b, 2000);
      data.set(c, 4000);
      const got = await jfaTransform().edt({ data, shape: [3, 40, 50] }, {
        spatialDims: 2,
        spacing: [1, 0.5],
      });
      assert.ok(got.data.subarray(2000, 4000).every((x) => x === Infinity));
      const want = edt({ data, shape: [3, 40, 50] }, { spatialDims: 2, spacing: [1, 0.5] });
      assertClose(got.data, want.data, 0.5, "batch");
    },
  );

  gpuTest("jfa.edt splits a batch larger than the binding limit into chunks", async () => {
    const real = await requestWebgpuDevice();
    // the same device, seen through a proxy that reports a tiny storage-binding limit:
    // 3 volumes of 20x20 (2 seeds of 4 bytes each) per chunk, so 10 volumes take 4 chunks
    const limits = { maxStorageBufferBindingSize: 20 * 20 * 8 * 3, maxBufferSize: 1 << 30 };
    const device = new Proxy(real, {
      get(target, key) {
        if (key === "limits") return { ...limitsOf(real), ...limits };
        const v = Reflect.get(target, key, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const data = new Uint8Array(10 * 400).map((_, i) => (i * 7919) % 13 === 0 ? 0 : 1);
    data.fill(1, 1200, 1600); // volume 3 has no zero: Infinity
    const got = await jfaTransform({ device }).edt({ data, shape: [10, 20, 20] }, {
      spatialDims: 2,
    });
    const want = edt({ data, shape: [10, 20, 20] }, { spatialDims: 2 });
    assertClose(got.data, want.data, 1, "chunked");
    assert.ok(got.data.subarray(1200, 1600).every((x) => x === Infinity));
    real.destroy();
  });

  gpuTest("jfa.edt accepts any typed array (float, bigint) like edt", async () => {
    const jfa = jfaTransform();
    const f = await jfa.edt({ data: new Float64Array([0, 0.5, 2, -1]), shape: [4] });
    assert.deepEqual(Array.from(f.data), [0, 1, 2, 3]);
    const g = await jfa.edt({ data: new BigInt64Array([1n, 0n, 1n]), shape: [3] });
    assert.deepEqual(Array.from(g.data), [1, 0, 1]);
  });

  gpuTest(
    "signedDistance({ transform: jfa }) equals the exact maps within the target",
    async () => {
      const jfa = jfaTransform();
      const r = rng(41);
      // 2 samples, 3 classes, 2-D 96x112 blobs, and 3-D 1x3x32x36x40
      for (
        const [shape, spacing] of [
          [[2, 96, 112], [1.2, 0.6]],
          [[1, 32, 36, 40], [2, 1, 1]],
        ] as const
      ) {
        const spatial = shape.slice(1);
        const lab = new Uint8Array((shape as readonly number[]).reduce((a, b) => a * b, 1));
        const one = (spatial as number[]).reduce((a, b) => a * b, 1);
        for (let s = 0; s < shape[0]; s++) {
          const m1 = balls([...spatial], 8, 10, 42 + s);
          const m2 = balls([...spatial], 4, 6, 52 + s);
          for (let i = 0; i < one; i++) lab[s * one + i] = m2[i] ? 2 : m1[i] ? 1 : 0;
        }
        void r;
        for (const convention of ["kervadec", "signed", "inner-zero"] as const) {
          const target: NdArray = { data: lab, shape: [...shape] };
          const o = { numClasses: 3, spacing: [...spacing], convention };
          const want = await signedDistance(target, o);
          const viaEdt = await signedDistance(target, { ...o, transform: jfa });
          assertClose(viaEdt.data, want.data, Math.min(...spacing), `${convention} via jfa.edt`);
          const onDevice = await jfa.signedDistance(target, o);
          assert.deepEqual(onDevice.shape, want.shape);
          assertClose(onDevice.data, want.data, Math.min(...spacing), `${convention} on device`);
        }
      }
    },
  );

  gpuTest(
    "jfa.signedDistance matches scipy fixtures (absent and whole-volume classes)",
    async () => {
      const jfa = jfaTransform();
      for (const c of readFixture("signed_distance_cases.json").cases) {
        for (
          const convention of ["kervadec", "signed", "inner-zero"] as SignedDistanceConvention[]
        ) {
          const got = await jfa.signedDistance(
            { data: Int32Array.from(c.labels), shape: c.shape },
            {
              numClasses: c.numClasses,
              spacing: c.spacing,
              convention,
            },
          );
          assert.deepEqual(got.shape, [c.shape[0], c.numClasses, ...c.shape.slice(1)]);
          const sp: number[] = c.spacing ?? [1];
          assertClose(got.data, c[convention], Math.min(...sp), `${c.name} ${convention}`);
        }
      }
    },
  );

  gpuTest("signedDistanceBuffer keeps the maps on the device", async () => {
    const jfa = jfaTransform();
    const { buffer, shape, device } = await jfa.signedDistanceBuffer(
      { data: new Uint8Array([0, 1, 1, 0]), shape: [1, 4] },
      { numClasses: 2 },
    );
    assert.deepEqual(shape, [1, 2, 4]);
    assert.equal(device, await jfa.device());
    assert.equal(buffer.size, 2 * 4 * 4);
    buffer.destroy();
  });

  gpuTest("signedOnDevice writes the maps on the request's device, any device", async () => {
    const other = await requestWebgpuDevice(); // not the transform's (default) device
    try {
      const jfa = jfaTransform();
      const labels = Int32Array.from([0, 1, 1, 0, 2, 2, 0, 0, 1, 1, 1, 2]);
      const buffer = await jfa.signedOnDevice({
        device: other,
        labels,
        numSamples: 1,
        numClasses: 3,
        spatial: [3, 4],
        spacing: [1, 0.5],
        convention: "signed",
      });
      // read back on `other`: the buffer belongs to it
      const staging = other.createBuffer({ size: buffer.size, usage: 0x0001 | 0x0008 });
      const enc = other.createCommandEncoder();
      enc.copyBufferToBuffer(buffer, 0, staging, 0, buffer.size);
      other.queue.submit([enc.finish()]);
      await staging.mapAsync(0x0001);
      const got = new Float32Array(staging.getMappedRange().slice(0));
      const want = await signedDistance({ data: labels, shape: [1, 3, 4] }, {
        numClasses: 3,
        spacing: [1, 0.5],
        convention: "signed",
      });
      assert.deepEqual(Array.from(got), Array.from(want.data)); // small maps: jfa is exact here
      jfa.dispose();
    } finally {
      other.destroy();
    }
  });

  gpuTest("a device handed in is used; bad options throw precise errors", async () => {
    const device = await requestWebgpuDevice();
    const jfa = jfaTransform({ device });
    assert.equal(await jfa.device(), device);
    const d = await jfa.edt({ data: new Uint8Array([1, 1, 0]), shape: [3] });
    assert.deepEqual(Array.from(d.data), [2, 1, 0]);
    assert.throws(() => jfaTransform({ refinement: "jfa+9" as "jfa" }), RangeError);
    assert.throws(() => jfaTransform({ device: {} as GPUDevice }), TypeError);
    await assert.rejects(
      jfa.edt({ data: new Uint8Array(4), shape: [2, 2] }, { spacing: [1, 0] }),
      RangeError,
    );
    await assert.rejects(
      jfa.edt({ data: new Uint8Array(16), shape: [2, 2, 2, 2] }),
      /spatialDims/,
    );
    await assert.rejects(
      jfa.signedDistance({ data: new Uint8Array([0, 3]), shape: [1, 2] }, { numClasses: 2 }),
      /labels in \[0, 2\)/,
    );
    device.destroy();
    await assert.rejects(jfa.edt({ data: new Uint8Array([1, 0]), shape: [2] }), /lost/);
  });

  gpuTest("the jfa plugin is registered and available", async () => {
    assert.equal(defaultRegistry.get("distance", "jfa"), jfaPlugin);
    assert.equal(await jfaPlugin.isAvailable!(), true);
    const t = await jfaPlugin.create({ refinement: "jfa+2" });
    assert.equal(t.name, "jfa");
    assert.equal(t.exact, false);
  });
});
