/**
 * Private to cli/: one case of `segloss metrics` (read both files, check their geometry,
 * compute the metrics and nnU-Net's counts, draw the picture). Runs on a Worker or inline.
 *
 * @module
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { NdArray } from "../core/ndarray.ts";
import { computeMetrics, hausdorff } from "../metrics/mod.ts";
import {
  type CasePair,
  checkGeometry,
  describeShape,
  readVolume,
  spacingToFileOrder,
} from "./_volume.ts";
import { overlayPicture } from "./_picture.ts";

/** What every case is evaluated with (plain data: it crosses to Workers). */
export interface MetricsJob {
  /** computeMetrics options built from the flags, plus `--option` pass-through. */
  options: Record<string, unknown>;
  /** An extra Hausdorff percentile (`--percentile`), reported as `hd<P>`. */
  percentile?: number;
  /** `--spacing`, in the files' own axis order. */
  spacing?: number[];
  /** Geometry check tolerance. */
  geometryTolerance: number;
  /** Skip the spacing and affine checks (shape is always checked). */
  ignoreGeometry: boolean;
  /** `--png DIR`. */
  pictures?: string;
  /** `--slice`. */
  slice?: number;
}

/** The result of one case. */
export interface CaseResult {
  /** Case id. */
  id: string;
  /** Prediction file. */
  prediction: string;
  /** Reference file. */
  reference: string;
  /** Shape in file order. */
  shape?: string;
  /** Spacing in file order. */
  spacing?: number[];
  /** The evaluated classes. */
  classes?: number[];
  /** `values[class][metric]`. */
  values?: Record<string, Record<string, number>>;
  /** The picture written, if any. */
  picture?: string;
  /** Why the case failed. */
  error?: string;
  /** Milliseconds spent. */
  ms: number;
}

/** nnU-Net's per-class counts: TP, FP, FN, TN, n_pred, n_ref; volumes in physical units. */
export function counts(
  pred: NdArray,
  ref: NdArray,
  classes: readonly number[],
  voxelVolume: number,
): Record<string, number>[] {
  const K = classes.length;
  const tp = new Float64Array(K), np = new Float64Array(K), nr = new Float64Array(K);
  const index = new Map(classes.map((c, k) => [c, k]));
  const p = pred.data, r = ref.data;
  const n = p.length;
  for (let i = 0; i < n; i++) {
    const a = index.get(Number(p[i]!));
    const b = index.get(Number(r[i]!));
    if (a !== undefined) np[a]!++;
    if (b !== undefined) nr[b]!++;
    if (a !== undefined && a === b) tp[a]!++;
  }
  return classes.map((_, k) => {
    const TP = tp[k]!, FP = np[k]! - tp[k]!, FN = nr[k]! - tp[k]!;
    return {
      TP,
      FP,
      FN,
      TN: n - TP - FP - FN,
      n_pred: np[k]!,
      n_ref: nr[k]!,
      vol_pred: np[k]! * voxelVolume,
      vol_ref: nr[k]! * voxelVolume,
    };
  });
}

/** Labels as an integer array (NIfTI float and int64 labels are common). */
export function asLabels(a: NdArray, path: string): NdArray {
  const d = a.data;
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) {
    const out = new Int32Array(d.length);
    for (let i = 0; i < d.length; i++) {
      const v = d[i]!;
      if (v < 0n || v > 2147483647n) {
        throw new Error(`${path}: expected labels in [0, 2^31) but found ${v} at flat index ${i}`);
      }
      out[i] = Number(v);
    }
    return { data: out, shape: a.shape };
  }
  if (!(d instanceof Float32Array || d instanceof Float64Array)) return a;
  const out = new Int32Array(d.length);
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (!Number.isInteger(v) || v < 0 || v > 2 ** 31 - 1) {
      throw new Error(
        `${path}: expected integer labels but found ${v} at flat index ${i} (is this a probability map?)`,
      );
    }
    out[i] = v;
  }
  return { data: out, shape: a.shape };
}

/** Evaluates one case; never throws (a failure is returned as `error`). */
export async function evaluateCase(pair: CasePair, job: MetricsJob): Promise<CaseResult> {
  const t0 = performance.now();
  const base = { id: pair.id, prediction: pair.pred, reference: pair.ref };
  try {
    const [pv, rv] = await Promise.all([
      readVolume(pair.pred, job.spacing),
      readVolume(pair.ref, job.spacing),
    ]);
    checkGeometry(pv, rv, job.geometryTolerance, job.ignoreGeometry);
    const pred = asLabels(pv.array, pair.pred);
    const ref = asLabels(rv.array, pair.ref);
    const spacing = rv.spacing;
    const batch = (a: NdArray) => ({ data: a.data, shape: [1, ...a.shape] });
    const options = { ...job.options, spacing };
    let report;
    try {
      report = computeMetrics(batch(pred), batch(ref), options);
    } catch (e) {
      throw new Error(`${pair.pred} vs ${pair.ref}: ${(e as Error).message}`);
    }
    const classes = report.classes;
    const values: Record<string, Record<string, number>> = {};
    for (const c of classes) values[String(c)] = {};
    for (const [name, result] of Object.entries(report.metrics)) {
      if (result === undefined) continue;
      classes.forEach((c, k) => (values[String(c)]![name] = result.values[0]![k]!));
    }
    if (job.percentile !== undefined) {
      const shared: Record<string, unknown> = { spacing, classes, percentile: job.percentile };
      for (const key of ["border", "connectivity", "nan"]) {
        if (job.options[key] !== undefined) shared[key] = job.options[key];
      }
      if (job.options.hausdorffConvention !== undefined) {
        shared.convention = job.options.hausdorffConvention;
      }
      const h = hausdorff(batch(pred), batch(ref), shared);
      classes.forEach((c, k) => (values[String(c)]![`hd${job.percentile}`] = h.values[0]![k]!));
    }
    const voxelVolume = spacing.reduce((a, b) => a * b, 1);
    counts(pred, ref, classes, voxelVolume).forEach((row, k) =>
      Object.assign(values[String(classes[k])]!, row)
    );
    let picture: string | undefined;
    if (job.pictures !== undefined && (pred.shape.length === 2 || pred.shape.length === 3)) {
      const hd95 = report.metrics.hd95?.values[0] ??
        hausdorff(batch(pred), batch(ref), { spacing, classes, percentile: 95 }).values[0]!;
      const { png } = overlayPicture(
        pred,
        ref,
        classes,
        spacing,
        hd95,
        job.slice,
        rv.spacingFromHeader || job.spacing !== undefined ? "MM" : "VOXELS",
        `${pair.id}: PREDICTION VS TRUTH`,
        classes.map((c) =>
          values[String(c)]!.dice ??
            2 * values[String(c)]!.TP! / (values[String(c)]!.n_pred! + values[String(c)]!.n_ref!)
        ),
      );
      await mkdir(job.pictures, { recursive: true });
      picture = join(job.pictures, `${pair.id}.png`);
      await writeFile(picture, png);
    }
    return {
      ...base,
      shape: describeShape(rv),
      spacing: spacingToFileOrder(spacing, rv.kind),
      classes,
      values,
      picture,
      ms: performance.now() - t0,
    };
  } catch (e) {
    return { ...base, error: (e as Error).message, ms: performance.now() - t0 };
  }
}
