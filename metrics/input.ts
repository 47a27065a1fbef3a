/**
 * Input handling shared by the metrics: predicted labels or scores and target labels become
 * int32 label volumes, the evaluated classes are chosen, the spacing is checked.
 *
 * @module
 */
import { checkKeys, quote, SeglossRangeError, SeglossTypeError } from "../core/errors.ts";
import {
  checkFinite,
  checkNdArray,
  checkSpacing,
  formatShape,
  type NdArray,
  sizeOf,
} from "../core/ndarray.ts";

/**
 * A value for one empty case of a metric: a number (0 and 1 are the usual ones), `"nan"`,
 * `"infinity"`, or `"diagonal"` (the physical diagonal of the volume,
 * `sqrt(Σ (shape[i] · spacing[i])²)`, a finite stand-in for an unbounded distance).
 *
 * @example Basic usage
 * ```ts
 * import type { EmptyValue } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const values: EmptyValue[] = ["nan", "infinity", "diagonal", 0, 1];
 * assert.equal(values.length, 5);
 * ```
 */
export type EmptyValue = number | "nan" | "infinity" | "diagonal";

/**
 * What a metric reports for a (sample, class) where a mask has nothing to measure. For
 * dice and IoU "empty" means no foreground voxel of the class; for the surface metrics it
 * means no surface voxel (no foreground, or a foreground that fills the whole volume, since
 * the volume border is not a surface). Unset fields take the metric's default (MONAI's
 * result, see the README's table).
 *
 * @example Basic usage
 * ```ts
 * import type { EmptyPolicy } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * // nnU-Net style: two empty masks agree perfectly
 * const policy: EmptyPolicy = { both: 1 };
 * assert.equal(policy.both, 1);
 * ```
 */
export interface EmptyPolicy {
  /** Both the prediction and the target are empty. */
  both?: EmptyValue;
  /** Only the prediction is empty. */
  prediction?: EmptyValue;
  /** Only the target is empty. */
  target?: EmptyValue;
}

/**
 * Options shared by every metric.
 *
 * @example Basic usage
 * ```ts
 * import type { MetricOptions } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const options: MetricOptions = { spacing: [2.5, 0.8, 0.8], classes: [1, 2] };
 * assert.equal(options.classes?.length, 2);
 * ```
 */
export interface MetricOptions {
  /** Physical size of a voxel along each spatial axis (default all 1). */
  spacing?: readonly number[];
  /**
   * The class labels to evaluate, in this order. Default: `1 .. C-1` (background, label 0,
   * excluded, like MONAI's `include_background=False`), or `0 .. C-1` with
   * `includeBackground`.
   */
  classes?: readonly number[];
  /** Evaluate label 0 too when `classes` is not given (default false). */
  includeBackground?: boolean;
  /**
   * The number of classes C. Default: the channel count of a score prediction, else the
   * largest label in prediction and target plus one (at least 2). Labels must be below it.
   */
  numClasses?: number;
  /**
   * Threshold for a single-channel score prediction `(N, 1, ...spatial)`: foreground where
   * the score is strictly greater (default 0.5, MONAI's `y_pred > 0.5`).
   */
  threshold?: number;
  /** What an empty (sample, class) gets; unset cases take the metric's default. */
  empty?: EmptyPolicy;
  /**
   * How averages treat NaN entries: `"skip"` (default; the counts say how many were used)
   * or `"propagate"` (any NaN makes the average NaN).
   */
  nan?: "skip" | "propagate";
}

/** The keys of {@linkcode MetricOptions}, which every metric takes. */
export const METRIC_KEYS = [
  "spacing",
  "classes",
  "includeBackground",
  "numClasses",
  "threshold",
  "empty",
  "nan",
] as const;

/** Checks an optional boolean option; returns it or the default. */
export function checkBoolean(v: unknown, name: string, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== "boolean") {
    throw new SeglossTypeError(`Expected ${name} to be true or false but found ${quote(v)}`);
  }
  return v;
}

/** Label volumes as the metrics read them: uint8 when the labels fit, else int32. */
export type LabelArray = Uint8Array | Int32Array;

/** Label volumes ready for the metrics. */
export interface PreparedLabels {
  /** Predicted labels, `N · V` (uint8 when they fit, else int32). */
  pred: LabelArray;
  /** Target labels, `N · V` int32. */
  target: LabelArray;
  /** Batch size. */
  numSamples: number;
  /** Spatial extents. */
  spatial: number[];
  /** Voxels per sample. */
  voxels: number;
  /** Checked spacing, one per spatial axis. */
  spacing: number[];
  /** The classes to evaluate. */
  classes: number[];
  /** C. */
  numClasses: number;
}

function labelError(name: string, raw: unknown, i: number, numClasses?: number): RangeError {
  const expected = numClasses === undefined
    ? "non-negative integer labels"
    : `integer labels in [0, ${numClasses})`;
  return new SeglossRangeError(
    `Expected ${name} to hold ${expected} but found ${String(raw)} at flat index ${i}`,
  );
}

/** Integer typed arrays whose values are exact in an int32 (checked by range). */
function isSmallIntArray(
  a: unknown,
): a is Uint8Array | Uint8ClampedArray | Int8Array | Uint16Array | Int16Array | Int32Array {
  return a instanceof Uint8Array || a instanceof Uint8ClampedArray || a instanceof Int8Array ||
    a instanceof Uint16Array || a instanceof Int16Array || a instanceof Int32Array;
}

/**
 * Validates labels and returns them as a Uint8Array (the input itself when it is one: no
 * copy) or an Int32Array (labels above 255, float or bigint input), with the largest label.
 */
function toLabels(arr: NdArray, name: string, numClasses?: number): [LabelArray, number] {
  const src = arr.data;
  const limit = numClasses ?? Infinity;
  if (src instanceof Uint8Array) {
    let max = 0;
    for (let i = 0; i < src.length; i++) if (src[i]! > max) max = src[i]!;
    if (max >= limit) {
      const i = src.findIndex((v) => v >= limit);
      throw labelError(name, src[i], i, numClasses);
    }
    return [src, max];
  }
  if (isSmallIntArray(src)) {
    // fast path: a range scan, then no copy or a native one
    let min = 0;
    let max = 0;
    for (let i = 0; i < src.length; i++) {
      const v = src[i]!;
      if (v > max) max = v;
      else if (v < min) min = v;
    }
    if (min < 0 || max >= limit) {
      const i = src.findIndex((v) => v < 0 || v >= limit);
      throw labelError(name, src[i], i, numClasses);
    }
    const out = max < 256 ? new Uint8Array(src.length) : new Int32Array(src.length);
    out.set(src);
    return [out, max];
  }
  const out = new Int32Array(src.length);
  let max = 0;
  for (let i = 0; i < src.length; i++) {
    const raw = src[i]!;
    const v = typeof raw === "bigint" ? Number(raw) : raw;
    if (!Number.isInteger(v) || v < 0 || v >= limit) throw labelError(name, raw, i, numClasses);
    out[i] = v;
    if (v > max) max = v;
  }
  return [out, max];
}

function scoresToLabels(arr: NdArray, threshold: number): LabelArray {
  const src = arr.data;
  if (typeof src[0] === "bigint") {
    throw new SeglossTypeError(
      `Expected prediction scores to be a float or integer array but found ${src.constructor.name}`,
    );
  }
  checkFinite(src as ArrayLike<number>, "prediction");
  const s = src as ArrayLike<number>;
  const shape = arr.shape;
  const n = shape[0]!;
  const c = shape[1]!;
  const vox = sizeOf(shape.slice(2));
  const out = c <= 256 ? new Uint8Array(n * vox) : new Int32Array(n * vox);
  for (let b = 0; b < n; b++) {
    const base = b * c * vox;
    const ob = b * vox;
    if (c === 1) {
      for (let v = 0; v < vox; v++) out[ob + v] = s[base + v]! > threshold ? 1 : 0;
      continue;
    }
    // argmax over channels; the first maximum wins (numpy and torch)
    for (let v = 0; v < vox; v++) {
      let best = s[base + v]!;
      let arg = 0;
      for (let k = 1; k < c; k++) {
        const x = s[base + k * vox + v]!;
        if (x > best) {
          best = x;
          arg = k;
        }
      }
      out[ob + v] = arg;
    }
  }
  return out;
}

/**
 * Checks and converts a prediction and a target for the metrics. The target holds labels
 * `(N, ...spatial)`; the prediction holds labels of the same shape, or scores
 * `(N, C, ...spatial)` (argmax over C, or a threshold when C = 1).
 *
 * @param prediction Predicted labels or scores.
 * @param target Target labels.
 * @param options The shared metric options.
 * @returns int32 label volumes, the spatial shape, spacing and classes.
 */
export function prepareLabels(
  prediction: NdArray,
  target: NdArray,
  options: MetricOptions = {},
): PreparedLabels {
  checkNdArray(prediction, "prediction");
  checkNdArray(target, "target");
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new SeglossTypeError(
      `Expected options to be an object but found ${
        Array.isArray(options) ? "array" : quote(options)
      }`,
    );
  }
  const tShape = target.shape;
  if (tShape.length < 2) {
    throw new SeglossRangeError(
      `Expected target to have shape (N, ...spatial) with at least one spatial axis but found ${
        formatShape(tShape)
      }`,
    );
  }
  const numSamples = tShape[0]!;
  const spatial = tShape.slice(1);
  const voxels = sizeOf(spatial);
  const pShape = prediction.shape;
  const isScores = pShape.length === tShape.length + 1;
  const sameShape = pShape.length === tShape.length && pShape.every((s, i) => s === tShape[i]);
  const scoreShapeOk = isScores && pShape[0] === numSamples &&
    pShape.slice(2).every((s, i) => s === spatial[i]);
  if (!sameShape && !scoreShapeOk) {
    const channelsLast = isScores && pShape[0] === numSamples &&
      pShape.slice(1, -1).every((s, i) => s === spatial[i]);
    if (channelsLast) {
      throw new SeglossTypeError(
        `Expected prediction scores channels-first [${
          [numSamples, "C", ...spatial].join(", ")
        }] but found ${formatShape(pShape)}, which is channels-last (N, ...spatial, C): ` +
          "move the channel axis to position 1",
      );
    }
    throw new SeglossTypeError(
      `Expected prediction to have the target's shape ${formatShape(tShape)} (labels) or [${
        [numSamples, "C", ...spatial].join(", ")
      }] (scores) but found ${formatShape(pShape)}`,
    );
  }
  let numClasses = options.numClasses;
  if (numClasses !== undefined && (!Number.isInteger(numClasses) || numClasses < 1)) {
    throw new SeglossRangeError(
      `Expected options.numClasses to be an integer greater than 0 but found ${quote(numClasses)}`,
    );
  }
  if (isScores) {
    const c = pShape[1]!;
    const effective = c === 1 ? 2 : c;
    if (numClasses !== undefined && numClasses !== effective) {
      throw new SeglossRangeError(
        `Expected options.numClasses to equal the prediction's ${effective} classes but found ${numClasses}`,
      );
    }
    numClasses = effective;
  }
  const threshold = options.threshold ?? 0.5;
  if (typeof threshold !== "number" || !Number.isFinite(threshold)) {
    throw new SeglossRangeError(
      `Expected options.threshold to be a finite number but found ${quote(threshold)}`,
    );
  }
  const spacing = checkSpacing(options.spacing, spatial.length, "options.spacing");
  let [tgt, max] = toLabels(target, "target", numClasses);
  let pred: LabelArray;
  if (isScores) pred = scoresToLabels(prediction, threshold);
  else {
    const [p, pMax] = toLabels(prediction, "prediction", numClasses);
    pred = p;
    max = Math.max(max, pMax);
  }
  numClasses ??= Math.max(2, max + 1);
  let classes: number[];
  if (options.classes !== undefined) {
    if (!Array.isArray(options.classes)) {
      throw new SeglossTypeError(
        `Expected options.classes to be an array of labels but found ${typeof options.classes}`,
      );
    }
    classes = options.classes.map((c, i) => {
      if (!Number.isInteger(c) || c < 0 || c >= numClasses!) {
        throw new SeglossRangeError(
          `Expected options.classes[${i}] to be an integer in [0, ${numClasses}) but found ${
            quote(c)
          }`,
        );
      }
      return c;
    });
    if (classes.length === 0) {
      throw new SeglossRangeError(
        "Expected options.classes to name at least one class but found []",
      );
    }
    const first = classes.findIndex((c, i) => classes.indexOf(c) !== i);
    if (first >= 0) {
      throw new SeglossRangeError(
        `Expected options.classes to name each class once but found ${
          classes[first]
        } twice (options.classes[${classes.indexOf(classes[first]!)}] and [${first}])`,
      );
    }
  } else {
    classes = [];
    const from = checkBoolean(options.includeBackground, "options.includeBackground", false)
      ? 0
      : 1;
    for (let c = from; c < numClasses; c++) classes.push(c);
  }
  if (options.nan !== undefined && options.nan !== "skip" && options.nan !== "propagate") {
    throw new SeglossRangeError(
      `Expected options.nan to be "skip" or "propagate" but found ${quote(options.nan)}`,
    );
  }
  return {
    pred,
    target: tgt,
    numSamples,
    spatial,
    voxels,
    spacing,
    classes,
    numClasses,
  };
}

/**
 * The labels of one metric call: checks the option keys (the {@linkcode METRIC_KEYS} every
 * metric takes and the metric's own `keys`), then {@linkcode prepareLabels}.
 *
 * @param prediction Predicted labels or scores.
 * @param target Target labels.
 * @param options The metric's options.
 * @param keys The option keys of the metric besides {@linkcode METRIC_KEYS}.
 * @returns As {@linkcode prepareLabels}.
 */
export function metricLabels(
  prediction: NdArray,
  target: NdArray,
  options: MetricOptions,
  keys: readonly string[] = [],
): PreparedLabels {
  checkKeys(options, [...METRIC_KEYS, ...keys], "options");
  return prepareLabels(prediction, target, options);
}

/** Checks one empty value; returns it. */
export function checkEmptyValue(v: unknown, name: string): EmptyValue {
  if (typeof v === "number" && !Number.isNaN(v)) return v;
  if (v === "nan" || v === "infinity" || v === "diagonal") return v;
  throw new SeglossRangeError(
    `Expected ${name} to be a number, "nan", "infinity" or "diagonal" but found ${quote(v)}`,
  );
}

/** Resolves a metric's empty policy against its defaults, as numbers. */
export function resolveEmpty(
  policy: EmptyPolicy | undefined,
  defaults: Required<EmptyPolicy>,
  spatial: readonly number[],
  spacing: readonly number[],
  name = "options.empty",
): { both: number; prediction: number; target: number } {
  if (policy !== undefined && (typeof policy !== "object" || policy === null)) {
    throw new SeglossTypeError(`Expected ${name} to be an object but found ${quote(policy)}`);
  }
  checkKeys(policy, ["both", "prediction", "target"], name);
  let diag = 0;
  for (let i = 0; i < spatial.length; i++) diag += (spatial[i]! * spacing[i]!) ** 2;
  diag = Math.sqrt(diag);
  const value = (key: keyof EmptyPolicy): number => {
    const v = checkEmptyValue(policy?.[key] ?? defaults[key], `${name}.${key}`);
    return v === "nan" ? NaN : v === "infinity" ? Infinity : v === "diagonal" ? diag : v;
  };
  return { both: value("both"), prediction: value("prediction"), target: value("target") };
}
