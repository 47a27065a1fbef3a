// Loss values against independent numpy/scipy numbers: the shared reference cases
// (tests/fixtures/reference/, copied from ../shared/reference) and tests/fixtures/loss_cases.json
// (tests/fixtures/make_loss_fixtures.py). Runs under `deno test` and `bun test`.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  boundaryLoss,
  createScorer,
  crossEntropyLoss,
  diceLoss,
  generalizedDiceLoss,
  type NdArray,
  scheduleWeights,
  signedDistance,
  softmax,
} from "../mod.ts";
import type { Schedule } from "../mod.ts";
import reference from "./fixtures/reference/reference.json" with { type: "json" };
import fixtures from "./fixtures/loss_cases.json" with { type: "json" };

type Num = number | null;

// Tolerances (relative, or absolute below 1), from what each path reaches: the largest error
// measured over every case (Deno 2.9 and Bun 1.4), with about 10x headroom.
/** float64 input, float64 sums: rounding alone (measured 2e-14). */
const F64 = 1e-12;
/**
 * float32 input: each probability rounded once to float32, sums and formulas in float64
 * (measured 7.1e-9). Dropping dice's default denominator smoothing (a change of 7.9e-8 to
 * 5.4e-7 on the reference cases) fails: see the test below.
 */
const F32 = 3e-8;
/** float32 signed distance maps against scipy: one float32 rounding of a root (4.5e-8). */
const MAPS = 5e-7;

function close(actual: number, expected: number, tol: number, what: string) {
  const err = Math.abs(actual - expected);
  assert.ok(
    err <= tol * Math.max(1, Math.abs(expected)),
    `${what}: expected ${expected}, got ${actual} (error ${err})`,
  );
}

function f32(shape: number[], data: number[]): NdArray<Float32Array> {
  return { data: Float32Array.from(data), shape };
}
function f64(shape: number[], data: number[]): NdArray<Float64Array> {
  return { data: Float64Array.from(data), shape };
}

const REGION = {
  dice: diceLoss,
  "generalized-dice": generalizedDiceLoss,
  "cross-entropy": crossEntropyLoss,
} as const;

describe("reference.json (../shared/reference, independent scipy values)", () => {
  for (const c of reference.cases) {
    const shape = c.shape;
    const C = shape[1]!;
    const labelsShape = [shape[0]!, ...shape.slice(2)];
    const labels = { data: Int32Array.from(c.labels), shape: labelsShape };
    const spacing = (c.spacing as Num[] | null) ?? undefined;
    const all = Array.from({ length: C }, (_, i) => i);
    for (const [kind, make] of [["float32", f32], ["float64", f64]] as const) {
      const tol = kind === "float32" ? F32 : F64;
      const probs = make(shape, c.probs);
      test(`${c.name} (${kind}): dice, generalized dice and cross entropy match every key`, () => {
        const e1 = 1e-10;
        close(
          diceLoss(probs, labels, { classes: [1], smoothNr: e1, smoothDr: e1 }),
          c.dice_official_classes_1,
          tol,
          "dice_official_classes_1",
        );
        close(
          diceLoss(probs, labels, { classes: all, smoothNr: e1, smoothDr: e1 }),
          c.dice_official_all_classes,
          tol,
          "dice_official_all_classes",
        );
        close(diceLoss(probs, labels), c.dice_monai_include_background, tol, "monai incl");
        close(
          diceLoss(probs, labels, { includeBackground: false }),
          c.dice_monai_exclude_background,
          tol,
          "monai excl",
        );
        close(
          diceLoss(probs, labels, { includeBackground: false, squared: true }),
          c.dice_monai_squared_exclude_background,
          tol,
          "monai squared",
        );
        close(
          diceLoss(probs, labels, { includeBackground: false, batch: true }),
          c.dice_monai_batch_exclude_background,
          tol,
          "monai batch",
        );
        close(
          generalizedDiceLoss(probs, labels),
          c.generalized_dice_official_all_classes,
          tol,
          "generalized_dice_official_all_classes",
        );
        close(crossEntropyLoss(probs, labels), c.cross_entropy_mean, tol, "cross_entropy_mean");
      });
      test(`${c.name} (${kind}): signed distance maps and boundary loss match`, async () => {
        const d = await signedDistance(labels, {
          numClasses: C,
          ...(spacing ? { spacing: spacing as number[] } : {}),
        });
        assert.equal(d.data.length, c.signed_distance_kervadec.length);
        d.data.forEach((x, i) => close(x, c.signed_distance_kervadec[i]!, MAPS, `map[${i}]`));
        const ref = f64(shape, c.signed_distance_kervadec);
        close(boundaryLoss(probs, ref, { classes: [1] }), c.boundary_classes_1, tol, "b1");
        if (C === 2) close(boundaryLoss(probs, ref), c.boundary_classes_1, tol, "default classes");
        close(boundaryLoss(probs, ref, { classes: all }), c.boundary_all_classes, tol, "ball");
        // through the scorer: maps computed from the labels with the spacing
        const scorer = await createScorer({
          input: "probs",
          losses: [{ name: "boundary", options: { classes: [1] } }, {
            name: "boundary",
            options: { includeBackground: true },
          }],
        });
        const r = await scorer.evaluate({
          input: probs,
          target: labels,
          ...(spacing ? { spacing: spacing as number[] } : {}),
        });
        close(r.terms.boundary!, c.boundary_classes_1, F32, "scorer boundary classes 1");
        close(r.terms["boundary#2"]!, c.boundary_all_classes, F32, "scorer boundary all");
        scorer.dispose();
      });
    }
    if ("logits" in c) {
      test(`${c.name}: the scorer on logits reproduces the reference`, async () => {
        const logits = f64(shape, c.logits as number[]);
        const p = softmax(logits);
        p.data.forEach((x, i) => close(x, c.probs[i]!, 1e-12, `softmax[${i}]`));
        const scorer = await createScorer({
          input: "logits",
          losses: [
            { name: "dice", options: { includeBackground: false } },
            { name: "generalized-dice" },
            { name: "cross-entropy" },
            { name: "boundary", options: { includeBackground: true } },
          ],
        });
        const r = await scorer.evaluate({ input: logits, target: labels });
        close(r.terms.dice!, c.dice_monai_exclude_background, F64, "dice");
        close(r.terms["generalized-dice"]!, c.generalized_dice_official_all_classes, F64, "gdl");
        close(r.terms["cross-entropy"]!, c.cross_entropy_mean, F64, "ce");
        close(r.terms.boundary!, c.boundary_all_classes, 5e-9, "boundary"); // float64 probs, float32 maps: 4.3e-10
        scorer.dispose();
      });
    }
  }
});

test("the float32 tolerance tells a dropped smoothing term apart (reference.json)", () => {
  for (const c of reference.cases) {
    const probs = f32(c.shape, c.probs);
    const labels = { data: Int32Array.from(c.labels), shape: [c.shape[0]!, ...c.shape.slice(2)] };
    const ref = c.dice_monai_include_background;
    close(diceLoss(probs, labels), ref, F32, `${c.name} dice`);
    // the mutation: MONAI's smoothDr = 1e-5 left out of the denominator
    const dropped = Math.abs(diceLoss(probs, labels, { smoothDr: 0 }) - ref);
    assert.ok(dropped > F32, `${c.name}: a dropped smoothDr moves dice by only ${dropped}`);
  }
});

test("schedules match the official scheduler (reference.json)", () => {
  for (const s of reference.schedules["rebalance_start_0.01_step_0.01_floor_0.1"]) {
    const w = scheduleWeights({ kind: "rebalance" }, s.epoch);
    close(w.region, s.region, 1e-12, `region at ${s.epoch}`);
    close(w.boundary, s.boundary, 1e-12, `boundary at ${s.epoch}`);
  }
});

test("schedules match the fixture list (rebalance, increase, constant, floor, max)", () => {
  for (const s of fixtures.schedules) {
    const w = scheduleWeights(s.schedule as Schedule, s.epoch);
    const what = `${JSON.stringify(s.schedule)} at ${s.epoch}`;
    close(w.region, s.region, 1e-12, `region ${what}`);
    close(w.boundary, s.boundary, 1e-12, `boundary ${what}`);
  }
});

describe("random 2-D and 3-D cases (make_loss_fixtures.py)", () => {
  for (const c of fixtures.cases) {
    const shape = c.shape;
    const labelsShape = [shape[0]!, ...shape.slice(2)];
    const labels = { data: Int32Array.from(c.labels), shape: labelsShape };
    const spacing = (c.spacing as number[] | null) ?? undefined;
    for (const [kind, make] of [["float32", f32], ["float64", f64]] as const) {
      const tol = kind === "float32" ? F32 : F64;
      test(`${c.name} (${kind}): every loss variant matches numpy`, async () => {
        const probs = make(shape, c.probs);
        const phi = await signedDistance(labels, {
          numClasses: shape[1]!,
          ...(spacing ? { spacing } : {}),
        });
        const refPhi = f64(shape, c.signed_distance);
        for (const e of c.expected) {
          const what = `${e.loss} ${JSON.stringify(e.options)}`;
          if (e.loss === "boundary") {
            close(
              boundaryLoss(probs, refPhi, e.options as never),
              e.value,
              tol,
              `${what} (fixture maps)`,
            );
            close(
              boundaryLoss(probs, phi, e.options as never),
              e.value,
              F32,
              `${what} (our maps)`,
            );
          } else {
            const fn = REGION[e.loss as keyof typeof REGION];
            close(fn(probs, labels, e.options as never), e.value, tol, what);
          }
        }
        const ign = { data: Int32Array.from(c.labels_ignore), shape: labelsShape };
        for (const e of c.cross_entropy_ignore) {
          const target = e.options.ignoreIndex === 255 ? ign : labels;
          close(
            crossEntropyLoss(probs, target, e.options),
            e.value,
            tol,
            JSON.stringify(e.options),
          );
        }
      });
    }
    test(`${c.name}: a one-hot target gives the same values as labels`, () => {
      const probs = f64(shape, c.probs);
      const C = shape[1]!, vol = labels.data.length / shape[0]!;
      const oh = new Float64Array(probs.data.length);
      labels.data.forEach((l, i) => {
        const n = Math.floor(i / vol), v = i % vol;
        oh[(n * C + l) * vol + v] = 1;
      });
      const onehot = { data: oh, shape };
      for (const e of c.expected) {
        if (e.loss === "boundary") continue;
        const fn = REGION[e.loss as keyof typeof REGION];
        close(fn(probs, onehot, e.options as never), e.value, F64, `${e.loss} one-hot`);
      }
    });
  }
  for (const c of fixtures.binary_cases) {
    test(`${c.name}: a single sigmoid channel scores the foreground (dice, GDL, BCE, boundary)`, () => {
      const shape = c.shape;
      const probs = f64(shape, c.probs);
      const labels = { data: Uint8Array.from(c.labels), shape: [shape[0]!, ...shape.slice(2)] };
      const phi = f64(shape, c.signed_distance_foreground);
      for (const e of c.expected) {
        const v = e.loss === "boundary"
          ? boundaryLoss(probs, phi)
          : REGION[e.loss as keyof typeof REGION](probs, labels);
        close(v, e.value, F64, e.loss);
      }
    });
  }
});

describe("softmax", () => {
  test("softmax() of logits matches numpy and is stable for huge logits", () => {
    const c = fixtures.cases[3]!;
    const p = softmax(f64(c.shape, c.logits));
    assert.ok(p.data instanceof Float64Array);
    p.data.forEach((x, i) => close(x, c.probs[i]!, 1e-12, `p[${i}]`));
    const big = softmax(f32([1, 3, 1], [1e30, 1e30, -1e30]));
    assert.ok(big.data instanceof Float32Array);
    assert.deepEqual(Array.from(big.data), [0.5, 0.5, 0]);
  });
  test("softmax() rejects NaN and rank-1 input", () => {
    assert.throws(() => softmax(f32([1, 2], [0, NaN])), RangeError);
    assert.throws(() => softmax(f32([2], [0, 1])), TypeError);
  });
});

describe("bad input to the functional losses", () => {
  const probs = f32([1, 2, 2, 2], [0.1, 0.2, 0.3, 0.4, 0.9, 0.8, 0.7, 0.6]);
  const labels = { data: new Uint8Array([0, 1, 1, 0]), shape: [1, 2, 2] };
  test("shape/data mismatch, empty arrays and wrong rank throw TypeError/RangeError", () => {
    assert.throws(
      () => diceLoss({ data: new Float32Array(7), shape: [1, 2, 2, 2] }, labels),
      (e: Error) => e instanceof TypeError && /probs\.data/.test(e.message) && /8/.test(e.message),
    );
    assert.throws(
      () => diceLoss({ data: new Float32Array(0), shape: [1, 2, 0] }, labels),
      RangeError,
    );
    assert.throws(
      () => diceLoss({ data: new Float32Array(2), shape: [1, 2] }, labels),
      (e: Error) => e instanceof TypeError && /rank 3 to 5/.test(e.message),
    );
    assert.throws(
      () => diceLoss({ data: new Float32Array(64), shape: [1, 2, 2, 2, 2, 2] }, labels),
      TypeError,
    );
    assert.throws(
      () => diceLoss({ data: new Int32Array(8), shape: [1, 2, 2, 2] }, labels),
      (e: Error) => e instanceof TypeError && /Float32Array or Float64Array/.test(e.message),
    );
  });
  test("labels out of range, non-integer labels and NaN scores throw RangeError", () => {
    assert.throws(
      () => diceLoss(probs, { data: new Uint8Array([0, 2, 1, 0]), shape: [1, 2, 2] }),
      (e: Error) =>
        e instanceof RangeError && /\[0, 2\)/.test(e.message) && /found 2/.test(e.message),
    );
    assert.throws(
      () => diceLoss(probs, { data: new Float32Array([0, 0.5, 1, 0]), shape: [1, 2, 2] }),
      RangeError,
    );
    assert.throws(
      () => diceLoss(f32([1, 2, 2, 2], [0, 0, 0, 0, 0, 0, 0, Infinity]), labels),
      (e: Error) =>
        e instanceof RangeError && /probs/.test(e.message) && /Infinity/.test(e.message),
    );
    assert.throws(
      () => crossEntropyLoss(probs, { data: new Int32Array([0, 255, 1, 0]), shape: [1, 2, 2] }),
      RangeError,
    );
  });
  test("batch-size, spatial and class-count mismatches name the axis", () => {
    assert.throws(
      () => diceLoss(probs, { data: new Uint8Array(8), shape: [2, 2, 2] }),
      (e: Error) => e instanceof TypeError && /batch size/.test(e.message),
    );
    assert.throws(
      () => diceLoss(probs, { data: new Uint8Array(6), shape: [1, 2, 3] }),
      (e: Error) => e instanceof TypeError && /spatial/.test(e.message),
    );
    assert.throws(
      () => diceLoss(probs, { data: new Float32Array(12), shape: [1, 3, 2, 2] }),
      (e: Error) => e instanceof RangeError && /classes/.test(e.message),
    );
    assert.throws(
      () => boundaryLoss(probs, { data: new Float32Array(4), shape: [1, 1, 2, 2] }),
      (e: Error) => e instanceof TypeError && /distance/.test(e.message),
    );
  });
  test("bad options throw TypeError/RangeError naming the option", () => {
    assert.throws(
      () => diceLoss(probs, labels, { smooth: 1 } as never),
      (e: Error) => e instanceof TypeError && /"smooth"/.test(e.message),
    );
    assert.throws(() => diceLoss(probs, labels, { reduction: "none" } as never), RangeError);
    assert.throws(
      () => diceLoss(probs, labels, { classes: [2] }),
      (e: Error) => e instanceof RangeError && /classes/.test(e.message),
    );
    assert.throws(
      () => diceLoss(probs, labels, { weights: [1, 1, 1] }),
      (e: Error) => e instanceof RangeError && /weights/.test(e.message) && /3/.test(e.message),
    );
    assert.throws(() => diceLoss(probs, labels, { smoothNr: -1 }), RangeError);
    assert.throws(
      () => generalizedDiceLoss(probs, labels, { weightType: "log" } as never),
      RangeError,
    );
    assert.throws(() => crossEntropyLoss(probs, labels, { ignoreIndex: 0.5 }), TypeError);
    assert.throws(() => boundaryLoss(probs, probs, { classes: [-1] }), RangeError);
  });
  test("an ignore label inside [0, C) is honoured (PyTorch semantics)", () => {
    // ignoring class 0: only the two voxels labelled 1 count
    const ce = crossEntropyLoss(probs, labels, { ignoreIndex: 0 });
    close(ce, -(Math.log(0.8) + Math.log(0.7)) / 2, F32, "ce");
  });
});

test("the kernel's exp agrees with Math.exp to 1e-15 relative over [-745, 0]", async () => {
  const { expNonPositive } = await import("../backends/cpu/_kernel.ts");
  let worst = 0;
  for (let i = 0; i <= 200000; i++) {
    const x = -745 * (i / 200000) ** 3; // dense near 0, where softmax values live
    const a = expNonPositive(x), b = Math.exp(x);
    if (b > 1e-300) worst = Math.max(worst, Math.abs(a - b) / b);
  }
  assert.ok(worst < 1e-15, `worst relative error ${worst}`);
  assert.equal(expNonPositive(0), 1);
  assert.equal(expNonPositive(-800), 0);
});
