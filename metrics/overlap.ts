/**
 * Overlap metrics: Dice and IoU (Jaccard) per sample and class.
 *
 * @module
 */
import type { NdArray } from "../core/ndarray.ts";
import { type MetricOptions, type PreparedLabels, prepareLabels, resolveEmpty } from "./input.ts";
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

/** Default empty results of Dice and IoU: MONAI's `ignore_empty=True`. */
export const OVERLAP_EMPTY_DEFAULTS = { both: "nan", target: "nan", prediction: 0 } as const;

/** The Dice or IoU table from counts. */
export function overlapTable(
  kind: "dice" | "iou",
  labels: PreparedLabels,
  counts: OverlapCounts,
  options: MetricOptions,
): number[][] {
  const empty = resolveEmpty(options.empty, OVERLAP_EMPTY_DEFAULTS, labels.spatial, labels.spacing);
  const out: number[][] = [];
  for (let n = 0; n < labels.numSamples; n++) {
    const row: number[] = [];
    for (const c of labels.classes) {
      const i = n * labels.numClasses + c;
      const p = counts.pred[i]!;
      const t = counts.target[i]!;
      const b = counts.both[i]!;
      if (p === 0 && t === 0) row.push(empty.both);
      else if (t === 0) row.push(empty.target);
      else if (p === 0) row.push(empty.prediction);
      else row.push(kind === "dice" ? (2 * b) / (p + t) : b / (p + t - b));
    }
    out.push(row);
  }
  return out;
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
  const labels = prepareLabels(prediction, target, options);
  const table = overlapTable("dice", labels, overlapCounts(labels), options);
  return summarize("dice", labels.classes, table, options.nan);
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
  const labels = prepareLabels(prediction, target, options);
  const table = overlapTable("iou", labels, overlapCounts(labels), options);
  return summarize("iou", labels.classes, table, options.nan);
}
