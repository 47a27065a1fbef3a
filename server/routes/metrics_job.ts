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
  jsonSafe,
  type MetricsReport,
} from "../../metrics/compute.ts";

/**
 * Reports holding more numbers than this (samples x classes x metrics) are written as JSON by
 * the job itself, so a Worker posts one string back instead of a structured clone of
 * hundreds of thousands of small arrays (200000 samples x 3 classes x 5 metrics: about 1.5 s
 * of the request thread's time to receive as objects, a few ms as a string).
 */
export const JOB_JSON_MIN_NUMBERS = 1 << 15;
/** Larger reports come back as objects and are streamed by the route (no giant string). */
export const JOB_JSON_MAX_NUMBERS = 1 << 24;

/** How many numbers a report's tables hold (samples x classes x metrics). */
export function reportSize(report: MetricsReport): number {
  return report.numSamples * report.classes.length * Object.keys(report.metrics).length;
}

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
  report?: MetricsReport;
  /** The report as JSON text (non-finite numbers as strings), for big reports instead. */
  json?: string;
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
  const size = reportSize(report);
  const result: MetricsJobResult = size >= JOB_JSON_MIN_NUMBERS && size <= JOB_JSON_MAX_NUMBERS
    ? { kind: "metrics", json: JSON.stringify(jsonSafe(report)) }
    : { kind: "metrics", report };
  return { result, computeMs: performance.now() - t0 };
}
