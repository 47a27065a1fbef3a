/**
 * The jump flood on a GPUDevice (internal): pipelines, bind groups and the encoding of a whole
 * flood (seed init, every step, final distances) into ONE compute pass, so a transform is one
 * submit however many steps it takes.
 *
 * @module
 */
import { BUFFER, cachedPipeline, dispatchSize, uploadBuffer } from "../core/gpu.ts";
import {
  type FloodGeometry,
  floodGeometry,
  JFA_PARAMS_BYTES,
  JFA_WG,
  jfaFinalEdtWgsl,
  jfaFinalSignedWgsl,
  jfaInitLabelsWgsl,
  jfaInitMaskWgsl,
  jfaStepWgsl,
} from "./jfa_kernels.ts";
import { conventionShift } from "./conventions.ts";
import { ScratchPair } from "./_gpu_common.ts";
import type { SignedDistanceConvention } from "../core/types.ts";

/**
 * Which refinement passes follow the log-step flood: `"jfa"` none, `"jfa+1"` one step of 1,
 * `"jfa+2"` steps 2 and 1, `"1+jfa"` a step of 1 first, `"1+jfa+1"` both, `"1+jfa+2"` a
 * step of 1 first and steps 2, 1 after, `"jfa+4+2+1"` three more, `"2jfa"` a second round.
 *
 * @example Basic usage
 * ```ts
 * import type { JfaRefinement } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const r: JfaRefinement = "jfa+2";
 * assert.equal(r, "jfa+2");
 * ```
 */
export type JfaRefinement =
  | "jfa"
  | "jfa+1"
  | "jfa+2"
  | "1+jfa"
  | "1+jfa+1"
  | "1+jfa+2"
  | "jfa+4+2+1"
  | "2jfa";

/** How a flood is run: its refinement passes and the seeds kept per voxel. */
export interface FloodConfig {
  /** Refinement passes. */
  refinement: JfaRefinement;
  /** Seeds kept per voxel. */
  seeds: 1 | 2;
}

/** The refinements accepted by {@linkcode jfaSteps}. */
export const JFA_REFINEMENTS: readonly JfaRefinement[] = [
  "jfa",
  "jfa+1",
  "jfa+2",
  "1+jfa",
  "1+jfa+1",
  "1+jfa+2",
  "jfa+4+2+1",
  "2jfa",
];

/**
 * The step sequence of a flood over a volume whose largest extent is `maxExtent`: powers of
 * two from `2^(ceil(log2 maxExtent) - 1)` down to 1, plus the refinement passes.
 *
 * With anisotropic `spacing` (ratio `r` = largest / smallest spacing) the Voronoi cells of the
 * seeds are stretched about `r` times along the finer axes: a cell can be a sliver many voxels
 * long and one voxel wide, which the log-step flood cuts, so a voxel keeps a seed up to a whole
 * voxel (of the coarse axis) farther than its nearest. The refinements that end in steps 2, 1
 * (`"jfa+2"`, `"1+jfa+2"`, `"jfa+4+2+1"`) then start their tail at `2^ceil(log2 2r)` instead
 * when `r > 1.25` (r = 2: steps 4, 2, 1 after the flood; r = 4: 8, 4, 2, 1), capped by the
 * flood's first step; isotropic and nearly isotropic spacing keeps the same passes. The other
 * refinements are left as they are.
 *
 * @param maxExtent Largest spatial extent.
 * @param refinement Which refinement passes follow.
 * @param spacing Voxel size per spatial axis (default isotropic).
 * @returns The strides, in voxels, of every flood step.
 */
export function jfaSteps(
  maxExtent: number,
  refinement: JfaRefinement,
  spacing?: readonly number[],
): number[] {
  const log: number[] = [];
  if (maxExtent > 1) {
    for (let k = 2 ** (Math.ceil(Math.log2(maxExtent)) - 1); k >= 1; k /= 2) log.push(k);
  } else {
    return [];
  }
  const tail = (top: number): number[] => {
    const ratio = spacing && spacing.length > 1 ? Math.max(...spacing) / Math.min(...spacing) : 1;
    // 1e-6: spacings like [0.3, 0.3 * 4] are not exactly 4 apart in floating point
    const aniso = ratio > 1.25 ? 2 ** Math.ceil(Math.log2(2 * ratio - 1e-6)) : 1;
    const t: number[] = [];
    for (let k = Math.min(Math.max(top, aniso), log[0]!); k >= 1; k /= 2) t.push(k);
    return t;
  };
  switch (refinement) {
    case "jfa":
      return log;
    case "jfa+1":
      return [...log, 1];
    case "jfa+2":
      return [...log, ...tail(2)];
    case "1+jfa":
      return [1, ...log];
    case "1+jfa+1":
      return [1, ...log, 1];
    case "1+jfa+2":
      return [1, ...log, ...tail(2)];
    case "jfa+4+2+1":
      return [...log, ...tail(4)];
    case "2jfa":
      return [...log, ...log];
  }
}

interface Layouts {
  three: GPUBindGroupLayout;
  four: GPUBindGroupLayout;
}
const layoutCache = new WeakMap<GPUDevice, Layouts>();

function layouts(device: GPUDevice): Layouts {
  let l = layoutCache.get(device);
  if (!l) {
    const COMPUTE = 0x4; // GPUShaderStage.COMPUTE
    const entries: GPUBindGroupLayoutEntry[] = [
      { binding: 0, visibility: COMPUTE, buffer: { type: "uniform", hasDynamicOffset: true } },
      { binding: 1, visibility: COMPUTE, buffer: { type: "read-only-storage" } },
      { binding: 2, visibility: COMPUTE, buffer: { type: "storage" } },
    ];
    l = {
      three: device.createBindGroupLayout({ entries }),
      four: device.createBindGroupLayout({
        entries: [
          ...entries,
          { binding: 3, visibility: COMPUTE, buffer: { type: "read-only-storage" } },
        ],
      }),
    };
    layoutCache.set(device, l);
  }
  return l;
}

function geomKey(g: FloodGeometry): string {
  return `${g.w}x${g.h}x${g.d}:${g.two ? 1 : 0}${g.three ? 1 : 0}:k${g.k}`;
}

/** The two ping-pong seed buffers, reused across floods on a device. */
const seedBuffers = new ScratchPair();

/** Frees the seed buffers kept for `device` (the next flood allocates them again). */
export function releaseScratch(device: GPUDevice): void {
  seedBuffers.release(device);
}

/** What a flood starts from and what it writes. */
export interface FloodSpec {
  /** Spatial geometry of every volume. */
  geometry: FloodGeometry;
  /** Number of volumes. */
  volumes: number;
  /** Spacing per spatial axis, in the order of the array's axes. */
  spacing: readonly number[];
  /** Step strides. */
  steps: readonly number[];
  /**
   * Seeds: a byte mask (4 per u32 word; non-zero = member, flood only fills members) or i32
   * labels `(N, V)` for `volumes = N·numClasses` class volumes (flood fills both sides).
   */
  init:
    | { kind: "mask"; buffer: GPUBuffer }
    | { kind: "labels"; buffer: GPUBuffer; numClasses: number };
  /** Output: unsigned EDT of members, or signed maps with per-volume flags and a shift. */
  final: { kind: "edt" } | { kind: "signed"; flags: GPUBuffer; shift: number };
  /** The float32 output buffer, `volumes · V` elements. */
  out: GPUBuffer;
}

/**
 * Encodes a whole flood into `pass` (a compute pass: dispatches in it are ordered and see
 * each other's writes). Returns the transient buffers, to destroy after the submit (the two
 * seed buffers are kept per device and reused: submits on one queue run in order, so reuse is
 * safe; {@linkcode releaseScratch} frees them).
 */
export function encodeFlood(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  spec: FloodSpec,
): GPUBuffer[] {
  const g = spec.geometry;
  const key = geomKey(g);
  const L = layouts(device);
  const initP = spec.init.kind === "mask"
    ? cachedPipeline(device, `jfa-init-mask:${key}`, () => jfaInitMaskWgsl(g), L.three)
    : cachedPipeline(device, `jfa-init-labels:${key}`, () => jfaInitLabelsWgsl(g), L.three);
  const stepP = cachedPipeline(device, `jfa-step:${key}`, () => jfaStepWgsl(g), L.three);
  const finalP = spec.final.kind === "edt"
    ? cachedPipeline(device, `jfa-final-edt:${key}`, () => jfaFinalEdtWgsl(g), L.three)
    : cachedPipeline(device, `jfa-final-signed:${key}`, () => jfaFinalSignedWgsl(g), L.four);

  const V = g.w * g.h * g.d;
  const total = spec.volumes * V;
  const align = Math.max(JFA_PARAMS_BYTES, device.limits.minUniformBufferOffsetAlignment);
  const slots = spec.steps.length + 1;
  const ubytes = new ArrayBuffer(slots * align);
  const dims = spec.spacing.length;
  const sx = spec.spacing[dims - 1]!;
  const sy = dims >= 2 ? spec.spacing[dims - 2]! : 1;
  const sz = dims === 3 ? spec.spacing[0]! : 1;
  const shift = spec.final.kind === "signed" ? spec.final.shift : 0;
  const extra = spec.init.kind === "labels" ? spec.init.numClasses : 0;
  const fixedZero = spec.init.kind === "mask" ? 1 : 0;
  for (let s = 0; s < slots; s++) {
    const f = new Float32Array(ubytes, s * align, 4);
    f.set([sx, sy, sz, shift]);
    const u = new Int32Array(ubytes, s * align + 16, 4);
    u.set([s < spec.steps.length ? spec.steps[s]! : 0, total, fixedZero, extra]);
  }
  const uniform = device.createBuffer({
    size: ubytes.byteLength,
    usage: BUFFER.UNIFORM | BUFFER.COPY_DST,
  });
  device.queue.writeBuffer(uniform, 0, ubytes);
  const [a, b] = seedBuffers.get(device, total * 4 * g.k);
  const ub = { buffer: uniform, size: JFA_PARAMS_BYTES };
  const bg = (layout: GPUBindGroupLayout, src: GPUBuffer, dst: GPUBuffer, flags?: GPUBuffer) =>
    device.createBindGroup({
      layout,
      entries: [
        { binding: 0, resource: ub },
        { binding: 1, resource: { buffer: src } },
        { binding: 2, resource: { buffer: dst } },
        ...(flags ? [{ binding: 3, resource: { buffer: flags } }] : []),
      ],
    });
  const [gx, gy] = dispatchSize(
    Math.ceil(total / JFA_WG),
    device.limits.maxComputeWorkgroupsPerDimension,
  );
  const initBg = bg(L.three, spec.init.buffer, a);
  const ab = bg(L.three, a, b);
  const ba = bg(L.three, b, a);
  pass.setPipeline(initP);
  pass.setBindGroup(0, initBg, [0]);
  pass.dispatchWorkgroups(gx, gy);
  pass.setPipeline(stepP);
  let cur = a;
  for (let s = 0; s < spec.steps.length; s++) {
    pass.setBindGroup(0, cur === a ? ab : ba, [s * align]);
    pass.dispatchWorkgroups(gx, gy);
    cur = cur === a ? b : a;
  }
  const finalBg = spec.final.kind === "edt"
    ? bg(L.three, cur, spec.out)
    : bg(L.four, cur, spec.out, spec.final.flags);
  pass.setPipeline(finalP);
  pass.setBindGroup(0, finalBg, [(slots - 1) * align]);
  pass.dispatchWorkgroups(gx, gy);
  return [uniform];
}

/**
 * Signed maps `(N, C, V)` computed on `device` from distance labels: one flood per (n, c)
 * volume (both sides at once), flags zeroing absent and whole-volume classes. `labels` must lie
 * in `[0, C)`; `uploaded`, when given, already holds them on the device (it is not destroyed).
 * The caller owns (and destroys) the returned buffer.
 */
export function signedMapsOnDevice(
  device: GPUDevice,
  labels: Int32Array,
  n: number,
  C: number,
  spatial: readonly number[],
  spacing: readonly number[],
  convention: SignedDistanceConvention,
  cfg: FloodConfig,
  uploaded?: GPUBuffer,
): GPUBuffer {
  let V = 1;
  for (const e of spatial) V *= e;
  const flags = new Uint32Array(n * C);
  const counts = new Int32Array(C);
  for (let k = 0; k < n; k++) {
    counts.fill(0);
    for (let v = 0; v < V; v++) counts[labels[k * V + v]!]!++;
    for (let c = 0; c < C; c++) flags[k * C + c] = counts[c]! > 0 && counts[c]! < V ? 1 : 0;
  }
  const shift = conventionShift(convention, spacing);
  const labelsBuf = uploaded ?? uploadBuffer(device, labels);
  const flagsBuf = uploadBuffer(device, flags);
  const out = device.createBuffer({
    size: n * C * V * 4,
    usage: BUFFER.STORAGE | BUFFER.COPY_SRC | BUFFER.COPY_DST,
  });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  const transient = encodeFlood(device, pass, {
    geometry: floodGeometry(spatial, cfg.seeds),
    volumes: n * C,
    spacing,
    steps: jfaSteps(Math.max(...spatial), cfg.refinement, spacing),
    init: { kind: "labels", buffer: labelsBuf, numClasses: C },
    final: { kind: "signed", flags: flagsBuf, shift },
    out,
  });
  pass.end();
  device.queue.submit([enc.finish()]);
  // destroying after submit is allowed: the memory is freed once the queued work completes
  for (const b of [flagsBuf, ...transient]) b.destroy();
  if (!uploaded) labelsBuf.destroy();
  return out;
}
