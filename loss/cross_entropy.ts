/**
 * Cross entropy over sufficient statistics, with PyTorch's class weights and ignore index.
 *
 * @module
 */
import { SeglossTypeError } from "../core/errors.ts";
import type { NdArray } from "../core/ndarray.ts";
import type { RegionLoss, Statistics } from "../core/types.ts";
import type { LossPlugin } from "../core/registry.ts";
import {
  checkOptions,
  checkWeightsFor,
  CROSS_ENTROPY_KEYS,
  enumOption,
  functionalBatch,
  need,
  weightsOption,
} from "./common.ts";
import { computeStatistics } from "../backends/cpu/_kernel.ts";

/**
 * Options of the cross entropy `−Σ_v Σ_c w_c·t·log p`. With `reduction: "mean"` (default) it
 * is divided by `Σ_v Σ_c w_c·t` — PyTorch's weighted mean for label targets (and for
 * one-hot targets); voxels labelled `ignoreIndex` count for nothing (PyTorch's
 * `ignore_index`). `"sum"` returns the plain sum. Soft targets with weights are divided by
 * `Σ w_c·t` as well (PyTorch divides those by the voxel count). PyTorch's default
 * `ignore_index = −100` is not implied: pass `ignoreIndex: -100` to accept such labels. If
 * every voxel is ignored the mean is 0 (PyTorch returns NaN).
 *
 * @example Basic usage
 * ```ts
 * import type { CrossEntropyOptions } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const o: CrossEntropyOptions = { weights: [0.2, 1.8], ignoreIndex: 255 };
 * assert.equal(o.ignoreIndex, 255);
 * ```
 */
export interface CrossEntropyOptions {
  /** Per-class weights indexed by class id (length C). */
  weights?: readonly number[];
  /** A label value whose voxels are ignored (labels targets only). */
  ignoreIndex?: number;
  /** `"mean"` (default, weighted mean) or `"sum"`. */
  reduction?: "mean" | "sum";
}

function createCrossEntropy(
  options: CrossEntropyOptions | Record<string, unknown> = {},
): RegionLoss {
  const name = "cross-entropy options";
  const o = checkOptions(options, CROSS_ENTROPY_KEYS, name);
  const weights = weightsOption(o, name);
  const reduction = enumOption(o, "reduction", name, ["mean", "sum"] as const, "mean");
  const ig = o.ignoreIndex;
  if (ig !== undefined && (typeof ig !== "number" || !Number.isInteger(ig))) {
    throw new SeglossTypeError(
      `Expected ${name}.ignoreIndex to be an integer but found ${JSON.stringify(ig)}`,
    );
  }
  const ignoreIndex = ig as number | undefined;

  function parts(s: Statistics) {
    const N = s.numSamples, C = s.numClasses;
    if (weights) checkWeightsFor(weights, C, name);
    const tl = need(s.sums, "tlogp", "cross-entropy");
    const t = need(s.sums, "t", "cross-entropy");
    let num = 0, den = 0;
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const w = weights ? weights[c]! : 1;
        num -= w * tl[n * C + c]!;
        den += w * t[n * C + c]!;
      }
    }
    const scale = reduction === "sum" ? 1 : den > 0 ? 1 / den : 0;
    return { N, C, num, scale };
  }

  return {
    name: "cross-entropy",
    kind: "region",
    terms: ["tlogp", "t"],
    needsDistance: false,
    ...(ignoreIndex !== undefined ? { ignoreIndex } : {}),
    value(s) {
      const { num, scale } = parts(s);
      return num * scale;
    },
    gradient(s) {
      const { N, C, scale } = parts(s);
      const e = new Float64Array(N * C);
      for (let n = 0; n < N; n++) {
        for (let c = 0; c < C; c++) e[n * C + c] = -scale * (weights ? weights[c]! : 1);
      }
      return { tOverP: e };
    },
  };
}

/**
 * The `cross-entropy` loss plugin: `create(options: CrossEntropyOptions)`.
 *
 * @example Basic usage
 * ```ts
 * import { crossEntropyPlugin } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * assert.equal(crossEntropyPlugin.create({ ignoreIndex: 255 }).ignoreIndex, 255);
 * ```
 */
export const crossEntropyPlugin: LossPlugin<"cross-entropy"> = {
  kind: "loss",
  name: "cross-entropy",
  description: "Cross entropy with class weights and an ignore label (PyTorch semantics)",
  create: (options) => createCrossEntropy(options),
};

/**
 * The cross entropy of probabilities against a target (see
 * {@linkcode CrossEntropyOptions}); `log p` is taken of `max(p, 1e-38)`. A single sigmoid
 * channel is expanded to `[1 − p, p]`, which makes this the binary cross entropy.
 *
 * @param probs Probabilities `(N, C, ...spatial)`, float32 or float64.
 * @param target Labels `(N, ...spatial)` (in `[0, C)` or `ignoreIndex`) or one-hot.
 * @param options See {@linkcode CrossEntropyOptions}.
 * @returns The loss.
 *
 * @example Basic usage
 * ```ts
 * import { crossEntropyLoss } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const probs = { data: new Float64Array([0.5, 0.9, 0.5, 0.1]), shape: [1, 2, 2] };
 * const labels = { data: new Int32Array([1, 0]), shape: [1, 2] };
 * assert.ok(Math.abs(crossEntropyLoss(probs, labels) - (Math.log(2) - Math.log(0.9)) / 2) < 1e-12);
 * ```
 */
export function crossEntropyLoss(
  probs: NdArray,
  target: NdArray,
  options: CrossEntropyOptions = {},
): number {
  const loss = createCrossEntropy(options);
  const { batch } = functionalBatch(probs, target, loss.ignoreIndex);
  return loss.value(computeStatistics(batch, new Set(loss.terms)));
}
