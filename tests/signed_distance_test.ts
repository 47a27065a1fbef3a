// Signed distance maps: the official one_hot2dist values of reference.json (independent scipy
// re-derivation, ../shared/reference), the three conventions on random label maps
// (tests/fixtures/signed_distance_cases.json from tests/fixtures/make_edt_fixtures.py), the
// fast label-map path against a generic DistanceTransform, and bad input.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import reference from "./fixtures/reference/reference.json" with { type: "json" };
import fixtures from "./fixtures/signed_distance_cases.json" with { type: "json" };
import {
  type DistanceTransform,
  edt,
  edtPlugin,
  type NdArray,
  signedDistance,
  type SignedDistanceConvention,
} from "../mod.ts";

interface SdCase {
  name: string;
  shape: number[];
  numClasses: number;
  labels: number[];
  spacing?: number[];
  kervadec: number[];
  signed: number[];
  "inner-zero": number[];
}
const cases = fixtures.cases as SdCase[];
const conventions: SignedDistanceConvention[] = ["kervadec", "signed", "inner-zero"];

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string) {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    if (!(Math.abs(a - e) <= 1e-5 * Math.max(1, Math.abs(e)))) {
      assert.fail(`${label}: element ${i} is ${a}, expected ${e} (scipy)`);
    }
  }
}

/** A DistanceTransform that is not the built-in one (so the generic path runs), counting calls. */
function generic(): DistanceTransform & { calls: number } {
  const t = {
    name: "generic",
    exact: true,
    calls: 0,
    edt(mask: NdArray, options?: { spacing?: readonly number[]; spatialDims?: number }) {
      t.calls++;
      return Promise.resolve(edt(mask, options));
    },
  };
  return t;
}

describe("signedDistance() reproduces one_hot2dist (reference.json, all cases)", () => {
  for (const c of reference.cases) {
    test(c.name, async () => {
      const [n, numClasses, ...spatial] = c.shape as number[];
      const target = { data: new Int32Array(c.labels), shape: [n!, ...spatial] };
      const spacing = c.spacing ?? undefined;
      const fast = await signedDistance(target, { numClasses: numClasses!, spacing });
      assert.deepEqual(fast.shape, c.shape);
      assertClose(fast.data, c.signed_distance_kervadec, `${c.name} (fast path)`);
      const g = generic();
      const slow = await signedDistance(target, { numClasses: numClasses!, spacing, transform: g });
      assertClose(slow.data, c.signed_distance_kervadec, `${c.name} (generic transform)`);
      assert.equal(g.calls, 1);
    });
  }
});

describe("signedDistance() conventions match scipy on random label maps", () => {
  for (const c of cases) {
    for (const convention of conventions) {
      test(`${c.name}, ${convention}`, async () => {
        const target = { data: new Uint8Array(c.labels), shape: c.shape };
        const o = { numClasses: c.numClasses, spacing: c.spacing, convention };
        const fast = await signedDistance(target, o);
        assert.deepEqual(fast.shape, [c.shape[0], c.numClasses, ...c.shape.slice(1)]);
        assertClose(fast.data, c[convention], `${c.name} ${convention} (fast path)`);
        const slow = await signedDistance(target, { ...o, transform: generic() });
        assertClose(slow.data, c[convention], `${c.name} ${convention} (generic transform)`);
      });
    }
  }
});

test("signedDistance() gives zero maps for absent and whole-volume classes", async () => {
  // sample 0: classes 0 and 1; sample 1: all class 2 (fills the volume)
  const labels = new Int32Array([0, 1, 1, 0, 2, 2, 2, 2]);
  for (const transform of [undefined, generic()]) {
    const d = await signedDistance({ data: labels, shape: [2, 2, 2] }, {
      numClasses: 3,
      transform,
    });
    const map = (n: number, c: number) =>
      Array.from(d.data.subarray((n * 3 + c) * 4, (n * 3 + c + 1) * 4));
    assert.deepEqual(map(0, 2), [0, 0, 0, 0]); // absent
    assert.deepEqual(map(1, 0), [0, 0, 0, 0]); // absent
    assert.deepEqual(map(1, 2), [0, 0, 0, 0]); // whole volume
    // class 0 of sample 0 (diagonal): inside -(1 - 1) = 0, outside distance 1
    assert.deepEqual(map(0, 0), [0, 1, 1, 0]);
    assert.ok(d.data.every(Number.isFinite));
  }
});

test("signedDistance() never mixes samples", async () => {
  // sample 0 has class 1 at its last row; sample 1 has class 1 only at (3, 0)
  const labels = new Uint8Array(2 * 4 * 4);
  labels.fill(1, 12, 16);
  labels[16 + 12] = 1;
  const d = await signedDistance({ data: labels, shape: [2, 4, 4] }, { numClasses: 2 });
  // sample 1, class 1, voxel (0, 3): distance to (3, 0) is sqrt(18), not 1 (the border voxel
  // of sample 0 would be 1 away if the batch were stacked)
  const v = d.data[(1 * 2 + 1) * 16 + 3]!;
  assert.ok(Math.abs(v - Math.sqrt(18)) < 1e-6, `got ${v}`);
});

test("signedDistance(): the label-noise search equals the separable passes bit for bit", async () => {
  // label noise takes a direct nearby search per voxel; a generic transform runs the separable
  // EDT on masks (checked against scipy above). Both must agree exactly, also where a class is
  // beyond the search radius (the sample falls back) and for more classes than the search takes
  let seed = 11;
  const rand = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
  const configs: [number[], number, number[] | undefined][] = [
    [[2, 33, 47], 8, [0.7, 1.3]],
    [[1, 40, 40], 16, undefined],
    [[2, 30, 30], 3, [3, 1]],
    [[2, 9, 11, 13], 4, [1.5, 0.8, 1.1]],
    [[1, 10, 10, 10], 8, undefined],
    [[1, 7, 8, 9], 2, [0.5, 2, 1]],
    [[1, 24, 24], 40, undefined],
  ];
  for (const [shape, numClasses, spacing] of configs) {
    const size = shape.reduce((a, b) => a * b, 1);
    const labels = new Uint8Array(size);
    for (let i = 0; i < size; i++) labels[i] = Math.floor(rand() * numClasses);
    if (numClasses === 3) {
      // sample 0: classes 0 and 1 only, but for one voxel of class 2 in a corner
      for (let i = 0; i < size / 2; i++) labels[i] = labels[i]! % 2;
      labels[0] = 2;
    }
    for (const convention of conventions) {
      const target = { data: labels, shape };
      const o = { numClasses, spacing, convention };
      const fast = await signedDistance(target, o);
      const slow = await signedDistance(target, { ...o, transform: generic() });
      assert.deepEqual(fast.data, slow.data, `${shape.join("x")} C=${numClasses} ${convention}`);
    }
  }
});

test("signedDistance() accepts integer labels in any typed array", async () => {
  const c = cases[0]!;
  for (
    const data of [
      new Int8Array(c.labels),
      new Uint16Array(c.labels),
      new Float32Array(c.labels),
      new Float64Array(c.labels),
      BigInt64Array.from(c.labels.map(BigInt)),
      BigUint64Array.from(c.labels.map(BigInt)),
    ]
  ) {
    const d = await signedDistance({ data, shape: c.shape }, {
      numClasses: c.numClasses,
      spacing: c.spacing,
    });
    assertClose(d.data, c.kervadec, `${c.name} as ${data.constructor.name}`);
  }
});

test("signedDistance() on the edt plugin's Workers equals the single-thread result", async () => {
  const transform = await edtPlugin.create({ workers: 2, parallelThreshold: 0 });
  try {
    for (const c of cases) {
      for (const convention of conventions) {
        const target = { data: new Int32Array(c.labels), shape: c.shape };
        const o = { numClasses: c.numClasses, spacing: c.spacing, convention };
        const d = await signedDistance(target, { ...o, transform });
        assertClose(d.data, c[convention], `${c.name} ${convention} (Workers)`);
        assert.deepEqual(d.data, (await signedDistance(target, o)).data);
      }
    }
  } finally {
    transform.dispose?.();
  }
});

test("signedDistance() calls queued on one pool (its scratch reused) each get their own maps", async () => {
  // every case and convention at once, not awaited in turn: each call's maps are copied out of
  // the pool's shared scratch before the next queued call overwrites it
  const transform = await edtPlugin.create({ workers: 2, parallelThreshold: 0 });
  try {
    const calls = cases.flatMap((c) =>
      conventions.map((convention) => ({
        c,
        convention,
        p: signedDistance({ data: new Int32Array(c.labels), shape: c.shape }, {
          numClasses: c.numClasses,
          spacing: c.spacing,
          convention,
          transform,
        }),
      }))
    );
    for (const { c, convention, p } of calls) {
      assertClose((await p).data, c[convention], `${c.name} ${convention} (queued)`);
    }
  } finally {
    transform.dispose?.();
  }
});

test("signedDistance() writes into options.out over any previous content, Workers too", async () => {
  // garbage in out must not survive: absent classes and whole-volume classes get zero maps
  const transform = await edtPlugin.create({ workers: 2, parallelThreshold: 0 });
  try {
    for (const c of cases) {
      const target = { data: new Int32Array(c.labels), shape: c.shape };
      const size = c.kervadec.length;
      for (const t of [undefined, transform]) {
        const out = new Float32Array(size).fill(123.5);
        const d = await signedDistance(target, {
          numClasses: c.numClasses,
          spacing: c.spacing,
          out,
          ...(t ? { transform: t } : {}),
        });
        assert.equal(d.data, out);
        assertClose(out, c.kervadec, `${c.name} into out${t ? " (Workers)" : ""}`);
      }
    }
  } finally {
    transform.dispose?.();
  }
  // a wrong out: precise errors, before any work
  const target = { data: new Uint8Array([0, 1, 1, 0]), shape: [1, 4] };
  await assert.rejects(
    signedDistance(target, { numClasses: 2, out: new Float64Array(8) as never }),
    (e: Error) => e instanceof TypeError && /options\.out to be a Float32Array/.test(e.message),
  );
  await assert.rejects(
    signedDistance(target, { numClasses: 2, out: new Float32Array(4) }),
    (e: Error) =>
      e instanceof RangeError && /options\.out to have 8 elements but found 4/.test(e.message),
  );
  const shared = new Float32Array(12);
  await assert.rejects(
    signedDistance({ data: shared.subarray(0, 4), shape: [1, 4] }, {
      numClasses: 2,
      out: shared.subarray(2, 10),
    }),
    (e: Error) =>
      e instanceof RangeError && /not to share memory with target\.data/.test(e.message),
  );
});

describe("signedDistance() rejects bad input naming the argument", () => {
  const target = { data: new Uint8Array([0, 1, 1, 0]), shape: [1, 4] };
  const cases: [string, () => Promise<unknown>, ErrorConstructor, RegExp][] = [
    ["numClasses 0", () => signedDistance(target, { numClasses: 0 }), RangeError, /numClasses/],
    ["numClasses 1.5", () => signedDistance(target, { numClasses: 1.5 }), RangeError, /numClasses/],
    [
      "numClasses NaN",
      () => signedDistance(target, { numClasses: NaN }),
      RangeError,
      /numClasses.*NaN/,
    ],
    [
      "label = numClasses",
      () => signedDistance({ data: new Uint8Array([0, 2]), shape: [1, 2] }, { numClasses: 2 }),
      RangeError,
      /target labels in \[0, 2\).*2/,
    ],
    [
      "negative label",
      () => signedDistance({ data: new Int32Array([0, -1]), shape: [1, 2] }, { numClasses: 2 }),
      RangeError,
      /target labels.*-1/,
    ],
    [
      "fractional label",
      () => signedDistance({ data: new Float32Array([0, 0.5]), shape: [1, 2] }, { numClasses: 2 }),
      RangeError,
      /target labels.*0\.5/,
    ],
    [
      "NaN label",
      () => signedDistance({ data: new Float32Array([0, NaN]), shape: [1, 2] }, { numClasses: 2 }),
      RangeError,
      /target labels.*NaN/,
    ],
    [
      "no spatial axis",
      () => signedDistance({ data: new Uint8Array([0, 1]), shape: [2] }, { numClasses: 2 }),
      TypeError,
      /target.*shape/,
    ],
    [
      "spacing length",
      () => signedDistance(target, { numClasses: 2, spacing: [1, 1] }),
      TypeError,
      /options\.spacing/,
    ],
    [
      "spacing 0",
      () => signedDistance(target, { numClasses: 2, spacing: [0] }),
      RangeError,
      /options\.spacing\[0\]/,
    ],
    [
      "convention",
      () =>
        signedDistance(target, {
          numClasses: 2,
          convention: "sdf" as SignedDistanceConvention,
        }),
      RangeError,
      /options\.convention.*sdf/,
    ],
    [
      "transform",
      () =>
        signedDistance(target, {
          numClasses: 2,
          transform: {} as DistanceTransform,
        }),
      TypeError,
      /options\.transform/,
    ],
    [
      "shape/data mismatch",
      () => signedDistance({ data: new Uint8Array(3), shape: [1, 4] }, { numClasses: 2 }),
      TypeError,
      /target\.data/,
    ],
    [
      "empty",
      () => signedDistance({ data: new Uint8Array(0), shape: [1, 0] }, { numClasses: 2 }),
      RangeError,
      /target\.shape\[1\]/,
    ],
  ];
  for (const [name, fn, type, message] of cases) {
    test(name, async () => {
      await assert.rejects(fn, (err: Error) => {
        assert.ok(err instanceof type, `${name}: ${err.constructor.name}: ${err.message}`);
        assert.match(err.message, message);
        return true;
      });
    });
  }
});
