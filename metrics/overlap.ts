/**
 * Overlap metrics per sample and class, from voxel counts: Dice, IoU (Jaccard), precision,
 * recall (sensitivity), specificity, relative volume difference and volume similarity.
 *
 * @module
 */
import type { NdArray } from "../core/ndarray.ts";
import { quote, SeglossTypeError } from "../core/errors.ts";
import { metricLabels, type MetricOptions, type PreparedLabels, resolveEmpty } from "./input.ts";
import { type MetricResult, summarize } from "./result.ts";

/** Per-(sample, label) voxel counts: prediction, target, and both. Indexed `n * C + label`. */
export interface OverlapCounts {
  /** Voxels predicted as the label. */
  pred: Float64Array;
  /** Voxels of the label in the target. */
  target: Float64Array;
  /** Voxels of the label in both. */
  both: Float64Array;
}

/** Counts every label's voxels in one pass over the batch. */
export function overlapCounts(labels: PreparedLabels): OverlapCounts {
  const { pred, target, numSamples, voxels, numClasses } = labels;
  const p = new Float64Array(numSamples * numClasses);
  const t = new Float64Array(numSamples * numClasses);
  const b = new Float64Array(numSamples * numClasses);
  for (let n = 0; n < numSamples; n++) {
    const off = n * voxels;
    const row = n * numClasses;
    for (let v = 0; v < voxels; v++) {
      const a = pred[off + v]!;
      const c = target[off + v]!;
      p[row + a]!++;
      t[row + c]!++;
      if (a === c) b[row + a]!++;
    }
  }
  return { pred: p, target: t, both: b };
}

/** The overlap metrics: computed from the voxel counts alone. */
export type OverlapMetric =
  | "dice"
  | "iou"
  | "precision"
  | "recall"
  | "specificity"
  | "ravd"
  | "vs";

/** Default empty results of Dice and IoU: MONAI's `ignore_empty=True`. */
export const OVERLAP_EMPTY_DEFAULTS = { both: "nan", target: "nan", prediction: 0 } as const;

/**
 * Each overlap metric's results in the empty cases (what the formula gives, 0/0 as NaN:
 * MONAI's `ConfusionMatrixMetric`), or null for specificity, whose formula needs no empty case
 * (it is NaN only when the target fills the volume).
 */
export const OVERLAP_EMPTY: Record<
  OverlapMetric,
  { both: "nan"; prediction: "nan" | number; target: "nan" | number } | null
> = {
  dice: OVERLAP_EMPTY_DEFAULTS,
  iou: OVERLAP_EMPTY_DEFAULTS,
  precision: { both: "nan", prediction: "nan", target: 0 },
  recall: { both: "nan", prediction: 0, target: "nan" },
  specificity: null,
  ravd: { both: "nan", prediction: -1, target: "nan" },
  vs: { both: "nan", prediction: 0, target: 0 },
};

/** Checks that no empty policy is given for specificity. */
export function checkNoEmpty(empty: unknown, name: string): void {
  if (empty !== undefined) {
    throw new SeglossTypeError(
      `Expected no ${name} for specificity (TN / (TN + FP) has no empty case; it is NaN only when the target fills the volume) but found ${
        quote(empty)
      }`,
    );
  }
}

/** The value of an overlap metric from counts P (predicted), T (target), B (both), V (voxels). */
function overlapValue(kind: OverlapMetric, p: number, t: number, b: number, v: number): number {
  switch (kind) {
    case "dice":
      return (2 * b) / (p + t);
    case "iou":
      return b / (p + t - b);
    case "precision":
      return b / p;
    case "recall":
      return b / t;
    case "specificity":
      return (v - p - t + b) / (v - t);
    case "ravd":
      return (p - t) / t;
    case "vs":
      return 1 - Math.abs(p - t) / (p + t);
  }
}

/** An overlap metric's table from counts. */
export function overlapTable(
  kind: OverlapMetric,
  labels: PreparedLabels,
  counts: OverlapCounts,
  options: MetricOptions,
  name = "options.empty",
): number[][] {
  const defaults = OVERLAP_EMPTY[kind];
  if (defaults === null) checkNoEmpty(options.empty, name);
  const empty = defaults === null
    ? undefined
    : resolveEmpty(options.empty, defaults, labels.spatial, labels.spacing, name);
  const v = labels.voxels;
  const out: number[][] = [];
  for (let n = 0; n < labels.numSamples; n++) {
    const row: number[] = [];
    for (const c of labels.classes) {
      const i = n * labels.numClasses + c;
      const p = counts.pred[i]!;
      const t = counts.target[i]!;
      const b = counts.both[i]!;
      if (empty !== undefined && p === 0 && t === 0) row.push(empty.both);
      else if (empty !== undefined && t === 0) row.push(empty.target);
      else if (empty !== undefined && p === 0) row.push(empty.prediction);
      else row.push(overlapValue(kind, p, t, b, v));
    }
    out.push(row);
  }
  return out;
}

function overlapMetric(
  kind: OverlapMetric,
  prediction: NdArray,
  target: NdArray,
  options: MetricOptions,
): MetricResult {
  const labels = metricLabels(prediction, target, options);
  const table = overlapTable(kind, labels, overlapCounts(labels), options);
  return summarize(kind, labels.classes, table, options.nan);
}

/**
 * Dice similarity coefficient `2|P ∩ T| / (|P| + |T|)` per sample and class.
 *
 * Empty cases (defaults are MONAI's `DiceMetric(ignore_empty=True)`): target empty → NaN
 * (whether or not the prediction is empty), prediction empty with a non-empty target → 0.
 * Change them with `options.empty` (for example `{ both: 1, target: 0 }` for
 * `ignore_empty=False`).
 *
 * @param prediction Predicted labels `(N, ...spatial)`, or scores `(N, C, ...spatial)`
 * (argmax over C; a threshold when C = 1).
 * @param target Target labels `(N, ...spatial)`.
 * @param options Classes, empty policy, averaging (see {@linkcode MetricOptions}).
 * @returns The per-(sample, class) table and its averages.
 *
 * @example Basic usage
 * ```ts
 * import { dice } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const r = dice(
 *   { data: new Uint8Array([0, 1, 1, 2, 2, 2]), shape: [1, 6] },
 *   { data: new Uint8Array([0, 1, 2, 2, 2, 2]), shape: [1, 6] },
 * );
 * assert.deepEqual(r.classes, [1, 2]);
 * assert.ok(Math.abs(r.values[0]![0]! - 2 / 3) < 1e-12); // 2·1 / (2 + 1)
 * assert.ok(Math.abs(r.values[0]![1]! - 6 / 7) < 1e-12); // 2·3 / (3 + 4)
 * ```
 */
export function dice(
  prediction: NdArray,
  target: NdArray,
  options: MetricOptions = {},
): MetricResult {
  return overlapMetric("dice", prediction, target, options);
}

/**
 * Intersection over union (Jaccard index) `|P ∩ T| / |P ∪ T|` per sample and class.
 *
 * Empty cases default like {@linkcode dice} (MONAI's `MeanIoU(ignore_empty=True)`): target
 * empty → NaN, prediction empty with a non-empty target → 0.
 *
 * @param prediction Predicted labels `(N, ...spatial)`, or scores `(N, C, ...spatial)`.
 * @param target Target labels `(N, ...spatial)`.
 * @param options Classes, empty policy, averaging (see {@linkcode MetricOptions}).
 * @returns The per-(sample, class) table and its averages.
 *
 * @example Basic usage
 * ```ts
 * import { iou } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const r = iou(
 *   { data: new Uint8Array([1, 1, 0, 0]), shape: [1, 2, 2] },
 *   { data: new Uint8Array([0, 1, 1, 0]), shape: [1, 2, 2] },
 * );
 * assert.equal(r.values[0]![0], 1 / 3);
 * ```
 */
export function iou(
  prediction: NdArray,
  target: NdArray,
  options: MetricOptions = {},
): MetricResult {
  return overlapMetric("iou", prediction, target, options);
}

/**
 * Precision (positive predictive value) `TP / (TP + FP) = |P ∩ T| / |P|` per sample and class
 * (MONAI's `ConfusionMatrixMetric("precision")`, medpy's `precision`).
 *
 * Empty cases: prediction empty → NaN (0/0, as MONAI; medpy answers 0), target empty with a
 * non-empty prediction → 0. Change them with `options.empty`.
 *
 * @param prediction Predicted labels `(N, ...spatial)`, or scores `(N, C, ...spatial)`.
 * @param target Target labels `(N, ...spatial)`.
 * @param options Classes, empty policy, averaging (see {@linkcode MetricOptions}).
 * @returns The per-(sample, class) table and its averages.
 *
 * @example Basic usage
 * ```ts
 * import { precision } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * // 3 predicted voxels, 2 of them in the target
 * const r = precision(
 *   { data: new Uint8Array([1, 1, 1, 0]), shape: [1, 4] },
 *   { data: new Uint8Array([0, 1, 1, 1]), shape: [1, 4] },
 * );
 * assert.equal(r.values[0]![0], 2 / 3);
 * ```
 */
export function precision(
  prediction: NdArray,
  target: NdArray,
  options: MetricOptions = {},
): MetricResult {
  return overlapMetric("precision", prediction, target, options);
}

/**
 * Recall (sensitivity, true positive rate) `TP / (TP + FN) = |P ∩ T| / |T|` per sample and
 * class (MONAI's `ConfusionMatrixMetric("sensitivity")`, medpy's `recall` / `sensitivity`).
 *
 * Empty cases: target empty → NaN (0/0, as MONAI; medpy answers 0), prediction empty with a
 * non-empty target → 0. Change them with `options.empty`.
 *
 * @param prediction Predicted labels `(N, ...spatial)`, or scores `(N, C, ...spatial)`.
 * @param target Target labels `(N, ...spatial)`.
 * @param options Classes, empty policy, averaging (see {@linkcode MetricOptions}).
 * @returns The per-(sample, class) table and its averages.
 *
 * @example Basic usage
 * ```ts
 * import { recall } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * // 3 target voxels, 2 of them found
 * const r = recall(
 *   { data: new Uint8Array([1, 1, 1, 0]), shape: [1, 4] },
 *   { data: new Uint8Array([0, 1, 1, 1]), shape: [1, 4] },
 * );
 * assert.equal(r.values[0]![0], 2 / 3);
 * ```
 */
export function recall(
  prediction: NdArray,
  target: NdArray,
  options: MetricOptions = {},
): MetricResult {
  return overlapMetric("recall", prediction, target, options);
}

/**
 * Specificity (true negative rate) `TN / (TN + FP)` per sample and class, counting the voxels
 * of the volume outside both masks as true negatives (MONAI's
 * `ConfusionMatrixMetric("specificity")`, medpy's `specificity`). No empty policy: the value
 * is defined whenever the target leaves any voxel free, and NaN (0/0) when it fills the
 * volume; `options.empty` is refused.
 *
 * @param prediction Predicted labels `(N, ...spatial)`, or scores `(N, C, ...spatial)`.
 * @param target Target labels `(N, ...spatial)`.
 * @param options Classes, averaging (see {@linkcode MetricOptions}; no `empty`).
 * @returns The per-(sample, class) table and its averages.
 *
 * @example Basic usage
 * ```ts
 * import { specificity } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * // 2 background voxels in the target, 1 of them predicted as foreground
 * const r = specificity(
 *   { data: new Uint8Array([1, 1, 1, 0]), shape: [1, 4] },
 *   { data: new Uint8Array([0, 1, 1, 0]), shape: [1, 4] },
 * );
 * assert.equal(r.values[0]![0], 1 / 2);
 * ```
 */
export function specificity(
  prediction: NdArray,
  target: NdArray,
  options: MetricOptions = {},
): MetricResult {
  return overlapMetric("specificity", prediction, target, options);
}

/**
 * Relative volume difference `(|P| − |T|) / |T|` per sample and class: medpy's `ravd`
 * ("relative absolute volume difference"), which is **signed** despite its name (positive
 * when the prediction is larger); take `Math.abs` of the values for the absolute one. The
 * table's `metric` is `"ravd"`.
 *
 * Empty cases: target empty → NaN (medpy raises), prediction empty with a non-empty target →
 * −1 (the formula). Change them with `options.empty`.
 *
 * @param prediction Predicted labels `(N, ...spatial)`, or scores `(N, C, ...spatial)`.
 * @param target Target labels `(N, ...spatial)`.
 * @param options Classes, empty policy, averaging (see {@linkcode MetricOptions}).
 * @returns The per-(sample, class) table and its averages.
 *
 * @example Basic usage
 * ```ts
 * import { relativeVolumeDifference } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * // 3 predicted voxels against 2 in the target: +50%
 * const r = relativeVolumeDifference(
 *   { data: new Uint8Array([1, 1, 1, 0]), shape: [1, 4] },
 *   { data: new Uint8Array([0, 1, 1, 0]), shape: [1, 4] },
 * );
 * assert.equal(r.values[0]![0], 0.5);
 * ```
 */
export function relativeVolumeDifference(
  prediction: NdArray,
  target: NdArray,
  options: MetricOptions = {},
): MetricResult {
  return overlapMetric("ravd", prediction, target, options);
}

/**
 * Volume similarity `1 − ||P| − |T|| / (|P| + |T|)` per sample and class (Taha & Hanbury,
 * BMC Medical Imaging 2015: `1 − |FN − FP| / (2TP + FP + FN)`). 1 for equal volumes wherever
 * they lie. The table's `metric` is `"vs"`.
 *
 * Empty cases: both empty → NaN (0/0), one empty → 0 (the formula). Change them with
 * `options.empty`.
 *
 * @param prediction Predicted labels `(N, ...spatial)`, or scores `(N, C, ...spatial)`.
 * @param target Target labels `(N, ...spatial)`.
 * @param options Classes, empty policy, averaging (see {@linkcode MetricOptions}).
 * @returns The per-(sample, class) table and its averages.
 *
 * @example Basic usage
 * ```ts
 * import { volumeSimilarity } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * // 3 voxels against 1: 1 − 2 / 4
 * const r = volumeSimilarity(
 *   { data: new Uint8Array([1, 1, 1, 0]), shape: [1, 4] },
 *   { data: new Uint8Array([0, 0, 0, 1]), shape: [1, 4] },
 * );
 * assert.equal(r.values[0]![0], 0.5);
 * ```
 */
export function volumeSimilarity(
  prediction: NdArray,
  target: NdArray,
  options: MetricOptions = {},
): MetricResult {
  return overlapMetric("vs", prediction, target, options);
}
