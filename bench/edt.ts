/**
 * EDT benchmark on every class of mask, side by side with scipy and OpenCV in one run.
 *
 *   deno task bench:edt   (deno run -A --v8-flags=--expose-gc bench/edt.ts; or: bun bench/edt.ts)
 *
 * Masks (bench/_edt_masks.ts), at 2048² and 256³: fine structures (smoothed noise thresholded
 * at 30% foreground, sigma 1, 2 and 4 px), the distance to thin 1-px curves, random big balls
 * (30%), and the background around a single blob (0.2%). For each, in this order, in one run:
 * our `edt` on one thread (wall-clock and CPU time), a warm Worker pool, then
 * `bench/edt_scipy.py` on the same file — scipy's `distance_transform_edt` and (2-D) OpenCV's
 * exact `cv2.distanceTransform(m, DIST_L2, DIST_MASK_PRECISE)` with `cv2.setNumThreads(1)` — and
 * a check that we agree with scipy. Then the classic signed-distance example (labels 16x64x64,
 * 8 classes) against the official `one_hot2dist`, a scaling table (64² … 4096², 32³ … 320³,
 * fine structures sigma 2) and the peak RSS of `edt` on 256³ in a fresh process. Prints
 * markdown tables with the machine line; every ratio comes from this run.
 *
 * Options: `--quick` (fewer repeats), `--no-3d`, `--no-scaling`, `--workers N` (default
 * `auto`), `--only SUBSTRING` (cases whose name contains it). The reference runs on
 * `$PYTHON`, else Debian's `/usr/bin/python3` (python3-scipy, python3-opencv), else `python3`.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { createEdtWorkerPool, edt, edtTransform, signedDistance } from "../mod.ts";
import { mulberry32 as rng } from "../tests/util.ts";
import { balls, blob, curves, fine } from "./_edt_masks.ts";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const no3d = args.includes("--no-3d");
const noScaling = args.includes("--no-scaling");
const argValue = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const workers = argValue("--workers") !== undefined ? Number(argValue("--workers")) : "auto";
const only = argValue("--only");
const runtime = "Deno" in globalThis
  ? `Deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}`
  : "Bun" in globalThis
  ? `Bun ${(globalThis as unknown as { Bun: { version: string } }).Bun.version}`
  : `Node ${process.version}`;
const python = process.env.PYTHON ??
  (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * A full garbage collection where the runtime offers one (`deno run --v8-flags=--expose-gc`, as
 * `deno task bench:edt` does; Bun's `Bun.gc`), so that garbage left by earlier work (mask
 * generation, earlier cases) is not collected inside a timed series. Without it, a timed
 * series may pay for an earlier case's garbage: read single outliers with that in mind.
 */
function collectGarbage(): void {
  const g = globalThis as unknown as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  if (typeof g.gc === "function") g.gc();
  else g.Bun?.gc(true);
}

/**
 * This process's minor page faults so far (first touches of fresh memory; Linux's
 * /proc/self/stat), or NaN elsewhere.
 */
function minorFaults(): number {
  try {
    return Number(readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ")[7]);
  } catch {
    return NaN;
  }
}

/** Wall-clock and CPU-time medians of `repeats` calls, and the median page faults per call. */
async function timed(
  repeats: number,
  fn: () => unknown,
): Promise<{ wall: number; cpu: number; faults: number }> {
  const wall: number[] = [];
  const cpu: number[] = [];
  const faults: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const f0 = minorFaults();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    faults.push(minorFaults() - f0);
  }
  return { wall: median(wall), cpu: median(cpu), faults: median(faults) };
}

function vmHwmMiB(): { rss: number; peak: number } {
  const s = readFileSync("/proc/self/status", "utf8");
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

/** `--rss`: run in a fresh process; prints JSON with the RSS figures of edt on 256³. */
function rssChild(): void {
  const base = vmHwmMiB();
  const shape = [256, 256, 256];
  const mask = blob(shape, 0.002);
  const withMask = vmHwmMiB();
  const d = edt({ data: mask, shape });
  const after = vmHwmMiB();
  console.log(JSON.stringify({ base, withMask, after, check: d.data[0] }));
}

/** The machine line: CPU, cores, load, runtime and the reference's versions. */
function machine(versions: Record<string, string | null>): string {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const load = loadavg().map((x) => x.toFixed(1)).join(" ");
  return `${runtime} on ${cpu}, ${cpus().length} cores, load average ${load} at the start; ` +
    `reference: Python ${versions.python}, numpy ${versions.numpy}, scipy ${versions.scipy}, ` +
    `OpenCV ${versions.opencv ?? "not installed"}; one thread each unless noted`;
}

interface Spec {
  name: string;
  shape: number[];
  make: () => Uint8Array;
  repeats: number;
}

function specs(): Spec[] {
  const r2 = quick ? 3 : 7;
  const r3 = quick ? 1 : 3;
  const s2 = [2048, 2048];
  const s3 = [256, 256, 256];
  const list: Spec[] = [];
  for (const [tag, shape, repeats] of [["2048²", s2, r2], ["256³", s3, r3]] as const) {
    if (tag === "256³" && no3d) continue;
    const sh = [...shape];
    list.push(
      { name: `${tag} fine structures σ=1`, shape: sh, make: () => fine(sh, 1, 11), repeats },
      { name: `${tag} fine structures σ=2`, shape: sh, make: () => fine(sh, 2, 12), repeats },
      { name: `${tag} fine structures σ=4`, shape: sh, make: () => fine(sh, 4, 13), repeats },
      { name: `${tag} distance to thin curves`, shape: sh, make: () => curves(sh, 14), repeats },
      { name: `${tag} random balls 30%`, shape: sh, make: () => balls(sh, 0.3, 1), repeats },
      { name: `${tag} single blob 0.2%`, shape: sh, make: () => blob(sh, 0.002), repeats },
    );
  }
  return list.filter((s) => only === undefined || s.name.includes(only));
}

async function main(): Promise<void> {
  if (args.includes("--rss")) return rssChild();
  const dir = mkdtempSync(join(tmpdir(), "segloss-edt-bench-"));
  const here = fileURLToPath(new URL(".", import.meta.url));
  type Py = { median_ms: number; cpu_ms: number; faults: number };
  const reference = (name: string): { scipy: Py; opencv?: Py; opencv_max_diff?: number } =>
    JSON.parse(
      execFileSync(python, [join(here, "edt_scipy.py"), dir, name], {
        encoding: "utf8",
        maxBuffer: 1 << 24,
        env: { ...process.env, OMP_NUM_THREADS: "1" },
      }),
    );
  try {
    const versions = JSON.parse(
      execFileSync(python, [join(here, "edt_scipy.py"), dir, "versions"], { encoding: "utf8" }),
    );
    const machineLine = machine(versions);
    const list = specs();
    // classic example: labels 16x64x64 uniform over 8 classes
    const classicShape = [16, 64, 64];
    const labels = new Uint8Array(16 * 64 * 64);
    const rand = rng(3);
    for (let i = 0; i < labels.length; i++) labels[i] = Math.floor(rand() * 8);
    writeFileSync(join(dir, "classic.u8"), labels);
    const classicRepeats = quick ? 5 : 15;
    writeFileSync(
      join(dir, "meta.json"),
      JSON.stringify({
        masks: list.map((m, i) => ({
          name: `mask${i}`,
          file: `mask${i}.u8`,
          shape: m.shape,
          repeats: m.repeats,
        })),
        classic: {
          file: "classic.u8",
          shape: classicShape,
          numClasses: 8,
          repeats: classicRepeats,
        },
      }),
    );
    console.log(`segloss EDT benchmark: ${machineLine}; Workers: ${workers}`);
    const maxRelDiff = (a: Float32Array, file: string) => {
      const ref = new Float32Array(new Uint8Array(readFileSync(join(dir, file))).buffer);
      let m = 0;
      for (let i = 0; i < a.length; i++) {
        m = Math.max(m, Math.abs(a[i]! - ref[i]!) / Math.max(1, Math.abs(ref[i]!)));
      }
      return m;
    };
    const x = (a: number, b: number) => (a / b).toFixed(1) + "x";
    const pool = createEdtWorkerPool({ workers, idleMs: 60_000 });
    const rows: string[][] = [];
    try {
      // every mask first (the generators' garbage is collected before anything is timed)
      const masks = list.map((s, i) => {
        const data = s.make();
        writeFileSync(join(dir, `mask${i}.u8`), data);
        return data;
      });
      for (const [i, s] of list.entries()) {
        const mask = { data: masks[i]!, shape: s.shape };
        collectGarbage();
        const result = edt(mask).data;
        // warm-up: V8 compiles the kernels' optimized code on background threads, which a
        // loaded machine delays; run until 12 runs (2-D) or 2 (3-D) and at least 1.5 s
        const w0 = performance.now();
        for (let k = 0; k < (s.shape.length === 2 ? 12 : 2) || performance.now() - w0 < 1500; k++) {
          edt(mask);
        }
        collectGarbage();
        const ours = await timed(s.repeats, () => edt(mask));
        // the same into one reused output (options.out, scipy's distances=): no fresh pages
        const reused = new Float32Array(mask.data.length);
        const into = await timed(s.repeats, () => edt(mask, { out: reused }));
        await pool.edt(mask); // warm-up (starts the Workers)
        collectGarbage();
        const onPool = await timed(s.repeats, () => pool.edt(mask));
        const poolInto = await timed(s.repeats, () => pool.edt(mask, { out: reused }));
        const ref = reference(`mask${i}`);
        const diff = maxRelDiff(result, `mask${i}.scipy.f32`);
        const cv = ref.opencv;
        console.log(
          `  ${s.name}: ours ${ours.wall.toFixed(0)} ms (cpu ${ours.cpu.toFixed(0)}), into out ` +
            `${into.wall.toFixed(0)} ms, ${pool.size} Workers ${onPool.wall.toFixed(0)} ms ` +
            `(into out ${poolInto.wall.toFixed(0)}); scipy ${
              ref.scipy.median_ms.toFixed(0)
            } ms (cpu ${ref.scipy.cpu_ms.toFixed(0)})` +
            (cv ? `, OpenCV ${cv.median_ms.toFixed(0)} ms (cpu ${cv.cpu_ms.toFixed(0)})` : ""),
        );
        rows.push([
          s.name,
          ours.wall.toFixed(0),
          into.wall.toFixed(0),
          ref.scipy.median_ms.toFixed(0),
          cv ? cv.median_ms.toFixed(0) : "—",
          x(ref.scipy.median_ms, ours.wall),
          cv ? x(cv.median_ms, ours.wall) : "—",
          x(ref.scipy.median_ms, into.wall),
          cv ? x(cv.median_ms, into.wall) : "—",
          x(ref.scipy.cpu_ms, ours.cpu),
          cv ? x(cv.cpu_ms, ours.cpu) : "—",
          onPool.wall.toFixed(0),
          x(ours.wall, onPool.wall),
          poolInto.wall.toFixed(0),
          x(into.wall, poolInto.wall),
          `${ours.faults} / ${into.faults} / ${ref.scipy.faults}` +
          (cv ? ` / ${cv.faults}` : ""),
          diff.toExponential(1),
        ]);
      }
    } finally {
      pool.close();
    }
    const header = [
      "case",
      "segloss ms",
      "into out ms",
      "scipy ms",
      "OpenCV ms",
      "vs scipy",
      "vs OpenCV",
      "into out vs scipy",
      "into out vs OpenCV",
      "CPU time vs scipy",
      "CPU time vs OpenCV",
      `${workers === "auto" ? "auto" : workers} Workers ms`,
      "Worker speedup",
      "Workers into out ms",
      "Worker speedup into out",
      "page faults per call: segloss / into out / scipy / OpenCV",
      "max rel diff vs scipy",
    ];
    console.log(
      `\n${machineLine}.\nWall-clock medians; "vs X" = X's time / ours (higher is better for ` +
        `segloss); CPU-time ratios use each process's CPU time (less sensitive to a loaded ` +
        `machine); Worker speedup = single thread / warm pool; "into out" = the same call ` +
        `writing into one reused Float32Array (options.out, scipy's distances=), which pays no ` +
        `first touch of fresh memory; page faults per call = median minor faults of each ` +
        `process per call (4 KiB pages touched for the first time: fresh memory).\n`,
    );
    console.log(`| ${header.join(" | ")} |`);
    console.log(`|${header.map((_, i) => i === 0 ? "---" : "---:").join("|")}|`);
    for (const r of rows) console.log(`| ${r.join(" | ")} |`);

    if (only === undefined) {
      const classicTarget = { data: labels, shape: classicShape };
      const o = { numClasses: 8 };
      const result = (await signedDistance(classicTarget, o)).data;
      for (let i = 0; i < 10; i++) await signedDistance(classicTarget, o); // warm-up
      const ours = await timed(classicRepeats, () => signedDistance(classicTarget, o));
      const maps = new Float32Array(result.length);
      const oo = { numClasses: 8, out: maps };
      for (let i = 0; i < 5; i++) await signedDistance(classicTarget, oo); // warm-up
      const into = await timed(classicRepeats, () => signedDistance(classicTarget, oo));
      const parallelTransform = edtTransform({ workers, parallelThreshold: 0 });
      let onPool: { wall: number; cpu: number };
      try {
        const po = { numClasses: 8, transform: parallelTransform };
        await signedDistance(classicTarget, po); // warm-up (starts the Workers)
        onPool = await timed(classicRepeats, () => signedDistance(classicTarget, po));
      } finally {
        parallelTransform.dispose?.();
      }
      const py = reference("classic").scipy;
      const diff = maxRelDiff(result, "classic.scipy.f32");
      console.log(
        `\n| signed distance, classic 16x64x64, 8 classes | segloss ms | into out ms | ` +
          `scipy one_hot2dist ms | vs scipy | into out vs scipy | CPU time vs scipy | ` +
          `Workers ms | max rel diff |`,
      );
      console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
      console.log(
        `| kervadec convention | ${ours.wall.toFixed(1)} | ${into.wall.toFixed(1)} | ${
          py.median_ms.toFixed(1)
        } | ${x(py.median_ms, ours.wall)} | ${x(py.median_ms, into.wall)} | ${
          x(py.cpu_ms, ours.cpu)
        } | ${onPool.wall.toFixed(1)} | ${diff.toExponential(1)} |`,
      );
    }

    if (!noScaling && only === undefined) {
      console.log(
        `\nScaling (fine structures σ=2, 30% foreground; single thread; ns per voxel = ` +
          `median wall time / voxels; CPU ns per voxel = median CPU time of the process / ` +
          `voxels; small sizes include the per-call argument checks and allocation; "into out": ` +
          `the same into one reused output, without the first touch of fresh memory):\n`,
      );
      console.log(
        "| shape | voxels | segloss ms | ns per voxel | CPU ns per voxel | into out ms | " +
          "into out ns per voxel | into out CPU ns per voxel |",
      );
      console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
      const sizes = [
        ...[64, 128, 256, 512, 1024, 2048, 4096].map((n) => [n, n]),
        ...(no3d ? [] : [32, 64, 128, 256, 320].map((n) => [n, n, n])),
      ];
      for (const shape of sizes) {
        const data = fine(shape, 2, 21);
        const mask = { data, shape };
        collectGarbage();
        const n = data.length;
        const reps = Math.max(3, Math.min(200, Math.round((quick ? 2e6 : 2e7) / n)));
        for (let k = 0; k < Math.min(reps, 3); k++) edt(mask);
        const t = await timed(reps, () => edt(mask));
        const reused = new Float32Array(n);
        for (let k = 0; k < Math.min(reps, 3); k++) edt(mask, { out: reused });
        const into = await timed(reps, () => edt(mask, { out: reused }));
        const ns = (ms: number) => (ms * 1e6 / n).toFixed(1);
        console.log(
          `| ${shape.join("×")} | ${n} | ${t.wall.toFixed(2)} | ${ns(t.wall)} | ${ns(t.cpu)} | ` +
            `${into.wall.toFixed(2)} | ${ns(into.wall)} | ${ns(into.cpu)} |`,
        );
      }
    }

    if (!no3d) {
      const self = fileURLToPath(import.meta.url);
      const childArgs = "Deno" in globalThis ? ["run", "-A", self, "--rss"] : [self, "--rss"];
      const rss = JSON.parse(execFileSync(process.execPath, childArgs, { encoding: "utf8" })) as {
        base: { rss: number; peak: number };
        withMask: { rss: number; peak: number };
        after: { rss: number; peak: number };
      };
      const n = 256 ** 3;
      const budget = (n + 4 * n + 4 * n) / 2 ** 20;
      console.log(
        `\nPeak RSS, edt on 256³ (fresh process): runtime baseline ${
          rss.base.peak.toFixed(0)
        } MiB, ` +
          `with the uint8 mask ${rss.withMask.peak.toFixed(0)} MiB, peak after edt ` +
          `${rss.after.peak.toFixed(0)} MiB: ${(rss.after.peak - rss.base.peak).toFixed(0)} MiB ` +
          `above baseline (input ${(n / 2 ** 20).toFixed(0)} + output ${
            (4 * n / 2 ** 20).toFixed(0)
          } MiB; budget input + output + one float32 volume = ${budget.toFixed(0)} MiB)`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
