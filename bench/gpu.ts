/**
 * GPU benchmark, one self-contained script (bundles to one file for an offline GPU machine):
 *
 * 1. The `jfa` transform, 2-D 2048² and 3-D 256³ (`--small`: 512² and 64³), on two masks —
 *    the background around one small blob (~0.2% foreground, the paper's regime) and random
 *    blobs (~30%) — GPU time from timestamp queries (when the adapter offers
 *    `timestamp-query`), wall time of the resident transform (mask already on the device,
 *    maps left there: upload excluded, as the targets are stated), wall time of the full
 *    `jfa.edt()` round trip, and the exact CPU `edt` on the same machine and mask.
 * 2. `evaluate` (logits → softmax → signed maps → dice + 0.01·boundary → gradient) for the
 *    classic example 16x8x64x64 and for 4x2x256x256 and 1x2x128x128x128 (`--small`:
 *    4x2x128x128, 1x2x64x64x64), `webgpu` + `jfa` against `cpu` + `edt`.
 *
 * Prints one table and one JSON line (`JSON {...}`). Median of repeated runs after warm-up.
 *
 * On a GPU machine (see the README, section "WebGPU", Benchmark):
 *   deno bundle bench/gpu.ts -o .device/gpu.js && ../shared/device/prepare.sh .device/gpu.js
 *   then there: . .device/setup.sh && deno run -A .device/gpu.js
 * Here (llvmpipe, software): XDG_RUNTIME_DIR=/tmp/xdg deno run -A bench/gpu.ts --small
 *
 * @module
 */
import {
  createScorer,
  createWebgpuBackend,
  edt,
  getDefaultWebgpuDevice,
  isWebgpuAvailable,
  jfaTransform,
} from "../mod.ts";
import { BUFFER, checkBindingSize, uploadBuffer } from "../core/gpu.ts";
import { encodeFlood, type JfaRefinement, jfaSteps } from "../transforms/jfa_gpu.ts";
import { floodGeometry } from "../transforms/jfa_kernels.ts";
import { mulberry32 as uniform } from "../tests/util.ts";

const args = ((globalThis as { Deno?: { args: string[] } }).Deno?.args ??
  (globalThis as { process?: { argv: string[] } }).process?.argv.slice(2) ?? []) as string[];
const small = args.includes("--small");
const REPEATS = small ? 3 : 10;

if (!(await isWebgpuAvailable())) {
  console.error("No WebGPU adapter: nothing to measure (set XDG_RUNTIME_DIR; install a driver)");
  (globalThis as { Deno?: { exit(c: number): never } }).Deno?.exit(1);
  throw new Error("no WebGPU adapter");
}

const device = await getDefaultWebgpuDevice();
const adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
const adapterName = adapter?.info
  ? [adapter.info.vendor, adapter.info.architecture, adapter.info.device, adapter.info.description]
    .filter(Boolean).join(" ")
  : "unknown adapter";
const hasTimestamps = device.features.has("timestamp-query");

function normals(n: number, seed: number): Float32Array {
  const u = uniform(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(u() + 1e-12)), th = 2 * Math.PI * u();
    out[i] = r * Math.cos(th);
    if (i + 1 < n) out[i + 1] = r * Math.sin(th);
  }
  return out;
}

/**
 * Balls (disks) with random centres; returns a mask with 1 inside. Rasterised per ball over
 * its bounding box, so large volumes are cheap.
 */
function balls(shape: number[], count: number, rmin: number, rmax: number, seed: number) {
  const u = uniform(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const m = new Uint8Array(n);
  const three = shape.length === 3;
  const [D, H, W] = three ? shape : [1, shape[0]!, shape[1]!];
  for (let k = 0; k < count; k++) {
    const cz = three ? u() * D! : 0, cy = u() * H!, cx = u() * W!;
    const r = rmin + u() * (rmax - rmin);
    const z0 = three ? Math.max(0, Math.floor(cz - r)) : 0;
    const z1 = three ? Math.min(D! - 1, Math.ceil(cz + r)) : 0;
    for (let z = z0; z <= z1; z++) {
      for (let y = Math.max(0, Math.floor(cy - r)); y <= Math.min(H! - 1, Math.ceil(cy + r)); y++) {
        for (
          let x = Math.max(0, Math.floor(cx - r));
          x <= Math.min(W! - 1, Math.ceil(cx + r));
          x++
        ) {
          if ((z - cz) ** 2 + (y - cy) ** 2 + (x - cx) ** 2 < r * r) m[(z * H! + y) * W! + x] = 1;
        }
      }
    }
  }
  return m;
}

/** Random blobs grown until about `fraction` of the voxels are inside. */
function randomBlobs(shape: number[], fraction: number, seed: number): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const rmax = Math.min(...shape) / 10;
  let m = balls(shape, 1, 1, 1, seed);
  for (let count = 8;; count = Math.ceil(count * 1.5)) {
    m = balls(shape, count, 2, rmax, seed);
    let ones = 0;
    for (let i = 0; i < n; i++) ones += m[i]!;
    if (ones / n >= fraction) return m;
  }
}

/** The background around one small blob (~0.2% of the voxels): mask = 1 outside the blob. */
function blobBackground(shape: number[]): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const r = shape.length === 3
    ? Math.cbrt((0.002 * n * 3) / (4 * Math.PI))
    : Math.sqrt((0.002 * n) / Math.PI);
  const m = new Uint8Array(n).fill(1);
  const c = shape.map((s) => s / 2 + 0.3);
  const three = shape.length === 3;
  const [D, H, W] = three ? shape : [1, shape[0]!, shape[1]!];
  for (let z = 0; z < D!; z++) {
    for (let y = 0; y < H!; y++) {
      for (let x = 0; x < W!; x++) {
        const dz = three ? z - c[0]! : 0;
        const dy = y - c[three ? 1 : 0]!, dx = x - c[three ? 2 : 1]!;
        if (dz * dz + dy * dy + dx * dx < r * r) m[(z * H! + y) * W! + x] = 0;
      }
    }
  }
  return m;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 ? s[k]! : (s[k - 1]! + s[k]!) / 2;
}

async function time(fn: () => Promise<unknown> | unknown, repeats = REPEATS): Promise<number> {
  await fn(); // warm-up (pipelines, allocations)
  const t: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}

/** The resident flood: mask already on the device, maps stay there; GPU and wall time. */
async function residentJfa(
  mask: Uint8Array,
  shape: number[],
  seeds: 1 | 2,
  refinement: JfaRefinement,
) {
  const geometry = floodGeometry(shape, seeds);
  const V = mask.length;
  checkBindingSize(device, V * 4 * seeds, "the seeds of one volume");
  const maskBuf = uploadBuffer(device, mask);
  const out = device.createBuffer({ size: V * 4, usage: BUFFER.STORAGE | BUFFER.COPY_SRC });
  const steps = jfaSteps(Math.max(...shape), refinement);
  const qs = hasTimestamps ? device.createQuerySet({ type: "timestamp", count: 2 }) : undefined;
  const resolve = hasTimestamps
    ? device.createBuffer({ size: 16, usage: BUFFER.QUERY_RESOLVE | BUFFER.COPY_SRC })
    : undefined;
  const readback = hasTimestamps
    ? device.createBuffer({ size: 16, usage: BUFFER.MAP_READ | BUFFER.COPY_DST })
    : undefined;
  const gpuTimes: number[] = [];
  const once = async (withQuery: boolean) => {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass(
      withQuery && qs
        ? {
          timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 },
        }
        : {},
    );
    const transient = encodeFlood(device, pass, {
      geometry,
      volumes: 1,
      spacing: shape.map(() => 1),
      steps,
      init: { kind: "mask", buffer: maskBuf },
      final: { kind: "edt" },
      out,
    });
    pass.end();
    if (withQuery && qs) {
      enc.resolveQuerySet(qs, 0, 2, resolve!, 0);
      enc.copyBufferToBuffer(resolve!, 0, readback!, 0, 16);
    }
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    for (const t of transient) t.destroy();
    if (withQuery && readback) {
      await readback.mapAsync(0x0001);
      const ts = new BigUint64Array(readback.getMappedRange().slice(0));
      readback.unmap();
      gpuTimes.push(Number(ts[1]! - ts[0]!) / 1e6);
    }
  };
  const wall = await time(() => once(false));
  if (hasTimestamps) {
    await once(true);
    gpuTimes.length = 0;
    for (let i = 0; i < REPEATS; i++) await once(true);
  }
  for (const b of [maskBuf, out, resolve, readback]) b?.destroy();
  qs?.destroy();
  return {
    wallMs: wall,
    gpuMs: hasTimestamps ? median(gpuTimes) : undefined,
    passes: steps.length + 2,
  };
}

interface Row {
  [k: string]: string | number | undefined;
}
const rows: Row[] = [];
const errors: string[] = [];
const fmt = (x: number | undefined) => x === undefined ? "-" : x < 10 ? x.toFixed(2) : x.toFixed(1);

// 1. JFA: the default (2 seeds, jfa+2) first, then cheaper variants to choose from on a GPU
const VARIANTS: [1 | 2, JfaRefinement][] = small
  ? [[2, "jfa+2"], [1, "jfa+2"]]
  : [[2, "jfa+2"], [2, "jfa+1"], [2, "2jfa"], [1, "jfa+2"], [1, "1+jfa+2"]];
const jfaShapes = small ? [[512, 512], [64, 64, 64]] : [[2048, 2048], [256, 256, 256]];
for (const shape of jfaShapes) {
  for (
    const [maskName, mask] of [
      ["blob background", blobBackground(shape)],
      ["random blobs 30%", randomBlobs(shape, 0.3, 7)],
    ] as const
  ) {
    const cpu = await time(() => edt({ data: mask, shape }), 3);
    const e = edt({ data: mask, shape });
    for (const [seeds, refinement] of VARIANTS) {
      try {
        const res = await residentJfa(mask, shape, seeds, refinement);
        const t = jfaTransform({ seeds, refinement });
        const round = await time(() => t.edt({ data: mask, shape }), Math.min(REPEATS, 5));
        // accuracy of this run vs the exact result
        const a = await t.edt({ data: mask, shape });
        let wrong = 0, maxErr = 0;
        for (let i = 0; i < e.data.length; i++) {
          const d = Math.abs(a.data[i]! - e.data[i]!);
          if (d > 1e-3) wrong++;
          if (d > maxErr) maxErr = d;
        }
        t.dispose();
        rows.push({
          bench: "jfa",
          case: `${shape.join("x")} ${maskName}`,
          seeds,
          refinement,
          passes: res.passes,
          gpuMs: res.gpuMs,
          residentWallMs: res.wallMs,
          roundTripMs: round,
          cpuEdtMs: cpu,
          speedupWall: cpu / res.wallMs,
          wrongFraction: wrong / e.data.length,
          maxError: maxErr,
        });
        console.log(
          `jfa ${shape.join("x")} ${maskName} seeds=${seeds} ${refinement}: gpu ${
            fmt(res.gpuMs)
          } ms, resident wall ${fmt(res.wallMs)} ms, round trip ${fmt(round)} ms, cpu edt ${
            fmt(cpu)
          } ms, wrong ${wrong}/${e.data.length}`,
        );
      } catch (err) {
        // e.g. a binding-size limit on a small adapter: record it, go on with the rest
        const msg = `jfa ${shape.join("x")} ${maskName} seeds=${seeds} ${refinement}: ${err}`;
        console.log(msg);
        errors.push(msg);
      }
    }
  }
}

// 2. evaluate
const evalShapes: number[][] = small
  ? [[16, 8, 64, 64], [4, 2, 128, 128], [1, 2, 64, 64, 64]]
  : [[16, 8, 64, 64], [4, 2, 256, 256], [1, 2, 128, 128, 128]];
for (const shape of evalShapes) {
  const [N, C, ...spatial] = shape as [number, number, ...number[]];
  const V = spatial.reduce((a, b) => a * b, 1);
  const input = { data: normals(N * C * V, 1), shape };
  const labels = new Uint8Array(N * V);
  if (C > 2) {
    const u = uniform(2); // the classic example: labels uniform over the classes
    for (let i = 0; i < labels.length; i++) labels[i] = Math.floor(u() * C);
  } else {
    for (let s = 0; s < N; s++) labels.set(randomBlobs(spatial, 0.3, 10 + s), s * V);
  }
  const target = { data: labels, shape: [N, ...spatial] };
  const losses = [{ name: "dice" }, { name: "boundary", weight: 0.01 }];
  const result: Row = { bench: "evaluate", case: shape.join("x") };
  const totals: Record<string, number> = {};
  try {
    for (const [backend, distance] of [["webgpu", "jfa"], ["cpu", "edt"]] as const) {
      const scorer = await createScorer({ backend, distance, input: "logits", losses });
      const ms = await time(async () => {
        const r = await scorer.evaluate({ input, target, gradient: true });
        totals[backend] = r.total;
      }, backend === "cpu" ? 3 : REPEATS);
      scorer.dispose();
      result[`${backend}+${distance} ms`] = ms;
    }
    // where the webgpu time goes: the backend's phases, each awaited (wall time)
    const gb = createWebgpuBackend();
    const tr = jfaTransform();
    const labels32 = Int32Array.from(labels);
    const NC = N * C;
    const coef = {
      t: new Float64Array(NC).fill(-1e-3),
      one: new Float64Array(NC).fill(1e-4),
      p: new Float64Array(NC).fill(1e-3),
      phi: new Float64Array(NC).fill(1e-5),
    };
    const ph: Record<string, number[]> = { prepare: [], stats: [], mapsStats: [], gradient: [] };
    for (let r = 0; r <= REPEATS; r++) {
      const t0 = performance.now();
      const pb = await gb.prepare({
        input,
        inputKind: "logits",
        numClasses: C,
        labels: labels32,
        distanceRequest: { transform: tr, spacing: spatial.map(() => 1), convention: "kervadec" },
      });
      const t1 = performance.now();
      await pb.statistics(new Set(["pt", "p", "t"]));
      const t2 = performance.now();
      await pb.statistics(new Set(["pphi"])); // computes the maps on the device first
      const t3 = performance.now();
      await pb.gradient(coef);
      const t4 = performance.now();
      pb.dispose();
      if (r === 0) continue; // warm-up
      ph.prepare!.push(t1 - t0);
      ph.stats!.push(t2 - t1);
      ph.mapsStats!.push(t3 - t2);
      ph.gradient!.push(t4 - t3);
    }
    gb.dispose();
    tr.dispose();
    result["prepare ms"] = median(ph.prepare!);
    result["stats ms"] = median(ph.stats!);
    result["maps+pphi ms"] = median(ph.mapsStats!);
    result["gradient ms"] = median(ph.gradient!);
  } catch (err) {
    const msg = `evaluate ${shape.join("x")}: ${err}`;
    console.log(msg);
    errors.push(msg);
    continue;
  }
  result.speedup = (result["cpu+edt ms"] as number) / (result["webgpu+jfa ms"] as number);
  result.totalRelDiff = Math.abs(totals.webgpu! - totals.cpu!) / Math.abs(totals.cpu!);
  rows.push(result);
  console.log(
    `evaluate ${shape.join("x")}: webgpu+jfa ${
      fmt(result["webgpu+jfa ms"] as number)
    } ms, cpu+edt ${fmt(result["cpu+edt ms"] as number)} ms`,
  );
}

console.log(`\nsegloss GPU benchmark — adapter: ${adapterName}${small ? " (--small)" : ""}`);
console.log(`timestamp-query: ${hasTimestamps}; repeats: ${REPEATS} (median after warm-up)\n`);
console.log(
  "| jfa case | seeds | refinement | passes | GPU ms (timestamps) | resident wall ms | round trip ms | CPU edt ms | CPU/GPU wall | wrong voxels | max error |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of rows.filter((r) => r.bench === "jfa")) {
  console.log(
    `| ${r.case} | ${r.seeds} | ${r.refinement} | ${r.passes} | ${
      fmt(r.gpuMs as number | undefined)
    } | ${fmt(r.residentWallMs as number)} | ${fmt(r.roundTripMs as number)} | ${
      fmt(r.cpuEdtMs as number)
    } | ${(r.speedupWall as number).toFixed(1)}x | ${
      (r.wrongFraction as number).toExponential(1)
    } | ${(r.maxError as number).toFixed(3)} |`,
  );
}
console.log(
  "\n| evaluate (dice + 0.01·boundary, gradient) | webgpu+jfa ms | cpu+edt ms | speedup | total rel. diff | webgpu phases: prepare / stats / maps+pphi / gradient ms |",
);
console.log("|---|---|---|---|---|---|");
for (const r of rows.filter((r) => r.bench === "evaluate")) {
  const phases = ["prepare ms", "stats ms", "maps+pphi ms", "gradient ms"]
    .map((k) => fmt(r[k] as number | undefined)).join(" / ");
  console.log(
    `| ${r.case} | ${fmt(r["webgpu+jfa ms"] as number)} | ${fmt(r["cpu+edt ms"] as number)} | ${
      (r.speedup as number).toFixed(1)
    }x | ${(r.totalRelDiff as number).toExponential(1)} | ${phases} |`,
  );
}
console.log(
  "\nJSON " +
    JSON.stringify({ adapter: adapterName, small, timestampQuery: hasTimestamps, rows, errors }),
);
