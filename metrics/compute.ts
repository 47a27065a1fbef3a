/**
 * Several metrics at once, sharing the label conversion, the voxel counts, the surfaces and
 * the distance transforms, returned as one plain report.
 *
 * @module
 */
import { checkKeys, nearest, quote, SeglossRangeError, SeglossTypeError } from "../core/errors.ts";
import type { NdArray } from "../core/ndarray.ts";
import type { DistanceTransform } from "../core/types.ts";
import {
  type EmptyPolicy,
  METRIC_KEYS,
  type MetricOptions,
  type PreparedLabels,
  prepareLabels,
  resolveEmpty,
} from "./input.ts";
import { checkNoEmpty, overlapCounts, type OverlapMetric, overlapTable } from "./overlap.ts";
import { type MetricResult, summarize } from "./result.ts";
import {
  assdOfPair,
  checkConvention,
  checkTolerance,
  type Convention,
  describeRule,
  DISTANCE_EMPTY_DEFAULTS,
  emptyCase,
  hausdorffOfPair,
  NSD_EMPTY_DEFAULTS,
  nsdOfPair,
  SURFACE_KEYS,
  type SurfaceOptions,
  type SurfacePair,
  surfacePair,
  surfacePairAsync,
  type SurfaceRule,
  surfaceRule,
} from "./surface.ts";

/**
 * The metrics {@linkcode computeMetrics} knows: Dice, IoU, precision, recall (sensitivity),
 * specificity, relative volume difference (`ravd`, medpy's, signed), volume similarity
 * (`vs`), the maximum Hausdorff distance (`hausdorff`), HD95, the average symmetric surface
 * distance (`assd`) and normalized surface Dice (`nsd`).
 *
 * @example Basic usage
 * ```ts
 * import type { MetricName } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const names: MetricName[] = ["dice", "hd95", "recall"];
 * assert.equal(names[1], "hd95");
 * ```
 */
export type MetricName = OverlapMetric | "hausdorff" | "hd95" | "assd" | "nsd";

/** The overlap metrics, in report order. */
const OVERLAP_NAMES: readonly MetricName[] = [
  "dice",
  "iou",
  "precision",
  "recall",
  "specificity",
  "ravd",
  "vs",
];

/**
 * Every metric name {@linkcode computeMetrics} knows, in report order.
 *
 * @example Basic usage
 * ```ts
 * import { METRIC_NAMES } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * assert.ok(METRIC_NAMES.includes("hd95"));
 * assert.ok(METRIC_NAMES.includes("specificity"));
 * ```
 */
export const METRIC_NAMES: readonly MetricName[] = [
  ...OVERLAP_NAMES,
  "hausdorff",
  "hd95",
  "assd",
  "nsd",
];

/** The metrics computed when `metrics` is not given (plus nsd with a `tolerance`). */
const DEFAULT_METRICS: readonly MetricName[] = ["dice", "iou", "hausdorff", "hd95", "assd"];

/** The option keys of {@linkcode computeMetrics}. */
const COMPUTE_KEYS = [
  ...METRIC_KEYS,
  ...SURFACE_KEYS,
  "metrics",
  "tolerance",
  "hausdorffConvention",
  "assdConvention",
];

/**
 * Options of {@linkcode computeMetrics}.
 *
 * @example Basic usage
 * ```ts
 * import type { ComputeMetricsOptions } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const options: ComputeMetricsOptions = {
 *   metrics: ["dice", "hd95", "nsd", "recall"],
 *   tolerance: 2,
 *   spacing: [3, 1, 1],
 *   border: "surface",
 *   connectivity: "face",
 *   empty: { dice: { both: 1 } },
 * };
 * assert.equal(options.metrics?.length, 4);
 * ```
 */
export interface ComputeMetricsOptions extends Omit<MetricOptions, "empty">, SurfaceOptions {
  /**
   * The metrics to compute. Default: dice, iou, hausdorff, hd95 and assd, plus nsd when a
   * `tolerance` is given.
   */
  metrics?: readonly MetricName[];
  /** Surface Dice tolerance in physical units, one for all classes or one per class. */
  tolerance?: number | readonly number[];
  /**
   * HD95 convention: `"monai"` (default; per direction, then the larger), `"medpy"` or
   * `"medpy-0.4"` (pooled; see {@linkcode hausdorff}).
   */
  hausdorffConvention?: Convention;
  /**
   * ASSD convention: `"monai"` (default) and `"medpy"` (medpy ≥ 0.5) pool both directions;
   * `"medpy-0.4"` averages the two directed means (see `averageSurfaceDistance`).
   */
  assdConvention?: Convention;
  /**
   * Empty policies per metric; unset cases take each metric's default (MONAI's). Not for
   * specificity, which has no empty case.
   */
  empty?: Partial<Record<MetricName, EmptyPolicy>>;
}

/**
 * What {@linkcode computeMetrics} returns: plain objects, arrays and numbers (NaN and
 * Infinity included; {@linkcode jsonSafe} spells those as strings for JSON).
 *
 * @example Basic usage
 * ```ts
 * import { computeMetrics } from "@segloss/segloss";
 * import type { MetricsReport } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const m = { data: new Uint8Array([0, 1, 1, 0]), shape: [1, 4] };
 * const report: MetricsReport = computeMetrics(m, m, { metrics: ["dice"] });
 * assert.equal(report.metrics.dice?.mean, 1);
 * assert.equal(report.conventions.border, "surface");
 * ```
 */
export interface MetricsReport {
  /** The evaluated class labels (columns of every table). */
  classes: number[];
  /** Batch size N. */
  numSamples: number;
  /** The spatial extents of one sample. */
  spatialShape: number[];
  /** The spacing used, one per spatial axis. */
  spacing: number[];
  /** The conventions in force, spelled out. */
  conventions: {
    /** HD95: "monai" (per direction, then max) or "medpy" / "medpy-0.4" (pooled). */
    hausdorff: Convention;
    /** ASSD: "monai" / "medpy" (pooled mean) or "medpy-0.4" (mean of directed means). */
    assd: Convention;
    /** The percentile method: numpy's default. */
    percentile: "linear";
    /** Whether foreground voxels on the volume border are surface voxels. */
    border: "surface" | "none";
    /** The surface connectivity: "face", "full" or medpy's integer. */
    connectivity: "face" | "full" | number;
  };
  /** One table per computed metric. */
  metrics: Partial<Record<MetricName, MetricResult>>;
}

/** What computeMetrics does after validation, with the surface pairs supplied by the caller. */
interface Plan {
  labels: PreparedLabels;
  /** The surface rule. */
  rule: SurfaceRule;
  /** Whether any surface metric is wanted (then every (sample, class) pair is needed). */
  needsSurfaces: boolean;
  finish(pair: (n: number, k: number, c: number) => SurfacePair): MetricsReport;
}

function plan(
  prediction: NdArray,
  target: NdArray,
  options: ComputeMetricsOptions,
  keys: readonly string[],
): Plan {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new SeglossTypeError(
      `Expected options to be an object but found ${
        Array.isArray(options) ? "array" : quote(options)
      }`,
    );
  }
  checkKeys(options, keys, "options");
  const { empty: emptyByMetric, ...shared } = options;
  if (
    emptyByMetric !== undefined &&
    (typeof emptyByMetric !== "object" || emptyByMetric === null || Array.isArray(emptyByMetric))
  ) {
    throw new SeglossTypeError(
      `Expected options.empty to be an object keyed by metric name but found ${
        quote(emptyByMetric)
      }`,
    );
  }
  checkKeys(emptyByMetric, METRIC_NAMES, "options.empty");
  let metrics: readonly MetricName[];
  if (options.metrics === undefined) {
    metrics = DEFAULT_METRICS.concat(options.tolerance !== undefined ? ["nsd"] : []);
  } else {
    if (!Array.isArray(options.metrics)) {
      throw new SeglossTypeError(
        `Expected options.metrics to be an array of metric names but found ${
          quote(options.metrics)
        }`,
      );
    }
    options.metrics.forEach((m, i) => {
      if (!METRIC_NAMES.includes(m)) {
        const near = typeof m === "string" ? nearest(m, METRIC_NAMES) : undefined;
        throw new SeglossRangeError(
          `Expected options.metrics[${i}] to be one of ${METRIC_NAMES.join(", ")} but found ${
            quote(m)
          }${near === undefined ? "" : ` (did you mean ${JSON.stringify(near)}?)`}`,
        );
      }
    });
    metrics = METRIC_NAMES.filter((m) => options.metrics!.includes(m));
  }
  const hdConvention = checkConvention(options.hausdorffConvention, "options.hausdorffConvention");
  const assdConvention = checkConvention(options.assdConvention, "options.assdConvention");
  const labels = prepareLabels(prediction, target, shared);
  const rule = surfaceRule(options, labels.spatial.length);
  const want = new Set(metrics);
  let tolerance: number[] = [];
  if (want.has("nsd")) {
    if (options.tolerance === undefined) {
      throw new SeglossTypeError(
        'Expected options.tolerance (physical units) for the "nsd" metric but found undefined',
      );
    }
    tolerance = checkTolerance(options.tolerance, labels.classes.length);
  }
  const empty = (name: MetricName, defaults: Required<EmptyPolicy>) =>
    resolveEmpty(
      emptyByMetric?.[name],
      defaults,
      labels.spatial,
      labels.spacing,
      `options.empty.${name}`,
    );
  const policies = {
    hausdorff: empty("hausdorff", DISTANCE_EMPTY_DEFAULTS),
    hd95: empty("hd95", DISTANCE_EMPTY_DEFAULTS),
    assd: empty("assd", DISTANCE_EMPTY_DEFAULTS),
    nsd: empty("nsd", NSD_EMPTY_DEFAULTS),
  };
  checkNoEmpty(emptyByMetric?.specificity, "options.empty.specificity");
  const nan = options.nan;
  const overlapMetrics = metrics.filter((m) => OVERLAP_NAMES.includes(m)) as OverlapMetric[];
  const surfaceMetrics = metrics.filter((m) => !OVERLAP_NAMES.includes(m));
  const finish = (pairOf: (n: number, k: number, c: number) => SurfacePair): MetricsReport => {
    const out: Partial<Record<MetricName, MetricResult>> = {};
    if (overlapMetrics.length > 0) {
      const counts = overlapCounts(labels);
      for (const kind of overlapMetrics) {
        const table = overlapTable(
          kind,
          labels,
          counts,
          { empty: emptyByMetric?.[kind] },
          `options.empty.${kind}`,
        );
        out[kind] = summarize(kind, labels.classes, table, nan);
      }
    }
    if (surfaceMetrics.length > 0) {
      const tables: Record<string, number[][]> = {};
      for (const m of surfaceMetrics) tables[m] = [];
      for (let n = 0; n < labels.numSamples; n++) {
        const rows: Record<string, number[]> = {};
        for (const m of surfaceMetrics) rows[m] = [];
        labels.classes.forEach((c, k) => {
          const pair = pairOf(n, k, c);
          for (const m of surfaceMetrics) {
            const policy = policies[m as keyof typeof policies];
            let v = emptyCase(pair, policy);
            if (v === undefined) {
              if (m === "hausdorff") v = hausdorffOfPair(pair, 100, hdConvention, false);
              else if (m === "hd95") v = hausdorffOfPair(pair, 95, hdConvention, false);
              else if (m === "assd") v = assdOfPair(pair, assdConvention, true);
              else v = nsdOfPair(pair, tolerance[k]!);
            }
            rows[m]!.push(v);
          }
        });
        for (const m of surfaceMetrics) tables[m]!.push(rows[m]!);
      }
      for (const m of surfaceMetrics) out[m] = summarize(m, labels.classes, tables[m]!, nan);
    }
    const ordered: Partial<Record<MetricName, MetricResult>> = {};
    for (const m of metrics) ordered[m] = out[m];
    return {
      classes: labels.classes,
      numSamples: labels.numSamples,
      spatialShape: labels.spatial,
      spacing: labels.spacing,
      conventions: {
        hausdorff: hdConvention,
        assd: assdConvention,
        percentile: "linear",
        ...describeRule(rule, labels.spatial.length),
      },
      metrics: ordered,
    };
  };
  return { labels, rule, needsSurfaces: surfaceMetrics.length > 0, finish };
}

/**
 * Computes several segmentation metrics in one go: the labels are converted once, the voxel
 * counts taken in one pass, and the surfaces and their two distance transforms computed
 * once per (sample, class) for all surface metrics.
 *
 * @param prediction Predicted labels `(N, ...spatial)`, or scores `(N, C, ...spatial)`
 * (argmax over C; a threshold when C = 1).
 * @param target Target labels `(N, ...spatial)`.
 * @param options Which metrics, tolerance, conventions, empty policies per metric, plus the
 * shared {@linkcode MetricOptions} (spacing, classes, ...).
 * @returns A {@linkcode MetricsReport}.
 *
 * @example Basic usage
 * ```ts
 * import { computeMetrics } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const prediction = { data: new Uint8Array([0, 1, 1, 1, 0, 0]), shape: [1, 6] };
 * const target = { data: new Uint8Array([0, 0, 1, 1, 1, 0]), shape: [1, 6] };
 * const report = computeMetrics(prediction, target, { tolerance: 1 });
 * assert.ok(Math.abs(report.metrics.dice!.mean - 2 / 3) < 1e-12);
 * assert.equal(report.metrics.hausdorff!.mean, 1);
 * assert.equal(report.metrics.nsd!.mean, 1);
 * ```
 */
export function computeMetrics(
  prediction: NdArray,
  target: NdArray,
  options: ComputeMetricsOptions = {},
): MetricsReport {
  const p = plan(prediction, target, options, COMPUTE_KEYS);
  return p.finish((n, _k, c) => surfacePair(p.labels, n, c, p.rule));
}

/**
 * Options of {@linkcode computeMetricsAsync}: those of {@linkcode computeMetrics} plus the
 * distance transform.
 *
 * @example Basic usage
 * ```ts
 * import { edtTransform } from "@segloss/segloss";
 * import type { ComputeMetricsAsyncOptions } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const options: ComputeMetricsAsyncOptions = { transform: edtTransform({ workers: 2 }) };
 * assert.equal(options.transform?.name, "edt");
 * options.transform?.dispose?.();
 * ```
 */
export interface ComputeMetricsAsyncOptions extends ComputeMetricsOptions {
  /**
   * The distance transform for the surface distances (default: the exact synchronous EDT).
   * `edtTransform({ workers })` splits large boxes across Workers; an approximate transform
   * (`jfa`) gives approximate distances. The caller owns it (and disposes it).
   */
  transform?: DistanceTransform;
}

/**
 * {@linkcode computeMetrics} with the surface distances from any
 * {@linkcode DistanceTransform}: for example `edtTransform({ workers: 2 })`, which runs the
 * two directed EDTs of each (sample, class) as one batch of two volumes across Workers.
 *
 * @param prediction Predicted labels `(N, ...spatial)`, or scores `(N, C, ...spatial)`.
 * @param target Target labels `(N, ...spatial)`.
 * @param options {@linkcode computeMetrics}'s options plus `transform`.
 * @returns A promise of the {@linkcode MetricsReport}.
 *
 * @example Basic usage
 * ```ts
 * import { computeMetrics, computeMetricsAsync, edtTransform } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const prediction = { data: new Uint8Array([0, 1, 1, 1, 0, 0]), shape: [1, 6] };
 * const target = { data: new Uint8Array([0, 0, 1, 1, 1, 0]), shape: [1, 6] };
 * const transform = edtTransform({ workers: 2, parallelThreshold: 1 });
 * try {
 *   const report = await computeMetricsAsync(prediction, target, { transform });
 *   assert.deepEqual(report, computeMetrics(prediction, target));
 * } finally {
 *   transform.dispose?.();
 * }
 * ```
 */
export async function computeMetricsAsync(
  prediction: NdArray,
  target: NdArray,
  options: ComputeMetricsAsyncOptions = {},
): Promise<MetricsReport> {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new SeglossTypeError(
      `Expected options to be an object but found ${
        Array.isArray(options) ? "array" : quote(options)
      }`,
    );
  }
  checkKeys(options, [...COMPUTE_KEYS, "transform"], "options");
  const { transform, ...rest } = options;
  if (
    transform !== undefined &&
    (typeof transform !== "object" || transform === null || typeof transform.edt !== "function")
  ) {
    throw new SeglossTypeError(
      `Expected options.transform to be a DistanceTransform { name, edt() } but found ${
        transform === null ? "null" : typeof transform
      }`,
    );
  }
  const p = plan(prediction, target, rest, COMPUTE_KEYS);
  if (!p.needsSurfaces || transform === undefined) {
    return p.finish((n, _k, c) => surfacePair(p.labels, n, c, p.rule));
  }
  const pairs: SurfacePair[][] = [];
  for (let n = 0; n < p.labels.numSamples; n++) {
    const row: SurfacePair[] = [];
    for (const c of p.labels.classes) {
      row.push(await surfacePairAsync(p.labels, n, c, p.rule, transform));
    }
    pairs.push(row);
  }
  return p.finish((n, k) => pairs[n]![k]!);
}

/**
 * A deep copy of `value` that JSON can carry without loss: NaN, Infinity and -Infinity
 * become the strings `"NaN"`, `"Infinity"` and `"-Infinity"` (what Python's
 * `float("NaN")` and `float("Infinity")` read back); everything else is copied as is.
 *
 * @typeParam T The value's type.
 * @param value A plain value (objects, arrays, numbers, strings, booleans, null).
 * @returns The copy, with non-finite numbers spelled out.
 *
 * @example Basic usage
 * ```ts
 * import { jsonSafe } from "./compute.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(JSON.stringify(jsonSafe({ hd: [1.5, Infinity, NaN] })), '{"hd":[1.5,"Infinity","NaN"]}');
 * ```
 */
export function jsonSafe<T>(value: T): unknown {
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "NaN";
    if (value === Infinity) return "Infinity";
    if (value === -Infinity) return "-Infinity";
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => jsonSafe(v));
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = jsonSafe(v);
    return out;
  }
  return value;
}
