/**
 * Private to cli/: the summary of `segloss metrics` (nnU-Net's `summary.json` layout plus
 * mean, std, median, min, max and counts per metric and class), its CSV forms and the
 * terminal table.
 *
 * @module
 */
import { jsonSafe } from "../metrics/mod.ts";
import type { CaseResult } from "./_case.ts";

/** The count columns, after the metrics. */
export const COUNT_COLUMNS = ["TP", "FP", "FN", "TN", "n_pred", "n_ref", "vol_pred", "vol_ref"];

/** Statistics of one metric and class over the cases. */
export interface Stats {
  /** Mean of the non-NaN values (NaN when none). */
  mean: number;
  /** Population standard deviation (numpy's default, ddof = 0) of the non-NaN values. */
  std: number;
  /** Median of the non-NaN values. */
  median: number;
  /** Smallest non-NaN value. */
  min: number;
  /** Largest non-NaN value. */
  max: number;
  /** Number of non-NaN values. */
  count: number;
  /** Number of NaN values (skipped). */
  nan: number;
}

/** Mean, std, median, min, max, count and NaN count of `values`. */
export function stats(values: readonly number[]): Stats {
  const ok = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  const n = ok.length;
  const nan = values.length - n;
  if (n === 0) return { mean: NaN, std: NaN, median: NaN, min: NaN, max: NaN, count: 0, nan };
  const mean = ok.reduce((a, b) => a + b, 0) / n;
  const std = Number.isFinite(mean)
    ? Math.sqrt(ok.reduce((a, b) => a + (b - mean) ** 2, 0) / n)
    : NaN;
  const median = n % 2 ? ok[(n - 1) / 2]! : (ok[n / 2 - 1]! + ok[n / 2]!) / 2;
  return { mean, std, median, min: ok[0]!, max: ok[n - 1]!, count: n, nan };
}

/** Metric columns present in the results, in first-seen order (metrics, then counts). */
export function metricColumns(results: readonly CaseResult[]): string[] {
  const seen: string[] = [];
  for (const r of results) {
    for (const row of Object.values(r.values ?? {})) {
      for (const k of Object.keys(row)) if (!seen.includes(k)) seen.push(k);
    }
  }
  const metrics = seen.filter((k) => !COUNT_COLUMNS.includes(k));
  return [...metrics, ...COUNT_COLUMNS.filter((k) => seen.includes(k))];
}

/** The union of the evaluated classes, ascending. */
export function allClasses(results: readonly CaseResult[]): number[] {
  const s = new Set<number>();
  for (const r of results) for (const c of r.classes ?? []) s.add(c);
  return [...s].sort((a, b) => a - b);
}

/** What the summary records besides the cases. */
export interface RunInfo {
  /** segloss version. */
  version: string;
  /** PRED argument. */
  prediction: string;
  /** GT argument. */
  reference: string;
  /** The computeMetrics options in force. */
  options: Record<string, unknown>;
  /** `--percentile`. */
  percentile?: number;
  /** Unmatched prediction files. */
  onlyPred: string[];
  /** Unmatched reference files. */
  onlyRef: string[];
  /** Wall time in seconds. */
  seconds: number;
  /** Workers used (0: inline). */
  workers: number;
}

/** nnU-Net's key names (`Dice`, `IoU`) beside ours, so scripts written for its summary.json work. */
function withNnunetNames(row: Record<string, number>): Record<string, number> {
  const out = { ...row };
  if (row.dice !== undefined) out.Dice = row.dice;
  if (row.iou !== undefined) out.IoU = row.iou;
  return out;
}

/** The summary object (before {@linkcode jsonSafe}). */
export function buildSummary(
  results: readonly CaseResult[],
  info: RunInfo,
): Record<string, unknown> {
  const good = results.filter((r) => r.error === undefined);
  const classes = allClasses(good);
  const columns = metricColumns(good);
  const summary: Record<string, Record<string, unknown>> = {};
  const mean: Record<string, Record<string, number>> = {};
  const foreground: Record<string, number> = {};
  for (const c of classes) mean[String(c)] = {};
  for (const m of columns) {
    const perClass: Record<string, unknown> = {};
    const classMeans: number[] = [];
    for (const c of classes) {
      const vals: number[] = [];
      let missing = 0;
      for (const r of good) {
        const v = r.values?.[String(c)]?.[m];
        if (v === undefined) missing++;
        else vals.push(v);
      }
      const s = stats(vals);
      perClass[String(c)] = missing > 0 ? { ...s, missing } : s;
      mean[String(c)]![m] = s.mean;
      if (!Number.isNaN(s.mean)) classMeans.push(s.mean);
    }
    const fg = classMeans.length ? classMeans.reduce((a, b) => a + b, 0) / classMeans.length : NaN;
    perClass.foreground_mean = fg;
    foreground[m] = fg;
    summary[m] = perClass;
  }
  return {
    tool: "segloss metrics",
    version: info.version,
    prediction: info.prediction,
    reference: info.reference,
    options: info.options,
    ...(info.percentile !== undefined ? { percentile: info.percentile } : {}),
    classes,
    columns,
    metric_per_case: good.map((r) => ({
      case: r.id,
      prediction_file: r.prediction,
      reference_file: r.reference,
      shape: r.shape,
      spacing: r.spacing,
      metrics: Object.fromEntries(
        Object.entries(r.values ?? {}).map(([c, row]) => [c, withNnunetNames(row)]),
      ),
      ...(r.picture ? { picture: r.picture } : {}),
    })),
    mean: Object.fromEntries(Object.entries(mean).map(([c, row]) => [c, withNnunetNames(row)])),
    foreground_mean: withNnunetNames(foreground),
    summary,
    skipped: {
      failed: results.filter((r) => r.error !== undefined).map((r) => ({
        case: r.id,
        prediction_file: r.prediction,
        reference_file: r.reference,
        error: r.error,
      })),
      unmatched_prediction: info.onlyPred,
      unmatched_reference: info.onlyRef,
    },
    cases: { evaluated: good.length, failed: results.length - good.length },
    timing: { seconds: info.seconds, workers: info.workers },
  };
}

/** JSON text of the summary (NaN and Infinity as strings, like {@linkcode jsonSafe}). */
export function summaryJson(summary: Record<string, unknown>): string {
  return JSON.stringify(jsonSafe(summary), null, 2) + "\n";
}

function csvNumber(v: number | undefined): string {
  if (v === undefined) return "";
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "inf";
  if (v === -Infinity) return "-inf";
  return String(v);
}

function csvText(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per case and class. */
export function casesCsv(results: readonly CaseResult[]): string {
  const good = results.filter((r) => r.error === undefined);
  const columns = metricColumns(good);
  const lines = [["case", "class", ...columns, "prediction_file", "reference_file"].join(",")];
  for (const r of good) {
    for (const c of r.classes ?? []) {
      const row = r.values![String(c)]!;
      lines.push(
        [
          csvText(r.id),
          String(c),
          ...columns.map((m) => csvNumber(row[m])),
          csvText(r.prediction),
          csvText(r.reference),
        ].join(","),
      );
    }
  }
  return lines.join("\n") + "\n";
}

/** One row per metric and class (and the foreground mean). */
export function summaryCsv(summary: Record<string, unknown>): string {
  const lines = ["metric,class,mean,std,median,min,max,count,nan"];
  const s = summary.summary as Record<string, Record<string, Stats | number>>;
  for (const [m, perClass] of Object.entries(s)) {
    for (const [c, st] of Object.entries(perClass)) {
      if (typeof st === "number") {
        lines.push([m, c, csvNumber(st), "", "", "", "", "", ""].join(","));
        continue;
      }
      lines.push(
        [m, c, st.mean, st.std, st.median, st.min, st.max, st.count, st.nan].map((v) =>
          typeof v === "number" ? csvNumber(v) : v
        ).join(","),
      );
    }
  }
  return lines.join("\n") + "\n";
}

/** A number in at most 6 characters for the table. */
export function short(v: number | undefined): string {
  if (v === undefined) return "-";
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
  const a = Math.abs(v);
  if (a >= 1e5 || (a > 0 && a < 1e-3)) return v.toExponential(1);
  return a >= 100 ? v.toFixed(1) : a >= 10 ? v.toFixed(2) : v.toFixed(3);
}

/** The table columns shown on the terminal: the metrics, then TP/FP/FN and n_ref. */
export function tableColumns(columns: readonly string[]): string[] {
  return [
    ...columns.filter((c) => !COUNT_COLUMNS.includes(c)),
    ...["TP", "FP", "FN", "n_ref"].filter((c) => columns.includes(c)),
  ];
}

function colWidth(name: string): number {
  return Math.max(8, name.length);
}

function pad(s: string, w: number, left = false): string {
  return left ? s.padEnd(w) : s.padStart(w);
}

/** The header line of the per-case table. */
export function caseHeader(idWidth: number, columns: readonly string[]): string {
  return [pad("case", idWidth, true), pad("class", 5), ...columns.map((c) => pad(c, colWidth(c)))]
    .join(" ");
}

/** The lines of one case in the per-case table. */
export function caseLines(r: CaseResult, idWidth: number, columns: readonly string[]): string[] {
  if (r.error !== undefined) return [`${pad(r.id, idWidth, true)} FAILED: ${r.error}`];
  return (r.classes ?? []).map((c, k) =>
    [
      pad(k === 0 ? r.id : "", idWidth, true),
      pad(String(c), 5),
      ...columns.map((m) => pad(short(r.values![String(c)]![m]), colWidth(m))),
    ].join(" ")
  );
}

/** The summary table: one line per metric and class. */
export function summaryTable(summary: Record<string, unknown>, columns: readonly string[]): string {
  const s = summary.summary as Record<string, Record<string, Stats | number>>;
  const mw = Math.max(6, ...columns.map((c) => c.length));
  const out = [
    [
      pad("metric", mw, true),
      pad("class", 5),
      pad("mean", 9),
      pad("std", 9),
      pad("median", 9),
      pad("n", 5),
      pad("NaN", 4),
    ].join(" "),
  ];
  for (const m of columns) {
    const perClass = s[m];
    // counts are in summary.json and the CSVs; the terminal summary keeps to the metrics
    if (perClass === undefined || COUNT_COLUMNS.includes(m)) continue;
    for (const [c, st] of Object.entries(perClass)) {
      if (typeof st === "number") {
        if (Object.keys(perClass).length > 2 && !COUNT_COLUMNS.includes(m)) {
          out.push([pad(m, mw, true), pad("fg", 5), pad(short(st), 9)].join(" "));
        }
        continue;
      }
      out.push(
        [
          pad(m, mw, true),
          pad(c, 5),
          pad(short(st.mean), 9),
          pad(short(st.std), 9),
          pad(short(st.median), 9),
          pad(String(st.count), 5),
          pad(String(st.nan), 4),
        ].join(" "),
      );
    }
  }
  return out.join("\n");
}
