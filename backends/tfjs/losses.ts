/**
 * The segloss losses written with tfjs-core ops: each takes `tf.Tensor`s (or NdArrays) and
 * returns a scalar `tf.Tensor` that `tf.grad`, `tf.variableGrads` and `optimizer.minimize`
 * differentiate. Same formulas and options as the CPU functions (`diceLoss`, ...).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { DiceOptions } from "../../loss/dice.ts";
import type { GeneralizedDiceOptions } from "../../loss/generalized_dice.ts";
import type { CrossEntropyOptions } from "../../loss/cross_entropy.ts";
import type { BoundaryOptions } from "../../loss/boundary.ts";
import { checkOptions, checkWeightsFor, enumOption, selectClasses } from "../../loss/_options.ts";
import { DICE_KEYS, dicePlugin, parseDiceOptions } from "../../loss/dice.ts";
import {
  GENERALIZED_DICE_KEYS,
  generalizedDicePlugin,
  parseGeneralizedDiceOptions,
} from "../../loss/generalized_dice.ts";
import { CROSS_ENTROPY_KEYS, parseCrossEntropyOptions } from "../../loss/cross_entropy.ts";
import { BOUNDARY_KEYS, parseBoundaryOptions } from "../../loss/boundary.ts";
import { ensureLossGradients } from "./gradients.ts";
import {
  type Canonical,
  canonicalDistance,
  canonicalInput,
  canonicalTarget,
  type Layout,
  toTensor,
  voxelSum,
} from "./_tensors.ts";

/**
 * How the tfjs losses read their input tensor.
 *
 * @example Basic usage
 * ```ts
 * import type { TfjsInputOptions } from "@segloss/segloss/tfjs";
 * import assert from "node:assert/strict";
 *
 * const o: TfjsInputOptions = { input: "logits", layout: "channels-last" };
 * assert.equal(o.layout, "channels-last");
 * ```
 */
export interface TfjsInputOptions {
  /**
   * `"probs"` (default, like the CPU functions) or `"logits"` (a softmax over the class axis
   * is applied inside, in log-space, so cross entropy is exact; a single channel is a sigmoid
   * logit).
   */
  input?: "logits" | "probs";
  /** `"channels-first"` (default) `(N, C, ...spatial)` or `"channels-last"` `(N, ...spatial, C)`. */
  layout?: Layout;
}

const INPUT_KEYS = ["input", "layout"];

function splitOptions(
  options: unknown,
  keys: readonly string[],
  name: string,
): { io: { kind: "logits" | "probs"; layout: Layout }; o: Record<string, unknown> } {
  const all = checkOptions(options, [...keys, ...INPUT_KEYS], name);
  const kind = enumOption(all, "input", name, ["logits", "probs"] as const, "probs");
  const layout = enumOption(
    all,
    "layout",
    name,
    ["channels-first", "channels-last"] as const,
    "channels-first",
  );
  const o: Record<string, unknown> = {};
  for (const k of keys) if (all[k] !== undefined) o[k] = all[k];
  return { io: { kind, layout }, o };
}

/** A 1-row `(1, C)` constant: `w[c]` for selected classes, 0 elsewhere. */
function classRow(C: number, K: readonly number[], weights?: readonly number[]): tf.Tensor {
  const row = new Float32Array(C);
  for (const c of K) row[c] = weights ? weights[c]! : 1;
  return tf.tensor2d(row, [1, C]);
}

/** Dice from canonical tensors (inside a tidy). */
export function diceFromCanonical(
  ci: Canonical,
  t: tf.Tensor,
  options: Record<string, unknown>,
): tf.Scalar {
  const name = "dice options";
  const { classes, includeBackground, batch, squared, smoothNr, smoothDr, weights, reduction } =
    parseDiceOptions(options, name);
  const K = selectClasses(classes, includeBackground, ci.c, name);
  if (weights) checkWeightsFor(weights, ci.c, name);
  const p = ci.p;
  let I = voxelSum(tf.mul(p, t), ci);
  let D = squared
    ? tf.add(voxelSum(tf.mul(p, p), ci), voxelSum(tf.mul(t, t), ci))
    : tf.add(voxelSum(p, ci), voxelSum(t, ci));
  if (batch) {
    I = tf.sum(I, 0, true);
    D = tf.sum(D, 0, true);
  }
  const f = tf.sub(1, tf.div(tf.add(tf.mul(I, 2), smoothNr), tf.add(D, smoothDr)));
  const groups = (batch ? 1 : ci.n) * K.length;
  const total = tf.sum(tf.mul(f, classRow(ci.c, K, weights)));
  return (reduction === "mean" ? tf.div(total, groups) : total) as tf.Scalar;
}

/** Generalized dice from canonical tensors (inside a tidy). */
export function generalizedDiceFromCanonical(
  ci: Canonical,
  t: tf.Tensor,
  options: Record<string, unknown>,
): tf.Scalar {
  const name = "generalized-dice options";
  const opt = parseGeneralizedDiceOptions(options, name);
  const { classes, includeBackground, batch, reduction } = opt;
  const { weightType, official, eps, smoothNr, smoothDr } = opt;
  const K = selectClasses(classes, includeBackground, ci.c, name);
  const kmask = classRow(ci.c, K);
  let I = voxelSum(tf.mul(ci.p, t), ci);
  let P = voxelSum(ci.p, ci);
  let T = voxelSum(t, ci);
  if (batch) {
    I = tf.sum(I, 0, true);
    P = tf.sum(P, 0, true);
    T = tf.sum(T, 0, true);
  }
  // class weights from the target sums (constants: the target carries no gradient)
  let wRaw: tf.Tensor;
  if (official) wRaw = tf.div(1, tf.square(tf.add(T, eps)));
  else if (weightType === "square") wRaw = tf.div(1, tf.square(T));
  else if (weightType === "simple") wRaw = tf.div(1, T);
  else wRaw = tf.onesLike(T);
  const finite = tf.logicalAnd(tf.isFinite(wRaw), tf.greater(kmask, 0));
  const wf = tf.where(finite, wRaw, tf.zerosLike(wRaw));
  const rowMax = tf.max(wf, 1, true);
  const w = tf.mul(tf.where(tf.isFinite(wRaw), wRaw, tf.mul(rowMax, tf.onesLike(wRaw))), kmask);
  const wi = tf.sum(tf.mul(w, I), 1);
  const wu = tf.sum(tf.mul(w, tf.add(P, T)), 1);
  const f = tf.sub(1, tf.div(tf.add(tf.mul(wi, 2), smoothNr), tf.add(wu, smoothDr)));
  const total = tf.sum(f);
  return (reduction === "mean" ? tf.div(total, batch ? 1 : ci.n) : total) as tf.Scalar;
}

/** Cross entropy from canonical tensors (inside a tidy). */
export function crossEntropyFromCanonical(
  ci: Canonical,
  t: tf.Tensor,
  options: Record<string, unknown>,
): tf.Scalar {
  const name = "cross-entropy options";
  const { weights, reduction } = parseCrossEntropyOptions(options, name);
  if (weights) checkWeightsFor(weights, ci.c, name);
  const row = classRow(ci.c, Array.from({ length: ci.c }, (_, c) => c), weights);
  const tl = voxelSum(tf.mul(t, ci.logp()), ci);
  const num = tf.neg(tf.sum(tf.mul(tl, row)));
  if (reduction === "sum") return num as tf.Scalar;
  const den = tf.sum(tf.mul(voxelSum(t, ci), row));
  const scale = tf.where(tf.greater(den, 0), tf.div(1, tf.maximum(den, 1e-30)), tf.zerosLike(den));
  return tf.mul(num, scale) as tf.Scalar;
}

/** Boundary loss from canonical tensors (inside a tidy). */
export function boundaryFromCanonical(
  ci: Canonical,
  phi: tf.Tensor,
  options: Record<string, unknown>,
): tf.Scalar {
  const name = "boundary options";
  const { classes, includeBackground, reduction } = parseBoundaryOptions(options, name);
  const K = selectClasses(classes, includeBackground, ci.c, name);
  const total = tf.sum(tf.mul(voxelSum(tf.mul(ci.p, phi), ci), classRow(ci.c, K)));
  return (reduction === "sum" ? total : tf.div(total, ci.n * K.length * ci.vol)) as tf.Scalar;
}

function run(
  input: unknown,
  options: unknown,
  keys: readonly string[],
  name: string,
  body: (ci: Canonical, o: Record<string, unknown>) => tf.Scalar,
): tf.Scalar {
  ensureLossGradients();
  const { io, o } = splitOptions(options, keys, name);
  return tf.tidy(() => {
    const { t: x } = toTensor(input, "input", "float32");
    const ci = canonicalInput(x, io.kind, io.layout);
    return body(ci, o);
  });
}

/**
 * The soft Dice loss as a differentiable scalar tensor: the formula and options of the CPU
 * `diceLoss` (`DiceOptions`: classes, includeBackground, batch, squared, smoothNr, smoothDr,
 * weights, reduction), plus {@linkcode TfjsInputOptions}.
 *
 * @param input Probabilities (or logits with `input: "logits"`), `(N, C, ...spatial)` or
 *   `(N, ...spatial, C)` with `layout: "channels-last"`; a single channel is a sigmoid output.
 * @param target Labels `(N, ...spatial)` (int) or a one-hot of the input's shape (constant).
 * @param options Dice options and input options.
 * @returns A scalar tensor (dispose it, or run inside `tf.tidy`).
 *
 * @example Basic usage
 * ```ts
 * import { diceLossTf } from "@segloss/segloss/tfjs";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import assert from "node:assert/strict";
 *
 * const logits = tf.tensor4d([2, -1, 0.5, 1, -2, 1, 0, 0], [1, 2, 2, 2]);
 * const labels = tf.tensor3d([0, 1, 1, 0], [1, 2, 2], "int32");
 * const f = (x: tf.Tensor) => diceLossTf(x, labels, { input: "logits" });
 * const g = tf.grad(f)(logits);
 * assert.deepEqual(g.shape, [1, 2, 2, 2]);
 * assert.ok(f(logits).arraySync() > 0);
 * ```
 */
export function diceLossTf(
  input: tf.Tensor,
  target: tf.Tensor,
  options: DiceOptions & TfjsInputOptions = {},
): tf.Scalar {
  return run(input, options, DICE_KEYS, "dice options", (ci, o) => {
    const t = canonicalTarget(target, ci, undefined);
    return diceFromCanonical(ci, t, ci.binary ? dicePlugin.binaryDefault!(o) : o);
  });
}

/**
 * The generalized Dice loss as a differentiable scalar tensor (options of the CPU
 * `generalizedDiceLoss`: classes, includeBackground, weightType, eps, batch, smoothNr,
 * smoothDr, reduction; class weights come from the target and carry no gradient).
 *
 * @param input Probabilities or logits (see {@linkcode TfjsInputOptions}).
 * @param target Labels `(N, ...spatial)` or a one-hot of the input's shape.
 * @param options Generalized dice options and input options.
 * @returns A scalar tensor.
 *
 * @example Basic usage
 * ```ts
 * import { generalizedDiceLossTf } from "@segloss/segloss/tfjs";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import assert from "node:assert/strict";
 *
 * const probs = tf.tensor4d([1, 0, 0, 1], [1, 2, 1, 2]);
 * const labels = tf.tensor3d([0, 1], [1, 1, 2], "int32");
 * assert.ok(generalizedDiceLossTf(probs, labels).arraySync() < 1e-6);
 * ```
 */
export function generalizedDiceLossTf(
  input: tf.Tensor,
  target: tf.Tensor,
  options: GeneralizedDiceOptions & TfjsInputOptions = {},
): tf.Scalar {
  return run(input, options, GENERALIZED_DICE_KEYS, "generalized-dice options", (ci, o) => {
    const t = canonicalTarget(target, ci, undefined);
    return generalizedDiceFromCanonical(
      ci,
      t,
      ci.binary ? generalizedDicePlugin.binaryDefault!(o) : o,
    );
  });
}

/**
 * Cross entropy as a differentiable scalar tensor (options of the CPU `crossEntropyLoss`:
 * weights, ignoreIndex, reduction; PyTorch's weighted mean). With `input: "logits"` the
 * log-probabilities are exact (`z − logsumexp z`).
 *
 * @param input Probabilities or logits (see {@linkcode TfjsInputOptions}).
 * @param target Labels `(N, ...spatial)` or a one-hot of the input's shape.
 * @param options Cross entropy options and input options.
 * @returns A scalar tensor.
 *
 * @example Basic usage
 * ```ts
 * import { crossEntropyLossTf } from "@segloss/segloss/tfjs";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import assert from "node:assert/strict";
 *
 * const probs = tf.tensor3d([0.5, 0.5], [1, 2, 1]);
 * const labels = tf.tensor2d([1], [1, 1], "int32");
 * assert.ok(Math.abs(crossEntropyLossTf(probs, labels).arraySync() - Math.LN2) < 1e-6);
 * ```
 */
export function crossEntropyLossTf(
  input: tf.Tensor,
  target: tf.Tensor,
  options: CrossEntropyOptions & TfjsInputOptions = {},
): tf.Scalar {
  return run(input, options, CROSS_ENTROPY_KEYS, "cross-entropy options", (ci, o) => {
    const { ignoreIndex } = parseCrossEntropyOptions(o, "cross-entropy options");
    const t = canonicalTarget(target, ci, ignoreIndex);
    return crossEntropyFromCanonical(ci, t, o);
  });
}

/**
 * The boundary loss of Kervadec et al. as a differentiable scalar tensor: the mean over
 * (sample, selected class, voxel) of `p · phi` (options of the CPU `boundaryLoss`: classes,
 * includeBackground (default false), reduction). The maps are constants.
 *
 * @param input Probabilities or logits (see {@linkcode TfjsInputOptions}).
 * @param distance Signed distance maps of the input's shape (see `signedDistanceTf`).
 * @param options Boundary options and input options.
 * @returns A scalar tensor.
 *
 * @example Basic usage
 * ```ts
 * import { boundaryLossTf } from "@segloss/segloss/tfjs";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import assert from "node:assert/strict";
 *
 * const probs = tf.tensor3d([0.25, 0.75, 0.5, 0.5], [1, 2, 2]);
 * const phi = tf.tensor3d([0, 0, 2, -1], [1, 2, 2]);
 * // class 1 only: (0.5·2 + 0.5·(−1)) / 2
 * assert.ok(Math.abs(boundaryLossTf(probs, phi).arraySync() - 0.25) < 1e-7);
 * ```
 */
export function boundaryLossTf(
  input: tf.Tensor,
  distance: tf.Tensor,
  options: BoundaryOptions & TfjsInputOptions = {},
): tf.Scalar {
  return run(input, options, BOUNDARY_KEYS, "boundary options", (ci, o) => {
    const phi = canonicalDistance(distance, ci);
    return boundaryFromCanonical(ci, phi, o);
  });
}

/**
 * The softmax over the class axis, as a tensor of the input's shape (channels-first by
 * default).
 *
 * @param logits Scores `(N, C, ...spatial)` or `(N, ...spatial, C)`.
 * @param layout Where the class axis is (default `"channels-first"`).
 * @returns The probabilities.
 *
 * @example Basic usage
 * ```ts
 * import { softmaxTf } from "@segloss/segloss/tfjs";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import assert from "node:assert/strict";
 *
 * const p = softmaxTf(tf.tensor3d([0, 0], [1, 2, 1]));
 * assert.deepEqual(Array.from(p.dataSync()), [0.5, 0.5]);
 * ```
 */
export function softmaxTf(logits: tf.Tensor, layout: Layout = "channels-first"): tf.Tensor {
  ensureLossGradients();
  return tf.tidy(() => {
    const axis = layout === "channels-first" ? 1 : logits.rank - 1;
    return tf.exp(tf.sub(logits, tf.logSumExp(logits, axis, true)));
  });
}
