// Analytic gradients of the scorer (CPU backend) against central finite differences of its
// own total in float64: every loss, logits and probabilities, 2-D and 3-D, the single
// sigmoid channel, and combined, scheduled totals. Runs under `deno test` and `bun test`.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createScorer, type NdArray, signedDistance } from "../mod.ts";
import type { ScorerConfig } from "../mod.ts";
import { mulberry32 as rng } from "./util.ts";

interface Case {
  input: NdArray<Float64Array>;
  target: NdArray;
  spacing?: number[];
}

/** Random scores and labels; probabilities are softmax-like positive values (not normalized). */
function makeCase(shape: number[], kind: "logits" | "probs", seed: number, C = shape[1]!): Case {
  const r = rng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(size);
  for (let i = 0; i < size; i++) data[i] = kind === "logits" ? 3 * (r() - 0.5) : 0.05 + 0.9 * r();
  const labelsShape = [shape[0]!, ...shape.slice(2)];
  const nl = labelsShape.reduce((a, b) => a * b, 1);
  const labels = new Int32Array(nl);
  // a blob of class 1 and random other classes, so every class has a boundary
  for (let i = 0; i < nl; i++) labels[i] = r() < 0.6 ? 0 : Math.floor(r() * C);
  return { input: { data, shape }, target: { data: labels, shape: labelsShape } };
}

async function checkGradient(
  config: ScorerConfig,
  c: Case,
  opts: { epoch?: number; precomputed?: boolean; tol?: number; indices?: number[] } = {},
): Promise<void> {
  const scorer = await createScorer(config);
  const C = c.input.shape[1] === 1 ? 2 : c.input.shape[1]!;
  const distance = opts.precomputed
    ? await signedDistance(c.target, {
      numClasses: C,
      ...(c.spacing ? { spacing: c.spacing } : {}),
    })
    : undefined;
  const req = {
    target: c.target,
    ...(c.spacing ? { spacing: c.spacing } : {}),
    ...(opts.epoch !== undefined ? { epoch: opts.epoch } : {}),
    ...(distance ? { distance } : {}),
  };
  const r = await scorer.evaluate({ ...req, input: c.input, gradient: true });
  const g = r.gradient!;
  assert.ok(g.data instanceof Float64Array, "float64 input gives a float64 gradient");
  assert.deepEqual(g.shape, c.input.shape);
  const x = Float64Array.from(c.input.data);
  const h = 1e-5;
  // central differences: truncation O(h^2 f''') plus rounding O(eps f / h) in float64; measured
  // 6.7e-9 over every case, hence 1e-7
  const tol = opts.tol ?? 1e-7;
  let maxAbs = 0;
  for (const i of opts.indices ?? x.keys()) {
    const x0 = x[i]!;
    x[i] = x0 + h;
    const fp = (await scorer.evaluate({ ...req, input: { data: x, shape: c.input.shape } })).total;
    x[i] = x0 - h;
    const fm = (await scorer.evaluate({ ...req, input: { data: x, shape: c.input.shape } })).total;
    x[i] = x0;
    const fd = (fp - fm) / (2 * h);
    maxAbs = Math.max(maxAbs, Math.abs(fd));
    const err = Math.abs(g.data[i]! - fd);
    assert.ok(
      err <= tol * Math.max(1, Math.abs(fd)),
      `${JSON.stringify(config.losses)} element ${i}: analytic ${
        g.data[i]
      }, finite difference ${fd}`,
    );
  }
  assert.ok(maxAbs > 1e-6, "the gradient is not trivially zero");
  scorer.dispose();
}

const LOSSES: { name: string; options?: Record<string, unknown> }[] = [
  { name: "dice" },
  { name: "dice", options: { includeBackground: false, squared: true } },
  { name: "dice", options: { batch: true, weights: [0.5, 2, 1], reduction: "sum" } },
  { name: "generalized-dice" },
  { name: "generalized-dice", options: { weightType: "simple", batch: true } },
  { name: "generalized-dice", options: { weightType: "square", includeBackground: false } },
  { name: "cross-entropy" },
  { name: "cross-entropy", options: { weights: [0.3, 1, 2] } },
  { name: "boundary" },
  { name: "boundary", options: { includeBackground: true, reduction: "sum" } },
];

describe("gradients vs central finite differences (float64)", () => {
  for (const input of ["logits", "probs"] as const) {
    for (const [dims, shape] of [["2-D", [2, 3, 5, 4]], ["3-D", [1, 3, 3, 4, 3]]] as const) {
      for (const [i, spec] of LOSSES.entries()) {
        test(`${spec.name} ${JSON.stringify(spec.options ?? {})} on ${input}, ${dims}`, async () => {
          const c = makeCase([...shape], input, 100 + i);
          if (dims === "3-D") c.spacing = [1.5, 1, 0.5];
          await checkGradient({ input, losses: [spec] }, c);
        });
      }
    }
  }
  test("cross entropy with an ignore label (255) on logits", async () => {
    const c = makeCase([2, 3, 4, 4], "logits", 7);
    const l = c.target.data as Int32Array;
    for (let i = 0; i < l.length; i += 3) l[i] = 255;
    await checkGradient({
      input: "logits",
      losses: [{ name: "cross-entropy", options: { ignoreIndex: 255, weights: [1, 2, 3] } }],
    }, c);
  });
  test("a one-hot (soft) target on probabilities, all losses", async () => {
    const c = makeCase([2, 3, 4, 3], "probs", 9);
    const r = rng(99);
    const soft = new Float64Array(c.input.data.length);
    for (let i = 0; i < soft.length; i++) soft[i] = r() < 0.3 ? 1 : 0;
    await checkGradient({
      input: "probs",
      losses: [
        { name: "dice", options: { squared: true } },
        { name: "generalized-dice", options: { weightType: "uniform" } },
        { name: "cross-entropy" },
        { name: "boundary" },
      ],
    }, { input: c.input, target: { data: soft, shape: c.input.shape } });
  });
  for (const input of ["logits", "probs"] as const) {
    test(`single sigmoid channel on ${input} (2-D and 3-D): dice, GDL, BCE, boundary`, async () => {
      for (const shape of [[2, 1, 5, 4], [1, 1, 3, 4, 3]]) {
        const c = makeCase(shape, input, 31, 2);
        for (
          const losses of [
            [{ name: "dice" }],
            [{ name: "generalized-dice" }],
            [{ name: "cross-entropy" }],
            [{ name: "boundary" }],
            [{ name: "dice" }, { name: "boundary", weight: 0.3 }, { name: "cross-entropy" }],
          ]
        ) {
          await checkGradient({ input, losses, schedule: { kind: "rebalance" } }, c, {
            epoch: 20,
          });
        }
      }
    });
  }
  test("more voxels than one kernel block: combined losses across block edges", async () => {
    const shape = [2, 3, 23, 37]; // 851 voxels per sample: one full block of 512 and a partial one
    const vol = 23 * 37;
    const indices: number[] = [];
    for (let s = 0; s < 2; s++) {
      for (let c = 0; c < 3; c++) {
        for (const v of [0, 1, 510, 511, 512, 513, 700, vol - 1]) {
          indices.push((s * 3 + c) * vol + v);
        }
      }
    }
    const losses = [
      { name: "dice", options: { squared: true } },
      { name: "generalized-dice" },
      { name: "cross-entropy", options: { weights: [1, 2, 0.5] } },
      { name: "boundary" },
    ];
    for (const input of ["logits", "probs"] as const) {
      await checkGradient({ input, losses }, makeCase(shape, input, 51), { indices });
    }
  });
  test("combined, scheduled totals (rebalance at epoch 95, increase with max, constant)", async () => {
    const losses = [
      { name: "generalized-dice" },
      { name: "dice", weight: 0.5, options: { includeBackground: false } },
      { name: "cross-entropy", weight: 0.25 },
      { name: "boundary", weight: 2 },
    ];
    const c2 = makeCase([2, 3, 5, 4], "logits", 41);
    await checkGradient({ input: "logits", losses, schedule: { kind: "rebalance" } }, c2, {
      epoch: 95,
    });
    const c3 = makeCase([1, 3, 3, 4, 3], "logits", 43);
    c3.spacing = [2, 1, 1];
    await checkGradient(
      { input: "logits", losses, schedule: { kind: "increase", max: 0.3, step: 0.05 } },
      c3,
      { epoch: 12 },
    );
    await checkGradient(
      { input: "probs", losses, schedule: { kind: "constant", start: 0.5 } },
      makeCase([2, 3, 4, 4], "probs", 47),
      { precomputed: true },
    );
  });
});
