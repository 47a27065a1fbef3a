/**
 * The per-(sample, class) table every metric returns, with its averages.
 *
 * @module
 */

/**
 * A metric's values per sample and class, and their averages. Averages follow MONAI's
 * reductions: `perClass` is the mean over samples of each class ("mean_batch"), `perSample`
 * the mean over classes of each sample ("mean_channel"), and `mean` the mean over the samples
 * of `perSample` ("mean"). NaN entries are skipped by default, and every average says how
 * many entries it used (`perClassCount`, `perSampleCount`, `count`) and how many it skipped
 * (`perClassSkipped`, `perSampleSkipped`, `skipped`); `nan: "propagate"` keeps them; an average with no entry left is NaN with a count of 0 (MONAI
 * reports 0 there). Infinity entries are kept: the average is then Infinity.
 *
 * @example Basic usage
 * ```ts
 * import { dice } from "@segloss/segloss";
 * import type { MetricResult } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const r: MetricResult = dice(
 *   { data: new Uint8Array([1, 1, 0, 0]), shape: [1, 4] },
 *   { data: new Uint8Array([1, 0, 0, 0]), shape: [1, 4] },
 * );
 * assert.deepEqual(r.classes, [1]);
 * assert.ok(Math.abs(r.values[0]![0]! - 2 / 3) < 1e-12);
 * ```
 */
export interface MetricResult {
  /** The metric's name (`"dice"`, `"iou"`, `"hausdorff"`, `"hd95"`, `"assd"`, `"nsd"`...). */
  metric: string;
  /** The evaluated class labels; column k of `values` is class `classes[k]`. */
  classes: number[];
  /** `values[n][k]`: the metric of sample n and class `classes[k]`. */
  values: number[][];
  /** Mean over samples for each class. */
  perClass: number[];
  /** Number of entries averaged into each `perClass` value. */
  perClassCount: number[];
  /** Number of NaN entries each `perClass` value skipped (0 with `nan: "propagate"`). */
  perClassSkipped: number[];
  /** Mean over classes for each sample. */
  perSample: number[];
  /** Number of entries averaged into each `perSample` value. */
  perSampleCount: number[];
  /** Number of NaN entries each `perSample` value skipped (0 with `nan: "propagate"`). */
  perSampleSkipped: number[];
  /** Mean over the samples of `perSample` (samples with no entry left are skipped). */
  mean: number;
  /** Number of entries that are not NaN in all of `values`. */
  count: number;
  /** Number of NaN entries in all of `values` (`count + skipped` = samples × classes). */
  skipped: number;
}

function mean(values: readonly number[], propagate: boolean): [number, number] {
  let sum = 0;
  let count = 0;
  for (const v of values) {
    if (Number.isNaN(v)) {
      if (propagate) return [NaN, values.length];
      continue;
    }
    sum += v;
    count++;
  }
  return [count === 0 ? NaN : sum / count, count];
}

/** Builds a {@linkcode MetricResult} from a table of values. */
export function summarize(
  metric: string,
  classes: readonly number[],
  values: number[][],
  nan: "skip" | "propagate" = "skip",
): MetricResult {
  const propagate = nan === "propagate";
  const perSample: number[] = [];
  const perSampleCount: number[] = [];
  const perSampleSkipped: number[] = [];
  let count = 0;
  for (const row of values) {
    const [m, c] = mean(row, propagate);
    perSample.push(m);
    perSampleCount.push(c);
    perSampleSkipped.push(propagate ? 0 : row.length - c);
    for (const v of row) if (!Number.isNaN(v)) count++;
  }
  const perClass: number[] = [];
  const perClassCount: number[] = [];
  const perClassSkipped: number[] = [];
  for (let k = 0; k < classes.length; k++) {
    const [m, c] = mean(values.map((row) => row[k]!), propagate);
    perClass.push(m);
    perClassCount.push(c);
    perClassSkipped.push(propagate ? 0 : values.length - c);
  }
  const [overall] = mean(perSample, propagate);
  return {
    metric,
    classes: [...classes],
    values,
    perClass,
    perClassCount,
    perClassSkipped,
    perSample,
    perSampleCount,
    perSampleSkipped,
    mean: overall,
    count,
    skipped: values.length * classes.length - count,
  };
}
