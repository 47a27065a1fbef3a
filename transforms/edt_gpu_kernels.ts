/**
 * WGSL of the exact GPU EDT (internal): separable passes, one thread per line of voxels.
 *
 * - The first pass runs along the innermost axis and starts from the sites (zero voxels of a
 *   mask, or the voxels of class `c` of a label map): a forward and a backward scan give each
 *   voxel the distance along its row to the nearest site, written squared in physical units.
 * - Every further axis runs the Felzenszwalb–Huttenlocher lower envelope of parabolas
 *   `f(p) + s²(q − p)²` along its lines (strided, so neighbouring threads read neighbouring
 *   words). The envelope's site indices live in a scratch buffer laid out like the data and its
 *   boundaries in the output itself (overwritten behind the final sweep, which picks the
 *   envelope's next parabola by comparing values, not boundaries: float32 rounding of an
 *   intersection can then never select a parabola that is not the smallest of its neighbours).
 * - The last pass takes the square root (`edt`), or a combine pass turns the per-class squared
 *   distances into signed maps (inside class `l`: the smallest distance to any other class).
 *
 * Squared distances are float32; "no site" is `BIG` (1e30) and becomes Infinity at the end.
 *
 * @module
 */

/** Workgroup size of every kernel. */
export const EDT_GPU_WG = 64;

/**
 * Bytes of the uniform block of a pass: `count` (lines or voxels), Infinity's bits, the volume
 * size `V`, the axis stride `S` and length `L`, lines per volume `LPV`, classes `C`, then the
 * spacing `SP`, its square `S2` and the convention's `SHIFT` (float32). Geometry lives in the
 * uniform, not in the shader text, so a handful of pipelines serve every shape.
 */
export const EDT_GPU_PARAMS_BYTES = 48;

/** One separable pass: its axis stride and length, the volume size, the spacing. */
export interface EdtPassGeometry {
  /** Voxels of one volume. */
  V: number;
  /** Stride of the axis in elements. */
  S: number;
  /** Extent of the axis. */
  L: number;
  /** Spacing along the axis. */
  spacing: number;
}

/** Writes the uniform block of one pass into `into` (EDT_GPU_PARAMS_BYTES bytes). */
export function edtParams(
  into: DataView,
  count: number,
  g: EdtPassGeometry,
  numClasses: number,
  shift: number,
): void {
  const u = [count, 0x7f800000, g.V, g.S, g.L, g.V / g.L, numClasses, 0];
  u.forEach((x, i) => into.setUint32(i * 4, x, true));
  [g.spacing, g.spacing * g.spacing, shift, 0].forEach((x, i) =>
    into.setFloat32(32 + i * 4, x, true)
  );
}

const HEADER = /* wgsl */ `
const BIG: f32 = 1.0e30;
struct Params {
  count: u32, inf_bits: u32, V: u32, S: u32,
  L: u32, LPV: u32, C: u32, pad: u32,
  SP: f32, S2: f32, SHIFT: f32, pad2: f32,
};
@group(0) @binding(0) var<uniform> P: Params;
fn linear(gid: vec3<u32>, nw: vec3<u32>) -> u32 {
  return gid.y * nw.x * ${EDT_GPU_WG}u + gid.x;
}
// first element of line t (of volume t / LPV) and the element index inside the volume
fn line_base(t: u32) -> vec2<u32> {
  let vol = t / P.LPV;
  let r = t % P.LPV;
  let off = (r / P.S) * P.S * P.L + r % P.S;
  return vec2<u32>(vol * P.V + off, off);
}
`;

/**
 * The scan pass from the sites along the innermost axis. `sites`: `"mask"` (u32 words of 4
 * bytes, a zero byte is a site) or `"labels"` (i32 labels `(N, V)`; volume `k` is class
 * `k % C` of sample `k / C`). `final`: write the distance (for a 1-D `edt`) instead of its
 * square.
 */
export function edtScanWgsl(sites: "mask" | "labels", final: boolean): string {
  const site = sites === "mask"
    ? /* wgsl */ `fn is_site(vol: u32, i: u32) -> bool {
  let e = vol * P.V + i;
  return ((src[e >> 2u] >> ((e & 3u) * 8u)) & 0xffu) == 0u;
}`
    : /* wgsl */ `fn is_site(vol: u32, i: u32) -> bool {
  return src[(vol / P.C) * P.V + i] == vol % P.C;
}`;
  const write = final
    ? "select(bitcast<f32>(P.inf_bits), d * P.SP, d < BIG)"
    : "select(BIG, P.S2 * d * d, d < BIG)";
  return HEADER + /* wgsl */ `
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
${site}
@compute @workgroup_size(${EDT_GPU_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let t = linear(gid, nw);
  if (t >= P.count) { return; }
  let b = line_base(t);
  let vol = t / P.LPV;
  let S = P.S;
  let L = P.L;
  var last: i32 = -1;
  for (var q: u32 = 0u; q < L; q++) {
    if (is_site(vol, b.y + q * S)) { last = i32(q); }
    dst[b.x + q * S] = select(BIG, f32(i32(q) - last), last >= 0);
  }
  var next: i32 = -1;
  for (var q: i32 = i32(L) - 1; q >= 0; q--) {
    let e = b.x + u32(q) * S;
    var d = dst[e];
    if (d == 0.0) {
      next = q;
    } else if (next >= 0) {
      d = min(d, f32(next - q));
    }
    dst[e] = ${write};
  }
}
`;
}

/**
 * An envelope pass along a strided axis: `src` squared distances in, `dst` out (the square
 * root when `final`), `vs` scratch site indices (as large as the data).
 */
export function edtEnvelopeWgsl(final: boolean): string {
  const write = final ? "sqrt(best)" : "best";
  const none = final ? "bitcast<f32>(P.inf_bits)" : "BIG";
  return HEADER + /* wgsl */ `
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<storage, read_write> vs: array<u32>;
@compute @workgroup_size(${EDT_GPU_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let t = linear(gid, nw);
  if (t >= P.count) { return; }
  let base = line_base(t).x;
  let S = P.S;
  let L = P.L;
  let S2 = P.S2;
  // lower envelope: site indices in vs, left boundaries in dst (both at base + k * S)
  var k: i32 = -1;
  for (var q: u32 = 0u; q < L; q++) {
    let fq = src[base + q * S];
    if (fq >= BIG) { continue; }
    var s: f32 = 0.0;
    loop {
      if (k < 0) { break; }
      let p = vs[base + u32(k) * S];
      let fp = src[base + p * S];
      s = f32(q + p) * 0.5 + (fq - fp) / (2.0 * S2 * f32(q - p));
      if (k > 0 && s <= dst[base + u32(k) * S]) { k--; } else { break; }
    }
    k++;
    vs[base + u32(k) * S] = q;
    dst[base + u32(k) * S] = s;
  }
  if (k < 0) {
    for (var q: u32 = 0u; q < L; q++) { dst[base + q * S] = ${none}; }
    return;
  }
  // sweep: the nearest parabola moves right as q grows; take the next one while it is as low
  var j: u32 = 0u;
  var vj = vs[base];
  var fj = src[base + vj * S];
  for (var q: u32 = 0u; q < L; q++) {
    let dq = f32(q) - f32(vj);
    var best = S2 * dq * dq + fj;
    loop {
      if (j >= u32(k)) { break; }
      let vn = vs[base + (j + 1u) * S];
      let fn_ = src[base + vn * S];
      let dn = f32(q) - f32(vn);
      let cand = S2 * dn * dn + fn_;
      if (cand <= best) {
        best = cand;
        j++;
        vj = vn;
        fj = fn_;
      } else {
        break;
      }
    }
    dst[base + q * S] = ${write};
  }
}
`;
}

/**
 * The combine pass of signed maps, in place over `maps` `(N, C, V)` of squared distances to
 * each class: outside class c the distance to c, inside (label l) `SHIFT − √(min over the other
 * classes)`. No per-(n, c) flags are needed: a class absent from the sample has no site, so its
 * distance is `BIG` at every voxel (→ 0), and a class filling the sample has no other class
 * (the minimum stays `BIG` → 0), as the CPU `signedDistance` defines both.
 */
export function edtCombineWgsl(): string {
  return HEADER + /* wgsl */ `
@group(0) @binding(1) var<storage, read> labels: array<u32>;
@group(0) @binding(2) var<storage, read_write> maps: array<f32>;
@compute @workgroup_size(${EDT_GPU_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = linear(gid, nw);
  if (i >= P.count) { return; }
  let V = P.V;
  let C = P.C;
  let n = i / V;
  let v = i % V;
  let l = labels[i];
  var m = BIG;
  for (var c: u32 = 0u; c < C; c++) {
    let e = (n * C + c) * V + v;
    let d = maps[e];
    if (c != l) {
      m = min(m, d);
      maps[e] = select(0.0, sqrt(d), d < BIG);
    }
  }
  maps[(n * C + l) * V + v] = select(0.0, P.SHIFT - sqrt(m), m < BIG);
}
`;
}

/** Workgroup size of the workgroup-per-line kernel. */
export const EDT_GPU_LINE_WG = 128;

/**
 * The largest line (a power of two, at most 4096) the workgroup-per-line kernel holds in
 * workgroup memory on a device with `storageBytes` of it: 12 bytes per voxel (f, the
 * envelope's sites and boundaries).
 *
 * @param storageBytes The device's `maxComputeWorkgroupStorageSize`.
 * @returns The capacity, or 0 when not even 64 fit.
 *
 * @example Basic usage
 * ```ts
 * import { lineCapacity } from "./edt_gpu_kernels.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(lineCapacity(16384), 1024); // WebGPU's default limit
 * assert.equal(lineCapacity(49152), 2048);
 * assert.equal(lineCapacity(65536), 4096);
 * ```
 */
export function lineCapacity(storageBytes: number): number {
  let cap = 4096;
  while (cap >= 64 && (3 * cap + 8) * 4 > storageBytes) cap /= 2;
  return cap >= 64 ? cap : 0;
}

/**
 * One separable pass with a workgroup per line (for few, long lines: a single large 2-D image):
 * the line is loaded into workgroup memory (coalesced along the innermost axis), one invocation
 * builds the lower envelope there, and every invocation evaluates its voxels by a binary search
 * over the envelope's boundaries, then the smallest of the found parabola and its two
 * neighbours (so a float32 rounding of a boundary cannot pick a wrong one). `sites`: the first
 * pass starts from the sites (`"mask"` or `"labels"`, as {@linkcode edtScanWgsl}) instead of
 * squared distances (`"distances"`). `final`: write the square root.
 */
export function edtLineWgsl(
  sites: "mask" | "labels" | "distances",
  final: boolean,
  capacity: number,
): string {
  const load = sites === "mask"
    ? /* wgsl */ `let e = vol * P.V + b.y + q * S;
    fl[q] = select(BIG, 0.0, ((src[e >> 2u] >> ((e & 3u) * 8u)) & 0xffu) == 0u);`
    : sites === "labels"
    ? /* wgsl */ `fl[q] = select(BIG, 0.0, src[(vol / P.C) * P.V + b.y + q * S] == vol % P.C);`
    : /* wgsl */ `fl[q] = bitcast<f32>(src[b.x + q * S]);`;
  const write = final ? "sqrt(best)" : "best";
  const none = final ? "bitcast<f32>(P.inf_bits)" : "BIG";
  return HEADER + /* wgsl */ `
const CAP: u32 = ${capacity}u;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
var<workgroup> fl: array<f32, CAP>;
var<workgroup> vv: array<u32, CAP>;
var<workgroup> zz: array<f32, ${capacity + 1}>;
var<workgroup> kk: u32;
@compute @workgroup_size(${EDT_GPU_LINE_WG})
fn main(
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nw: vec3<u32>,
) {
  let t = wid.y * nw.x + wid.x;
  if (t >= P.count) { return; } // uniform: the same for the whole workgroup
  let b = line_base(t);
  let vol = t / P.LPV;
  let S = P.S;
  let L = P.L;
  let S2 = P.S2;
  for (var q: u32 = lid.x; q < L; q += ${EDT_GPU_LINE_WG}u) {
    ${load}
  }
  workgroupBarrier();
  if (lid.x == 0u) {
    var k: i32 = -1;
    for (var q: u32 = 0u; q < L; q++) {
      let fq = fl[q];
      if (fq >= BIG) { continue; }
      var s: f32 = -3.0e38;
      loop {
        if (k < 0) { break; }
        let p = vv[k];
        s = f32(q + p) * 0.5 + (fq - fl[p]) / (2.0 * S2 * f32(q - p));
        if (k > 0 && s <= zz[k]) { k--; } else { break; }
      }
      k++;
      vv[k] = q;
      zz[k] = select(s, -3.0e38, k == 0);
    }
    kk = u32(k + 1);
  }
  workgroupBarrier();
  let K = kk;
  for (var q: u32 = lid.x; q < L; q += ${EDT_GPU_LINE_WG}u) {
    var best: f32;
    if (K == 0u) {
      best = BIG;
    } else {
      let x = f32(q);
      var lo: u32 = 0u;
      var hi: u32 = K - 1u;
      while (lo < hi) {
        let mid = (lo + hi + 1u) / 2u;
        if (zz[mid] <= x) { lo = mid; } else { hi = mid - 1u; }
      }
      let d0 = x - f32(vv[lo]);
      best = S2 * d0 * d0 + fl[vv[lo]];
      if (lo + 1u < K) {
        let d1 = x - f32(vv[lo + 1u]);
        best = min(best, S2 * d1 * d1 + fl[vv[lo + 1u]]);
      }
      if (lo > 0u) {
        let d2 = x - f32(vv[lo - 1u]);
        best = min(best, S2 * d2 * d2 + fl[vv[lo - 1u]]);
      }
    }
    dst[b.x + q * S] = select(${none}, ${write}, best < BIG);
  }
}
`;
}
