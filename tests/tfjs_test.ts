// The tfjs losses and backend (backends/tfjs, export "@segloss/segloss/tfjs"):
// - values against independent numpy/scipy numbers (tests/fixtures/reference/reference.json and
//   tests/fixtures/loss_cases.json, with their scripts), channels-first and channels-last;
// - gradient parity: tf.grad of every loss equals the CPU backend's analytic gradient (float64)
//   within GRAD of the gradient's scale, on the reference cases and random 2-D/3-D batches, plus a
//   central finite-difference check of the tfjs gradient itself;
// - createScorer({ backend: "tfjs" }) through the plugin registry;
// - global state: importing registers nothing, mod.ts never reaches tfjs;
// - WebGPU (Deno + llvmpipe; skipped on Bun with a message, failing without an adapter under CI):
//   tfjs-backend-webgpu on our own device, jfa maps as tensors without a CPU readback.
// Runs under `deno test -A` and `bun test`.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import {
  createScorer,
  getDefaultWebgpuDevice,
  jfaTransform,
  type NdArray,
  signedDistance,
} from "../mod.ts";
import { deviceLostReason } from "../core/gpu.ts";
import {
  boundaryLossTf,
  createTfjsBackend,
  createTfjsLoss,
  crossEntropyLossTf,
  diceLossTf,
  generalizedDiceLossTf,
  LOSS_GRADIENT_KERNELS,
  registerLossGradients,
  registerTfjsWebgpu,
  signedDistanceTf,
  signedDistanceTfWebgpu,
  softmaxTf,
  tfjsPlugin,
  tfjsRegistry,
} from "../backends/tfjs/mod.ts";
import { gpuTest } from "./webgpu_gate.ts";
import { diskAndNotch } from "./util.ts";
import reference from "./fixtures/reference/reference.json" with { type: "json" };
import fixtures from "./fixtures/loss_cases.json" with { type: "json" };

// Checked before any loss runs: importing segloss's tfjs module registered our kernels' gradients.
const missingAtImport = LOSS_GRADIENT_KERNELS.filter((k) => tf.getGradient(k) == null);

await tf.setBackend("cpu");

// Tolerances, from what each path reaches: the largest relative error measured over every case
// (Deno 2.9, tfjs-backend-cpu; WebGPU on llvmpipe), with 3-10x headroom.
/**
 * Values: float32 tf ops, per-(sample, class) sums in float32 (measured 1.3e-7). Tight enough
 * that dropping dice's default smoothing (1e-5, a 7.6e-7 change on these cases) fails.
 */
const VALUE = 4e-7;
/** Gradients from tf.grad (float32) against the CPU's float64 ones, per max |g| (1.8e-6). */
const GRAD = 1e-5;
/** tf.grad against float64 central differences of the CPU total, per max |g| (1.9e-8). */
const FD = 2e-7;
/**
 * On WebGPU: llvmpipe reaches 2.8e-8 (values) and 2.2e-7 (gradients); a hardware GPU sums its
 * float32 workgroup partials in another order, hence more headroom.
 */
const GPU_VALUE = 1e-6;
const GPU_GRAD = 5e-6;

type LossName = "dice" | "generalized-dice" | "cross-entropy" | "boundary";
type Opts = Record<string, unknown>;

function close(actual: number, expected: number, tol: number, what: string) {
  const err = Math.abs(actual - expected);
  assert.ok(
    err <= tol * Math.max(1, Math.abs(expected)),
    `${what}: expected ${expected}, got ${actual} (error ${err})`,
  );
}

/** max |a − b| ≤ tol · max |b| (the gradient's scale), with the worst element in the message. */
function closeArrays(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) {
  assert.equal(a.length, b.length, `${what}: lengths`);
  let scale = 0, worst = 0, at = -1;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  for (let i = 0; i < b.length; i++) {
    const e = Math.abs(a[i]! - b[i]!);
    if (e > worst) {
      worst = e;
      at = i;
    }
  }
  assert.ok(
    worst <= tol * scale,
    `${what}: max error ${worst} at ${at} (${a[at]} vs ${b[at]}) > ${tol} × scale ${scale}`,
  );
}

const NATIVE = {
  "dice": diceLossTf,
  "generalized-dice": generalizedDiceLossTf,
  "cross-entropy": crossEntropyLossTf,
} as const;

/** The tfjs loss `name` on input x (target: labels or distance for the boundary loss). */
function lossTf(
  name: LossName,
  x: tf.Tensor,
  target: tf.Tensor,
  options: Opts,
): tf.Scalar {
  if (name === "boundary") return boundaryLossTf(x, target, options);
  return NATIVE[name](x, target, options);
}

/** NCHW(D) → channels-last. */
function toLast(x: tf.Tensor): tf.Tensor {
  const r = x.rank;
  return tf.transpose(x, [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2), 1]);
}

/** The CPU backend's analytic gradient of one loss (float64 input). */
async function cpuGradient(
  name: LossName,
  options: Opts,
  input: "logits" | "probs",
  data: number[],
  shape: number[],
  labels: NdArray,
  distance?: NdArray,
): Promise<{ total: number; gradient: Float64Array }> {
  const scorer = await createScorer({ backend: "cpu", input, losses: [{ name, options }] });
  const r = await scorer.evaluate({
    input: { data: Float64Array.from(data), shape },
    target: labels,
    ...(distance ? { distance } : {}),
    gradient: true,
  });
  scorer.dispose();
  return { total: r.total, gradient: r.gradient!.data as Float64Array };
}

test("the float32 value tolerance tells a dropped smoothing term apart (centred square)", () => {
  const c = reference.cases.find((x) => x.name === "centred_square_4x4")!;
  const labelsShape = [c.shape[0]!, ...c.shape.slice(2)];
  tf.tidy(() => {
    const p = tf.tensor(c.probs, c.shape);
    const l = tf.tensor(c.labels, labelsShape, "int32");
    const ref = c.dice_monai_include_background;
    close(diceLossTf(p, l).dataSync()[0]!, ref, VALUE, "dice");
    // the mutation: MONAI's smoothDr = 1e-5 left out of the denominator (5.7e-7)
    const dropped = Math.abs(diceLossTf(p, l, { smoothDr: 0 }).dataSync()[0]! - ref);
    assert.ok(dropped > VALUE, `a dropped smoothDr moves dice by only ${dropped}`);
  });
});

describe("tfjs losses: values against reference.json (independent scipy)", () => {
  for (const c of reference.cases) {
    const shape = c.shape;
    const C = shape[1]!;
    const all = Array.from({ length: C }, (_, i) => i);
    const labelsShape = [shape[0]!, ...shape.slice(2)];
    for (const layout of ["channels-first", "channels-last"] as const) {
      test(`${c.name} (${layout}): every key within ${VALUE}`, () => {
        tf.tidy(() => {
          let p = tf.tensor(c.probs, shape);
          let d = tf.tensor(c.signed_distance_kervadec, shape);
          if (layout === "channels-last") {
            p = toLast(p);
            d = toLast(d);
          }
          const l = tf.tensor(c.labels, labelsShape, "int32");
          const o = { layout };
          const e1 = 1e-10;
          const v = (s: tf.Scalar) => s.dataSync()[0]!;
          close(v(boundaryLossTf(p, d, { ...o, classes: [1] })), c.boundary_classes_1, VALUE, "b1");
          close(
            v(boundaryLossTf(p, d, { ...o, classes: all })),
            c.boundary_all_classes,
            VALUE,
            "b",
          );
          close(
            v(diceLossTf(p, l, { ...o, classes: [1], smoothNr: e1, smoothDr: e1 })),
            c.dice_official_classes_1,
            VALUE,
            "dice official [1]",
          );
          close(
            v(diceLossTf(p, l, { ...o, classes: all, smoothNr: e1, smoothDr: e1 })),
            c.dice_official_all_classes,
            VALUE,
            "dice official all",
          );
          close(v(diceLossTf(p, l, o)), c.dice_monai_include_background, VALUE, "monai");
          close(
            v(diceLossTf(p, l, { ...o, includeBackground: false })),
            c.dice_monai_exclude_background,
            VALUE,
            "monai no bg",
          );
          close(
            v(diceLossTf(p, l, { ...o, includeBackground: false, squared: true })),
            c.dice_monai_squared_exclude_background,
            VALUE,
            "monai squared",
          );
          close(
            v(diceLossTf(p, l, { ...o, includeBackground: false, batch: true })),
            c.dice_monai_batch_exclude_background,
            VALUE,
            "monai batch",
          );
          close(
            v(generalizedDiceLossTf(p, l, o)),
            c.generalized_dice_official_all_classes,
            VALUE,
            "gdl",
          );
          close(v(crossEntropyLossTf(p, l, o)), c.cross_entropy_mean, VALUE, "ce");
          if ("logits" in c) {
            let z = tf.tensor((c as { logits: number[] }).logits, shape);
            if (layout === "channels-last") z = toLast(z);
            close(
              v(crossEntropyLossTf(z, l, { ...o, input: "logits" })),
              c.cross_entropy_mean,
              VALUE,
              "ce from logits",
            );
          }
        });
      });
    }
  }
});

describe("tfjs losses: values against loss_cases.json (random 2-D/3-D, numpy)", () => {
  for (const c of fixtures.cases) {
    const shape = c.shape;
    const labelsShape = [shape[0]!, ...shape.slice(2)];
    test(`${c.name}: ${c.expected.length} loss/option pairs from probs and logits`, () => {
      tf.tidy(() => {
        const p = tf.tensor(c.probs, shape);
        const z = tf.tensor(c.logits, shape);
        const l = tf.tensor(c.labels, labelsShape, "int32");
        const d = tf.tensor(c.signed_distance, shape);
        for (const e of c.expected) {
          const t = e.loss === "boundary" ? d : l;
          const what = `${e.loss} ${JSON.stringify(e.options)}`;
          const o = e.options as Opts;
          close(lossTf(e.loss as LossName, p, t, o).dataSync()[0]!, e.value, VALUE, what);
          close(
            lossTf(e.loss as LossName, z, t, { ...o, input: "logits" }).dataSync()[0]!,
            e.value,
            VALUE,
            `${what} (logits)`,
          );
        }
        const li = tf.tensor(c.labels_ignore, labelsShape, "int32");
        for (const e of c.cross_entropy_ignore) {
          const target = (e.options as Opts).ignoreIndex === 0 ? l : li;
          close(
            crossEntropyLossTf(z, target, { ...(e.options as Opts), input: "logits" })
              .dataSync()[0]!,
            e.value,
            VALUE,
            `cross-entropy ${JSON.stringify(e.options)}`,
          );
        }
      });
    });
  }
  for (const c of fixtures.binary_cases) {
    const labelsShape = [c.shape[0]!, ...c.shape.slice(2)];
    test(`${c.name}: single sigmoid channel, probs and logits`, () => {
      tf.tidy(() => {
        const l = tf.tensor(c.labels, labelsShape, "int32");
        const d = tf.tensor(c.signed_distance_foreground, c.shape);
        for (const [x, input] of [[c.probs, "probs"], [c.logits, "logits"]] as const) {
          const xt = tf.tensor(x, c.shape);
          for (const e of c.expected) {
            const t = e.loss === "boundary" ? d : l;
            close(
              lossTf(e.loss as LossName, xt, t, { input }).dataSync()[0]!,
              e.value,
              VALUE,
              `${e.loss} (${input})`,
            );
          }
        }
      });
    });
  }
});

describe("createTfjsLoss and createScorer({ backend: 'tfjs' }) against the scorer fixtures", () => {
  const byName = new Map<
    string,
    (typeof fixtures.cases)[number] | (typeof fixtures.binary_cases)[number]
  >();
  for (const c of [...fixtures.cases, ...fixtures.binary_cases]) byName.set(c.name, c);
  for (const s of fixtures.scorer) {
    const c = byName.get(s.case)!;
    const shape = c.shape;
    const labelsShape = [shape[0]!, ...shape.slice(2)];
    const dist = "signed_distance" in c
      ? (c as { signed_distance: number[] }).signed_distance
      : (c as { signed_distance_foreground: number[] }).signed_distance_foreground;
    test(`${s.case} epoch ${s.epoch}: ${s.config.losses.map((l) => l.name).join(" + ")}`, async () => {
      const config = s.config as { input: "logits"; losses: { name: string }[] };
      const loss = createTfjsLoss(config);
      const x = tf.tensor(c.logits, shape);
      const l = tf.tensor(c.labels, labelsShape, "int32");
      const d = tf.tensor(dist, shape);
      const r = loss.computeTerms(x, l, { distance: d, epoch: s.epoch });
      close(r.total.dataSync()[0]!, s.total, VALUE, "total");
      for (const [k, v] of Object.entries(s.terms)) {
        close(r.terms[k]!.dataSync()[0]!, v, VALUE, k);
        close(
          r.weights[k]!,
          (s.weights as unknown as Record<string, number>)[k]!,
          1e-12,
          `weight ${k}`,
        );
      }
      tf.dispose([x, l, d, r.total, ...Object.values(r.terms)]);
      const scorer = await createScorer({ ...config, backend: "tfjs" }, { registry: tfjsRegistry });
      assert.equal(scorer.backend, "tfjs");
      const e = await scorer.evaluate({
        input: { data: Float32Array.from(c.logits), shape },
        target: { data: Int32Array.from(c.labels), shape: labelsShape },
        distance: { data: Float32Array.from(dist), shape },
        epoch: s.epoch,
      });
      close(e.total, s.total, VALUE, "scorer total");
      scorer.dispose();
    });
  }
});

describe("gradient parity: tf.grad of each loss vs the CPU backend's analytic gradient", () => {
  interface GradCase {
    name: string;
    shape: number[];
    probs: number[];
    logits: number[];
    labels: number[];
    distance: number[];
    specs: { loss: LossName; options: Opts }[];
  }
  /** A case: a fixture's arrays, one of its signed distance maps and the losses to check. */
  const gradCase = (
    name: string,
    c: Pick<GradCase, "shape" | "probs" | "logits" | "labels">,
    distance: number[],
    specs: GradCase["specs"],
  ): GradCase => ({
    name,
    shape: c.shape,
    probs: c.probs,
    logits: c.logits,
    labels: c.labels,
    distance,
    specs,
  });
  const cases: GradCase[] = [];
  for (const c of reference.cases) {
    const C = c.shape[1]!;
    const logits = "logits" in c
      ? (c as { logits: number[] }).logits
      : c.probs.map((p) => Math.log(Math.max(p, 1e-6))); // log p: softmax gives back p
    cases.push(gradCase(`reference ${c.name}`, { ...c, logits }, c.signed_distance_kervadec, [
      { loss: "dice", options: { classes: [1], smoothNr: 1e-10, smoothDr: 1e-10 } },
      { loss: "dice", options: { includeBackground: false, squared: true } },
      { loss: "dice", options: { includeBackground: false, batch: true } },
      { loss: "generalized-dice", options: {} },
      { loss: "cross-entropy", options: {} },
      { loss: "boundary", options: { classes: Array.from({ length: C }, (_, i) => i) } },
    ]));
  }
  for (const c of fixtures.cases) {
    const specs = c.expected.map((e) => ({ loss: e.loss as LossName, options: e.options as Opts }));
    cases.push(gradCase(`random ${c.name}`, c, c.signed_distance, specs));
  }
  for (const c of fixtures.binary_cases) {
    const specs = c.expected.map((e) => ({ loss: e.loss as LossName, options: {} }));
    cases.push(gradCase(`binary ${c.name}`, c, c.signed_distance_foreground, specs));
  }
  for (const c of cases) {
    const labelsShape = [c.shape[0]!, ...c.shape.slice(2)];
    const labels = { data: Int32Array.from(c.labels), shape: labelsShape };
    const distance = { data: Float32Array.from(c.distance), shape: c.shape };
    for (const input of ["logits", "probs"] as const) {
      test(`${c.name} (${input}): ${c.specs.length} losses, values and gradients`, async () => {
        const data = input === "logits" ? c.logits : c.probs;
        for (const spec of c.specs) {
          const what = `${spec.loss} ${JSON.stringify(spec.options)}`;
          const ref = await cpuGradient(
            spec.loss,
            spec.options,
            input,
            data,
            c.shape,
            labels,
            spec.loss === "boundary" ? distance : undefined,
          );
          const x = tf.tensor(data, c.shape);
          const t = spec.loss === "boundary"
            ? tf.tensor(c.distance, c.shape)
            : tf.tensor(c.labels, labelsShape, "int32");
          const { value, grad } = tf.valueAndGrad((v: tf.Tensor) =>
            lossTf(spec.loss, v, t, { ...spec.options, input })
          )(x);
          close(value.dataSync()[0]!, ref.total, VALUE, `${what} value`);
          closeArrays(grad.dataSync(), ref.gradient, GRAD, `${what} gradient`);
          tf.dispose([x, t, value, grad]);
        }
      });
    }
  }

  for (const input of ["logits", "probs"] as const) {
    for (const targetKind of ["labels with ignore 255", "one-hot"] as const) {
      test(`the tfjs backend's gradient equals the cpu backend's (${input}, ${targetKind})`, async () => {
        const c = fixtures.cases[3]!; // 3-D with spacing
        const shape = c.shape;
        const C = shape[1]!;
        const labelsShape = [shape[0]!, ...shape.slice(2)];
        const config = {
          input,
          losses: [
            { name: "dice", options: { squared: true } },
            { name: "generalized-dice" },
            { name: "cross-entropy", options: { ignoreIndex: 255 } },
            { name: "boundary", weight: 0.3 },
          ],
          schedule: { kind: "rebalance" as const },
        };
        let target: NdArray;
        if (targetKind === "one-hot") {
          const V = c.labels.length / shape[0]!;
          const oh = new Float32Array(shape[0]! * C * V);
          c.labels.forEach((l, i) => {
            const n = Math.floor(i / V);
            oh[(n * C + l) * V + (i % V)] = 1;
          });
          target = { data: oh, shape };
        } else {
          target = { data: Int32Array.from(c.labels_ignore), shape: labelsShape };
        }
        const req = {
          input: { data: Float32Array.from(input === "logits" ? c.logits : c.probs), shape },
          target,
          spacing: c.spacing as number[],
          epoch: 12,
          gradient: true,
        };
        const a = await createScorer({ ...config, backend: "cpu" }, { registry: tfjsRegistry });
        const b = await createScorer({ ...config, backend: "tfjs" }, { registry: tfjsRegistry });
        const ra = await a.evaluate(req);
        const rb = await b.evaluate(req);
        close(rb.total, ra.total, VALUE, "total");
        for (const k of Object.keys(ra.terms)) close(rb.terms[k]!, ra.terms[k]!, VALUE, k);
        closeArrays(rb.gradient!.data, ra.gradient!.data, GRAD, "gradient");
        a.dispose();
        b.dispose();
      });
    }
  }

  test("tf.grad agrees with central finite differences of the CPU loss (float64)", async () => {
    const c = fixtures.cases[0]!;
    const shape = c.shape;
    const labelsShape = [shape[0]!, ...shape.slice(2)];
    const loss = createTfjsLoss({
      input: "logits",
      losses: [{ name: "generalized-dice" }, { name: "boundary", weight: 0.5 }],
    });
    const l = tf.tensor(c.labels, labelsShape, "int32");
    const d = tf.tensor(c.signed_distance, shape);
    const g = tf.grad((x: tf.Tensor) => loss.compute(x, l, { distance: d }))(
      tf.tensor(c.logits, shape),
    ).dataSync();
    const scorer = await createScorer({
      input: "logits",
      losses: [{ name: "generalized-dice" }, { name: "boundary", weight: 0.5 }],
    });
    const at = async (x: Float64Array) =>
      (await scorer.evaluate({
        input: { data: x, shape },
        target: { data: Int32Array.from(c.labels), shape: labelsShape },
        distance: { data: Float64Array.from(c.signed_distance), shape },
      })).total;
    const h = 1e-5;
    let scale = 0;
    for (const v of g) scale = Math.max(scale, Math.abs(v));
    for (const i of [0, 7, 100, 333, 777, 1000, c.logits.length - 1]) {
      const x = Float64Array.from(c.logits);
      x[i] = c.logits[i]! + h;
      const up = await at(x);
      x[i] = c.logits[i]! - h;
      const down = await at(x);
      const fd = (up - down) / (2 * h);
      assert.ok(Math.abs(g[i]! - fd) <= FD * scale, `element ${i}: tf.grad ${g[i]} vs fd ${fd}`);
    }
    scorer.dispose();
  });
});

describe("tfjs losses: layouts, training, errors", () => {
  test("channels-last gives the same value and the transposed gradient", () => {
    const c = fixtures.cases[4]!; // 3-D, 4 classes, absent class
    const shape = c.shape;
    const labelsShape = [shape[0]!, ...shape.slice(2)];
    const mk = (layout: "channels-first" | "channels-last") =>
      createTfjsLoss({
        layout,
        losses: [{ name: "dice" }, { name: "cross-entropy" }, { name: "boundary" }],
      });
    const l = tf.tensor(c.labels, labelsShape, "int32");
    const x = tf.tensor(c.logits, shape);
    const d = tf.tensor(c.signed_distance, shape);
    const first = tf.valueAndGrad((v: tf.Tensor) =>
      mk("channels-first").compute(v, l, { distance: d })
    )(x);
    const dl = toLast(d);
    const last = tf.valueAndGrad((v: tf.Tensor) =>
      mk("channels-last").compute(v, l, { distance: dl })
    )(toLast(x));
    close(last.value.dataSync()[0]!, first.value.dataSync()[0]!, VALUE, "value");
    closeArrays(last.grad.dataSync(), toLast(first.grad).dataSync(), GRAD, "gradient");
  });

  test("one-hot targets equal label targets; softmaxTf sums to 1 over the class axis", () => {
    const c = fixtures.cases[0]!;
    const shape = c.shape;
    const C = shape[1]!;
    const l = tf.tensor(c.labels, [shape[0]!, ...shape.slice(2)], "int32");
    const oh = tf.transpose(tf.oneHot(l, C), [0, 3, 1, 2]);
    const z = tf.tensor(c.logits, shape);
    for (const f of [diceLossTf, generalizedDiceLossTf, crossEntropyLossTf]) {
      close(
        f(z, oh, { input: "logits" }).dataSync()[0]!,
        f(z, l, { input: "logits" }).dataSync()[0]!,
        1e-6,
        f.name,
      );
    }
    const s = tf.sum(softmaxTf(z), 1).dataSync();
    for (const v of s) close(v, 1, 1e-6, "softmax sum");
  });

  test("optimizer.minimize on a variable lowers dice + boundary", async () => {
    const loss = createTfjsLoss({
      numClasses: 2,
      losses: [{ name: "dice" }, { name: "boundary" }],
      schedule: { kind: "rebalance" },
    });
    const labels = tf.tensor3d(
      Array.from(
        { length: 64 },
        (_, i) => (Math.abs((i >> 3) - 3.5) < 2 && Math.abs((i & 7) - 3.5) < 2 ? 1 : 0),
      ),
      [1, 8, 8],
      "int32",
    );
    const distance = await loss.distance(labels);
    const w = tf.variable(tf.zeros([1, 2, 8, 8]));
    const opt = tf.train.adam(0.1);
    const f = () => loss.compute(w, labels, { distance, epoch: 3 });
    const before = f().dataSync()[0]!;
    for (let i = 0; i < 20; i++) opt.minimize(f);
    const after = f().dataSync()[0]!;
    assert.ok(after < before - 0.3, `loss went from ${before} to ${after}`);
  });

  test("signedDistanceTf equals segloss's signedDistance (exact EDT), with spacing", async () => {
    const c = fixtures.cases[1]!; // spacing (0.7, 1.3)
    const labelsShape = [c.shape[0]!, ...c.shape.slice(2)];
    const labels = { data: Int32Array.from(c.labels), shape: labelsShape };
    const t = await signedDistanceTf(labels, {
      numClasses: c.shape[1]!,
      spacing: c.spacing as number[],
    });
    assert.deepEqual(t.shape, c.shape);
    closeArrays(t.dataSync(), c.signed_distance, 1e-6, "maps vs scipy");
  });

  test("bad input throws TypeError/RangeError naming the argument", () => {
    const x = tf.zeros([1, 2, 3, 3]);
    const l = tf.zeros([1, 3, 3], "int32");
    assert.throws(() => diceLossTf(x, tf.zeros([1, 3, 4], "int32")), TypeError);
    assert.throws(() => diceLossTf(tf.zeros([2, 2]), l), /rank 3 to 5/);
    assert.throws(() => diceLossTf(x, l, { squared: 1 } as unknown as Opts), /squared/);
    assert.throws(() => diceLossTf(x, l, { classes: [5] }), RangeError);
    assert.throws(() => diceLossTf(x, l, { layout: "nhwc" } as unknown as Opts), /layout/);
    assert.throws(() => boundaryLossTf(x, tf.zeros([1, 2, 3])), /distance/);
    assert.throws(() => createTfjsLoss({ losses: [{ name: "nope" }] }), /losses\[0\]\.name/);
    assert.throws(
      () => createTfjsLoss({ losses: [{ name: "dice", options: { squared: "yes" } }] }),
      /losses\[0\]\.options/,
    );
    assert.throws(
      () => createTfjsLoss({ losses: [{ name: "boundary" }] }).compute(x, l),
      /distance/,
    );
    assert.throws(() => createTfjsBackend({ nope: 1 } as unknown as Opts), /nope/);
  });
});

describe("global state", () => {
  test("importing segloss's tfjs module registers the gradients of its kernels, idempotently", () => {
    assert.deepEqual(missingAtImport, []);
    assert.ok(LOSS_GRADIENT_KERNELS.length <= 16, "only the kernels the losses run");
    assert.deepEqual(registerLossGradients(), []);
  });

  test("nothing beyond them: a fresh process that imports only segloss's tfjs module", () => {
    // its own process: under `bun test` every test file shares one, and tests/tfjs_training_test.ts
    // loads tfjs-layers, which registers every gradient
    // inside tests/ so that "@tensorflow/tfjs-core" resolves as it does for this file
    const file = fileURLToPath(new URL(`./.probe_tfjs_${process.pid}.ts`, import.meta.url));
    writeFileSync(
      file,
      `import * as tf from "@tensorflow/tfjs-core";\n` +
        `import { LOSS_GRADIENT_KERNELS } from "../backends/tfjs/mod.ts";\n` +
        `console.log(JSON.stringify({ conv: tf.getGradient("Conv2D") !== undefined, ` +
        `ours: LOSS_GRADIENT_KERNELS.every((k) => tf.getGradient(k) !== undefined) }));\n`,
    );
    try {
      const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
      const args = isBun ? [file] : ["run", "-A", "--no-check", file];
      const out = execFileSync(process.execPath, args, { encoding: "utf8" });
      assert.deepEqual(JSON.parse(out.trim().split("\n").pop()!), { conv: false, ours: true });
    } finally {
      rmSync(file, { force: true });
    }
  });

  test("registerLossGradients never replaces a gradient that is already registered", () => {
    const original = tf.getGradient("Sigmoid");
    tf.unregisterGradient("Sigmoid");
    const mine = {
      kernelName: "Sigmoid",
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => ({ x: () => dy as tf.Tensor }),
    };
    tf.registerGradient(mine);
    try {
      assert.deepEqual(registerLossGradients(), []);
      assert.equal(tf.getGradient("Sigmoid"), mine);
    } finally {
      tf.unregisterGradient("Sigmoid");
      tf.registerGradient(original);
    }
  });

  test("mod.ts (the root export) never imports tfjs, directly or through its imports", () => {
    const seen = new Set<string>();
    const stack = [new URL("../mod.ts", import.meta.url)];
    const offenders: string[] = [];
    while (stack.length > 0) {
      const url = stack.pop()!;
      if (seen.has(url.href)) continue;
      seen.add(url.href);
      const src = readFileSync(url, "utf8");
      for (
        const m of src.matchAll(
          /(?:import|export)[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|import\s*["']([^"']+)["']/g,
        )
      ) {
        const spec = m[1] ?? m[2] ?? m[3]!;
        if (spec.startsWith(".")) stack.push(new URL(spec, url));
        else if (spec.includes("tensorflow")) offenders.push(`${url.pathname}: ${spec}`);
      }
    }
    assert.ok(seen.size > 10, `walked ${seen.size} modules`);
    assert.deepEqual(offenders, []);
    assert.equal(tfjsPlugin.name, "tfjs");
  });
});

describe("tfjs-backend-webgpu on segloss's device (Deno + WebGPU)", () => {
  gpuTest(
    "jfa maps become tensors without a CPU readback; values and gradients match the CPU",
    async () => {
      const w = await registerTfjsWebgpu({ name: "segloss-webgpu-test" });
      try {
        assert.ok(await tf.setBackend(w.name));
        assert.equal(tf.getBackend(), w.name);
        const c = fixtures.cases[3]!; // 3-D 2x3x5x6x7 with spacing
        const shape = c.shape;
        const C = shape[1]!;
        const labelsShape = [shape[0]!, ...shape.slice(2)];
        const labels = { data: Int32Array.from(c.labels), shape: labelsShape };
        // count every map of a GPU buffer for reading while the maps are made and the loss runs
        const proto = (globalThis as unknown as {
          GPUBuffer: { prototype: { mapAsync: (...a: unknown[]) => Promise<void> } };
        }).GPUBuffer.prototype;
        const mapAsync = proto.mapAsync;
        let maps = 0;
        proto.mapAsync = function (this: unknown, ...a: unknown[]) {
          maps++;
          return mapAsync.apply(this, a);
        };
        let phi: tf.Tensor, value: tf.Scalar, grad: tf.Tensor;
        const loss = createTfjsLoss({
          input: "logits",
          losses: [{ name: "dice" }, { name: "cross-entropy" }, { name: "boundary", weight: 0.5 }],
        });
        try {
          phi = await signedDistanceTfWebgpu(labels, {
            numClasses: C,
            spacing: c.spacing as number[],
          });
          const x = tf.tensor(c.logits, shape);
          const l = tf.tensor(c.labels, labelsShape, "int32");
          ({ value, grad } = tf.valueAndGrad((v: tf.Tensor) =>
            loss.compute(v, l, { distance: phi })
          )(x));
          assert.equal(maps, 0, "no GPU buffer was mapped for reading");
          // tfjs's own record of the tensor: a GPU resource, no CPU values
          const info = (tf.backend() as unknown as {
            tensorMap: { get(id: unknown): { values: unknown; resource: unknown } };
          }).tensorMap.get(phi.dataId);
          assert.equal(info.values, null);
          assert.ok(info.resource, "the maps live in a GPUBuffer");
        } finally {
          proto.mapAsync = mapAsync;
        }
        assert.equal(phi.dtype, "float32");
        assert.deepEqual(phi.shape, shape);
        // the maps: jfa equals the scipy maps here (within float32; jfa's accuracy is tested in
        // tests/webgpu_test.ts)
        closeArrays(await phi.data(), c.signed_distance, GPU_VALUE, "jfa maps vs scipy");
        // value and gradient on webgpu vs the CPU backend's analytic ones
        const scorer = await createScorer({
          input: "logits",
          losses: [{ name: "dice" }, { name: "cross-entropy" }, { name: "boundary", weight: 0.5 }],
        });
        const ref = await scorer.evaluate({
          input: { data: Float64Array.from(c.logits), shape },
          target: labels,
          distance: { data: Float64Array.from(c.signed_distance), shape },
          gradient: true,
        });
        close((await value.data())[0]!, ref.total, GPU_VALUE, "value on webgpu");
        closeArrays(await grad.data(), ref.gradient!.data, GPU_GRAD, "gradient on webgpu");
        scorer.dispose();
        // the same float32 logits request for the three scorers below (fresh arrays each time)
        const logitsRequest = () => ({
          input: { data: Float32Array.from(c.logits), shape },
          target: labels,
          spacing: c.spacing as number[],
          gradient: true,
        });
        // the tfjs backend of createScorer on the webgpu tfjs backend
        const s2 = await createScorer({
          input: "logits",
          backend: "tfjs",
          backendOptions: { tfBackend: w.name },
          losses: [{ name: "generalized-dice" }, { name: "boundary" }],
        }, { registry: tfjsRegistry });
        const r2 = await s2.evaluate(logitsRequest());
        const s3 = await createScorer({
          input: "logits",
          losses: [{ name: "generalized-dice" }, { name: "boundary" }],
        });
        const r3 = await s3.evaluate(logitsRequest());
        close(r2.total, r3.total, GPU_VALUE, "scorer total on webgpu");
        closeArrays(r2.gradient!.data, r3.gradient!.data, GPU_GRAD, "scorer gradient on webgpu");
        s2.dispose();
        s3.dispose();
        // backend tfjs + distance jfa: the flood runs on tfjs's device (maps never read back)
        const s4 = await createScorer({
          input: "logits",
          backend: "tfjs",
          distance: "jfa",
          backendOptions: { tfBackend: w.name },
          losses: [{ name: "generalized-dice" }, { name: "boundary" }],
        }, {
          // a "jfa" whose CPU-side edt() must not be called: the backend uses its signedOnDevice
          // capability and floods on tfjs's device
          registry: tfjsRegistry.with([{
            kind: "distance",
            name: "jfa",
            create: () => ({
              ...jfaTransform(),
              edt: () => Promise.reject(new Error("jfa edt() read the maps back to the CPU")),
            }),
          }]),
        });
        const r4 = await s4.evaluate(logitsRequest());
        close(r4.total, r3.total, GPU_VALUE, "tfjs + jfa total");
        closeArrays(r4.gradient!.data, r3.gradient!.data, GPU_GRAD, "tfjs + jfa gradient");
        s4.dispose();
        tf.dispose([phi, value, grad]);
      } finally {
        await tf.setBackend("cpu");
        w.dispose();
      }
      assert.equal(tf.findBackendFactory("segloss-webgpu-test"), null);
      assert.equal(
        tf.findBackendFactory("webgpu"),
        null,
        "tfjs's own webgpu factory was not left behind",
      );
    },
  );

  gpuTest(
    "a device handed in (segloss's default WebGPU device) is shared and left alive",
    async () => {
      const device = await getDefaultWebgpuDevice();
      const w = await registerTfjsWebgpu({ device, name: "segloss-webgpu-shared" });
      try {
        assert.equal(w.device, device);
        await tf.setBackend(w.name);
        const labels = { data: new Int32Array([0, 1, 1, 0]), shape: [1, 4] };
        const phi = await signedDistanceTfWebgpu(labels, { numClasses: 2 });
        // class 0 = {0, 3}, class 1 = {1, 2}: kervadec maps
        assert.deepEqual(Array.from(await phi.data(), (v) => v + 0), [0, 1, 1, 0, 1, 0, 0, 1]);
        phi.dispose();
      } finally {
        await tf.setBackend("cpu");
        w.dispose();
      }
      assert.equal(deviceLostReason(device), undefined, "the caller's device was not destroyed");
      device.createBuffer({ size: 4, usage: 0x0080 }).destroy();
    },
  );

  gpuTest(
    "signedDistanceTfWebgpu equals jfaTransform's maps, and the exact ones (2-D blobs)",
    async () => {
      const w = await registerTfjsWebgpu({ name: "segloss-webgpu-test2" });
      try {
        await tf.setBackend(w.name);
        const labels = diskAndNotch();
        for (const spacing of [[1, 1], [1, 0.5]]) {
          // the same flood as the jfa DistanceTransform (run on the same device, read back)
          const viaTransform = await signedDistance(labels, {
            numClasses: 3,
            spacing,
            transform: jfaTransform({ device: w.device }),
          });
          const phi = await signedDistanceTfWebgpu(labels, { numClasses: 3, spacing });
          const got = await phi.data();
          phi.dispose();
          closeArrays(got, viaTransform.data, 1e-6, `spacing ${spacing}: vs jfaTransform`);
          // issue 3's target, anisotropic spacing included
          const exact = await signedDistance(labels, { numClasses: 3, spacing });
          let off = 0, worst = 0;
          for (let i = 0; i < got.length; i++) {
            const e = Math.abs(got[i]! - exact.data[i]!);
            if (e > 1e-3) off++;
            worst = Math.max(worst, e);
          }
          assert.ok(off / got.length <= 1e-4, `${off} of ${got.length} voxels off by > 1e-3`);
          assert.ok(worst <= Math.min(...spacing), `max error ${worst} (spacing ${spacing})`);
        }
      } finally {
        await tf.setBackend("cpu");
        w.dispose();
      }
    },
  );
});
