/**
 * The functional losses: synchronous CPU versions of each loss plugin, `(probs, target,
 * options)` for the region losses and `(probs, distance, options)` for the boundary loss.
 * Each validates its arrays, builds the plugin's loss (with the plugin's
 * `binaryDefault` on a single sigmoid channel), computes the statistics it needs with the
 * CPU backend's kernel and returns the loss's value.
 *
 * @module
 */
import { SeglossTypeError } from "../../core/errors.ts";
import { checkFinite, checkNdArray, formatShape, type NdArray } from "../../core/ndarray.ts";
import type { LossPlugin } from "../../core/registry.ts";
import { functionalBatch, type KernelBatch } from "../../loss/_common.ts";
import { type DiceOptions, dicePlugin } from "../../loss/dice.ts";
import { type GeneralizedDiceOptions, generalizedDicePlugin } from "../../loss/generalized_dice.ts";
import { type CrossEntropyOptions, crossEntropyPlugin } from "../../loss/cross_entropy.ts";
import { type BoundaryOptions, boundaryPlugin } from "../../loss/boundary.ts";
import { computeStatistics } from "./_kernel.ts";

/** The plugin's loss (its binary default on a single channel) evaluated on a checked batch. */
function valueOf(plugin: LossPlugin, options: object, binary: boolean, batch: KernelBatch): number {
  const o = options as Record<string, unknown>;
  const loss = plugin.create(binary && plugin.binaryDefault ? plugin.binaryDefault(o) : o);
  return loss.value(computeStatistics(batch, new Set(loss.terms)));
}

/**
 * The soft Dice loss of probabilities against a target (see {@linkcode DiceOptions} for the
 * formula). `probs` is `(N, C, ...spatial)` (1 to 3 spatial axes); `target` is labels
 * `(N, ...spatial)` or a one-hot `(N, C, ...spatial)`. A single channel (`C = 1`) is a
 * sigmoid output: it is expanded to the two classes `[1 − p, p]` and, unless `classes` or
 * `includeBackground` is given, only the foreground class 1 is scored.
 *
 * @param probs Probabilities `(N, C, ...spatial)`, float32 or float64.
 * @param target Labels `(N, ...spatial)` or one-hot `(N, C, ...spatial)`.
 * @param options See {@linkcode DiceOptions}.
 * @returns The loss.
 *
 * @example Basic usage
 * ```ts
 * import { diceLoss } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * // perfect prediction of class 1 in a 1x2x1x2 batch
 * const probs = { data: new Float32Array([1, 0, 0, 1]), shape: [1, 2, 1, 2] };
 * const labels = { data: new Uint8Array([0, 1]), shape: [1, 1, 2] };
 * assert.ok(diceLoss(probs, labels) < 1e-6);
 * ```
 */
export function diceLoss(probs: NdArray, target: NdArray, options: DiceOptions = {}): number {
  const { batch, binary } = functionalBatch(probs, target, undefined);
  return valueOf(dicePlugin, options, binary, batch);
}

/**
 * The generalized Dice loss of probabilities against a target (see
 * {@linkcode GeneralizedDiceOptions}). Shapes as {@linkcode diceLoss}; a single sigmoid
 * channel is expanded to `[1 − p, p]` and scores class 1 only unless `classes` or
 * `includeBackground` is given.
 *
 * @param probs Probabilities `(N, C, ...spatial)`, float32 or float64.
 * @param target Labels `(N, ...spatial)` or one-hot `(N, C, ...spatial)`.
 * @param options See {@linkcode GeneralizedDiceOptions}.
 * @returns The loss.
 *
 * @example Basic usage
 * ```ts
 * import { generalizedDiceLoss } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const probs = { data: new Float32Array([0.5, 0.5, 0.5, 0.5]), shape: [1, 2, 2] };
 * const labels = { data: new Uint8Array([0, 1]), shape: [1, 2] };
 * // w = 1 for both classes: 1 − 2·(0.5 + 0.5)/(2 + 2) = 0.5
 * assert.ok(Math.abs(generalizedDiceLoss(probs, labels) - 0.5) < 1e-9);
 * ```
 */
export function generalizedDiceLoss(
  probs: NdArray,
  target: NdArray,
  options: GeneralizedDiceOptions = {},
): number {
  const { batch, binary } = functionalBatch(probs, target, undefined);
  return valueOf(generalizedDicePlugin, options, binary, batch);
}

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
  const loss = crossEntropyPlugin.create(options as Record<string, unknown>);
  const { batch } = functionalBatch(probs, target, loss.ignoreIndex);
  return loss.value(computeStatistics(batch, new Set(loss.terms)));
}

/**
 * The boundary loss of probabilities against signed distance maps (see
 * {@linkcode BoundaryOptions}); compute the maps with `signedDistance`. A single sigmoid
 * channel `(N, 1, ...)` is expanded to `[1 − p, p]`; its maps may then be `(N, 1, ...)`
 * (the foreground's) or `(N, 2, ...)`.
 *
 * @param probs Probabilities `(N, C, ...spatial)`, float32 or float64.
 * @param distance Signed distance maps, the same shape as `probs`.
 * @param options See {@linkcode BoundaryOptions}.
 * @returns The loss.
 *
 * @example Basic usage
 * ```ts
 * import { boundaryLoss, signedDistance } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const labels = { data: new Uint8Array([0, 1, 1, 0]), shape: [1, 4] };
 * const phi = await signedDistance(labels, { numClasses: 2 }); // class 1: [1, 0, 0, 1]
 * const probs = { data: new Float32Array([1, 0, 0, 1, 0, 1, 1, 0]), shape: [1, 2, 4] };
 * assert.equal(boundaryLoss(probs, phi), 0); // class 1 predicted exactly
 * ```
 */
export function boundaryLoss(
  probs: NdArray,
  distance: NdArray,
  options: BoundaryOptions = {},
): number {
  const loss = boundaryPlugin.create(options as Record<string, unknown>);
  const { batch, binary } = functionalBatch(probs, undefined, undefined);
  checkNdArray(distance, "distance");
  const want = [...probs.shape];
  const ds = distance.shape;
  const ok = ds.length === want.length &&
    ds.every((d, i) => d === want[i] || (i === 1 && binary && d === 2));
  if (!ok) {
    throw new SeglossTypeError(
      `Expected distance to have shape ${formatShape(want)} (like probs) but found ${
        formatShape(ds)
      }`,
    );
  }
  checkFinite(distance.data as ArrayLike<number>, "distance");
  let d = Float64Array.from(distance.data as ArrayLike<number>);
  if (binary && ds[1] === 1) {
    const vol = batch.vol;
    const full = new Float64Array(2 * batch.n * vol);
    for (let s = 0; s < batch.n; s++) {
      full.set(d.subarray(s * vol, (s + 1) * vol), (2 * s + 1) * vol);
    }
    d = full;
  }
  batch.distance = d;
  return loss.value(computeStatistics(batch, new Set(loss.terms)));
}
