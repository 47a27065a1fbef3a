/**
 * A configured, weighted, scheduled combination of the tfjs losses (the `createScorer`
 * configuration as one differentiable function), and signed distance maps as tensors.
 *
 * @module
 */
import { quote, SeglossRangeError, SeglossTypeError } from "../../core/errors.ts";
import * as tf from "@tensorflow/tfjs-core";
import type { NdArray } from "../../core/ndarray.ts";
import type { DistanceTransform, SignedDistanceConvention } from "../../core/types.ts";
import { inputKindField, type LossSpec, parseLosses } from "../../loss/spec.ts";
import type { LossPlugin } from "../../core/registry.ts";
import { checkSchedule, type Schedule, scheduleWeights } from "../../loss/schedule.ts";
import { dicePlugin } from "../../loss/dice.ts";
import { generalizedDicePlugin } from "../../loss/generalized_dice.ts";
import { crossEntropyPlugin } from "../../loss/cross_entropy.ts";
import { boundaryPlugin } from "../../loss/boundary.ts";
import { signedDistance } from "../../transforms/signed_distance.ts";
import { edtTransform } from "../../transforms/edt.ts";
import { ensureLossGradients } from "./gradients.ts";
import {
  boundaryFromCanonical,
  crossEntropyFromCanonical,
  diceFromCanonical,
  generalizedDiceFromCanonical,
} from "./losses.ts";
import {
  type Canonical,
  canonicalDistance,
  canonicalInput,
  canonicalTarget,
  type Layout,
  toTensor,
} from "./_tensors.ts";

/**
 * Options of {@linkcode signedDistanceTf}.
 *
 * @example Basic usage
 * ```ts
 * import type { SignedDistanceTfOptions } from "@segloss/segloss/tfjs";
 * import assert from "node:assert/strict";
 *
 * const o: SignedDistanceTfOptions = { numClasses: 2, layout: "channels-last" };
 * assert.equal(o.numClasses, 2);
 * ```
 */
export interface SignedDistanceTfOptions {
  /** C: labels lie in `[0, C)`. */
  numClasses: number;
  /** Voxel size per spatial axis (default all 1). */
  spacing?: readonly number[];
  /** Sign convention (default `"kervadec"`). */
  convention?: SignedDistanceConvention;
  /** The distance transform (default: the exact CPU EDT). */
  transform?: DistanceTransform;
  /** Layout of the returned maps (default `"channels-first"`). */
  layout?: Layout;
}

/**
 * Signed distance maps (segloss's `signedDistance`, per sample and class) of a label tensor,
 * as a float32 tensor `(N, C, ...spatial)` (or `(N, ...spatial, C)`) to pass as the boundary
 * loss's `distance`. The labels are read back to the CPU and the maps computed there by
 * `transform` (any DistanceTransform); on tfjs-backend-webgpu, `signedDistanceTfWebgpu` keeps
 * everything on the GPU. The result is a constant: it carries no gradient.
 *
 * @param labels Labels `(N, ...spatial)` (a tensor or an NdArray).
 * @param options See {@linkcode SignedDistanceTfOptions}.
 * @returns The maps (dispose them when done).
 *
 * @example Basic usage
 * ```ts
 * import { signedDistanceTf } from "@segloss/segloss/tfjs";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import assert from "node:assert/strict";
 *
 * const labels = tf.tensor2d([0, 1, 1, 0], [1, 4], "int32");
 * const phi = await signedDistanceTf(labels, { numClasses: 2 });
 * assert.deepEqual(phi.shape, [1, 2, 4]);
 * assert.deepEqual(Array.from(phi.dataSync()).slice(4), [1, 0, 0, 1]);
 * ```
 */
export async function signedDistanceTf(
  labels: tf.Tensor | NdArray,
  options: SignedDistanceTfOptions,
): Promise<tf.Tensor> {
  if (typeof options !== "object" || options === null) {
    throw new SeglossTypeError(
      `Expected options to be an object { numClasses, ... } but found ${quote(options)}`,
    );
  }
  const { t, owned } = toTensor(labels, "labels", "int32");
  const data = await t.data<"int32">();
  const shape = [...t.shape];
  if (owned) t.dispose();
  const maps = await signedDistance({ data, shape }, {
    numClasses: options.numClasses,
    ...(options.spacing ? { spacing: options.spacing } : {}),
    ...(options.convention ? { convention: options.convention } : {}),
    ...(options.transform ? { transform: options.transform } : {}),
  });
  const out = tf.tensor(maps.data, [...maps.shape], "float32");
  if (options.layout === "channels-last") {
    const perm = [0, ...Array.from({ length: maps.shape.length - 2 }, (_, i) => i + 2), 1];
    const tr = tf.transpose(out, perm);
    out.dispose();
    return tr;
  }
  return out;
}

/**
 * The configuration of {@linkcode createTfjsLoss}: the `createScorer` configuration (losses,
 * weights, schedule, input kind, convention) plus the tensor layout.
 *
 * @example Basic usage
 * ```ts
 * import type { TfjsLossConfig } from "@segloss/segloss/tfjs";
 * import assert from "node:assert/strict";
 *
 * const config: TfjsLossConfig = {
 *   input: "logits",
 *   layout: "channels-last",
 *   losses: [{ name: "generalized-dice" }, { name: "boundary" }],
 *   schedule: { kind: "rebalance" },
 * };
 * assert.equal(config.losses.length, 2);
 * ```
 */
export interface TfjsLossConfig {
  /** Whether the input holds logits (default, like `createScorer`) or probabilities. */
  input?: "logits" | "probs";
  /** Tensor layout (default `"channels-first"`). */
  layout?: Layout;
  /** The losses: `dice`, `generalized-dice`, `cross-entropy`, `boundary` (at least one). */
  losses: LossSpec[];
  /** The region/boundary weight schedule (default: none, both factors 1). */
  schedule?: Schedule;
  /** C, for {@linkcode TfjsLoss.distance} from labels (default: given per call). */
  numClasses?: number;
  /** Signed distance convention of {@linkcode TfjsLoss.distance} (default `"kervadec"`). */
  convention?: SignedDistanceConvention;
  /** The transform of {@linkcode TfjsLoss.distance} (default: the exact CPU EDT). */
  transform?: DistanceTransform;
}

/**
 * What {@linkcode TfjsLoss.compute} takes besides input and target.
 *
 * @example Basic usage
 * ```ts
 * import type { TfjsLossRequest } from "@segloss/segloss/tfjs";
 * import assert from "node:assert/strict";
 *
 * const r: TfjsLossRequest = { epoch: 3 };
 * assert.equal(r.epoch, 3);
 * ```
 */
export interface TfjsLossRequest {
  /** Signed distance maps of the input's shape (required when a boundary loss is configured). */
  distance?: tf.Tensor | NdArray;
  /** Epoch for the schedule (default 0). */
  epoch?: number;
}

/**
 * The result of {@linkcode TfjsLoss.computeTerms}: the total and each term as scalar tensors.
 *
 * @example Basic usage
 * ```ts
 * import type { TfjsLossTerms } from "@segloss/segloss/tfjs";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import assert from "node:assert/strict";
 *
 * const r: TfjsLossTerms = { total: tf.scalar(1), terms: {}, weights: {} };
 * assert.equal(r.total.rank, 0);
 * ```
 */
export interface TfjsLossTerms {
  /** Σ weight · schedule factor · term. */
  total: tf.Scalar;
  /** Each term's unweighted value, named like `createScorer`'s terms (`dice`, `dice#2`). */
  terms: Record<string, tf.Scalar>;
  /** Each term's effective weight. */
  weights: Record<string, number>;
}

/**
 * A configured loss combination over tensors (see {@linkcode createTfjsLoss}).
 *
 * @example Basic usage
 * ```ts
 * import { createTfjsLoss, type TfjsLoss } from "@segloss/segloss/tfjs";
 * import assert from "node:assert/strict";
 *
 * const loss: TfjsLoss = createTfjsLoss({ losses: [{ name: "dice" }] });
 * assert.deepEqual(loss.termNames, ["dice"]);
 * ```
 */
export interface TfjsLoss {
  /** The term names, in configuration order. */
  readonly termNames: readonly string[];
  /** Whether a boundary loss is configured (then `distance` is required). */
  readonly needsDistance: boolean;
  /** The total as a differentiable scalar tensor. */
  compute(input: tf.Tensor, target: tf.Tensor | NdArray, request?: TfjsLossRequest): tf.Scalar;
  /** The total and the terms (all scalar tensors; the total is differentiable). */
  computeTerms(
    input: tf.Tensor,
    target: tf.Tensor | NdArray,
    request?: TfjsLossRequest,
  ): TfjsLossTerms;
  /** The effective weight of each term at an epoch. */
  weights(epoch?: number): Record<string, number>;
  /** Signed distance maps of labels in the configured layout and convention (a constant). */
  distance(
    labels: tf.Tensor | NdArray,
    options?: { numClasses?: number; spacing?: readonly number[] },
  ): Promise<tf.Tensor>;
}

/**
 * The tfjs version of each built-in loss, by plugin name. The formulas are written again with
 * tf ops over the same per-(sample, class) sums (`voxelSum`) rather than run as
 * `tf.customGrad` over the float64 formulas of `loss/*.ts`: that would read the sums back to
 * the CPU synchronously inside every differentiated call (`dataSync`), which
 * tfjs-backend-webgpu does only through an OffscreenCanvas (absent in Deno) and which
 * stalls the GPU pipeline of a training step; options, defaults, the binary default and the
 * configuration are shared with the CPU losses (`parseDiceOptions`, ..., `parseLosses`).
 */
const NATIVE: Record<
  string,
  (ci: Canonical, x: tf.Tensor, o: Record<string, unknown>) => tf.Scalar
> = {
  "dice": diceFromCanonical,
  "generalized-dice": generalizedDiceFromCanonical,
  "cross-entropy": crossEntropyFromCanonical,
  "boundary": boundaryFromCanonical,
};
const PLUGINS: Record<string, LossPlugin> = {
  "dice": dicePlugin,
  "generalized-dice": generalizedDicePlugin,
  "cross-entropy": crossEntropyPlugin,
  "boundary": boundaryPlugin,
};

const CONFIG_KEYS = [
  "input",
  "layout",
  "losses",
  "schedule",
  "numClasses",
  "convention",
  "transform",
];

/**
 * Creates a differentiable loss combination from a `createScorer`-style configuration:
 * `total = Σ_i weight_i · f_i · L_i` with `f_i` the schedule's region weight (region losses)
 * or alpha (boundary losses) at `epoch`, each `L_i` the tfjs version of the named loss with
 * its options (validated by the same plugins as the CPU losses). Labels equal to a
 * cross-entropy `ignoreIndex` get t = 0 for every loss, like `createScorer`. A single-channel
 * input is a sigmoid output (dice and generalized dice then score class 1 by default).
 *
 * @param config See {@linkcode TfjsLossConfig}.
 * @returns The loss.
 *
 * @example Basic usage
 * ```ts
 * import { createTfjsLoss } from "@segloss/segloss/tfjs";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import assert from "node:assert/strict";
 *
 * const loss = createTfjsLoss({
 *   layout: "channels-last",
 *   numClasses: 2,
 *   losses: [{ name: "generalized-dice" }, { name: "boundary" }],
 *   schedule: { kind: "rebalance" },
 * });
 * const labels = tf.tensor3d([[[0, 1], [1, 0]]], undefined, "int32");
 * const distance = await loss.distance(labels);
 * const logits = tf.zeros([1, 2, 2, 2]);
 * const g = tf.grad((x: tf.Tensor) => loss.compute(x, labels, { distance, epoch: 10 }))(logits);
 * assert.deepEqual(g.shape, [1, 2, 2, 2]);
 * assert.deepEqual(loss.weights(10), { "generalized-dice": 0.9, boundary: 0.11 });
 * ```
 */
export function createTfjsLoss(config: TfjsLossConfig): TfjsLoss {
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new SeglossTypeError(`Expected config to be an object but found ${quote(config)}`);
  }
  for (const k of Object.keys(config)) {
    if (!CONFIG_KEYS.includes(k)) {
      throw new SeglossTypeError(
        `Expected config keys among ${CONFIG_KEYS.join(", ")} but found ${quote(k)}`,
      );
    }
  }
  const kind = inputKindField(config.input, "config.input");
  const layout = config.layout ?? "channels-first";
  if (layout !== "channels-first" && layout !== "channels-last") {
    throw new SeglossRangeError(
      `Expected config.layout to be "channels-first" or "channels-last" but found ${quote(layout)}`,
    );
  }
  const schedule = config.schedule === undefined
    ? undefined
    : checkSchedule(config.schedule, "config.schedule");
  const parsed = parseLosses(config.losses, (name, where) => {
    const plugin = PLUGINS[name];
    if (!plugin) {
      throw new SeglossRangeError(
        `Expected ${where}.name to be one of ${
          Object.keys(NATIVE).map((n) => JSON.stringify(n)).join(", ")
        } (the losses with a tfjs version) but found ${quote(name)}`,
      );
    }
    return plugin;
  });
  const ignoreIndex = parsed.ignoreIndex;
  const terms = parsed.terms.map((p) => {
    const body = NATIVE[p.lossName]!;
    const binaryOptions = p.plugin.binaryDefault ? p.plugin.binaryDefault(p.options) : p.options;
    return {
      name: p.name,
      weight: p.weight,
      kind: p.loss.kind,
      body: (ci: Canonical, x: tf.Tensor) => body(ci, x, ci.binary ? binaryOptions : p.options),
    };
  });
  const needsDistance = terms.some((t) => t.kind === "boundary");

  function weights(epoch = 0): Record<string, number> {
    const f = schedule ? scheduleWeights(schedule, epoch) : { region: 1, boundary: 1 };
    const out: Record<string, number> = {};
    for (const t of terms) out[t.name] = t.weight * (t.kind === "boundary" ? f.boundary : f.region);
    return out;
  }

  function computeTerms(
    input: tf.Tensor,
    target: tf.Tensor | NdArray,
    request: TfjsLossRequest = {},
  ): TfjsLossTerms {
    ensureLossGradients();
    const w = weights(request.epoch ?? 0);
    if (needsDistance && request.distance === undefined) {
      throw new SeglossTypeError(
        "Expected request.distance (signed distance maps, see loss.distance()) for the boundary loss but found none",
      );
    }
    const values: Record<string, tf.Scalar> = {};
    const total = tf.tidy(() => {
      const { t: x } = toTensor(input, "input", "float32");
      const ci = canonicalInput(x, kind, layout);
      const t = canonicalTarget(target, ci, ignoreIndex);
      const phi = needsDistance ? canonicalDistance(request.distance, ci) : undefined;
      let sum: tf.Tensor = tf.scalar(0);
      for (const term of terms) {
        const v = term.body(ci, term.kind === "boundary" ? phi! : t);
        values[term.name] = tf.keep(v);
        sum = tf.add(sum, tf.mul(v, w[term.name]!));
      }
      return sum as tf.Scalar;
    });
    return { total, terms: values, weights: w };
  }

  return {
    termNames: terms.map((t) => t.name),
    needsDistance,
    computeTerms,
    compute(input, target, request) {
      const r = computeTerms(input, target, request);
      for (const v of Object.values(r.terms)) v.dispose();
      return r.total;
    },
    weights,
    distance(labels, options = {}) {
      const numClasses = options.numClasses ?? config.numClasses;
      if (numClasses === undefined) {
        return Promise.reject(
          new SeglossTypeError(
            "Expected numClasses (in the call's options or config.numClasses) but found none",
          ),
        );
      }
      const transform = config.transform ?? edtTransform();
      return signedDistanceTf(labels, {
        numClasses,
        layout,
        transform,
        ...(options.spacing ? { spacing: options.spacing } : {}),
        ...(config.convention ? { convention: config.convention } : {}),
      });
    },
  };
}
