/**
 * EDT and signed-distance benchmark, side by side with scipy in one run.
 *
 *   deno run -A bench/edt.ts        (or: bun bench/edt.ts)
 *
 * Generates the masks (2048² and 256³: the background around one small blob, ~0.2%
 * foreground, whose EDT is the expensive direction; and random blobs covering ~30%), writes
 * them to a temporary directory, times our `edt` (single thread), a warm Worker pool and a
 * one-shot `edtParallel` (Worker start-up included), runs `python3 bench/edt_scipy.py` on the
 * same files, checks that both sides agree, and prints medians and ratios. Then the classic
 * signed-distance example (labels 16x64x64, 8 classes) against the official `one_hot2dist`,
 * and the peak RSS of `edt` on 256³ measured in a fresh process (`/proc/self/status` VmHWM).
 *
 * Options: `--quick` (fewer repeats), `--no-3d`, `--workers N`.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { createEdtWorkerPool, edt, edtParallel, edtTransform, signedDistance } from "../mod.ts";
import { mulberry32 as rng } from "../tests/util.ts";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const no3d = args.includes("--no-3d");
const workersArg = args.indexOf("--workers");
const workers = workersArg >= 0 ? Number(args[workersArg + 1]) : "auto";
const runtime = "Deno" in globalThis
  ? `Deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}`
  : "Bun" in globalThis
  ? `Bun ${(globalThis as unknown as { Bun: { version: string } }).Bun.version}`
  : `Node ${process.version}`;

/** Paints a ball (value `v`) of radius `r` at `c` into a 2-D or 3-D mask. */
function paintBall(m: Uint8Array, shape: number[], c: number[], r: number, v: number): number {
  let painted = 0;
  const lo = c.map((x) => Math.max(0, Math.floor(x - r)));
  const hi = c.map((x, i) => Math.min(shape[i]! - 1, Math.ceil(x + r)));
  const r2 = r * r;
  if (shape.length === 2) {
    const [H, W] = shape as [number, number];
    void H;
    for (let y = lo[0]!; y <= hi[0]!; y++) {
      for (let x = lo[1]!; x <= hi[1]!; x++) {
        if ((y - c[0]!) ** 2 + (x - c[1]!) ** 2 <= r2 && m[y * W + x] !== v) {
          m[y * W + x] = v;
          painted++;
        }
      }
    }
  } else {
    const [, H, W] = shape as [number, number, number];
    for (let z = lo[0]!; z <= hi[0]!; z++) {
      for (let y = lo[1]!; y <= hi[1]!; y++) {
        for (let x = lo[2]!; x <= hi[2]!; x++) {
          const i = (z * H + y) * W + x;
          if ((z - c[0]!) ** 2 + (y - c[1]!) ** 2 + (x - c[2]!) ** 2 <= r2 && m[i] !== v) {
            m[i] = v;
            painted++;
          }
        }
      }
    }
  }
  return painted;
}

/** 1 everywhere except one ball of zeros covering ~`frac` of the volume. */
function backgroundAroundBlob(shape: number[], frac: number): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const m = new Uint8Array(n).fill(1);
  const vol = shape.length === 2 ? Math.PI : (4 / 3) * Math.PI;
  const r = Math.pow((frac * n) / vol, 1 / shape.length);
  paintBall(m, shape, shape.map((s) => s * 0.41), r, 0);
  return m;
}

/** Random balls of value 1 until they cover ~`frac` of the volume. */
function randomBlobs(shape: number[], frac: number, seed: number): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const m = new Uint8Array(n);
  const rand = rng(seed);
  const rMax = Math.min(...shape) / 10;
  let covered = 0;
  while (covered < frac * n) {
    const c = shape.map((s) => rand() * s);
    covered += paintBall(m, shape, c, rMax * (0.3 + 0.7 * rand()), 1);
  }
  return m;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function time(repeats: number, fn: () => unknown): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

async function cpuTime(repeats: number, fn: () => unknown): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const c0 = process.cpuUsage();
    await fn();
    const c = process.cpuUsage(c0);
    out.push((c.user + c.system) / 1000);
  }
  return out;
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
  const mask = backgroundAroundBlob(shape, 0.002);
  const withMask = vmHwmMiB();
  const d = edt({ data: mask, shape });
  const after = vmHwmMiB();
  console.log(JSON.stringify({ base, withMask, after, check: d.data[0] }));
}

async function main(): Promise<void> {
  if (args.includes("--rss")) return rssChild();
  const dir = mkdtempSync(join(tmpdir(), "segloss-edt-bench-"));
  const here = fileURLToPath(new URL(".", import.meta.url));
  try {
    const specs: { name: string; shape: number[]; make: () => Uint8Array; repeats: number }[] = [
      {
        name: "2048² background around a blob (0.2%)",
        shape: [2048, 2048],
        make: () => backgroundAroundBlob([2048, 2048], 0.002),
        repeats: quick ? 3 : 7,
      },
      {
        name: "2048² random blobs (30%)",
        shape: [2048, 2048],
        make: () => randomBlobs([2048, 2048], 0.3, 1),
        repeats: quick ? 3 : 7,
      },
    ];
    if (!no3d) {
      specs.push(
        {
          name: "256³ background around a blob (0.2%)",
          shape: [256, 256, 256],
          make: () => backgroundAroundBlob([256, 256, 256], 0.002),
          repeats: quick ? 1 : 3,
        },
        {
          name: "256³ random blobs (30%)",
          shape: [256, 256, 256],
          make: () => randomBlobs([256, 256, 256], 0.3, 2),
          repeats: quick ? 1 : 3,
        },
      );
    }
    const masks = specs.map((s, i) => {
      const data = s.make();
      const file = `mask${i}.u8`;
      writeFileSync(join(dir, file), data);
      return { ...s, data, file, key: `mask${i}` };
    });
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
        masks: masks.map((m) => ({
          name: m.key,
          file: m.file,
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

    console.log(`segloss EDT benchmark: ${runtime}, workers ${workers}`);
    type Py = { median_ms: number; cpu_ms: number };
    const scipy = (name: string): { edt: Record<string, Py>; classic: Py } =>
      JSON.parse(
        execFileSync("python3", [join(here, "edt_scipy.py"), dir, name], {
          encoding: "utf8",
          maxBuffer: 1 << 24,
        }),
      );
    const maxRelDiff = (a: Float32Array, file: string) => {
      const ref = new Float32Array(readFileSync(join(dir, file)).buffer.slice(0));
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
      // each case: ours, then scipy right after (the machine's load changes over time)
      for (const m of masks) {
        const mask = { data: m.data, shape: m.shape };
        const result = edt(mask).data;
        for (let i = 0; i < 3; i++) edt(mask); // warm-up (JIT tiers)
        const syncCpu = median(await cpuTime(m.repeats, () => edt(mask)));
        const sync = median(await time(m.repeats, () => edt(mask)));
        await pool.edt(mask); // warm-up (starts the Workers)
        const warm = median(await time(m.repeats, () => pool.edt(mask)));
        const oneShot = median(
          await time(Math.min(m.repeats, 3), () => edtParallel(mask, { workers })),
        );
        const py = scipy(m.key).edt[m.key]!;
        const diff = maxRelDiff(result, `${m.key}.scipy.f32`);
        console.log(
          `  ${m.name}: scipy ${py.median_ms.toFixed(0)} ms (cpu ${py.cpu_ms.toFixed(0)}), ` +
            `ours sync ${sync.toFixed(0)} ms (cpu ${syncCpu.toFixed(0)}), pool ${
              warm.toFixed(0)
            } ms, one-shot ${oneShot.toFixed(0)} ms`,
        );
        rows.push([
          m.name,
          py.median_ms.toFixed(0),
          sync.toFixed(0),
          x(py.median_ms, sync),
          x(py.cpu_ms, syncCpu),
          warm.toFixed(0),
          x(py.median_ms, warm),
          oneShot.toFixed(0),
          x(py.median_ms, oneShot),
          diff.toExponential(1),
        ]);
      }
    } finally {
      pool.close();
    }
    {
      const classicTarget = { data: labels, shape: classicShape };
      const o = { numClasses: 8 };
      const result = (await signedDistance(classicTarget, o)).data;
      for (let i = 0; i < 10; i++) await signedDistance(classicTarget, o); // warm-up
      const ourCpu = median(await cpuTime(classicRepeats, () => signedDistance(classicTarget, o)));
      const ours = median(await time(classicRepeats, () => signedDistance(classicTarget, o)));
      const parallelTransform = edtTransform({ workers, parallelThreshold: 0 });
      let onPool: number;
      try {
        const po = { numClasses: 8, transform: parallelTransform };
        await signedDistance(classicTarget, po); // warm-up (starts the Workers)
        onPool = median(await time(classicRepeats, () => signedDistance(classicTarget, po)));
      } finally {
        parallelTransform.dispose?.();
      }
      const py = scipy("classic").classic;
      const diff = maxRelDiff(result, "classic.scipy.f32");
      console.log(
        `  classic signed distance: scipy ${py.median_ms.toFixed(1)} ms (cpu ${
          py.cpu_ms.toFixed(1)
        }), ours ${ours.toFixed(1)} ms (cpu ${ourCpu.toFixed(1)}), pool ${onPool.toFixed(1)} ms`,
      );
      rows.push([
        "signed distance, classic 16x64x64, 8 classes",
        py.median_ms.toFixed(1),
        ours.toFixed(1),
        x(py.median_ms, ours),
        x(py.cpu_ms, ourCpu),
        onPool.toFixed(1),
        x(py.median_ms, onPool),
        "",
        "",
        diff.toExponential(1),
      ]);
    }
    const header = [
      "case",
      "scipy ms",
      "ours ms",
      "ratio",
      "CPU-time ratio",
      "pool ms",
      "ratio",
      "one-shot ms",
      "ratio",
      "max rel diff",
    ];
    console.log(
      `\n${runtime}, workers ${workers}; wall-clock medians; ratio = scipy / ours; ` +
        `CPU-time ratio = scipy CPU time / ours (single thread)\n`,
    );
    console.log(`| ${header.join(" | ")} |`);
    console.log(`|${header.map(() => "---").join("|")}|`);
    for (const r of rows) console.log(`| ${r.join(" | ")} |`);

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
