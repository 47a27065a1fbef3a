/**
 * Segmentation metrics against independent numpy/scipy values
 * (tests/fixtures/make_metrics_fixtures.py: MONAI 1.5's and medpy 0.5's formulas re-derived,
 * with every surface rule), hand derivations, and bad input.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  averageSurfaceDistance,
  computeMetrics,
  computeMetricsAsync,
  dice,
  hausdorff,
  iou,
  jsonSafe,
  type MetricOptions,
  type MetricResult,
  precision,
  recall,
  relativeVolumeDifference,
  specificity,
  surfaceDice,
  surfaceVoxels,
  volumeSimilarity,
} from "../metrics/mod.ts";
import { percentileSorted } from "../metrics/surface.ts";
import type { NdArray } from "../core/ndarray.ts";
import type { DistanceTransform } from "../core/types.ts";
import { edt, edtTransform } from "../transforms/edt.ts";
import { type Averages, type Case, dec, type Encoded, fixtures } from "./metrics_fixtures.ts";

function close(actual: number, expected: number, rel: number, what: string): void {
  if (Number.isNaN(expected)) {
    assert.ok(Number.isNaN(actual), `${what}: expected NaN but found ${actual}`);
    return;
  }
  if (!Number.isFinite(expected)) {
    assert.equal(actual, expected, what);
    return;
  }
  const tol = rel * Math.max(1, Math.abs(expected));
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${what}: expected ${expected} but found ${actual} (tolerance ${tol})`,
  );
}

function checkTable(
  r: MetricResult,
  c: Case,
  key: string,
  rel = 2e-6,
  variant?: string,
): void {
  const src: { values: Record<string, Encoded[][]>; averages: Record<string, Averages> } =
    variant === undefined ? c : c.variants[variant]!;
  const what = `${c.name}${variant === undefined ? "" : ` (${variant})`} ${key}`;
  const expected = src.values[key]!;
  assert.deepEqual(r.classes, c.classes);
  assert.equal(r.values.length, expected.length);
  expected.forEach((row, n) =>
    row.forEach((v, k) => close(r.values[n]![k]!, dec(v), rel, `${what}[${n}][${k}]`))
  );
  const avg = src.averages[key]!;
  avg.perSample.forEach((v, n) => close(r.perSample[n]!, dec(v), rel, `${what} perSample`));
  avg.perClass.forEach((v, k) => close(r.perClass[k]!, dec(v), rel, `${what} perClass`));
  close(r.mean, dec(avg.mean), rel, `${what} mean`);
  assert.equal(r.count, avg.count, `${what} count`);
  assert.equal(r.skipped, avg.skipped, `${what} skipped`);
  assert.deepEqual(r.perClassSkipped, avg.perClassSkipped, `${what} perClassSkipped`);
  assert.deepEqual(r.perSampleSkipped, avg.perSampleSkipped, `${what} perSampleSkipped`);
}

/** The surface options of a fixture variant. */
function ruleOf(c: Case, variant: string): {
  border: "surface" | "none";
  connectivity: "face" | "full" | number;
} {
  const v = c.variants[variant]!;
  const ndim = c.target.shape.length - 1;
  return {
    border: v.border,
    connectivity: v.connectivity === 1 ? "face" : v.connectivity === ndim ? "full" : v.connectivity,
  };
}

function inputs(c: Case): [NdArray, NdArray, Omit<MetricOptions, "empty">] {
  const pred: NdArray = c.prediction.shape.length === c.target.shape.length
    ? { data: Int32Array.from(c.prediction.data), shape: c.prediction.shape }
    : { data: Float32Array.from(c.prediction.data), shape: c.prediction.shape };
  const target: NdArray = { data: Uint8Array.from(c.target.data), shape: c.target.shape };
  const options: Omit<MetricOptions, "empty"> = { spacing: c.spacing, classes: c.classes };
  if (c.threshold !== undefined) options.threshold = c.threshold;
  return [pred, target, options];
}

describe("metrics match numpy/scipy (MONAI and medpy formulas)", () => {
  for (const c of fixtures.cases) {
    test(`dice(), iou(), precision(), recall(), specificity(), ravd, vs on ${c.name}`, () => {
      const [p, t, o] = inputs(c);
      checkTable(dice(p, t, o), c, "dice", 1e-12);
      checkTable(iou(p, t, o), c, "iou", 1e-12);
      checkTable(precision(p, t, o), c, "precision", 1e-12);
      checkTable(recall(p, t, o), c, "recall", 1e-12);
      checkTable(specificity(p, t, o), c, "specificity", 1e-12);
      checkTable(relativeVolumeDifference(p, t, o), c, "ravd", 1e-12);
      checkTable(volumeSimilarity(p, t, o), c, "vs", 1e-12);
    });
    test(`hausdorff() max (default), HD95 (monai, medpy, medpy-0.4, directed) and percentiles on ${c.name}`, () => {
      const [p, t, o] = inputs(c);
      checkTable(hausdorff(p, t, o), c, "hausdorff");
      checkTable(hausdorff(p, t, { ...o, percentile: 100 }), c, "hausdorff");
      checkTable(hausdorff(p, t, { ...o, percentile: 95 }), c, "hd95");
      checkTable(hausdorff(p, t, { ...o, percentile: 95, convention: "medpy" }), c, "hd95_medpy");
      checkTable(
        hausdorff(p, t, { ...o, percentile: 95, convention: "medpy-0.4" }),
        c,
        "hd95_medpy",
      );
      checkTable(hausdorff(p, t, { ...o, percentile: 95, directed: true }), c, "hd95_directed");
      checkTable(hausdorff(p, t, { ...o, percentile: 90 }), c, "hd90");
      checkTable(hausdorff(p, t, { ...o, percentile: 50 }), c, "hd50");
      checkTable(hausdorff(p, t, { ...o, percentile: 0 }), c, "hd0");
    });
    test(`averageSurfaceDistance() monai, medpy (pooled), medpy-0.4 and directed on ${c.name}`, () => {
      const [p, t, o] = inputs(c);
      checkTable(averageSurfaceDistance(p, t, o), c, "assd");
      checkTable(averageSurfaceDistance(p, t, { ...o, convention: "medpy" }), c, "assd");
      checkTable(
        averageSurfaceDistance(p, t, { ...o, convention: "medpy-0.4" }),
        c,
        "assd_medpy04",
      );
      checkTable(averageSurfaceDistance(p, t, { ...o, symmetric: false }), c, "asd");
    });
    test(`surfaceDice() on ${c.name}`, () => {
      const [p, t, o] = inputs(c);
      checkTable(surfaceDice(p, t, { ...o, tolerance: c.tolerance }), c, "nsd", 1e-12);
    });
    test(`border "none" and wider connectivity on ${c.name}`, () => {
      const [p, t, o] = inputs(c);
      for (const variant of Object.keys(c.variants)) {
        const rule = { ...o, ...ruleOf(c, variant) };
        checkTable(hausdorff(p, t, rule), c, "hausdorff", 2e-6, variant);
        checkTable(hausdorff(p, t, { ...rule, percentile: 95 }), c, "hd95", 2e-6, variant);
        checkTable(
          hausdorff(p, t, { ...rule, percentile: 95, convention: "medpy" }),
          c,
          "hd95_medpy",
          2e-6,
          variant,
        );
        checkTable(averageSurfaceDistance(p, t, rule), c, "assd", 2e-6, variant);
        checkTable(
          averageSurfaceDistance(p, t, { ...rule, convention: "medpy-0.4" }),
          c,
          "assd_medpy04",
          2e-6,
          variant,
        );
        checkTable(
          surfaceDice(p, t, { ...rule, tolerance: c.tolerance }),
          c,
          "nsd",
          1e-12,
          variant,
        );
        const r = computeMetrics(p, t, { ...rule, tolerance: c.tolerance });
        checkTable(r.metrics.hd95!, c, "hd95", 2e-6, variant);
        checkTable(r.metrics.nsd!, c, "nsd", 1e-12, variant);
        assert.equal(r.conventions.border, rule.border);
        assert.equal(r.conventions.connectivity, rule.connectivity);
      }
    });
    test(`computeMetrics() agrees with the fixtures on ${c.name}`, () => {
      const [p, t, o] = inputs(c);
      const r = computeMetrics(p, t, {
        ...o,
        tolerance: c.tolerance,
        hausdorffConvention: "medpy",
        assdConvention: "medpy-0.4",
      });
      assert.deepEqual(Object.keys(r.metrics), ["dice", "iou", "hausdorff", "hd95", "assd", "nsd"]);
      checkTable(r.metrics.dice!, c, "dice", 1e-12);
      checkTable(r.metrics.iou!, c, "iou", 1e-12);
      checkTable(r.metrics.hausdorff!, c, "hausdorff");
      checkTable(r.metrics.hd95!, c, "hd95_medpy");
      checkTable(r.metrics.assd!, c, "assd_medpy04");
      checkTable(r.metrics.nsd!, c, "nsd", 1e-12);
      assert.equal(r.conventions.hausdorff, "medpy");
      assert.equal(r.conventions.assd, "medpy-0.4");
      assert.equal(r.conventions.border, "surface");
      assert.equal(r.conventions.connectivity, "face");
      assert.deepEqual(r.spacing, c.spacing);
      const all = computeMetrics(p, t, {
        ...o,
        metrics: ["vs", "ravd", "specificity", "recall", "precision"],
      });
      assert.deepEqual(Object.keys(all.metrics), [
        "precision",
        "recall",
        "specificity",
        "ravd",
        "vs",
      ]);
      for (const k of ["precision", "recall", "specificity", "ravd", "vs"] as const) {
        checkTable(all.metrics[k]!, c, k, 1e-12);
      }
    });
  }

  test("the stray voxel separates HD from HD95 in 3-D", () => {
    const c = fixtures.cases.find((x) => x.name.includes("stray"))!;
    const [p, t, o] = inputs(c);
    const hd = hausdorff(p, t, o).values[0]![0]!;
    const hd95 = hausdorff(p, t, { ...o, percentile: 95 }).values[0]![0]!;
    assert.ok(hd > 5 * hd95, `HD ${hd} should dwarf HD95 ${hd95}`);
  });

  test("surfaceVoxels() equals scipy's mask ^ binary_erosion(mask, structure, border_value)", () => {
    const s = fixtures.surface;
    const two = new Uint8Array(2 * s.mask.length);
    two.set(s.mask);
    two.set(s.mask, s.mask.length);
    for (const r of s.rules) {
      const rule = { border: r.border, connectivity: r.connectivity };
      const out = surfaceVoxels({ data: Uint8Array.from(s.mask), shape: s.shape }, rule);
      assert.deepEqual(Array.from(out.data), r.surface, JSON.stringify(rule));
      // batched: two copies along a leading axis give the same answer twice
      const b = surfaceVoxels({ data: two, shape: [2, ...s.shape] }, { ...rule, spatialDims: 3 });
      assert.deepEqual(Array.from(b.data), [...r.surface, ...r.surface]);
    }
    const face = s.rules.find((r) => r.border === "surface" && r.connectivity === 1)!;
    const def = surfaceVoxels({ data: Uint8Array.from(s.mask), shape: s.shape });
    assert.deepEqual(Array.from(def.data), face.surface, "default rule");
  });

  test("percentileSorted() equals np.percentile (linear)", () => {
    const p = fixtures.percentile;
    const sorted = Float64Array.from(p.data).sort();
    p.q.forEach((q, i) => close(percentileSorted(sorted, q), p.expected[i]!, 1e-12, `q=${q}`));
  });
});

describe("computeMetricsAsync() with a DistanceTransform", () => {
  test("a Worker-parallel EDT gives the fixtures' numbers and the synchronous report", async () => {
    const transform = edtTransform({ workers: 2, parallelThreshold: 1 });
    try {
      for (const name of ["3d sphere", "3d multi-class", "2d empty"]) {
        const c = fixtures.cases.find((x) => x.name.startsWith(name))!;
        const [p, t, o] = inputs(c);
        const options = { ...o, tolerance: c.tolerance };
        const r = await computeMetricsAsync(p, t, { ...options, transform });
        checkTable(r.metrics.hd95!, c, "hd95");
        checkTable(r.metrics.assd!, c, "assd");
        checkTable(r.metrics.nsd!, c, "nsd", 1e-12);
        assert.deepEqual(r, computeMetrics(p, t, options));
      }
    } finally {
      transform.dispose?.();
    }
  });

  test("the surface rule reaches the transform path: border none, full connectivity", async () => {
    const c = fixtures.cases.find((x) => x.name.startsWith("3d thin"))!;
    const [p, t, o] = inputs(c);
    const options = { ...o, tolerance: c.tolerance, border: "none", connectivity: "full" } as const;
    const spy: DistanceTransform = {
      name: "spy",
      exact: true,
      edt: (mask, opts) => Promise.resolve(edt(mask, opts)),
    };
    const r = await computeMetricsAsync(p, t, { ...options, transform: spy });
    checkTable(r.metrics.hd95!, c, "hd95", 2e-6, "none+full");
    checkTable(r.metrics.nsd!, c, "nsd", 1e-12, "none+full");
    assert.deepEqual(r, computeMetrics(p, t, options));
  });

  test("the transform gets both directions as one batch of two volumes", async () => {
    const calls: number[][] = [];
    const spy: DistanceTransform = {
      name: "spy",
      exact: true,
      edt: (mask, options) => {
        calls.push([...mask.shape, options?.spatialDims ?? -1]);
        return Promise.resolve(edt(mask, options));
      },
    };
    const c = fixtures.cases.find((x) => x.name.startsWith("2d shifted"))!;
    const [p, t, o] = inputs(c);
    const r = await computeMetricsAsync(p, t, { ...o, transform: spy });
    checkTable(r.metrics.hd95!, c, "hd95");
    assert.equal(calls.length, 1);
    assert.equal(calls[0]![0], 2);
    assert.equal(calls[0]![calls[0]!.length - 1], 2);
  });

  test("a transform that returns the wrong size or is not one is a TypeError", async () => {
    const m = { data: new Uint8Array([0, 1, 1, 0, 0, 0]), shape: [1, 6] };
    const t = { data: new Uint8Array([0, 0, 1, 1, 0, 0]), shape: [1, 6] };
    const bad: DistanceTransform = {
      name: "bad",
      exact: true,
      edt: () => Promise.resolve({ data: new Float32Array(1), shape: [1] }),
    };
    await assert.rejects(computeMetricsAsync(m, t, { transform: bad }), TypeError);
    await assert.rejects(
      computeMetricsAsync(m, t, { transform: {} as DistanceTransform }),
      TypeError,
    );
  });
});

describe("hand-derived values", () => {
  test('the volume border is a surface by default; border: "none" keeps only the inner edge', () => {
    const ones = { data: new Uint8Array(12).fill(1), shape: [3, 4] };
    // 3x4 all foreground: every voxel but the 2 inner ones lies on the border
    assert.equal(surfaceVoxels(ones).data.reduce((a, b) => a + b, 0), 10);
    assert.equal(surfaceVoxels(ones, { border: "none" }).data.reduce((a, b) => a + b, 0), 0);
    // left half of a 3x4 image
    const half = { data: new Uint8Array([1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0]), shape: [3, 4] };
    assert.deepEqual(Array.from(surfaceVoxels(half).data), Array.from(half.data));
    assert.deepEqual(
      Array.from(surfaceVoxels(half, { border: "none" }).data),
      [0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0],
    );
  });

  test("a prediction filling the volume: finite HD by default, Infinity with border none", () => {
    // target: the single voxel (1, 1) of a 3x3 image; prediction: all 9 voxels. Surfaces:
    // target {(1,1)}, prediction the 8 border voxels; the farthest is a corner, sqrt(2) away
    const t = new Uint8Array(9);
    t[4] = 1;
    const p = new Uint8Array(9).fill(1);
    const pa = { data: p, shape: [1, 3, 3] };
    const ta = { data: t, shape: [1, 3, 3] };
    close(hausdorff(pa, ta).values[0]![0]!, Math.SQRT2, 1e-7, "hd");
    close(
      averageSurfaceDistance(pa, ta).values[0]![0]!,
      (4 + 4 * Math.SQRT2 + 1) / 9,
      1e-7,
      "assd",
    );
    assert.equal(hausdorff(pa, ta, { border: "none" }).values[0]![0], Infinity);
  });

  test("full connectivity finds the corner neighbours that face connectivity misses", () => {
    // a 3x3 block in a 5x5 image with its centre removed on the diagonal: the voxel (1, 1)
    // touches background (0, 0) only diagonally after we clear (0, 0)... use a plus shape:
    // plus at the centre of a 5x5 image: the centre's neighbours are all foreground across
    // faces, and background across corners
    const plus = new Uint8Array(25);
    for (const i of [7, 11, 12, 13, 17]) plus[i] = 1;
    const face = surfaceVoxels({ data: plus, shape: [5, 5] });
    const full = surfaceVoxels({ data: plus, shape: [5, 5] }, { connectivity: "full" });
    assert.equal(face.data[12], 0);
    assert.equal(full.data[12], 1);
    assert.equal(surfaceVoxels({ data: plus, shape: [5, 5] }, { connectivity: 2 }).data[12], 1);
  });

  test("distances use physical spacing along each axis", () => {
    // single voxels at (0,0,0) and (1,2,3) with spacing [2, 3, 0.5]: sqrt(4 + 36 + 2.25)
    const p = new Uint8Array(4 * 4 * 4);
    const t = new Uint8Array(4 * 4 * 4);
    p[0] = 1;
    t[1 * 16 + 2 * 4 + 3] = 1;
    const r = hausdorff({ data: p, shape: [1, 4, 4, 4] }, { data: t, shape: [1, 4, 4, 4] }, {
      spacing: [2, 3, 0.5],
      percentile: 100,
    });
    close(r.values[0]![0]!, Math.sqrt(42.25), 1e-7, "hd");
  });

  test("samples never see each other's masks (no leak across the batch axis)", () => {
    // sample 0: prediction only; sample 1: target only, right "below" sample 0's prediction
    const p = new Uint8Array(2 * 16);
    const t = new Uint8Array(2 * 16);
    p[5] = 1;
    t[16 + 5] = 1;
    t[16 + 6] = 1;
    const r = hausdorff({ data: p, shape: [2, 4, 4] }, { data: t, shape: [2, 4, 4] }, {
      percentile: 100,
    });
    assert.deepEqual(r.values, [[Infinity], [Infinity]]);
    const d = dice({ data: p, shape: [2, 4, 4] }, { data: t, shape: [2, 4, 4] });
    assert.ok(Number.isNaN(d.values[0]![0]!));
    assert.equal(d.values[1]![0], 0);
  });

  test("surface Dice counts a distance exactly equal to the tolerance", () => {
    // voxels at x = 0 and x = 2 with spacing 0.8: distance 1.6 exactly in real numbers
    const p = { data: new Uint8Array([1, 0, 0, 0]), shape: [1, 1, 4] };
    const t = { data: new Uint8Array([0, 0, 1, 0]), shape: [1, 1, 4] };
    const opt = { spacing: [1, 0.8] };
    assert.equal(surfaceDice(p, t, { ...opt, tolerance: 1.6 }).values[0]![0], 1);
    assert.equal(surfaceDice(p, t, { ...opt, tolerance: 1.59 }).values[0]![0], 0);
  });

  test("empty policies: defaults, overrides and the volume diagonal", () => {
    const z = { data: new Uint8Array(6), shape: [1, 2, 3] };
    const m = { data: new Uint8Array([0, 1, 0, 0, 0, 0]), shape: [1, 2, 3] };
    const opt = { spacing: [3, 4] };
    // both empty
    assert.ok(Number.isNaN(dice(z, z, opt).values[0]![0]!));
    assert.equal(dice(z, z, { ...opt, empty: { both: 1 } }).values[0]![0], 1);
    // prediction empty / target empty
    assert.equal(dice(z, m, opt).values[0]![0], 0);
    assert.ok(Number.isNaN(dice(m, z, opt).values[0]![0]!));
    assert.equal(dice(m, z, { ...opt, empty: { target: 0 } }).values[0]![0], 0);
    assert.equal(hausdorff(z, m, opt).values[0]![0], Infinity);
    assert.equal(hausdorff(m, z, opt).values[0]![0], Infinity);
    // diagonal: sqrt((2·3)² + (3·4)²)
    const d = hausdorff(z, m, { ...opt, empty: { prediction: "diagonal" } }).values[0]![0]!;
    close(d, Math.sqrt(36 + 144), 1e-12, "diagonal");
    assert.equal(averageSurfaceDistance(m, z, { ...opt, empty: { target: 7 } }).values[0]![0], 7);
    assert.equal(surfaceDice(z, m, { ...opt, tolerance: 1 }).values[0]![0], 0);
    assert.ok(Number.isNaN(surfaceDice(z, z, { ...opt, tolerance: 1 }).values[0]![0]!));
    assert.equal(
      surfaceDice(z, z, { ...opt, tolerance: 1, empty: { both: "infinity" } }).values[0]![0],
      Infinity,
    );
  });

  test("averages skip NaN and count, or propagate when asked", () => {
    // sample 0: class 1 present, sample 1: class 1 absent from both (NaN)
    const p = { data: new Uint8Array([1, 1, 0, 0, 0, 0]), shape: [2, 3] };
    const t = { data: new Uint8Array([1, 0, 0, 0, 0, 0]), shape: [2, 3] };
    const r = dice(p, t);
    close(r.mean, 2 / 3, 1e-12, "mean");
    assert.equal(r.count, 1);
    assert.deepEqual(r.perClassCount, [1]);
    assert.deepEqual(r.perSampleCount, [1, 0]);
    assert.ok(Number.isNaN(r.perSample[1]!));
    const q = dice(p, t, { nan: "propagate" });
    assert.ok(Number.isNaN(q.mean));
    assert.ok(Number.isNaN(q.perClass[0]!));
    // every entry NaN: the mean is NaN with a count of 0 (not a silent 0)
    const e = dice(t, { data: new Uint8Array(6), shape: [2, 3] });
    assert.ok(Number.isNaN(e.mean));
    assert.equal(e.count, 0);
  });

  test("classes: background excluded by default, included on request, explicit list", () => {
    const p = { data: new Uint8Array([0, 0, 1, 2]), shape: [1, 4] };
    const t = { data: new Uint8Array([0, 1, 1, 2]), shape: [1, 4] };
    assert.deepEqual(dice(p, t).classes, [1, 2]);
    const all = dice(p, t, { includeBackground: true });
    assert.deepEqual(all.classes, [0, 1, 2]);
    close(all.values[0]![0]!, 2 / 3, 1e-12, "background dice");
    assert.deepEqual(dice(p, t, { classes: [2] }).values, [[1]]);
    assert.deepEqual(dice(p, t, { numClasses: 4 }).classes, [1, 2, 3]);
  });

  test("jsonSafe() spells non-finite numbers so JSON keeps them", () => {
    const z = { data: new Uint8Array(4), shape: [1, 4] };
    const m = { data: new Uint8Array([0, 1, 0, 0]), shape: [1, 4] };
    const report = computeMetrics(z, m, { metrics: ["hd95", "dice"] });
    const back = JSON.parse(JSON.stringify(jsonSafe(report)));
    assert.deepEqual(back.metrics.hd95.values, [["Infinity"]]);
    assert.deepEqual(back.metrics.dice.values, [[0]]);
  });

  test("bigint and float label arrays are accepted", () => {
    const p = { data: new BigInt64Array([0n, 1n, 1n, 0n]), shape: [1, 4] };
    const t = { data: new Float64Array([0, 1, 0, 0]), shape: [1, 4] };
    close(dice(p, t).values[0]![0]!, 2 / 3, 1e-12, "dice");
  });
});

describe("bad input", () => {
  const m = { data: new Uint8Array([0, 1, 1, 0]), shape: [1, 4] };
  test("shape mismatches are TypeErrors naming the argument", () => {
    assert.throws(() => dice({ data: new Uint8Array(6), shape: [1, 6] }, m), {
      name: "TypeError",
      message: /prediction.*\[1, 4\].*\[1, 6\]/,
    });
    assert.throws(() => dice(m, { data: new Uint8Array(3), shape: [1, 4] }), TypeError);
    assert.throws(() => dice(m, { data: [0, 1] as unknown as Uint8Array, shape: [2] }), TypeError);
    assert.throws(() => dice(m, { data: new Uint8Array(4), shape: [4] }), RangeError);
  });
  test("out-of-range labels and values are RangeErrors", () => {
    assert.throws(() => dice({ data: new Int32Array([0, -1, 1, 0]), shape: [1, 4] }, m), {
      name: "RangeError",
      message: /prediction.*-1.*index 1/,
    });
    assert.throws(
      () => dice({ data: new Float32Array([0, 0.5, 1, 0]), shape: [1, 4] }, m),
      RangeError,
    );
    assert.throws(
      () => dice(m, { data: new Uint8Array([0, 3, 1, 0]), shape: [1, 4] }, { numClasses: 2 }),
      {
        name: "RangeError",
        message: /target.*\[0, 2\).*3/,
      },
    );
    assert.throws(
      () => dice({ data: new Float32Array([0, NaN, 1, 0, 1, 1, 0, 0]), shape: [1, 2, 4] }, m),
      RangeError,
    );
    assert.throws(() => hausdorff(m, m, { spacing: [0] }), RangeError);
    assert.throws(() => hausdorff(m, m, { spacing: [1, 1] }), TypeError);
    assert.throws(() => hausdorff(m, m, { percentile: 101 }), RangeError);
    assert.throws(() => hausdorff(m, m, { convention: "scipy" as "monai" }), RangeError);
    assert.throws(() => dice(m, m, { classes: [5] }), RangeError);
    assert.throws(() => dice(m, m, { empty: { both: "zero" as "nan" } }), RangeError);
    assert.throws(() => dice(m, m, { empty: { bothEmpty: 1 } as never }), {
      name: "TypeError",
      message: /options\.empty keys among both, prediction, target but found "bothEmpty"/,
    });
    assert.throws(() => hausdorff(m, m, { border: "inside" as "none" }), RangeError);
    assert.throws(() => hausdorff(m, m, { connectivity: 2 }), {
      name: "RangeError",
      message: /connectivity.*\[1, 1\].*2/,
    });
    assert.throws(() => hausdorff(m, m, { directed: 1 as unknown as boolean }), TypeError);
    assert.throws(() => specificity(m, m, { empty: { both: 1 } }), TypeError);
    assert.throws(
      () => computeMetrics(m, m, { metrics: ["specificity"], empty: { specificity: {} } }),
      TypeError,
    );
    assert.throws(() => surfaceDice(m, m, { tolerance: -1 }), RangeError);
    assert.throws(() => surfaceDice(m, m, { tolerance: [1, 2] }), TypeError);
    assert.throws(() => surfaceDice(m, m, {} as { tolerance: number }), TypeError);
    assert.throws(() => computeMetrics(m, m, { metrics: ["nsd"] }), TypeError);
    assert.throws(() => computeMetrics(m, m, { metrics: ["hd99" as "hd95"] }), {
      name: "RangeError",
      message: /metrics\[0\].*"hd99" \(did you mean "hd95"\?\)/,
    });
    assert.throws(() => computeMetrics(m, m, { empty: { hd: {} } as never }), {
      name: "TypeError",
      message: /options\.empty keys among .* but found "hd"/,
    });
  });

  test("channels-last scores are reported as such", () => {
    const scores = { data: new Float32Array(1 * 4 * 3), shape: [1, 4, 3] };
    assert.throws(() => dice(scores, m), { name: "TypeError", message: /channels-last/ });
  });

  test("unknown option keys are TypeErrors that name the key and suggest the nearest", () => {
    const cases: [string, () => unknown, string][] = [
      ["computeMetrics", () => computeMetrics(m, m, { spacin: [2] } as never), "spacing"],
      [
        "computeMetrics",
        () => computeMetrics(m, m, { conectivity: "full" } as never),
        "connectivity",
      ],
      ["computeMetrics", () => computeMetrics(m, m, { boarder: "none" } as never), "border"],
      ["hausdorff", () => hausdorff(m, m, { percentil: 95 } as never), "percentile"],
      ["hausdorff", () => hausdorff(m, m, { tolerance: 1 } as never), ""],
      [
        "averageSurfaceDistance",
        () => averageSurfaceDistance(m, m, { symetric: false } as never),
        "symmetric",
      ],
      [
        "surfaceDice",
        () => surfaceDice(m, m, { tolerance: 1, tolerence: 2 } as never),
        "tolerance",
      ],
      ["dice", () => dice(m, m, { spacng: [1] } as never), "spacing"],
      ["dice", () => dice(m, m, { border: "none" } as never), ""],
      ["iou", () => iou(m, m, { clases: [1] } as never), "classes"],
      ["precision", () => precision(m, m, { threshhold: 0.5 } as never), "threshold"],
      ["recall", () => recall(m, m, { includeBackgroud: true } as never), "includeBackground"],
      ["specificity", () => specificity(m, m, { nan_: "skip" } as never), "nan"],
      [
        "relativeVolumeDifference",
        () => relativeVolumeDifference(m, m, { numclasses: 2 } as never),
        "numClasses",
      ],
      ["volumeSimilarity", () => volumeSimilarity(m, m, { empy: {} } as never), "empty"],
      ["surfaceVoxels", () => surfaceVoxels(m, { spatialDim: 1 } as never), "spatialDims"],
    ];
    for (const [fn, f, near] of cases) {
      assert.throws(f, (e: unknown) => {
        assert.ok(e instanceof TypeError, `${fn}: ${e}`);
        assert.match((e as Error).message, /^Expected options keys among /, fn);
        if (near) assert.match((e as Error).message, new RegExp(`did you mean "${near}"\\?`), fn);
        else assert.doesNotMatch((e as Error).message, /did you mean/, fn);
        return true;
      });
    }
  });
});
