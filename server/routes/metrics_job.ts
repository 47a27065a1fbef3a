/**
 * The `POST /v1/metrics` job: plain data that crosses a Worker boundary, and the function the
 * job runner calls for it. No Hono here, so the Worker bundle stays small.
 *
 * @module
 */
import type { NdArray } from "../../core/ndarray.ts";
import {
  computeMetrics,
  type ComputeMetricsOptions,
  type MetricsReport,
} from "../../metrics/compute.ts";

/** A `POST /v1/metrics` job. */
export interface MetricsJob {
  /** Discriminant. */
  kind: "metrics";
  /** Predicted labels `(N, ...spatial)` or scores `(N, C, ...spatial)`. */
  prediction: NdArray;
  /** Target labels `(N, ...spatial)`. */
  target: NdArray;
  /** The library's `computeMetrics` options, as the client sent them (validated there). */
  options: ComputeMetricsOptions;
  /** Estimated voxel visits (classes included): decides inline or Worker pool. */
  cost?: number;
}

/** What a metrics job returns. */
export interface MetricsJobResult {
  /** Discriminant. */
  kind: "metrics";
  /** The report (numbers may be NaN or Infinity; the route spells them for JSON). */
  report: MetricsReport;
}

/**
 * Runs a metrics job with the library.
 *
 * @param job The job.
 * @returns The report and the library's compute time in ms.
 */
export function runMetricsJob(job: MetricsJob): { result: MetricsJobResult; computeMs: number } {
  const t0 = performance.now();
  const report = computeMetrics(job.prediction, job.target, job.options);
  return { result: { kind: "metrics", report }, computeMs: performance.now() - t0 };
}
