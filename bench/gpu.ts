/**
 * GPU benchmark, one self-contained script (bundles to one file for an offline GPU machine):
 *
 * 1. The exact GPU EDT (`edt-gpu`) and the jump flood (`jfa`), 2-D 2048² and 3-D 256³
 *    (`--small`: 512² and 64³), on two masks — the background around one small blob (~0.2%
 *    foreground, the paper's regime) and random blobs (~30%) — GPU time from timestamp queries
 *    (when the adapter offers `timestamp-query`), wall time of the resident transform (mask
 *    already on the device, maps left there: upload excluded, as the anchors are stated), wall
 *    time of the full `.edt()` round trip, the exact CPU `edt` on the same machine and mask, and
 *    the accuracy of each against the CPU `edt` (wrong voxels: off by more than 1e-3).
 * 2. `evaluate` (logits → softmax → signed maps → dice + 0.01·boundary → gradient) for the
 *    classic example 16x8x64x64 and for 4x2x256x256 and 1x2x128x128x128 (`--small`:
 *    4x2x128x128, 1x2x64x64x64): `webgpu` + `edt-gpu`, `webgpu` + `jfa` and `cpu` + `edt`.
 *
 * Anchors measured on an H200 (from issue 14) are printed beside the results. Prints Markdown
 * tables and one JSON line (`JSON {...}`). Median of repeated runs after warm-up.
 *
 * On a GPU machine: `bash bench/gpu_device.sh prepare` here, `bash bench/gpu_device.sh run`
 * there. Here (llvmpipe, software): XDG_RUNTIME_DIR=/tmp/xdg deno run -A bench/gpu.ts --small
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
import { type EdtGpuKernel, edtGpuTransform, encodeEdtGpu } from "../transforms/edt_gpu.ts";
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

/**
 * A resident transform: `encode` records it into a compute pass (inputs already on the device,
 * output left there); GPU time from timestamp queries around the pass, and wall time to
 * `onSubmittedWorkDone`.
 */
async function resident(encode: (pass: GPUComputePassEncoder) => GPUBuffer[]) {
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
    const transient = encode(pass);
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
  for (const b of [resolve, readback]) b?.destroy();
  qs?.destroy();
  return { wallMs: wall, gpuMs: hasTimestamps ? median(gpuTimes) : undefined };
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
  try {
    const r = await resident((pass) =>
      encodeFlood(device, pass, {
        geometry,
        volumes: 1,
        spacing: shape.map(() => 1),
        steps,
        init: { kind: "mask", buffer: maskBuf },
        final: { kind: "edt" },
        out,
      })
    );
    return { ...r, passes: steps.length + 2 };
  } finally {
    maskBuf.destroy();
    out.destroy();
  }
}

/** The resident exact GPU EDT: mask already on the device, distances stay there. */
async function residentEdtGpu(mask: Uint8Array, shape: number[], kernel: EdtGpuKernel) {
  const V = mask.length;
  checkBindingSize(device, V * 4, "one volume");
  const maskBuf = uploadBuffer(device, mask);
  const out = device.createBuffer({ size: V * 4, usage: BUFFER.STORAGE | BUFFER.COPY_SRC });
  try {
    const r = await resident((pass) =>
      encodeEdtGpu(device, pass, {
        spatial: shape,
        spacing: shape.map(() => 1),
        volumes: 1,
        init: { kind: "mask", buffer: maskBuf },
        out,
        kernel,
      })
    );
    return { ...r, passes: shape.length };
  } finally {
    maskBuf.destroy();
    out.destroy();
  }
}

/** Voxels off by more than 1e-3 and the largest difference, against the exact CPU result. */
function accuracy(got: Float32Array, want: Float32Array): { wrong: number; maxErr: number } {
  let wrong = 0, maxErr = 0;
  for (let i = 0; i < want.length; i++) {
    if (got[i] === want[i]) continue;
    const d = Math.abs(got[i]! - want[i]!);
    if (!(d <= 1e-3)) wrong++;
    if (!(d <= maxErr)) maxErr = d;
  }
  return { wrong, maxErr };
}

interface Row {
  [k: string]: string | number | undefined;
}
const rows: Row[] = [];
const errors: string[] = [];
const fmt = (x: number | undefined) => x === undefined ? "-" : x < 10 ? x.toFixed(2) : x.toFixed(1);

// 1. the exact GPU EDT, then the jump flood: its default (2 seeds, jfa+2) first, then cheaper
// variants to choose from on a GPU
const VARIANTS: [1 | 2, JfaRefinement][] = small
  ? [[2, "jfa+2"], [1, "jfa+2"]]
  : [[2, "jfa+2"], [2, "jfa+1"], [1, "jfa+2"]];
const dtShapes = small ? [[512, 512], [64, 64, 64]] : [[2048, 2048], [256, 256, 256]];
for (const shape of dtShapes) {
  for (
    const [maskName, mask] of [
      ["blob background", blobBackground(shape)],
      ["random blobs 30%", randomBlobs(shape, 0.3, 7)],
    ] as const
  ) {
    const cpu = await time(() => edt({ data: mask, shape }), 3);
    const e = edt({ data: mask, shape });
    const what = `${shape.join("x")} ${maskName}`;
    const record = (
      transform: string,
      variant: string,
      res: { gpuMs?: number; wallMs: number; passes: number },
      round: number,
      acc: { wrong: number; maxErr: number },
    ) => {
      rows.push({
        bench: "distance",
        case: what,
        transform,
        variant,
        passes: res.passes,
        gpuMs: res.gpuMs,
        residentWallMs: res.wallMs,
        roundTripMs: round,
        cpuEdtMs: cpu,
        speedupWall: cpu / res.wallMs,
        wrongVoxels: acc.wrong,
        wrongFraction: acc.wrong / e.data.length,
        maxError: acc.maxErr,
      });
      console.log(
        `${transform} ${what} ${variant}: gpu ${fmt(res.gpuMs)} ms, resident wall ${
          fmt(res.wallMs)
        } ms, round trip ${fmt(round)} ms, cpu edt ${
          fmt(cpu)
        } ms, wrong ${acc.wrong}/${e.data.length}`,
      );
    };
    // both line kernels ("auto" takes the workgroup one below 16,384 lines per pass)
    for (const kernel of ["workgroup", "thread"] as const) {
      try {
        const res = await residentEdtGpu(mask, shape, kernel);
        const t = edtGpuTransform({ kernel });
        const round = await time(() => t.edt({ data: mask, shape }), Math.min(REPEATS, 5));
        const acc = accuracy((await t.edt({ data: mask, shape })).data, e.data);
        t.dispose();
        record("edt-gpu", `kernel=${kernel}`, res, round, acc);
      } catch (err) {
        const msg = `edt-gpu ${what} kernel=${kernel}: ${err}`;
        console.log(msg);
        errors.push(msg);
      }
    }
    for (const [seeds, refinement] of VARIANTS) {
      try {
        const res = await residentJfa(mask, shape, seeds, refinement);
        const t = jfaTransform({ seeds, refinement });
        const round = await time(() => t.edt({ data: mask, shape }), Math.min(REPEATS, 5));
        const acc = accuracy((await t.edt({ data: mask, shape })).data, e.data);
        t.dispose();
        record("jfa", `seeds=${seeds} ${refinement}`, res, round, acc);
      } catch (err) {
        // e.g. a binding-size limit on a small adapter: record it, go on with the rest
        const msg = `jfa ${what} seeds=${seeds} ${refinement}: ${err}`;
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
const COMBOS = [["webgpu", "edt-gpu"], ["webgpu", "jfa"], ["cpu", "edt"]] as const;
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
  for (const [backend, distance] of COMBOS) {
    const key = `${backend}+${distance}`;
    try {
      const scorer = await createScorer({ backend, distance, input: "logits", losses });
      const ms = await time(async () => {
        const r = await scorer.evaluate({ input, target, gradient: true });
        totals[key] = r.total;
      }, backend === "cpu" ? 3 : REPEATS);
      scorer.dispose();
      result[`${key} ms`] = ms;
    } catch (err) {
      const msg = `evaluate ${shape.join("x")} ${key}: ${err}`;
      console.log(msg);
      errors.push(msg);
    }
  }
  // where the webgpu time goes: the backend's phases, each awaited (wall time), per transform
  for (const [name, make] of [["edt-gpu", edtGpuTransform], ["jfa", jfaTransform]] as const) {
    try {
      const gb = createWebgpuBackend();
      const tr = make();
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
      result[`${name} phases`] = [ph.prepare!, ph.stats!, ph.mapsStats!, ph.gradient!]
        .map((x) => fmt(median(x))).join(" / ");
    } catch (err) {
      const msg = `evaluate phases ${shape.join("x")} ${name}: ${err}`;
      console.log(msg);
      errors.push(msg);
    }
  }
  const cpuMs = result["cpu+edt ms"] as number | undefined;
  for (const [backend, distance] of COMBOS.slice(0, 2)) {
    const key = `${backend}+${distance}`;
    const ms = result[`${key} ms`] as number | undefined;
    if (ms !== undefined && cpuMs !== undefined) result[`${key} speedup`] = cpuMs / ms;
    if (totals[key] !== undefined && totals["cpu+edt"] !== undefined) {
      result[`${key} total rel. diff`] = Math.abs(totals[key]! - totals["cpu+edt"]!) /
        Math.abs(totals["cpu+edt"]!);
    }
  }
  rows.push(result);
  console.log(
    `evaluate ${shape.join("x")}: ${
      COMBOS.map(([b, d]) => `${b}+${d} ${fmt(result[`${b}+${d} ms`] as number | undefined)} ms`)
        .join(", ")
    }`,
  );
}

// anchors measured on an H200 (issue 14), in ms: [low, high]
const ANCHORS: Record<string, { pba: string; cudaJfa: string }> = {
  "2048x2048": { pba: "0.5–1.0", cudaJfa: "1.9–2.3" },
  "256x256x256": { pba: "0.9–1.2", cudaJfa: "13–15" },
};
const TORCH: Record<string, string> = {
  "16x8x64x64": "74",
  "4x2x256x256": "6.3",
  "1x2x128x128x128": "3.0",
};

console.log(`\nsegloss GPU benchmark — adapter: ${adapterName}${small ? " (--small)" : ""}`);
console.log(`timestamp-query: ${hasTimestamps}; repeats: ${REPEATS} (median after warm-up)\n`);
console.log(
  "| distance case | transform | variant | passes | GPU ms (timestamps) | resident wall ms | round trip ms | CPU edt ms | CPU/GPU wall | wrong voxels | max error | H200 anchors: PBA+ / CUDA JFA ms |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of rows.filter((r) => r.bench === "distance")) {
  const a = ANCHORS[(r.case as string).split(" ")[0]!];
  console.log(
    `| ${r.case} | ${r.transform} | ${r.variant} | ${r.passes} | ${
      fmt(r.gpuMs as number | undefined)
    } | ${fmt(r.residentWallMs as number)} | ${fmt(r.roundTripMs as number)} | ${
      fmt(r.cpuEdtMs as number)
    } | ${(r.speedupWall as number).toFixed(1)}x | ${r.wrongVoxels} (${
      (r.wrongFraction as number).toExponential(1)
    }) | ${(r.maxError as number).toExponential(1)} | ${a ? `${a.pba} / ${a.cudaJfa}` : "-"} |`,
  );
}
console.log(
  "\n| evaluate (dice + 0.01·boundary, gradient) | webgpu+edt-gpu ms | webgpu+jfa ms | cpu+edt ms | speedup edt-gpu / jfa vs cpu | total rel. diff edt-gpu / jfa | H200 PyTorch+CuPy anchor ms | phases edt-gpu: prepare / stats / maps+pphi / gradient ms | phases jfa |",
);
console.log("|---|---|---|---|---|---|---|---|---|");
const x = (v: unknown) => typeof v === "number" ? `${v.toFixed(1)}x` : "-";
const e1 = (v: unknown) => typeof v === "number" ? v.toExponential(1) : "-";
for (const r of rows.filter((r) => r.bench === "evaluate")) {
  console.log(
    `| ${r.case} | ${fmt(r["webgpu+edt-gpu ms"] as number | undefined)} | ${
      fmt(r["webgpu+jfa ms"] as number | undefined)
    } | ${fmt(r["cpu+edt ms"] as number | undefined)} | ${x(r["webgpu+edt-gpu speedup"])} / ${
      x(r["webgpu+jfa speedup"])
    } | ${e1(r["webgpu+edt-gpu total rel. diff"])} / ${e1(r["webgpu+jfa total rel. diff"])} | ${
      TORCH[r.case as string] ?? "-"
    } | ${r["edt-gpu phases"] ?? "-"} | ${r["jfa phases"] ?? "-"} |`,
  );
}
console.log(
  "\nAnchors (issue 14, measured on an H200): cuCIM PBA+ 2048² 0.5–1.0 ms, 256³ 0.9–1.2 ms; " +
    "CUDA jump flood 1.9–2.3 / 13–15 ms; PyTorch 2.11 + CuPy loss + backward 74 ms " +
    "(16x8x64²), 6.3 ms (4x2x256²), 3.0 ms (1x2x128³).",
);
console.log(
  "\nJSON " +
    JSON.stringify({ adapter: adapterName, small, timestampQuery: hasTimestamps, rows, errors }),
);
