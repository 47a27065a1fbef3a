/**
 * HD95 on 256³ masks: segloss's `hausdorff()` vs a scipy computation (binary_erosion +
 * distance_transform_edt + np.percentile) in the same run, on the same masks, same spacing.
 *
 * Run: deno run -A bench/metrics.ts [--size 256] [--repeats 5] [--scipy-repeats 1]
 * (bun run bench/metrics.ts works too). Prints a Markdown table with the ratios.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import process from "node:process";
import { mkdirSync, writeFileSync } from "node:fs";
import { computeMetricsAsync, hausdorff } from "../metrics/mod.ts";
import { edtTransform } from "../transforms/edt.ts";
import { prepareLabels } from "../metrics/input.ts";
import { hausdorffOfPair, surfacePair, surfaceRule } from "../metrics/surface.ts";

const args = process.argv.slice(2);
function arg(name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}
const size = arg("size", 256);
const repeats = arg("repeats", 5);
const scipyRepeats = arg("scipy-repeats", 1);
const spacing = [2, 0.9, 0.9];

/** A perturbed ellipsoid: radius scaled by 1 + amp·sin·cos·sin of the coordinates. */
function blob(
  n: number,
  centre: [number, number, number],
  radius: number,
  amp: number,
  phase: number,
): Uint8Array {
  const m = new Uint8Array(n * n * n);
  const [cz, cy, cx] = centre;
  for (let z = 0; z < n; z++) {
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const dz = (z - cz) / (radius * 0.6);
        const dy = (y - cy) / radius;
        const dx = (x - cx) / (radius * 0.85);
        const r = Math.sqrt(dz * dz + dy * dy + dx * dx);
        const wobble = 1 +
          amp * Math.sin(x / 7 + phase) * Math.cos(y / 9) * Math.sin(z / 5 + phase);
        if (r < wobble) m[(z * n + y) * n + x] = 1;
      }
    }
  }
  return m;
}

interface Scenario {
  name: string;
  pred: Uint8Array;
  target: Uint8Array;
}

const c = size / 2;
const scenarios: Scenario[] = [];
{
  const target = blob(size, [c, c, c], size * 0.25, 0.12, 0);
  const pred = blob(size, [c + 3, c - 4, c + 2], size * 0.24, 0.15, 1.3);
  // a few stray false positives far away
  for (const [z, y, x] of [[10, 20, 30], [size - 12, size - 40, 25], [30, size - 20, size - 20]]) {
    for (let d = 0; d < 3; d++) pred[((z! + d) * size + y!) * size + x!] = 1;
  }
  scenarios.push({ name: "blob r≈0.25·n (8% fg), shifted + strays", pred, target });
}
{
  const target = blob(size, [c, c, c], size * 0.42, 0.08, 0.5);
  const pred = blob(size, [c - 2, c + 3, c], size * 0.41, 0.1, 2.1);
  scenarios.push({ name: "large blob r≈0.42·n (38% fg), shifted", pred, target });
}
{
  const target = blob(size, [c * 0.8, c * 1.1, c * 0.9], size * 0.06, 0.1, 0);
  const pred = blob(size, [c * 0.8 + 1, c * 1.1 - 1, c * 0.9 + 2], size * 0.055, 0.12, 0.7);
  scenarios.push({ name: "small blob r≈0.06·n (0.1% fg), shifted", pred, target });
}
{
  // cut by the volume's x = 0 face: the default border rule makes that face a surface
  const target = blob(size, [c, c * 0.9, size * 0.08], size * 0.22, 0.1, 0.3);
  const pred = blob(size, [c + 2, c * 0.9 - 3, size * 0.08 + 2], size * 0.21, 0.12, 1.1);
  scenarios.push({ name: "blob r≈0.22·n cut by the volume border, shifted", pred, target });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

mkdirSync(new URL("./out/", import.meta.url), { recursive: true });
const rows: string[] = [];
for (const s of scenarios) {
  const shape = [1, size, size, size];
  const p = { data: s.pred, shape };
  const t = { data: s.target, shape };
  const ours: number[] = [];
  let value = NaN;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    value = hausdorff(p, t, { spacing, percentile: 95 }).values[0]![0]!;
    ours.push(performance.now() - t0);
  }
  // the same through computeMetricsAsync with the EDT split across 2 Workers
  const transform = edtTransform({ workers: 2 });
  const par: number[] = [];
  let valuePar = NaN;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    const rep = await computeMetricsAsync(p, t, { spacing, metrics: ["hd95"], transform });
    valuePar = rep.metrics.hd95!.values[0]![0]!;
    par.push(performance.now() - t0);
  }
  transform.dispose?.();
  // the same computation with the EDT over the whole volume (no bounding-box crop)
  const full: number[] = [];
  let valueFull = NaN;
  for (let r = 0; r < Math.min(repeats, 2); r++) {
    const t0 = performance.now();
    const labels = prepareLabels(p, t, { spacing });
    valueFull = hausdorffOfPair(
      surfacePair(labels, 0, 1, surfaceRule({}, 3), false),
      95,
      "monai",
      false,
    );
    full.push(performance.now() - t0);
  }
  const pf = new URL("./out/metrics_pred.raw", import.meta.url);
  const tf = new URL("./out/metrics_target.raw", import.meta.url);
  writeFileSync(pf, s.pred);
  writeFileSync(tf, s.target);
  const py = spawnSync("python3", [
    new URL("./metrics_scipy.py", import.meta.url).pathname,
    pf.pathname,
    tf.pathname,
    String(size),
    String(size),
    String(size),
    ...spacing.map(String),
    String(scipyRepeats),
    "3",
  ], { encoding: "utf8", maxBuffer: 1 << 20 });
  if (py.status !== 0) throw new Error(`scipy side failed: ${py.stderr}`);
  const sc = JSON.parse(py.stdout) as {
    full: { ms: number[]; hd95: number };
    crop: { ms: number[]; hd95: number };
  };
  const diff = Math.max(
    Math.abs(sc.full.hd95 - value),
    Math.abs(sc.crop.hd95 - valueFull),
    Math.abs(sc.full.hd95 - valuePar),
  );
  const mOurs = median(ours);
  const mPar = median(par);
  const mFull = median(full);
  const sFull = median(sc.full.ms);
  const sCrop = median(sc.crop.ms);
  rows.push(
    `| ${s.name} | ${value.toFixed(4)} | ${diff.toExponential(1)} | ${mOurs.toFixed(0)} | ${
      mPar.toFixed(0)
    } | ${mFull.toFixed(0)} | ${sFull.toFixed(0)} | ${sCrop.toFixed(0)} | **${
      (sFull / mOurs).toFixed(1)
    }x** | ${(sCrop / mOurs).toFixed(1)}x | ${(sFull / mPar).toFixed(1)}x | ${
      (sFull / mFull).toFixed(1)
    }x |`,
  );
  console.error(`done: ${s.name}`);
}
console.log(
  `HD95 (MONAI convention; surface: face connectivity, volume border is a surface), ${size}³, spacing [${
    spacing.join(", ")
  }], ${
    typeof Deno !== "undefined" ? `Deno ${Deno.version.deno}` : `Bun ${process.versions.bun}`
  }; medians of ${repeats} (ours) / ${scipyRepeats} (scipy whole volume) / 3 (scipy cropped) runs, ms\n`,
);
console.log(
  "| masks | HD95 | max abs diff vs scipy | segloss `hausdorff()` | segloss async, 2 Workers | segloss, EDT over whole volume | scipy whole volume | scipy cropped to bbox (MONAI-style) | scipy / segloss | scipy cropped / segloss | scipy / segloss 2 Workers | scipy / segloss whole volume |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of rows) console.log(r);
