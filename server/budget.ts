/**
 * The service's resource budget, checked before any work: how many classes a request makes
 * the library loop over (`maxClasses`), and how many array elements its job will allocate in
 * all — inputs, outputs and per-class scratch (`maxWorkElements`). Each route estimates its
 * job with the functions here and refuses an over-limit request with a 413 that names the
 * limit, in the time it takes to scan the labels once.
 *
 * The estimates follow the library's allocations (counted in elements, whatever their byte
 * size): they are upper bounds, not measurements.
 *
 * @module
 */
import { LimitError } from "../core/errors.ts";
import type { NdArray } from "../core/ndarray.ts";

/** The settings the estimates are checked against. */
export interface WorkLimits {
  /** Largest number of classes a request may make the library loop over. */
  maxClasses: number;
  /** Largest number of array elements one job may allocate (inputs, outputs, scratch). */
  maxWorkElements: number;
}

/** The largest value of a numeric array (NaN ignored; `-Infinity` when empty). */
export function maxValue(a: NdArray): number {
  const d = a.data as ArrayLike<number | bigint>;
  let max = -Infinity;
  for (let i = 0; i < d.length; i++) {
    const v = Number(d[i]);
    if (v > max) max = v;
  }
  return max;
}

/**
 * Refuses more than `maxClasses` classes.
 *
 * @param count The class count the request implies.
 * @param how How it was derived, for the message (e.g. `"numClasses"`, `"target's largest label + 1"`).
 * @param limits The settings.
 */
export function checkClasses(count: number, how: string, limits: WorkLimits): void {
  if (!(count <= limits.maxClasses)) {
    throw new LimitError(
      "maxClasses",
      count,
      limits.maxClasses,
      `Expected at most ${limits.maxClasses} classes (the server's maxClasses, SEGLOSS_MAX_CLASSES) but ${how} is ${count}`,
    );
  }
}

/**
 * Refuses a job that would allocate more than `maxWorkElements` array elements.
 *
 * @param elements The estimate.
 * @param what The job, for the message.
 * @param limits The settings.
 */
export function checkWork(elements: number, what: string, limits: WorkLimits): void {
  if (!(elements <= limits.maxWorkElements)) {
    throw new LimitError(
      "maxWorkElements",
      elements,
      limits.maxWorkElements,
      `Expected ${what} to allocate at most ${limits.maxWorkElements} array elements (the server's maxWorkElements, SEGLOSS_MAX_WORK_ELEMENTS) but it needs about ${
        Number.isFinite(elements) ? Math.ceil(elements) : "Infinity"
      } (inputs, outputs and per-class scratch)`,
    );
  }
}

/**
 * Elements a `POST /v1/loss` job allocates: the inputs, probabilities, signed distance maps
 * (computed or given), the statistics scratch and the gradient, each `(N, C, ...spatial)`.
 *
 * @param inputLength Elements of the scores.
 * @param targetLength Elements of the target.
 * @param distanceLength Elements of given distance maps (0 when none).
 * @param gradient Whether the gradient is requested.
 * @returns The estimate.
 */
export function lossWork(
  inputLength: number,
  targetLength: number,
  distanceLength: number,
  gradient: boolean,
): number {
  const maps = distanceLength > 0 ? distanceLength : inputLength;
  return inputLength * (gradient ? 3 : 2) + targetLength + maps;
}

/** The class counts a `POST /v1/metrics` request implies. */
export interface MetricsShape {
  /** Samples N. */
  samples: number;
  /** Voxels per sample V. */
  voxels: number;
  /** Classes C (labels are in [0, C)). */
  numClasses: number;
  /** Classes evaluated K. */
  evaluated: number;
  /** Metrics asked for. */
  metrics: number;
  /** Whether a surface metric (Hausdorff, HD95, ASSD, NSD) is asked for. */
  surface: boolean;
  /** Whether the prediction is scores (one more label volume). */
  scores: boolean;
}

const SURFACE = ["hausdorff", "hd95", "assd", "nsd"];

/**
 * Derives the class counts of a metrics request before any work: C from the options, the
 * scores' channels or one scan of the labels; K from `options.classes` or C.
 *
 * @param prediction Labels or scores.
 * @param target Labels.
 * @param options The client's `computeMetrics` options (unchecked JSON).
 * @param limits The settings (C and K over `maxClasses` are refused here).
 * @returns The counts.
 */
export function metricsShape(
  prediction: NdArray,
  target: NdArray,
  options: Record<string, unknown>,
  limits: WorkLimits,
): MetricsShape {
  const samples = target.shape[0] ?? 1;
  const voxels = samples > 0 ? target.data.length / samples : 0;
  const scores = prediction.shape.length === target.shape.length + 1;
  let numClasses: number;
  if (scores) {
    const c = prediction.shape[1] ?? 1;
    numClasses = c === 1 ? 2 : c;
    checkClasses(numClasses, "the prediction's channel count", limits);
  } else if (typeof options.numClasses === "number") {
    numClasses = options.numClasses;
    checkClasses(numClasses, "options.numClasses", limits);
  } else {
    numClasses = Math.max(2, Math.max(maxValue(target), maxValue(prediction)) + 1);
    checkClasses(numClasses, "the largest label + 1", limits);
  }
  const classes = options.classes;
  const evaluated = Array.isArray(classes) ? classes.length : numClasses;
  checkClasses(evaluated, "the length of options.classes", limits);
  const names = Array.isArray(options.metrics) ? options.metrics : undefined;
  const metrics = names ? names.length : 6;
  const surface = names ? names.some((m) => SURFACE.includes(m as string)) : true;
  return { samples, voxels, numClasses, evaluated, metrics, surface, scores };
}

/**
 * Elements a metrics job allocates: the label volumes, the per-(sample, class) counts and
 * result tables, and a surface pair's masks and distance maps.
 *
 * @param s The counts.
 * @returns The estimate.
 */
export function metricsWork(s: MetricsShape): number {
  const nv = s.samples * s.voxels;
  return nv * (s.scores ? 3 : 2) + 3 * s.samples * s.numClasses +
    (s.metrics + 2) * s.samples * s.evaluated + s.numClasses + (s.surface ? 8 * s.voxels : 0);
}

/**
 * Voxel visits of a metrics job (its time, roughly): one pass per (sample, class) for the
 * surface metrics, one pass in all otherwise. Decides whether it runs inline or on the pool.
 *
 * @param s The counts.
 * @returns The estimate.
 */
export function metricsCost(s: MetricsShape): number {
  const nv = s.samples * s.voxels;
  return s.surface ? 4 * nv * Math.max(1, s.evaluated) : 4 * nv;
}

/**
 * Elements a signed distance job allocates: the labels, the `(N, C, ...spatial)` maps and a
 * volume's EDT scratch.
 *
 * @param labels Elements of the labels.
 * @param numClasses C.
 * @param voxels Voxels per volume.
 * @returns The estimate.
 */
export function signedWork(labels: number, numClasses: number, voxels: number): number {
  return labels + labels * numClasses + 4 * voxels;
}
