/**
 * Cross entropy over sufficient statistics, with PyTorch's class weights and ignore index.
 *
 * @module
 */
import { quote, SeglossTypeError } from "../core/errors.ts";
import type { RegionLoss, Statistics } from "../core/types.ts";
import type { LossPlugin } from "../core/registry.ts";
import {
  checkOptions,
  checkWeightsFor,
  need,
  type Reduction,
  reductionOption,
  weightsOption,
} from "./_options.ts";

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

/** The option keys of the `cross-entropy` loss. */
export const CROSS_ENTROPY_KEYS: readonly string[] = ["weights", "ignoreIndex", "reduction"];

/** The parsed options of the `cross-entropy` loss (defaults filled in). */
export interface ParsedCrossEntropyOptions {
  weights: number[] | undefined;
  ignoreIndex: number | undefined;
  reduction: Reduction;
}

/** Reads the `cross-entropy` options (keys already checked), errors in option order. */
export function parseCrossEntropyOptions(
  o: Record<string, unknown>,
  name: string,
): ParsedCrossEntropyOptions {
  const weights = weightsOption(o, name);
  const reduction = reductionOption(o, name);
  const ig = o.ignoreIndex;
  if (ig !== undefined && (typeof ig !== "number" || !Number.isInteger(ig))) {
    throw new SeglossTypeError(
      `Expected ${name}.ignoreIndex to be an integer but found ${quote(ig)}`,
    );
  }
  return { weights, ignoreIndex: ig as number | undefined, reduction };
}

function createCrossEntropy(
  options: CrossEntropyOptions | Record<string, unknown> = {},
): RegionLoss {
  const name = "cross-entropy options";
  const o = checkOptions(options, CROSS_ENTROPY_KEYS, name);
  const { weights, ignoreIndex, reduction } = parseCrossEntropyOptions(o, name);

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
