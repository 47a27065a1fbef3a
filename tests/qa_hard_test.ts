// The QA attack on hard masks (1-px curves, many small blobs, single voxels, structures on the
// border, anisotropic spacing, absent classes, a class filling a sample, batches), against
// independent references made by tests/fixtures/make_qa_hard.py: scipy's
// distance_transform_edt, the official boundary-loss code's one_hot2dist, torch 1.13 ports of
// the official SurfaceLoss / GeneralDiceLoss / DiceLoss and torch's cross_entropy (values and
// autograd gradients), and MONAI's get_mask_edges + get_surface_distance re-derived in numpy.
// `QA_REPORT=1` prints the worst errors per quantity.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  boundaryLoss,
  computeMetrics,
  createScorer,
  crossEntropyLoss,
  diceLoss,
  edt,
  generalizedDiceLoss,
  signedDistance,
  softmax,
} from "../mod.ts";
import fixture from "./fixtures/qa_hard.json" with { type: "json" };

interface Case {
  name: string;
  shape: number[];
  numClasses: number;
  spacing: number[];
  labels: number[];
  tolerance: number;
  edt_mask: (number | null)[];
  signed: (number | null)[];
  full: boolean[][];
  prediction: number[];
  metrics: Record<string, (Record<string, number> | null)[]>;
  logits?: number[];
  losses?: {
    values: Record<string, number>;
    weights: Record<string, number>;
    total: number;
    gradient: number[];
  };
}
const cases = fixture.cases as unknown as Case[];
const report = typeof process !== "undefined" && process.env?.QA_REPORT;

/** Max abs error, and max abs error relative to max(1, |ref|), of `got` against `ref`. */
function worst(
  got: ArrayLike<number>,
  ref: ArrayLike<number | null>,
  skip?: (i: number) => boolean,
) {
  let abs = 0, rel = 0, at = -1;
  assert.equal(got.length, ref.length);
  for (let i = 0; i < ref.length; i++) {
    if (skip?.(i)) continue;
    const r = ref[i] ?? Infinity, g = got[i]!;
    if (r === Infinity) {
      assert.equal(g, Infinity, `element ${i}: expected Infinity, got ${g}`);
      continue;
    }
    const e = Math.abs(g - r);
    if (!(e <= abs)) {
      abs = e;
      at = i;
    }
    rel = Math.max(rel, e / Math.max(1, Math.abs(r)));
  }
  return { abs, rel, at };
}

function note(what: string, w: { abs: number; rel: number }) {
  if (report) {
    console.log(`${what}: max abs ${w.abs.toExponential(2)}, max rel ${w.rel.toExponential(2)}`);
  }
}

for (const c of cases) {
  const N = c.shape[0]!, C = c.numClasses, spatial = c.shape.slice(1);
  const V = spatial.reduce((a, b) => a * b, 1);
  const labels = { data: Int32Array.from(c.labels), shape: c.shape };
  describe(`hard masks: ${c.name}`, () => {
    test("edt of the foreground equals scipy's distance_transform_edt (float32 rounding)", () => {
      const mask = { data: Uint8Array.from(c.labels, (v) => (v !== 0 ? 1 : 0)), shape: c.shape };
      const d = edt(mask, { spacing: c.spacing, spatialDims: spatial.length });
      const w = worst(d.data, c.edt_mask);
      note(`${c.name} edt`, w);
      assert.ok(w.rel <= 1e-6, `max rel error ${w.rel} at ${w.at}`);
      // returnIndices: the distance to the returned nearest zero is the distance returned
      const r = edt(mask, { spacing: c.spacing, spatialDims: spatial.length, returnIndices: true });
      const strides = spatial.map((_, a) => spatial.slice(a + 1).reduce((x, y) => x * y, 1));
      let bad = 0;
      for (let i = 0; i < mask.data.length; i++) {
        const v = i % V;
        let s = 0;
        for (let a = 0; a < spatial.length; a++) {
          const own = Math.floor(v / strides[a]!) % spatial[a]!;
          const near = r.indices.data[a * mask.data.length + i]!;
          s += ((own - near) * c.spacing[a]!) ** 2;
        }
        const dz = Math.sqrt(s), ref = r.data[i]!;
        if (Number.isFinite(ref) && Math.abs(dz - ref) > 1e-5 * Math.max(1, ref)) bad++;
      }
      assert.equal(bad, 0, "indices inconsistent with distances");
    });

    test("signedDistance equals the official one_hot2dist per sample and class", async () => {
      const s = await signedDistance(labels, { numClasses: C, spacing: c.spacing });
      assert.deepEqual(s.shape, [N, C, ...spatial]);
      // a class filling a whole sample has no boundary: the official code gives -(EDT-1) of
      // an all-ones mask (no zero: undefined); ours must only be finite there
      const full = (i: number) => c.full[Math.floor(i / (C * V))]![Math.floor(i / V) % C]!;
      for (let i = 0; i < s.data.length; i++) {
        if (full(i)) assert.ok(Number.isFinite(s.data[i]), `full class not finite at ${i}`);
      }
      const w = worst(s.data, c.signed, full);
      note(`${c.name} signed`, w);
      assert.ok(w.rel <= 1e-6, `max rel error ${w.rel} at ${w.at}`);
    });

    test("metrics equal MONAI's get_mask_edges + get_surface_distance (and medpy's) re-derived", () => {
      const pred = { data: Int32Array.from(c.prediction), shape: c.shape };
      const r = computeMetrics(pred, labels, {
        numClasses: C,
        spacing: c.spacing,
        tolerance: c.tolerance,
        metrics: ["dice", "iou", "hausdorff", "hd95", "assd", "nsd"],
      });
      assert.deepEqual(r.metrics.dice!.classes, Array.from({ length: C - 1 }, (_, k) => k + 1));
      const opts = { numClasses: C, spacing: c.spacing, metrics: ["hd95", "assd"] } as const;
      const medpy = computeMetrics(pred, labels, { ...opts, hausdorffConvention: "medpy" });
      const medpy04 = computeMetrics(pred, labels, { ...opts, assdConvention: "medpy-0.4" });
      const table = (name: string) =>
        name === "hd95_medpy"
          ? medpy.metrics.hd95!
          : name === "assd_medpy04"
          ? medpy04.metrics.assd!
          : r.metrics[name as "dice"]!;
      let abs = 0, rel = 0, compared = 0;
      for (const [k, rows] of Object.entries(c.metrics)) {
        const col = r.metrics.dice!.classes.indexOf(Number(k));
        rows.forEach((ref, n) => {
          if (!ref) return; // an empty prediction or target: policy, not arithmetic
          for (const [name, v] of Object.entries(ref)) {
            const got = table(name).values[n]![col]!;
            const e = Math.abs(got - v);
            assert.ok(
              e <= 1e-5 * Math.max(1, Math.abs(v)),
              `${name} sample ${n} class ${k}: expected ${v}, got ${got}`,
            );
            abs = Math.max(abs, e);
            rel = Math.max(rel, e / Math.max(1, Math.abs(v)));
            compared++;
          }
        });
      }
      note(`${c.name} metrics (${compared} values)`, { abs, rel });
      assert.ok(compared > 0);
    });

    if (c.losses) {
      const L = c.losses;
      const logits = { data: Float32Array.from(c.logits!), shape: [N, C, ...spatial] };
      const fg = Array.from({ length: C - 1 }, (_, k) => k + 1);
      test("functional losses equal the official code / torch", async () => {
        const p = softmax(logits);
        const dist = await signedDistance(labels, { numClasses: C, spacing: c.spacing });
        const got: Record<string, number> = {
          dice: diceLoss(p, labels, { classes: fg, smoothNr: 1e-10, smoothDr: 1e-10 }),
          "generalized-dice": generalizedDiceLoss(p, labels, { classes: fg }),
          "cross-entropy": crossEntropyLoss(p, labels),
          boundary: boundaryLoss(p, dist, { classes: fg }),
        };
        for (const [k, v] of Object.entries(L.values)) {
          const e = Math.abs(got[k]! - v) / Math.max(1, Math.abs(v));
          note(`${c.name} ${k}`, { abs: Math.abs(got[k]! - v), rel: e });
          assert.ok(e <= 1e-5, `${k}: expected ${v}, got ${got[k]}`);
        }
      });
      test("scorer total and dTotal/dlogits equal torch autograd", async () => {
        const scorer = await createScorer({
          input: "logits",
          losses: [
            {
              name: "dice",
              weight: L.weights.dice,
              options: { classes: fg, smoothNr: 1e-10, smoothDr: 1e-10 },
            },
            {
              name: "generalized-dice",
              weight: L.weights["generalized-dice"],
              options: { classes: fg },
            },
            { name: "cross-entropy", weight: L.weights["cross-entropy"] },
            { name: "boundary", weight: L.weights.boundary, options: { classes: fg } },
          ],
        });
        try {
          const r = await scorer.evaluate({
            input: logits,
            target: labels,
            spacing: c.spacing,
            gradient: true,
          });
          assert.ok(
            Math.abs(r.total - L.total) <= 1e-5 * Math.max(1, Math.abs(L.total)),
            `${r.total} vs ${L.total}`,
          );
          let scale = 0;
          for (const g of L.gradient) scale = Math.max(scale, Math.abs(g));
          const w = worst(r.gradient!.data, L.gradient);
          note(`${c.name} gradient (max |g| ${scale.toExponential(2)})`, w);
          assert.ok(
            w.abs <= 1e-5 * scale,
            `gradient max abs error ${w.abs} (scale ${scale}) at ${w.at}`,
          );
        } finally {
          scorer.dispose();
        }
      });
    }
  });
}

describe("many small structures: small surface pairs are measured directly", () => {
  test("a one-voxel prediction one diagonal step from a one-voxel target: 0.7·√2, correctly rounded", () => {
    // by hand: surfaces are the single voxels (0, 0) and (1, 1); spacing 0.7 on both axes, so
    // every surface distance is hypot(0.7, 0.7) = 0.98994949366... -> float32 0.98994946...
    // (the EDT path gave 0.98994952..., the float32 on the other side of the true value)
    const pred = { data: new Uint8Array([1, 0, 0, 0]), shape: [1, 2, 2] };
    const target = { data: new Uint8Array([0, 0, 0, 1]), shape: [1, 2, 2] };
    const r = computeMetrics(pred, target, {
      spacing: [0.7, 0.7],
      metrics: ["hausdorff", "hd95", "assd"],
    });
    const expected = Math.fround(Math.hypot(0.7, 0.7));
    assert.equal(r.metrics.hausdorff!.values[0]![0], expected);
    assert.equal(r.metrics.hd95!.values[0]![0], expected);
    assert.equal(r.metrics.assd!.values[0]![0], expected);
  });

  test("thousands of tiny samples: every (sample, class) value equals the brute-force distance", () => {
    // 3000 samples of (2, 3) with 3 classes: per pair, the surfaces are all foreground voxels
    // (nothing erodes in a 2x3 volume with the border a surface), so hausdorff is the larger
    // of the two directed maxima of nearest-voxel distances, computed here by brute force
    const N = 3000, H = 2, W = 3, C = 3, sy = 1.3, sx = 0.4;
    let seed = 11;
    const rnd = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const p = Uint8Array.from({ length: N * H * W }, () => Math.floor(rnd() * C));
    const t = Uint8Array.from({ length: N * H * W }, () => Math.floor(rnd() * C));
    const r = computeMetrics({ data: p, shape: [N, H, W] }, { data: t, shape: [N, H, W] }, {
      numClasses: C,
      spacing: [sy, sx],
      metrics: ["hausdorff"],
    });
    const directed = (a: number[], b: number[]) =>
      Math.max(
        ...a.map((i) =>
          Math.min(...b.map((j) =>
            Math.hypot((Math.floor(i / W) - Math.floor(j / W)) * sy, ((i % W) - (j % W)) * sx)
          ))
        ),
      );
    let checked = 0;
    for (let n = 0; n < N; n++) {
      for (let c = 1; c < C; c++) {
        const a: number[] = [], b: number[] = [];
        for (let i = 0; i < H * W; i++) {
          if (p[n * H * W + i] === c) a.push(i);
          if (t[n * H * W + i] === c) b.push(i);
        }
        const got = r.metrics.hausdorff!.values[n]![c - 1]!;
        if (!a.length || !b.length) continue;
        const want = Math.fround(Math.max(directed(a, b), directed(b, a)));
        assert.equal(got, want, `sample ${n} class ${c}`);
        checked++;
      }
    }
    assert.ok(checked > 3000, String(checked));
  });
});
