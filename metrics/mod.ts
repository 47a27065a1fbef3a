/**
 * Segmentation metrics over label volumes `(N, ...spatial)`, per sample and class, 2-D and
 * 3-D, with per-axis spacing: {@linkcode dice}, {@linkcode iou}, {@linkcode precision},
 * {@linkcode recall}, {@linkcode specificity}, {@linkcode relativeVolumeDifference},
 * {@linkcode volumeSimilarity}, {@linkcode hausdorff} (the maximum by default, or any
 * percentile: HD95), {@linkcode averageSurfaceDistance} (ASSD), {@linkcode surfaceDice}
 * (normalized surface Dice), and {@linkcode computeMetrics} for several at once. Surface
 * distances come from the exact EDT; surfaces follow MONAI and medpy (the volume border is a
 * surface; `border: "none"` for crops), and MONAI's, medpy's (≥ 0.5) and medpy 0.4's
 * conventions are selectable, MONAI's by default.
 *
 * @example HD95 and Dice of a shifted square
 * ```ts
 * import { computeMetrics } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const size = 16;
 * const square = (shift: number) => {
 *   const data = new Uint8Array(size * size);
 *   for (let y = 4; y < 10; y++) for (let x = 4 + shift; x < 10 + shift; x++) data[y * size + x] = 1;
 *   return { data, shape: [1, size, size] };
 * };
 * const report = computeMetrics(square(2), square(0), { metrics: ["dice", "hd95"] });
 * assert.ok(Math.abs(report.metrics.dice!.mean - 2 / 3) < 1e-12); // 24 of 36 voxels shared
 * assert.equal(report.metrics.hd95!.mean, 2);
 * ```
 *
 * @module
 */
export type { EmptyPolicy, EmptyValue, MetricOptions } from "./input.ts";
export type { MetricResult } from "./result.ts";
export type { OverlapMetric } from "./overlap.ts";
export type { NdArray, TypedArray } from "../core/ndarray.ts";
export type { DistanceTransform } from "../core/types.ts";
export {
  dice,
  iou,
  precision,
  recall,
  relativeVolumeDifference,
  specificity,
  volumeSimilarity,
} from "./overlap.ts";
export {
  averageSurfaceDistance,
  type Convention,
  hausdorff,
  type HausdorffOptions,
  surfaceDice,
  type SurfaceDiceOptions,
  type SurfaceDistanceOptions,
  type SurfaceOptions,
  surfaceVoxels,
} from "./surface.ts";
export {
  computeMetrics,
  computeMetricsAsync,
  type ComputeMetricsAsyncOptions,
  type ComputeMetricsOptions,
  jsonSafe,
  METRIC_NAMES,
  type MetricName,
  type MetricsReport,
} from "./compute.ts";
