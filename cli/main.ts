/**
 * The segloss command line: evaluate a folder of segmentations against the ground truth,
 * write signed distance maps, and draw them.
 *
 * ```sh
 * deno run -A jsr:@segloss/segloss/cli metrics preds/ labels/ -o results/ --png pictures/
 * deno run -A jsr:@segloss/segloss/cli distance mask.nii.gz -o dist.nii.gz --png pictures/
 * ```
 *
 * Commands:
 * - `metrics PRED GT`: files or folders (cases matched by file name), NIfTI-1/2 (`.nii`,
 *   `.nii.gz`), PNG label masks (8/16-bit) and `.npy`; per-case and per-class metrics
 *   (everything `computeMetrics` offers) plus nnU-Net's TP/FP/FN/TN and volumes, a summary
 *   (mean, std, median, NaN counts) as `summary.json` and CSV, and a table on the terminal.
 * - `distance MASK -o OUT`: the signed distance map of each class, as float32 NIfTI with the
 *   mask's header and affine, or `.npy`.
 *
 * Exit codes: 0 success, 1 a failure (a file that cannot be read, a case refused), 2 a
 * usage error. Every command has `--help`.
 *
 * @example Run the CLI in-process
 * ```ts
 * import { main } from "@segloss/segloss/cli";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await main(["--version"]), 0);
 * assert.equal(await main(["no-such-command"]), 2);
 * ```
 *
 * @module
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import process from "node:process";
import { parseArgs } from "node:util";
import { METRIC_NAMES } from "../metrics/mod.ts";
import { signedDistance } from "../transforms/signed_distance.ts";
import { encodeNpy } from "../io/npy.ts";
import { encodeNifti, gzip } from "../io/nifti.ts";
import { asLabels, type CaseResult, evaluateCase, type MetricsJob } from "./_case.ts";
import { distancePicture } from "./_picture.ts";
import { Progress } from "./_progress.ts";
import {
  buildSummary,
  caseHeader,
  caseLines,
  casesCsv,
  metricColumns,
  summaryCsv,
  summaryJson,
  summaryTable,
  tableColumns,
} from "./_report.ts";
import {
  caseId,
  type CasePair,
  CliError,
  describeShape,
  fmtList,
  kindOf,
  matchCases,
  readVolume,
  spacingToFileOrder,
  UsageError,
} from "./_volume.ts";

/**
 * The segloss version the CLI reports (kept equal to deno.json's by tests/cli_test.ts).
 *
 * @example Basic usage
 * ```ts
 * import { VERSION } from "@segloss/segloss/cli";
 * import assert from "node:assert/strict";
 *
 * assert.match(VERSION, /^\d+\.\d+\.\d+/);
 * ```
 */
export const VERSION: string = "0.1.0";

const MAIN_HELP = `segloss ${VERSION} — segmentation metrics and distance maps for real files

Usage:
  segloss metrics PRED GT [options]     score predictions against ground truth
  segloss distance MASK -o OUT [options] signed distance map of each class
  segloss help COMMAND                   help on a command

Files: NIfTI-1/2 (.nii, .nii.gz), PNG label masks (8/16-bit grey or palette), .npy.
Run:   deno run -A jsr:@segloss/segloss/cli …   (Bun and Node: see docs/cli.md)

Options:
  -h, --help      this help
  -V, --version   print the version

Exit codes: 0 success, 1 failure (unreadable file, refused case), 2 usage error.
`;

const METRICS_HELP = `Usage: segloss metrics PRED GT [options]

PRED and GT are two files, or two folders whose cases are matched by file name without
suffix (case1.nii.gz matches case1.nii). Unmatched files are listed (not an error).

Metrics and classes:
  --metrics LIST        comma-separated, from: ${METRIC_NAMES.join(", ")}
                        (default: dice, iou, hausdorff, hd95, assd; nsd when --tolerance)
  --classes LIST        class labels to evaluate, e.g. 1,2,3 (default: 1..max label per case)
  --include-background  also evaluate label 0 when --classes is not given
  --tolerance LIST      surface Dice (nsd) tolerance in mm, one or one per class
  --percentile P        also report the P-th percentile Hausdorff distance as hdP
  --convention NAME     HD95/ASSD convention: monai (default), medpy, medpy-0.4
  --nan skip|propagate  how averages treat NaN (default skip, counted as "nan")
  --empty monai|nnunet  empty-truth Dice/IoU: NaN (monai, default) or 0 (nnU-Net)
  --option KEY=JSON     any other computeMetrics option, e.g. --option border='"none"'
                        --option connectivity='"full"' --option 'empty={"dice":{"both":1}}'
Geometry:
  --spacing LIST        voxel spacing in the files' axis order (NIfTI: x,y,z), overriding headers
  --geometry-tolerance T  relative tolerance of the shape/spacing/affine check (default 1e-3)
  --ignore-geometry     do not compare spacing and affine (shapes must still match)
Output:
  -o, --output DIR      write DIR/summary.json, DIR/cases.csv, DIR/summary.csv
  --json FILE           write the summary JSON to FILE ("-": stdout instead of the table)
  --csv FILE            write the per-case CSV to FILE ("-": stdout instead of the table)
  --png DIR             one picture per case: prediction vs truth, surface distances, HD95
  --slice N             for 3-D pictures: slice index along z (default: through the HD95 point)
  -j, --jobs N          cases in parallel on Workers (default: CPUs - 1; 1: inline)
  -q, --quiet           no table and no progress bar
  -h, --help            this help

Exit codes: 0 every matched case evaluated, 1 a case failed or nothing matched, 2 usage.
`;

const DISTANCE_HELP = `Usage: segloss distance MASK -o OUT [options]

Writes the signed distance map of each class of a label mask (NIfTI, PNG or .npy).
OUT ending in .nii or .nii.gz: float32 NIfTI with MASK's header and affine (a 4th axis
holds the classes when there are several); .npy: float32 array (classes first when several).

Options:
  -o, --output FILE     the map to write (.nii, .nii.gz or .npy)  [required]
  --classes LIST        classes to write (default: every class 0..C-1)
  --num-classes C       number of classes (default: largest label + 1, at least 2)
  --convention NAME     kervadec (default: official boundary-loss code), signed, inner-zero
  --spacing LIST        voxel spacing in the file's axis order (default: NIfTI header, else 1)
  --png DIR             picture of each class's map on a slice (diverging colours, contour)
  --slice N             for 3-D pictures: slice index along z (default: most voxels of the class)
  -q, --quiet           print nothing on success
  -h, --help            this help
`;

function parseList(value: string, flag: string, integer: boolean): number[] {
  const parts = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (parts.length === 0) throw new UsageError(`${flag} needs a comma-separated list of numbers`);
  return parts.map((p) => {
    const v = Number(p);
    if (!Number.isFinite(v) || (integer && (!Number.isInteger(v) || v < 0))) {
      throw new UsageError(
        `${flag}: expected ${integer ? "non-negative integers" : "numbers"} but found "${p}"`,
      );
    }
    return v;
  });
}

function parseNumber(value: string, flag: string, check: (v: number) => boolean, what: string) {
  const v = Number(value);
  if (value.trim() === "" || !Number.isFinite(v) || !check(v)) {
    throw new UsageError(`${flag}: expected ${what} but found "${value}"`);
  }
  return v;
}

function parse<
  const T extends Record<
    string,
    { type: "string" | "boolean"; short?: string; multiple?: boolean }
  >,
>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\. To specify a positional.*$/s, ""));
  }
}

/**
 * Where {@linkcode main} writes: standard output (results) and standard error (warnings,
 * errors). Tests pass their own to capture both.
 *
 * @example Basic usage
 * ```ts
 * import { type CliOutput, main } from "@segloss/segloss/cli";
 * import assert from "node:assert/strict";
 *
 * let text = "";
 * const io: CliOutput = { out: (s) => (text += s), err: (s) => (text += s) };
 * assert.equal(await main(["--version"], io), 0);
 * assert.match(text, /^segloss \d/);
 * ```
 */
export interface CliOutput {
  /** Writes results. */
  out(s: string): void;
  /** Writes warnings and errors. */
  err(s: string): void;
}

const stdio: CliOutput = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

async function writeText(path: string, text: string | Uint8Array): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
  } catch (e) {
    throw new CliError(`${path}: cannot write (${(e as Error).message})`);
  }
}

function workerAvailable(): boolean {
  return typeof Worker !== "undefined";
}

/** Runs the cases on up to `jobs` Workers (inline when 1 or Workers are missing). */
async function runCases(
  pairs: CasePair[],
  job: MetricsJob,
  jobs: number,
  onResult: (index: number, r: CaseResult) => void,
): Promise<number> {
  // a Worker costs about a second to start (module loading): not worth it for one or two cases
  const size = pairs.length < 3 ? 1 : Math.min(jobs, pairs.length);
  let next = 0;
  const inline = async () => {
    while (next < pairs.length) {
      const i = next++;
      onResult(i, await evaluateCase(pairs[i]!, job));
    }
  };
  if (size <= 1 || !workerAvailable()) {
    await inline();
    return 0;
  }
  // JSR's npm packages and bundles carry .js files
  const url = new URL(
    import.meta.url.endsWith(".ts") ? "./_worker.ts" : "./_worker.js",
    import.meta.url,
  );
  const workers: Worker[] = [];
  const lanes: Promise<void>[] = [];
  let failedToStart = false;
  for (let w = 0; w < size; w++) {
    let worker: Worker;
    try {
      worker = new Worker(url.href, { type: "module" });
    } catch {
      failedToStart = true;
      break;
    }
    workers.push(worker);
    lanes.push((async () => {
      while (next < pairs.length) {
        const i = next++;
        const r = await new Promise<CaseResult | null>((resolve) => {
          worker.onmessage = (e: MessageEvent<{ id: number; result: CaseResult }>) =>
            resolve(e.data.result);
          worker.onerror = (e: ErrorEvent) => {
            e.preventDefault?.();
            resolve(null);
          };
          worker.postMessage({ id: i, pair: pairs[i]!, job });
        });
        // a Worker that cannot run (e.g. no permission to load modules): do the case inline
        onResult(i, r ?? await evaluateCase(pairs[i]!, job));
        if (r === null) break;
      }
    })());
  }
  await Promise.all(lanes);
  for (const w of workers) w.terminate();
  if (failedToStart || workers.length === 0) await inline();
  return workers.length;
}

async function metricsCommand(args: string[], io: CliOutput): Promise<number> {
  const { values: v, positionals } = parse(args, {
    help: { type: "boolean", short: "h" },
    metrics: { type: "string" },
    classes: { type: "string" },
    "include-background": { type: "boolean" },
    tolerance: { type: "string" },
    percentile: { type: "string" },
    convention: { type: "string" },
    nan: { type: "string" },
    empty: { type: "string" },
    option: { type: "string", multiple: true },
    spacing: { type: "string" },
    "geometry-tolerance": { type: "string" },
    "ignore-geometry": { type: "boolean" },
    output: { type: "string", short: "o" },
    json: { type: "string" },
    csv: { type: "string" },
    png: { type: "string" },
    slice: { type: "string" },
    jobs: { type: "string", short: "j" },
    quiet: { type: "boolean", short: "q" },
  });
  if (v.help) {
    io.out(METRICS_HELP);
    return 0;
  }
  if (positionals.length !== 2) {
    throw new UsageError(
      `metrics needs PRED and GT (files or folders) but found ${positionals.length} argument${
        positionals.length === 1 ? "" : "s"
      }; see segloss metrics --help`,
    );
  }
  const [predArg, refArg] = positionals as [string, string];
  const options: Record<string, unknown> = {};
  if (v.metrics !== undefined) {
    const names = v.metrics.split(",").map((s) => s.trim()).filter(Boolean);
    for (const n of names) {
      if (!(METRIC_NAMES as readonly string[]).includes(n)) {
        throw new UsageError(
          `--metrics: unknown metric "${n}" (known: ${METRIC_NAMES.join(", ")})`,
        );
      }
    }
    options.metrics = names;
  }
  if (v.classes !== undefined) options.classes = parseList(v.classes, "--classes", true);
  if (v["include-background"]) options.includeBackground = true;
  if (v.tolerance !== undefined) {
    const t = parseList(v.tolerance, "--tolerance", false);
    options.tolerance = t.length === 1 ? t[0] : t;
  }
  if (v.convention !== undefined) {
    if (!["monai", "medpy", "medpy-0.4"].includes(v.convention)) {
      throw new UsageError(
        `--convention: expected monai, medpy or medpy-0.4 but found "${v.convention}"`,
      );
    }
    options.hausdorffConvention = v.convention;
    options.assdConvention = v.convention;
  }
  if (v.nan !== undefined) {
    if (!["skip", "propagate"].includes(v.nan)) {
      throw new UsageError(`--nan: expected skip or propagate but found "${v.nan}"`);
    }
    options.nan = v.nan;
  }
  if (v.empty !== undefined) {
    if (v.empty === "nnunet") {
      // nnU-Net's compute_metrics: 2TP / (2TP + FP + FN) is 0 when only one side is empty
      options.empty = { dice: { target: 0 }, iou: { target: 0 } };
    } else if (v.empty !== "monai") {
      throw new UsageError(`--empty: expected monai or nnunet but found "${v.empty}"`);
    }
  }
  for (const o of v.option ?? []) {
    const eq = o.indexOf("=");
    if (eq <= 0) throw new UsageError(`--option: expected KEY=JSON but found "${o}"`);
    const key = o.slice(0, eq);
    try {
      options[key] = JSON.parse(o.slice(eq + 1));
    } catch {
      throw new UsageError(
        `--option ${key}: the value must be JSON (quote strings: ${key}='"value"') but found ${
          o.slice(eq + 1)
        }`,
      );
    }
  }
  const job: MetricsJob = {
    options,
    geometryTolerance: v["geometry-tolerance"] === undefined ? 1e-3 : parseNumber(
      v["geometry-tolerance"],
      "--geometry-tolerance",
      (x) => x >= 0,
      "a number ≥ 0",
    ),
    ignoreGeometry: v["ignore-geometry"] === true,
  };
  if (v.percentile !== undefined) {
    job.percentile = parseNumber(
      v.percentile,
      "--percentile",
      (x) => x >= 0 && x <= 100,
      "a number in [0, 100]",
    );
  }
  if (v.spacing !== undefined) {
    job.spacing = parseList(v.spacing, "--spacing", false);
    if (job.spacing.some((s) => s <= 0)) throw new UsageError("--spacing: values must be > 0");
  }
  if (v.png !== undefined) job.pictures = v.png;
  if (v.slice !== undefined) {
    job.slice = parseNumber(v.slice, "--slice", (x) => Number.isInteger(x) && x >= 0, "an index");
  }
  const cpus = typeof navigator !== "undefined" && navigator.hardwareConcurrency
    ? navigator.hardwareConcurrency
    : 2;
  // one core stays with the main thread (reading, gunzip, output); 2 cores: inline
  const jobs = v.jobs === undefined
    ? Math.max(1, cpus - 1)
    : parseNumber(v.jobs, "--jobs", (x) => Number.isInteger(x) && x >= 1, "an integer ≥ 1");

  const t0 = performance.now();
  const { pairs, onlyPred, onlyRef } = await matchCases(predArg, refArg);
  for (const f of onlyPred) io.err(`warning: ${f}: no reference case with this name\n`);
  for (const f of onlyRef) io.err(`warning: ${f}: no prediction for this case\n`);
  if (pairs.length === 0) {
    throw new CliError(`no case matched between ${predArg} and ${refArg}`);
  }
  const stdoutTaken = v.json === "-" || v.csv === "-";
  const showTable = !v.quiet && !stdoutTaken;
  const progress = new Progress(
    pairs.length,
    "cases",
    !v.quiet && io === stdio && process.stderr.isTTY === true,
  );
  const print = (line: string) => (progress.enabled ? progress.print(line) : io.out(line + "\n"));
  const idWidth = Math.max(4, ...pairs.map((p) => p.id.length));
  // the per-case table streams in case order as results arrive
  const results: (CaseResult | undefined)[] = new Array(pairs.length);
  let printed = 0;
  let columns: string[] | null = null;
  const flush = () => {
    while (printed < pairs.length && results[printed] !== undefined) {
      const r = results[printed]!;
      if (columns === null && r.error === undefined) {
        columns = tableColumns(metricColumns([r]));
        print(caseHeader(idWidth, columns));
      }
      for (const l of caseLines(r, idWidth, columns ?? [])) print(l);
      printed++;
    }
  };
  const workers = await runCases(pairs, job, jobs, (i, r) => {
    results[i] = r;
    if (r.error !== undefined && !showTable) io.err(`error: ${r.error}\n`);
    progress.tick(r.id);
    if (showTable) flush();
  });
  progress.done();
  const all = results as CaseResult[];
  const summary = buildSummary(all, {
    version: VERSION,
    prediction: predArg,
    reference: refArg,
    options,
    percentile: job.percentile,
    onlyPred,
    onlyRef,
    seconds: (performance.now() - t0) / 1000,
    workers,
  });
  const json = summaryJson(summary);
  if (v.output !== undefined) {
    await writeText(join(v.output, "summary.json"), json);
    await writeText(join(v.output, "cases.csv"), casesCsv(all));
    await writeText(join(v.output, "summary.csv"), summaryCsv(summary));
  }
  if (v.json !== undefined) {
    if (v.json === "-") io.out(json);
    else await writeText(v.json, json);
  }
  if (v.csv !== undefined) {
    if (v.csv === "-") io.out(casesCsv(all));
    else await writeText(v.csv, casesCsv(all));
  }
  const failed = all.filter((r) => r.error !== undefined).length;
  if (showTable) {
    const cols = tableColumns(summary.columns as string[]);
    io.out(`\nsummary over ${all.length - failed} case${all.length - failed === 1 ? "" : "s"}`);
    io.out(
      `${failed ? `, ${failed} failed` : ""}${
        onlyPred.length + onlyRef.length ? `, ${onlyPred.length + onlyRef.length} unmatched` : ""
      } (${((performance.now() - t0) / 1000).toFixed(2)} s, ${
        workers ? `${workers} workers` : "inline"
      })\n`,
    );
    if (all.length > failed) io.out(summaryTable(summary, cols) + "\n");
    if (job.pictures !== undefined) io.out(`pictures: ${job.pictures}\n`);
  }
  return failed > 0 ? 1 : 0;
}

async function distanceCommand(args: string[], io: CliOutput): Promise<number> {
  const { values: v, positionals } = parse(args, {
    help: { type: "boolean", short: "h" },
    output: { type: "string", short: "o" },
    classes: { type: "string" },
    "num-classes": { type: "string" },
    convention: { type: "string" },
    spacing: { type: "string" },
    png: { type: "string" },
    slice: { type: "string" },
    quiet: { type: "boolean", short: "q" },
  });
  if (v.help) {
    io.out(DISTANCE_HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      `distance needs one MASK file but found ${positionals.length} arguments; see segloss distance --help`,
    );
  }
  const out = v.output;
  if (out === undefined) throw new UsageError("distance needs -o OUT (.nii, .nii.gz or .npy)");
  const outKind = kindOf(out);
  if (outKind !== "nifti" && outKind !== "npy") {
    throw new UsageError(`-o ${out}: expected a .nii, .nii.gz or .npy file name`);
  }
  const convention = v.convention ?? "kervadec";
  if (!["kervadec", "signed", "inner-zero"].includes(convention)) {
    throw new UsageError(
      `--convention: expected kervadec, signed or inner-zero but found "${convention}"`,
    );
  }
  const spacingArg = v.spacing === undefined ? undefined : parseList(v.spacing, "--spacing", false);
  const slice = v.slice === undefined
    ? undefined
    : parseNumber(v.slice, "--slice", (x) => Number.isInteger(x) && x >= 0, "an index");
  const mask = positionals[0]!;
  const vol = await readVolume(mask, spacingArg);
  const labels = asLabels(vol.array, mask);
  let max = 0;
  for (let i = 0; i < labels.data.length; i++) {
    const x = Number(labels.data[i]!);
    if (!Number.isInteger(x) || x < 0) {
      throw new CliError(
        `${mask}: expected non-negative integer labels but found ${x} at flat index ${i}`,
      );
    }
    if (x > max) max = x;
  }
  const numClasses = v["num-classes"] === undefined ? Math.max(2, max + 1) : parseNumber(
    v["num-classes"],
    "--num-classes",
    (x) => Number.isInteger(x) && x >= 1,
    "an integer ≥ 1",
  );
  if (max >= numClasses) {
    throw new CliError(`${mask}: label ${max} is not below --num-classes ${numClasses}`);
  }
  const classes = v.classes === undefined
    ? Array.from({ length: numClasses }, (_, c) => c)
    : parseList(v.classes, "--classes", true);
  for (const c of classes) {
    if (c >= numClasses) {
      throw new UsageError(
        `--classes: class ${c} is not below the number of classes ${numClasses}`,
      );
    }
  }
  const t0 = performance.now();
  const maps = await signedDistance(
    { data: labels.data, shape: [1, ...labels.shape] },
    { numClasses, spacing: vol.spacing, convention: convention as "kervadec" },
  );
  const vox = labels.data.length;
  const picked = new Float32Array(classes.length * vox);
  classes.forEach((c, k) => picked.set(maps.data.subarray(c * vox, (c + 1) * vox), k * vox));
  const shape = classes.length === 1 ? [...labels.shape] : [classes.length, ...labels.shape];
  let bytes: Uint8Array;
  if (outKind === "npy") bytes = encodeNpy({ data: picked, shape });
  else {
    const spacing = classes.length === 1 ? vol.spacing : [1, ...vol.spacing];
    bytes = encodeNifti(
      { data: picked, shape },
      vol.nifti !== null ? { like: vol.nifti, spacing } : { spacing },
    );
    if (out.toLowerCase().endsWith(".gz")) bytes = await gzip(bytes);
  }
  await writeText(out, bytes);
  const seconds = (performance.now() - t0) / 1000;
  if (!v.quiet) {
    io.out(
      `${out}: ${convention} signed distance of class${classes.length > 1 ? "es" : ""} ${
        classes.join(", ")
      }, ${describeShape(vol)}, spacing ${fmtList(spacingToFileOrder(vol.spacing, vol.kind))} (${
        seconds.toFixed(2)
      } s)\n`,
    );
  }
  if (v.png !== undefined) {
    if (labels.shape.length !== 2 && labels.shape.length !== 3) {
      throw new CliError(
        `${mask}: pictures need a 2-D or 3-D mask but found ${labels.shape.length} axes`,
      );
    }
    const unit = vol.spacingFromHeader || spacingArg !== undefined ? "MM" : "VOXELS";
    const { png, slices } = distancePicture(
      labels,
      picked,
      classes,
      vol.spacing,
      slice,
      `${convention} signed distance`,
      unit,
      `${caseId(mask)}`,
    );
    const file = join(v.png, `${caseId(mask)}_distance.png`);
    await writeText(file, png);
    if (!v.quiet) {
      io.out(
        `${file}: picture${
          slices[0] === null ? "" : ` (slice${slices.length > 1 ? "s" : ""} ${slices.join(", ")})`
        }\n`,
      );
    }
  }
  return 0;
}

/**
 * Runs the command line with `args` (without the program name) and returns the exit code:
 * 0 success, 1 failure (a file or case problem, reported on stderr with the file's name),
 * 2 usage error.
 *
 * @param args The arguments, e.g. `["metrics", "preds/", "labels/", "-o", "out/"]`.
 * @returns The exit code.
 *
 * @example Basic usage
 * ```ts
 * import { main } from "@segloss/segloss/cli";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await main(["metrics", "--help"]), 0);
 * assert.equal(await main(["metrics", "only-one-argument"]), 2);
 * ```
 */
export async function main(args: readonly string[], io: CliOutput = stdio): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === undefined || command === "-h" || command === "--help") {
      io.out(MAIN_HELP);
      return command === undefined ? 2 : 0;
    }
    if (command === "-V" || command === "--version") {
      io.out(`segloss ${VERSION}\n`);
      return 0;
    }
    if (command === "help") {
      const topic = rest[0];
      io.out(topic === "metrics" ? METRICS_HELP : topic === "distance" ? DISTANCE_HELP : MAIN_HELP);
      return 0;
    }
    if (command === "metrics") return await metricsCommand(rest, io);
    if (command === "distance") return await distanceCommand(rest, io);
    throw new UsageError(
      `unknown command "${command}"${
        command.startsWith("m")
          ? ' (did you mean "metrics"?)'
          : command.startsWith("d")
          ? ' (did you mean "distance"?)'
          : ""
      }; commands: metrics, distance`,
    );
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`segloss: ${e.message}\n`);
      return 2;
    }
    io.err(`segloss: ${(e as Error).message}\n`);
    return 1;
  }
}

const isMain = import.meta.main ??
  (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href);
if (isMain) {
  const code = await main(process.argv.slice(2));
  process.exitCode = code;
}
