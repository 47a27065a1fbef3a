/**
 * `evaluate` on the classic example (logits 16x8x64x64 standard normal, labels 16x64x64
 * uniform over 8 classes): softmax, signed distance maps per sample and class, dice +
 * 0.01·boundary, gradient — segloss's CPU backend against (1) the official computation in
 * PyTorch (torch.set_num_threads(1); maps per sample with scipy's one_hot2dist, softmax, dice,
 * SurfaceLoss, backward) and (2) a numpy/scipy reimplementation of it with the analytic
 * backward pass (bench/evaluate_ref.py), interleaved in rounds in one run on the same data,
 * with ratios.
 *
 * Run: `deno task bench:evaluate` (`deno run -A bench/evaluate.ts`, or `bun bench/evaluate.ts`);
 * `REPEATS=30` to change the number of timed runs. The references run on `$PYTHON`, else
 * Debian's `/usr/bin/python3` (python3-torch 1.13, python3-scipy), else `python3`; without
 * torch the PyTorch rows are left out.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createScorer, signedDistance } from "../mod.ts";
import { mulberry32 } from "../tests/util.ts";

const N = 16, C = 8, H = 64, W = 64;
const REPEATS = Number(
  (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env
    .REPEATS ?? 20,
);

/** Deterministic standard normals (mulberry32 + Box–Muller). */
function normals(n: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  // (x + 0.5) / 2^32 for mulberry32's x / 2^32, exactly: never 0, so the log is finite
  const u = () => rand() + 2 ** -33;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(u())), th = 2 * Math.PI * u();
    out[i] = r * Math.cos(th);
    if (i + 1 < n) out[i + 1] = r * Math.sin(th);
  }
  return out;
}

const logits = normals(N * C * H * W, 1);
const labels = new Uint8Array(N * H * W);
{
  const r = normals(N * H * W, 2);
  // uniform over the 8 classes from the normal's CDF bucket (deterministic, exact uniform
  // would need another generator; the bucket of Φ(x) is uniform)
  const erf = (x: number) => {
    const t = 1 / (1 + 0.3275911 * Math.abs(x));
    const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t +
          0.254829592) * t * Math.exp(-x * x);
    return x >= 0 ? y : -y;
  };
  for (let i = 0; i < labels.length; i++) {
    const phi = 0.5 * (1 + erf(r[i]! / Math.SQRT2));
    labels[i] = Math.min(C - 1, Math.floor(phi * C));
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// ---- ours and the reference, interleaved in rounds on the same data (the machine may be
// shared: interleaving spreads load changes over both sides)
const input = { data: logits, shape: [N, C, H, W] };
const target = { data: labels, shape: [N, H, W] };
const scorer = await createScorer({
  backend: "cpu",
  input: "logits",
  losses: [{ name: "dice" }, { name: "boundary", weight: 0.01 }],
});
let result = await scorer.evaluate({ input, target, gradient: true });
for (let i = 0; i < 3; i++) result = await scorer.evaluate({ input, target, gradient: true });
const distance = await signedDistance(target, { numClasses: C });

const dir = mkdtempSync(join(tmpdir(), "segloss-bench-"));
writeFileSync(join(dir, "logits.f32"), new Uint8Array(logits.buffer));
writeFileSync(join(dir, "labels.u8"), labels);
writeFileSync(join(dir, "shape.json"), JSON.stringify([N, C, H, W]));
const here = new URL(".", import.meta.url).pathname;
const env = (globalThis as { process?: { env: Record<string, string> } }).process?.env ?? {};

const python = env.PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
const loadAtStart = loadavg().map((x) => x.toFixed(1)).join(" ");
const torchRuns: Record<string, number[]> = {
  t_maps: [],
  t_loss_backward: [],
  t_total: [],
  cpu_total: [],
};
// deno-lint-ignore no-explicit-any
let torchRef: any;
const tEval: number[] = [], tMaps: number[] = [], tPasses: number[] = [], cEval: number[] = [];
const refRuns: Record<string, number[]> = {
  t_softmax: [],
  t_maps: [],
  t_loss_backward: [],
  t_total: [],
  cpu_total: [],
};
// deno-lint-ignore no-explicit-any
let ref: any;
const ROUNDS = 3;
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < Math.ceil(REPEATS / ROUNDS); i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    result = await scorer.evaluate({ input, target, gradient: true });
    tEval.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cEval.push((c.user + c.system) / 1000);
    const t1 = performance.now();
    await signedDistance(target, { numClasses: C });
    tMaps.push(performance.now() - t1);
    const t2 = performance.now();
    await scorer.evaluate({ input, target, gradient: true, distance });
    tPasses.push(performance.now() - t2);
  }
  const refRepeats = String(Math.max(3, Math.ceil(REPEATS / ROUNDS / 2)));
  ref = JSON.parse(
    execFileSync(python, [join(here, "evaluate_ref.py"), dir, refRepeats], {
      encoding: "utf8",
      env: { ...env, OMP_NUM_THREADS: "1" },
    }),
  );
  for (const k of Object.keys(refRuns)) refRuns[k]!.push(...(ref.runs[k] as number[]));
  try {
    torchRef = JSON.parse(
      execFileSync(python, [join(here, "evaluate_ref.py"), dir, refRepeats, "torch"], {
        encoding: "utf8",
        env: { ...env, OMP_NUM_THREADS: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      }),
    );
    for (const k of Object.keys(torchRuns)) torchRuns[k]!.push(...(torchRef.runs[k] as number[]));
  } catch (err) {
    if (round === 0) console.error(`PyTorch reference skipped: ${String(err).split("\n")[0]}`);
  }
}
scorer.dispose();
const refGrad = new Float32Array(new Uint8Array(readFileSync(join(dir, "grad.f32"))).buffer);
const torchGrad = torchRef === undefined
  ? undefined
  : new Float32Array(new Uint8Array(readFileSync(join(dir, "grad_torch.f32"))).buffer);
rmSync(dir, { recursive: true, force: true });
const refMed = (k: string) => median(refRuns[k]!);

// ---- agreement (same data): values and a strided sample of the gradient
const g = result.gradient!.data;
let maxGradErr = 0, maxGrad = 0, checksum = 0, maxTorchErr = 0;
for (let i = 0; i < g.length; i++) {
  checksum += Math.abs(g[i]!);
  maxGrad = Math.max(maxGrad, Math.abs(refGrad[i]!));
  maxGradErr = Math.max(maxGradErr, Math.abs(g[i]! - refGrad[i]!));
  if (torchGrad) maxTorchErr = Math.max(maxTorchErr, Math.abs(g[i]! - torchGrad[i]!));
}
const runtime = "Deno" in globalThis
  ? `Deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}`
  : `Bun ${(globalThis as unknown as { Bun: { version: string } }).Bun.version}`;

const ours = median(tEval), theirs = refMed("t_total");
console.log(
  `evaluate, classic example (logits ${N}x${C}x${H}x${W}, labels ${N}x${H}x${W}, dice + 0.01·boundary, gradient)`,
);
console.log(
  `${runtime} on ${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, load average ` +
    `${loadAtStart} at the start; references: ` +
    (torchRef ? `PyTorch ${torchRef.torch} (${torchRef.threads} thread) + ` : "") +
    `numpy ${ref.numpy} + scipy ${ref.scipy}, one thread; medians`,
);
console.log(
  `values: ours dice ${result.terms.dice!.toFixed(7)} boundary ${
    result.terms.boundary!.toFixed(6)
  }; ` +
    `reference dice ${ref.dice.toFixed(7)} boundary ${ref.boundary.toFixed(6)}; ` +
    `gradient: max |difference| / max |g| = ${
      (maxGradErr / maxGrad).toExponential(2)
    } over all ${g.length} elements, ` +
    `sum |g| ${checksum.toExponential(6)} vs ${ref.grad_checksum.toExponential(6)}` +
    (torchRef
      ? `; PyTorch: dice ${torchRef.dice.toFixed(7)} boundary ${
        torchRef.boundary.toFixed(6)
      }, gradient max |difference| / max |g| = ${(maxTorchErr / maxGrad).toExponential(2)}`
      : ""),
);
console.log("");
const torchMed = (k: string) => median(torchRuns[k]!);
const hasTorch = torchRuns.t_total!.length > 0;
console.log(
  "| step | segloss cpu (ms) | numpy + scipy (ms) | ratio |" +
    (hasTorch ? " PyTorch + scipy (ms) | ratio |" : ""),
);
console.log("|---|---:|---:|---:|" + (hasTorch ? "---:|---:|" : ""));
const row = (name: string, a: number, b: number, t?: number) =>
  console.log(
    `| ${name} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(b / a).toFixed(1)}x |` +
      (hasTorch ? (t === undefined ? " | |" : ` ${t.toFixed(1)} | ${(t / a).toFixed(1)}x |`) : ""),
  );
row("signed distance maps (128 maps)", median(tMaps), refMed("t_maps"), torchMed("t_maps"));
row(
  "softmax + loss + gradient (maps given)",
  median(tPasses),
  refMed("t_softmax") + refMed("t_loss_backward"),
  torchMed("t_loss_backward"),
);
row("whole evaluate", ours, theirs, torchMed("t_total"));
row(
  "whole evaluate, CPU time of the process",
  median(cEval),
  refMed("cpu_total"),
  torchMed("cpu_total"),
);
console.log("");
console.log(
  `whole evaluate, fastest run: ours ${Math.min(...tEval).toFixed(1)} ms, numpy + scipy ${
    Math.min(...refRuns.t_total!).toFixed(1)
  } ms` +
    (hasTorch ? `, PyTorch + scipy ${Math.min(...torchRuns.t_total!).toFixed(1)} ms` : "") +
    `; ${tEval.length}, ${refRuns.t_total!.length} and ${
      torchRuns.t_total!.length
    } runs in ${ROUNDS} interleaved rounds`,
);
