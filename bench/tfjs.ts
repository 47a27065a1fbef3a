/**
 * The tfjs backend against segloss's own `cpu` backend, in one run, on the classic example:
 * logits 16×8×64×64 (standard normal), labels 16×64×64 uniform over 8 classes, dice + boundary
 * loss, value and gradient dTotal/dlogits.
 *
 * Rows:
 * - `createScorer` + `evaluate({ gradient: true })` on backend `cpu`, on backend `tfjs` over
 *   tfjs's `cpu` backend, and on backend `tfjs` over tfjs-backend-webgpu (when WebGPU exists;
 *   llvmpipe here: a software rasterizer on the CPU, not a GPU). Maps from the exact EDT, once
 *   computed inside each call (what `evaluate` does) and once passed in precomputed.
 * - The tfjs-native path (`createTfjsLoss` + `tf.valueAndGrad`, maps as a tensor), on tfjs cpu
 *   and on tfjs-backend-webgpu; and the jump-flood maps made on tfjs's device
 *   (`signedDistanceTfWebgpu`) vs the exact CPU maps uploaded (`signedDistanceTf`).
 *
 *   deno run -A bench/tfjs.ts [--runs 5]
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { createScorer, type NdArray, signedDistance } from "../mod.ts";
import {
  createTfjsLoss,
  registerTfjsWebgpu,
  signedDistanceTf,
  signedDistanceTfWebgpu,
  tfjsRegistry,
} from "../backends/tfjs/mod.ts";

const args = (globalThis as { Deno?: { args: string[] } }).Deno?.args ?? [];
const ri = args.indexOf("--runs");
const RUNS = ri >= 0 ? Number(args[ri + 1]) : 5;

const N = 16, C = 8, H = 64, W = 64;
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const r = rng(42);
const logits = new Float32Array(N * C * H * W);
for (let i = 0; i < logits.length; i++) {
  logits[i] = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}
const labels = new Int32Array(N * H * W);
for (let i = 0; i < labels.length; i++) labels[i] = Math.floor(r() * C);
const shape = [N, C, H, W];
const input: NdArray<Float32Array> = { data: logits, shape };
const target: NdArray<Int32Array> = { data: labels, shape: [N, H, W] };
const losses = [{ name: "dice" }, { name: "boundary", weight: 0.01 }];
const maps = await signedDistance(target, { numClasses: C });

async function time(fn: () => Promise<unknown>): Promise<{ median: number; min: number }> {
  await fn();
  await fn(); // warm-up (kernels compiled, buffers pooled)
  const ts: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return { median: ts[Math.floor(ts.length / 2)]!, min: ts[0]! };
}

const rows: { name: string; median: number; min: number; check?: string }[] = [];
let reference: Float32Array | Float64Array | undefined;
let refTotal = 0;

function compare(total: number, grad: ArrayLike<number>): string {
  let worst = 0, scale = 0;
  for (let i = 0; i < grad.length; i++) {
    worst = Math.max(worst, Math.abs(grad[i]! - reference![i]!));
    scale = Math.max(scale, Math.abs(reference![i]!));
  }
  return `|Δtotal| ${Math.abs(total - refTotal).toExponential(1)}, max|Δgrad|/max|grad| ${
    (worst / scale).toExponential(1)
  }`;
}

async function scorerRow(name: string, backend: string, options: Record<string, unknown>) {
  const scorer = await createScorer(
    { backend, input: "logits", losses, backendOptions: options },
    { registry: tfjsRegistry },
  );
  for (const pre of [false, true]) {
    let check = "";
    const t = await time(async () => {
      const res = await scorer.evaluate({
        input,
        target,
        gradient: true,
        ...(pre ? { distance: maps } : {}),
      });
      if (!reference) {
        reference = res.gradient!.data;
        refTotal = res.total;
      }
      check = compare(res.total, res.gradient!.data);
    });
    rows.push({
      name: `${name}, maps ${pre ? "precomputed" : "from EDT in the call"}`,
      ...t,
      check,
    });
  }
  scorer.dispose();
}

async function nativeRow(name: string, distance: () => Promise<tf.Tensor>) {
  const loss = createTfjsLoss({ input: "logits", losses });
  const x = tf.tensor4d(logits, [N, C, H, W]);
  const y = tf.tensor3d(labels, [N, H, W], "int32");
  const phi = await distance();
  let check = "";
  const t = await time(async () => {
    const { value, grad } = tf.valueAndGrad((v: tf.Tensor) =>
      loss.compute(v, y, { distance: phi })
    )(
      x,
    );
    const g = await grad.data();
    const v = (await value.data())[0]!;
    check = compare(v, g);
    tf.dispose([value, grad]);
  });
  rows.push({ name, ...t, check });
  tf.dispose([x, y, phi]);
}

await tf.setBackend("cpu");
const loadavg = () =>
  (globalThis as { Deno?: { loadavg(): number[] } }).Deno?.loadavg().join(" ") ?? "?";
console.log(`load average at start: ${loadavg()}`);
console.log(
  `classic example: logits ${shape.join("×")}, labels ${N}×${H}×${W} (8 classes), ` +
    `dice + 0.01·boundary, value + gradient; median of ${RUNS} runs after 2 warm-ups`,
);
await scorerRow("createScorer backend cpu", "cpu", {});
await scorerRow("createScorer backend tfjs (tfjs cpu)", "tfjs", { tfBackend: "cpu" });
await nativeRow(
  "createTfjsLoss + tf.valueAndGrad (tfjs cpu), maps tensor",
  () => signedDistanceTf(target, { numClasses: C }),
);

const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
const adapter = gpu ? await gpu.requestAdapter() : null;
if (adapter) {
  const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
  const w = await registerTfjsWebgpu();
  await tf.setBackend(w.name);
  const what = `tfjs-backend-webgpu on ${info?.description || info?.vendor || "WebGPU"}`;
  await scorerRow(`createScorer backend tfjs (${what})`, "tfjs", { tfBackend: w.name });
  await nativeRow(
    `createTfjsLoss + tf.valueAndGrad (${what}), maps tensor`,
    () => signedDistanceTf(target, { numClasses: C }),
  );
  // the maps alone: exact EDT on the CPU + upload vs jump flood on tfjs's device
  const exactMaps = await time(async () => {
    const t = await signedDistanceTf(target, { numClasses: C });
    await tf.sum(t).data();
    t.dispose();
  });
  rows.push({ name: `maps: signedDistanceTf (exact EDT on CPU, upload to ${what})`, ...exactMaps });
  const jfaMaps = await time(async () => {
    const t = await signedDistanceTfWebgpu(target, { numClasses: C });
    await tf.sum(t).data();
    t.dispose();
  });
  rows.push({ name: `maps: signedDistanceTfWebgpu (jfa on ${what}'s device)`, ...jfaMaps });
  await tf.setBackend("cpu");
  w.dispose();
} else {
  console.log("no WebGPU adapter: the webgpu rows are skipped");
}

console.log(`load average at end: ${loadavg()}`);
const base = rows[0]!.median;
console.log(
  "\n| path | median ms | min ms | vs cpu backend (maps in the call) | agreement with cpu |",
);
console.log("|---|---|---|---|---|");
for (const row of rows) {
  console.log(
    `| ${row.name} | ${row.median.toFixed(1)} | ${row.min.toFixed(1)} | ${
      (row.median / base).toFixed(2)
    }× | ${row.check ?? ""} |`,
  );
}
