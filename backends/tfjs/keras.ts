/**
 * The segloss losses in tfjs-layers' `model.compile({ loss })` / `model.fit`: a Keras-style
 * loss function `(yTrue, yPred) => scalar` whose `yTrue` carries the one-hot target and the
 * boundary loss's signed distance maps side by side on the channel axis, and the helper that
 * packs them once per data set.
 *
 * Keras calls a loss with `(yTrue, yPred)` only, so the maps cannot be a separate argument:
 * {@linkcode packTargetsTf} concatenates the one-hot labels (C channels) and their signed
 * distance maps (C channels) into one `yTrue` of 2C channels, computed once before training
 * (the maps depend on the labels only), and {@linkcode createTfjsKerasLoss} splits it again.
 * A model with one sigmoid output channel (binary segmentation, `numClasses: 2`) takes the
 * foreground only: `packTargetsTf(labels, { numClasses: 2, binary: true })` gives `[t, φ]`.
 *
 * Train with `model.fitDataset` ({@linkcode fitDatasetTf} makes the dataset from tensors):
 * tfjs-layers' `model.fit(x, y)` requires `y` to have exactly the output's shape (C
 * channels), so a 2C-channel `yTrue` is refused there; `fitDataset` and `evaluateDataset`
 * check only the batch size. A region-only configuration (no boundary loss) takes a
 * C-channel one-hot `yTrue` and works with `model.fit` too.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { checkKeys, quote, SeglossRangeError, SeglossTypeError } from "../../core/errors.ts";
import { checkNumClasses, formatShape, type NdArray } from "../../core/ndarray.ts";
import type { DistanceTransform, SignedDistanceConvention } from "../../core/types.ts";
import {
  createTfjsLoss,
  signedDistanceTf,
  type TfjsLoss,
  type TfjsLossConfig,
} from "./combined.ts";
import { isTensor, type Layout, toTensor } from "./_tensors.ts";

/**
 * Options of {@linkcode packTargetsTf}.
 *
 * @example Basic usage
 * ```ts
 * import type { PackTargetsTfOptions } from "@segloss/segloss/tfjs";
 * import assert from "node:assert/strict";
 *
 * const o: PackTargetsTfOptions = { numClasses: 2, spacing: [1, 1] };
 * assert.equal(o.numClasses, 2);
 * ```
 */
export interface PackTargetsTfOptions {
  /** C: labels must lie in `[0, C)`. */
  numClasses: number;
  /** Layout of the packed target (default `"channels-last"`, as tfjs-layers models). */
  layout?: Layout;
  /** Voxel size per spatial axis for the maps (default all 1). */
  spacing?: readonly number[];
  /** Sign convention of the maps (default `"kervadec"`). */
  convention?: SignedDistanceConvention;
  /** The distance transform (default: the exact CPU EDT). */
  transform?: DistanceTransform;
  /** Whether to append the maps (default true); without them `yTrue` is the one-hot only. */
  distance?: boolean;
  /**
   * For a model with a single sigmoid output channel (`numClasses` must be 2): pack the
   * foreground only, `[t, φ]` (2 channels; 1 without maps) instead of `[t0, t1, φ0, φ1]`.
   */
  binary?: boolean;
}

const PACK_KEYS = [
  "numClasses",
  "layout",
  "spacing",
  "convention",
  "transform",
  "distance",
  "binary",
];

/** Checks a layout option (default channels-last). */
function layoutOf(v: unknown, name: string): Layout {
  if (v === undefined) return "channels-last";
  if (v !== "channels-first" && v !== "channels-last") {
    throw new SeglossRangeError(
      `Expected ${name} to be "channels-first" or "channels-last" but found ${quote(v)}`,
    );
  }
  return v;
}

/**
 * Packs labels into the `yTrue` of {@linkcode createTfjsKerasLoss}: the one-hot target
 * (channels `0 … C−1`) followed by the signed distance maps of every class (channels
 * `C … 2C−1`, segloss's `signedDistance` per sample and class, in the given `spacing` and
 * `convention`), channels-last by default: `(N, ...spatial, 2C)`. Compute it once for the
 * training set and pass it to `model.fit(x, yTrue)`: the maps depend on the labels only.
 *
 * @param labels Integer labels `(N, ...spatial)` in `[0, C)` (a tensor or an NdArray).
 * @param options See {@linkcode PackTargetsTfOptions}.
 * @returns A float32 tensor `(N, ...spatial, 2C)` (or `(N, 2C, ...spatial)`; `C` channels
 * when `distance` is false). Dispose it when done.
 *
 * @example Basic usage
 * ```ts
 * import { packTargetsTf } from "@segloss/segloss/tfjs";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import assert from "node:assert/strict";
 *
 * const yTrue = await packTargetsTf(tf.tensor2d([[0, 1, 1, 0]], undefined, "int32"), {
 *   numClasses: 2,
 * });
 * assert.deepEqual(yTrue.shape, [1, 4, 4]);
 * // voxel 0: one-hot [1, 0], maps [0 (inside class 0), 1 (one voxel from class 1)]
 * assert.deepEqual(Array.from(yTrue.dataSync().slice(0, 4)), [1, 0, 0, 1]);
 * ```
 */
export async function packTargetsTf(
  labels: tf.Tensor | NdArray,
  options: PackTargetsTfOptions,
): Promise<tf.Tensor> {
  if (options === undefined || options === null) {
    throw new SeglossTypeError(
      "Expected options.numClasses (the number of classes C; labels lie in [0, C)) to be given but found no options",
      { argument: "options.numClasses" },
    );
  }
  const o = checkKeys(options, PACK_KEYS, "options") as Partial<PackTargetsTfOptions>;
  const numClasses = checkNumClasses(o.numClasses, "options.numClasses");
  const layout = layoutOf(o.layout, "options.layout");
  const withMaps = o.distance ?? true;
  if (typeof withMaps !== "boolean") {
    throw new SeglossTypeError(
      `Expected options.distance to be a boolean but found ${quote(withMaps)}`,
    );
  }
  const binary = o.binary ?? false;
  if (typeof binary !== "boolean") {
    throw new SeglossTypeError(
      `Expected options.binary to be a boolean but found ${quote(binary)}`,
    );
  }
  if (binary && numClasses !== 2) {
    throw new SeglossRangeError(
      `Expected options.numClasses to be 2 with binary: true (labels 0 and 1) but found ${numClasses}`,
    );
  }
  // the maps first: signedDistance checks the labels (integers in [0, C), with the index)
  const maps = await signedDistanceTf(labels, {
    numClasses,
    layout,
    ...(o.spacing ? { spacing: o.spacing } : {}),
    ...(o.convention ? { convention: o.convention } : {}),
    ...(o.transform ? { transform: o.transform } : {}),
  });
  const { t, owned } = toTensor(labels, "labels", "int32");
  const out = tf.tidy(() => {
    const oh = tf.oneHot(tf.reshape(t, [-1]), numClasses, 1, 0, "float32");
    let onehot = tf.reshape(oh, [...t.shape, numClasses]);
    const axis = layout === "channels-last" ? t.rank : 1;
    if (layout === "channels-first") {
      const perm = [0, t.rank, ...Array.from({ length: t.rank - 1 }, (_, i) => i + 1)];
      onehot = tf.transpose(onehot, perm);
    }
    let m = maps;
    if (binary) {
      // the foreground (class 1) channel of each
      const fg = (x: tf.Tensor) => tf.gather(x, [1], axis);
      onehot = fg(onehot);
      m = fg(maps);
    }
    return withMaps ? tf.concat([onehot, m], axis) : onehot;
  });
  maps.dispose();
  if (owned) t.dispose();
  return out;
}

/**
 * The configuration of {@linkcode createTfjsKerasLoss}: that of `createTfjsLoss` with
 * `numClasses` required and `layout` defaulting to `"channels-last"` (tfjs-layers' default).
 *
 * @example Basic usage
 * ```ts
 * import type { TfjsKerasLossConfig } from "@segloss/segloss/tfjs";
 * import assert from "node:assert/strict";
 *
 * const c: TfjsKerasLossConfig = { numClasses: 2, losses: [{ name: "dice" }, { name: "boundary" }] };
 * assert.equal(c.numClasses, 2);
 * ```
 */
export interface TfjsKerasLossConfig extends TfjsLossConfig {
  /** C: the model's output channels; `yTrue` has C (one-hot) or 2C (one-hot + maps). */
  numClasses: number;
}

/**
 * A Keras-style loss function for `model.compile({ loss })`, with the schedule's epoch as a
 * settable property and a `model.fit` callback that advances it (see
 * {@linkcode createTfjsKerasLoss}).
 *
 * @example Basic usage
 * ```ts
 * import { createTfjsKerasLoss, type TfjsKerasLoss } from "@segloss/segloss/tfjs";
 * import assert from "node:assert/strict";
 *
 * const loss: TfjsKerasLoss = createTfjsKerasLoss({ numClasses: 2, losses: [{ name: "dice" }] });
 * assert.equal(loss.epoch, 0);
 * ```
 */
export interface TfjsKerasLoss {
  /**
   * The loss of a batch: `yTrue` from {@linkcode packTargetsTf} (2C channels; C without a
   * boundary loss), `yPred` the model's output (C channels, logits or probabilities as
   * configured). Returns the differentiable scalar total.
   */
  (yTrue: tf.Tensor, yPred: tf.Tensor): tf.Scalar;
  /** The epoch the schedule uses (default 0; {@linkcode TfjsKerasLoss.callbacks} sets it). */
  epoch: number;
  /** C. */
  readonly numClasses: number;
  /** The underlying `createTfjsLoss` combination. */
  readonly loss: TfjsLoss;
  /** Pass to `model.fit(x, y, { callbacks })`: sets `epoch` at the start of every epoch. */
  readonly callbacks: { onEpochBegin(epoch: number): Promise<void> };
  /**
   * Splits a packed `yTrue` into the one-hot target and the maps (`undefined` when `yTrue`
   * has as many channels as the prediction: `predChannels`, default C; 1 for a single
   * sigmoid channel when C = 2). The caller disposes both.
   */
  unpack(
    yTrue: tf.Tensor,
    predChannels?: number,
  ): { target: tf.Tensor; distance: tf.Tensor | undefined };
}

/**
 * Creates a loss function for tfjs-layers' `model.compile({ loss })`: the `createTfjsLoss`
 * combination (losses, weights, schedule, input kind) evaluated on `yPred` against a `yTrue`
 * packed by {@linkcode packTargetsTf} — the one-hot target in its first C channels and the
 * signed distance maps in the next C. Its value equals `createTfjsLoss(config).compute(yPred,
 * oneHot, { distance: maps, epoch })`; tfjs-layers averages it over the batches of an epoch.
 * The schedule's epoch is the function's `epoch` property; pass `loss.callbacks` to
 * `model.fit` to advance it with the epochs.
 *
 * @param config `numClasses`, `losses`, and optionally `input` (default `"logits"`),
 * `layout` (default `"channels-last"`), `schedule`.
 * @returns The loss function.
 *
 * @example Basic usage
 * ```ts
 * import { createTfjsKerasLoss, packTargetsTf } from "@segloss/segloss/tfjs";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import assert from "node:assert/strict";
 *
 * const loss = createTfjsKerasLoss({
 *   numClasses: 2,
 *   losses: [{ name: "dice" }, { name: "boundary", weight: 0.1 }],
 * });
 * const yTrue = await packTargetsTf(tf.tensor3d([[[0, 1], [1, 1]]], undefined, "int32"), {
 *   numClasses: 2,
 * });
 * const logits = tf.zeros([1, 2, 2, 2]); // (N, H, W, C)
 * const g = tf.grad((x: tf.Tensor) => loss(yTrue, x))(logits);
 * assert.deepEqual(g.shape, [1, 2, 2, 2]);
 * const { target } = loss.unpack(yTrue);
 * assert.deepEqual(target.shape, [1, 2, 2, 2]);
 * ```
 */
export function createTfjsKerasLoss(config: TfjsKerasLossConfig): TfjsKerasLoss {
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new SeglossTypeError(`Expected config to be an object but found ${quote(config)}`);
  }
  const numClasses = checkNumClasses(config.numClasses, "config.numClasses");
  const layout = layoutOf(config.layout, "config.layout");
  const loss = createTfjsLoss({ ...config, layout });
  const C = numClasses;

  function unpack(
    yTrue: tf.Tensor,
    predChannels = C,
  ): { target: tf.Tensor; distance: tf.Tensor | undefined } {
    if (!isTensor(yTrue) || yTrue.rank < 3) {
      throw new SeglossTypeError(
        `Expected yTrue to be a tensor (N, ...spatial, C or 2C) from packTargetsTf but found ${
          isTensor(yTrue) ? `shape ${formatShape(yTrue.shape)}` : typeof yTrue
        }`,
      );
    }
    const axis = layout === "channels-last" ? yTrue.rank - 1 : 1;
    const ch = yTrue.shape[axis]!;
    const k = predChannels;
    if (ch !== k && ch !== 2 * k) {
      throw new SeglossTypeError(
        `Expected yTrue to have ${k} (one-hot) or ${2 * k} (one-hot + maps, packTargetsTf${
          k === 1 ? " with binary: true" : ""
        }) channels on axis ${axis} (${layout}) but found ${ch} (shape ${
          formatShape(yTrue.shape)
        })`,
      );
    }
    if (loss.needsDistance && ch !== 2 * k) {
      throw new SeglossTypeError(
        `Expected yTrue to carry the signed distance maps for the boundary loss (${
          2 * k
        } channels, packTargetsTf) but found ${ch} channels`,
      );
    }
    if (ch === k) return { target: tf.clone(yTrue), distance: undefined };
    const [target, distance] = tf.split(yTrue, 2, axis);
    return { target: target!, distance: distance! };
  }

  const fn = ((yTrue: tf.Tensor, yPred: tf.Tensor): tf.Scalar => {
    if (!isTensor(yPred) || yPred.rank < 3) {
      throw new SeglossTypeError(
        `Expected yPred to be a tensor (N, ...spatial, C) but found ${
          isTensor(yPred) ? `shape ${formatShape(yPred.shape)}` : typeof yPred
        }`,
      );
    }
    const cPred = yPred.shape[layout === "channels-last" ? yPred.rank - 1 : 1]!;
    if (cPred !== C && !(C === 2 && cPred === 1)) {
      throw new SeglossTypeError(
        `Expected yPred to have ${C} channels (numClasses${
          C === 2 ? ", or 1 sigmoid channel" : ""
        }) but found ${cPred} (shape ${formatShape(yPred.shape)})`,
      );
    }
    const { target, distance } = unpack(yTrue, cPred);
    try {
      return loss.compute(yPred, target, {
        ...(distance && loss.needsDistance ? { distance } : {}),
        epoch: fn.epoch,
      });
    } finally {
      target.dispose();
      distance?.dispose();
    }
  }) as TfjsKerasLoss;
  let epoch = 0;
  Object.defineProperties(fn, {
    epoch: {
      get: () => epoch,
      set: (v: unknown) => {
        if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
          throw new SeglossRangeError(
            `Expected epoch to be a finite number >= 0 but found ${quote(v)}`,
          );
        }
        epoch = v;
      },
      enumerable: true,
    },
    numClasses: { value: numClasses, enumerable: true },
    loss: { value: loss, enumerable: true },
    unpack: { value: unpack, enumerable: true },
    callbacks: {
      value: {
        onEpochBegin: (e: number) => {
          fn.epoch = e;
          return Promise.resolve();
        },
      },
      enumerable: true,
    },
  });
  return fn;
}

/**
 * A dataset for tfjs-layers' `model.fitDataset` / `evaluateDataset` (the `Dataset` interface
 * tfjs-layers reads: `size` and `iterator()`), made of batches of `xs` and `ys` in order:
 * `{ xs: xs[i : i + batchSize], ys: ys[i : i + batchSize] }`, fresh tensors each time (the
 * training loop disposes them). No dependency on `@tensorflow/tfjs-data`.
 *
 * @param xs The model's input `(N, ...)`.
 * @param ys The packed targets `(N, ...)` from {@linkcode packTargetsTf}.
 * @param options `batchSize` (default 32).
 * @returns The dataset: `size` batches per epoch; every `iterator()` starts over.
 *
 * @example Basic usage
 * ```ts
 * import { fitDatasetTf } from "@segloss/segloss/tfjs";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import assert from "node:assert/strict";
 *
 * const ds = fitDatasetTf(tf.zeros([5, 2]), tf.ones([5, 4]), { batchSize: 2 });
 * assert.equal(ds.size, 3);
 * const it = await ds.iterator();
 * const first = await it.next();
 * assert.deepEqual(first.value.ys.shape, [2, 4]);
 * ```
 */
export function fitDatasetTf(
  xs: tf.Tensor,
  ys: tf.Tensor,
  options: { batchSize?: number } = {},
): {
  size: number;
  iterator(): Promise<{ next(): Promise<IteratorResult<{ xs: tf.Tensor; ys: tf.Tensor }>> }>;
} {
  const o = checkKeys(options, ["batchSize"], "options");
  const batchSize = o.batchSize ?? 32;
  if (typeof batchSize !== "number" || !Number.isInteger(batchSize) || batchSize < 1) {
    throw new SeglossRangeError(
      `Expected options.batchSize to be an integer >= 1 but found ${quote(batchSize)}`,
    );
  }
  if (!isTensor(xs) || !isTensor(ys) || xs.rank < 1 || ys.rank < 1) {
    throw new SeglossTypeError("Expected xs and ys to be tensors with a batch axis");
  }
  const n = xs.shape[0]!;
  if (ys.shape[0] !== n) {
    throw new SeglossTypeError(
      `Expected ys to have the batch size of xs (${n}) but found ${ys.shape[0]} (shape ${
        formatShape(ys.shape)
      })`,
    );
  }
  const batch = (t: tf.Tensor, i: number) =>
    tf.slice(t, [i, ...t.shape.slice(1).map(() => 0)], [
      Math.min(batchSize, n - i),
      ...t.shape.slice(1),
    ]);
  return {
    size: Math.ceil(n / batchSize),
    iterator() {
      let i = 0;
      return Promise.resolve({
        next(): Promise<IteratorResult<{ xs: tf.Tensor; ys: tf.Tensor }>> {
          if (i >= n) return Promise.resolve({ value: undefined, done: true });
          const value = { xs: batch(xs, i), ys: batch(ys, i) };
          i += batchSize;
          return Promise.resolve({ value, done: false });
        },
      });
    },
  };
}
