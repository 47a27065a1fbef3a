/**
 * WGSL of the jump flood (internal): seed initialisation from a mask or from labels, the flood
 * step (9 taps in 2-D, 26 + self folded in one pass in 3-D), and the final distance / signed
 * map passes. Shapes are baked in as constants (divisions by constants), the step and spacing
 * come from a uniform with a dynamic offset so every pass reuses two bind groups.
 *
 * Each voxel holds one u32: bit 31 is its membership (1 = inside the mask / the class), bits
 * 0..30 the packed coordinates `x | y << BX | z << (BX + BY)` of the nearest voxel of the
 * opposite membership found so far (all ones = none yet). A neighbour of the other membership
 * is itself a candidate; a neighbour of the same membership offers its own nearest. So one
 * flood computes EDT(inside) for inside voxels and EDT(outside) for outside voxels at once:
 * a signed map costs one flood, not two.
 *
 * @module
 */
import { SeglossRangeError } from "../core/errors.ts";

/** Workgroup size of the 1-D voxel kernels. */
export const JFA_WG = 256;

/** Bytes of one pass's uniform block (before alignment). */
export const JFA_PARAMS_BYTES = 32;

/** Spatial extent and bit layout of a flood. */
export interface FloodGeometry {
  /** Innermost extent. */
  w: number;
  /** Middle extent (1 for 1-D). */
  h: number;
  /** Outermost extent (1 for 2-D and 1-D). */
  d: number;
  /** Whether taps move along z (3-D). */
  three: boolean;
  /** Whether taps move along y (2-D and 3-D). */
  two: boolean;
  /** Seeds kept per voxel: 1 (classic) or 2 (the two nearest distinct ones: far fewer misses). */
  k: 1 | 2;
}

/** Bits needed so that the all-ones field never equals a real coordinate. */
export function bitsFor(n: number): number {
  return Math.ceil(Math.log2(n + 1));
}

/** The geometry of trailing `spatial` extents (1 to 3 axes), keeping `k` seeds per voxel. */
export function floodGeometry(spatial: readonly number[], k: 1 | 2 = 2): FloodGeometry {
  const dims = spatial.length;
  if (dims < 1 || dims > 3) {
    throw new SeglossRangeError(`Expected 1 to 3 spatial axes for jfa but found ${dims}`);
  }
  const w = spatial[dims - 1]!;
  const h = dims >= 2 ? spatial[dims - 2]! : 1;
  const d = dims === 3 ? spatial[0]! : 1;
  const bits = bitsFor(w) + bitsFor(h) + bitsFor(d);
  if (bits > 31) {
    throw new SeglossRangeError(
      `Expected the jfa volume [${spatial.join(", ")}] to pack into 31 bits of coordinates ` +
        `but it needs ${bits}; use the exact edt transform for it`,
    );
  }
  return { w, h, d, three: dims === 3, two: dims >= 2, k };
}

function header(g: FloodGeometry): string {
  const bx = bitsFor(g.w);
  const by = bitsFor(g.h);
  return /* wgsl */ `
const W: u32 = ${g.w}u;
const H: u32 = ${g.h}u;
const D: u32 = ${g.d}u;
const WH: u32 = ${g.w * g.h}u;
const V: u32 = ${g.w * g.h * g.d}u;
const BX: u32 = ${bx}u;
const BXY: u32 = ${bx + by}u;
const MX: u32 = ${(1 << bx) - 1}u;
const MY: u32 = ${(1 << by) - 1}u;
const K: u32 = ${g.k}u;
const SENT: u32 = 0x7fffffffu;
const MEMBER: u32 = 0x80000000u;
const BIG: f32 = 3.0e38;
struct Params {
  sp: vec4<f32>,
  step: i32,
  total: u32,
  fixed_zero: u32,
  extra: u32,
};
@group(0) @binding(0) var<uniform> P: Params;
fn pack(x: i32, y: i32, z: i32) -> u32 {
  return u32(x) | (u32(y) << BX) | (u32(z) << BXY);
}
fn dist2(s: u32, x: i32, y: i32, z: i32) -> f32 {
  let dx = f32(i32(s & MX) - x) * P.sp.x;
  let dy = f32(i32((s >> BX) & MY) - y) * P.sp.y;
  let dz = f32(i32(s >> BXY) - z) * P.sp.z;
  return dx * dx + dy * dy + dz * dz;
}
fn linear(gid: vec3<u32>, nw: vec3<u32>) -> u32 {
  return gid.y * nw.x * ${JFA_WG}u + gid.x;
}
`;
}

/** Seeds from a mask packed 4 bytes per u32 word: non-zero byte = member. */
export function jfaInitMaskWgsl(g: FloodGeometry): string {
  return header(g) + /* wgsl */ `
@group(0) @binding(1) var<storage, read> mask: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;
@compute @workgroup_size(${JFA_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = linear(gid, nw);
  if (i >= P.total) { return; }
  let byte = (mask[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu;
  if (byte != 0u) {
    dst[i * K] = SENT | MEMBER;
  } else {
    let v = i % V;
    dst[i * K] = pack(i32(v % W), i32((v / W) % H), i32(v / WH));
  }
  if (K == 2u) { dst[i * K + 1u] = SENT; }
}
`;
}

/** Seeds from i32 labels `(N, V)` for volumes `(N, C)`: member = label equals the class. */
export function jfaInitLabelsWgsl(g: FloodGeometry): string {
  return header(g) + /* wgsl */ `
@group(0) @binding(1) var<storage, read> labels: array<i32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;
@compute @workgroup_size(${JFA_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = linear(gid, nw);
  if (i >= P.total) { return; }
  let b = i / V;
  let v = i - b * V;
  let c = b % P.extra;
  let n = b / P.extra;
  let l = labels[n * V + v];
  dst[i * K] = select(SENT, SENT | MEMBER, l == i32(c));
  if (K == 2u) { dst[i * K + 1u] = SENT; }
}
`;
}

/** One flood step of stride `P.step` (all 8 or 26 neighbours and self in one pass). */
export function jfaStepWgsl(g: FloodGeometry): string {
  const rz = g.three ? 1 : 0;
  const ry = g.two ? 1 : 0;
  return header(g) + /* wgsl */ `
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;
struct Best {
  s1: u32,
  d1: f32,
  s2: u32,
  d2: f32,
};
fn consider(best: ptr<function, Best>, c: u32, x: i32, y: i32, z: i32) {
  if (c == SENT || c == (*best).s1 || c == (*best).s2) { return; }
  let dd = dist2(c, x, y, z);
  if (dd < (*best).d1) {
    (*best).s2 = (*best).s1;
    (*best).d2 = (*best).d1;
    (*best).s1 = c;
    (*best).d1 = dd;
  } else if (K == 2u && dd < (*best).d2) {
    (*best).s2 = c;
    (*best).d2 = dd;
  }
}
@compute @workgroup_size(${JFA_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = linear(gid, nw);
  if (i >= P.total) { return; }
  let own = src[i * K];
  let member = own & MEMBER;
  if (P.fixed_zero != 0u && member == 0u) {
    dst[i * K] = own;
    return;
  }
  let b = i / V;
  let v = i - b * V;
  let base = b * V;
  let x = i32(v % W);
  let y = i32((v / W) % H);
  let z = i32(v / WH);
  var best = Best(SENT, BIG, SENT, BIG);
  consider(&best, own & SENT, x, y, z);
  if (K == 2u) { consider(&best, src[i * K + 1u], x, y, z); }
  let k = P.step;
  for (var dz = -${rz}; dz <= ${rz}; dz++) {
    let qz = z + dz * k;
    if (qz < 0 || qz >= i32(D)) { continue; }
    for (var dy = -${ry}; dy <= ${ry}; dy++) {
      let qy = y + dy * k;
      if (qy < 0 || qy >= i32(H)) { continue; }
      let row = base + u32(qz) * WH + u32(qy) * W;
      for (var dx = -1; dx <= 1; dx++) {
        let qx = x + dx * k;
        if (qx < 0 || qx >= i32(W)) { continue; }
        let qi = (row + u32(qx)) * K;
        let q = src[qi];
        if ((q & MEMBER) != member) {
          consider(&best, pack(qx, qy, qz), x, y, z);
        } else {
          consider(&best, q & SENT, x, y, z);
          if (K == 2u) { consider(&best, src[qi + 1u], x, y, z); }
        }
      }
    }
  }
  dst[i * K] = best.s1 | member;
  if (K == 2u) { dst[i * K + 1u] = best.s2; }
}
`;
}

function polishWgsl(g: FloodGeometry): string {
  return `const RZ: i32 = ${g.three ? 1 : 0};\nconst RY: i32 = ${g.two ? 1 : 0};\n` +
    `// The seed's own neighbours of the opposite membership are candidates too: this repairs the
// voxels whose nearest seed's discrete Voronoi cell does not reach them (the JFA floor).
fn polish(base: u32, member: u32, seed: u32, x: i32, y: i32, z: i32) -> f32 {
  var bd = dist2(seed, x, y, z);
  let sx = i32(seed & MX);
  let sy = i32((seed >> BX) & MY);
  let sz = i32(seed >> BXY);
  for (var dz = -RZ; dz <= RZ; dz++) {
    let qz = sz + dz;
    if (qz < 0 || qz >= i32(D)) { continue; }
    for (var dy = -RY; dy <= RY; dy++) {
      let qy = sy + dy;
      if (qy < 0 || qy >= i32(H)) { continue; }
      for (var dx = -1; dx <= 1; dx++) {
        let qx = sx + dx;
        if (qx < 0 || qx >= i32(W)) { continue; }
        let q = src[(base + u32(qz) * WH + u32(qy) * W + u32(qx)) * K];
        if ((q & MEMBER) != member) {
          bd = min(bd, dist2(pack(qx, qy, qz), x, y, z));
        }
      }
    }
  }
  return sqrt(bd);
}`;
}

/** Unsigned distances: members get the distance to their seed (Infinity if none), others 0. */
export function jfaFinalEdtWgsl(g: FloodGeometry): string {
  return header(g) + /* wgsl */ `
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${polishWgsl(g)}
@compute @workgroup_size(${JFA_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = linear(gid, nw);
  if (i >= P.total) { return; }
  let s = src[i * K];
  if ((s & MEMBER) == 0u) {
    out[i] = 0.0;
    return;
  }
  let seed = s & SENT;
  if (seed == SENT) {
    out[i] = bitcast<f32>(0x7f800000u);
    return;
  }
  let b = i / V;
  let v = i - b * V;
  out[i] = polish(b * V, MEMBER, seed, i32(v % W), i32((v / W) % H), i32(v / WH));
}
`;
}

/**
 * Signed maps `(N, C, V)`: inside `-(d - shift)`, outside `d`; volumes whose flag is 0 (class
 * absent or filling the sample) get zeros. `P.sp.w` holds the shift.
 */
export function jfaFinalSignedWgsl(g: FloodGeometry): string {
  return header(g) + /* wgsl */ `
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> flags: array<u32>;
${polishWgsl(g)}
@compute @workgroup_size(${JFA_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = linear(gid, nw);
  if (i >= P.total) { return; }
  let b = i / V;
  if (flags[b] == 0u) {
    out[i] = 0.0;
    return;
  }
  let s = src[i * K];
  let seed = s & SENT;
  var d = 0.0;
  if (seed != SENT) {
    let v = i - b * V;
    d = polish(b * V, s & MEMBER, seed, i32(v % W), i32((v / W) % H), i32(v / WH));
  }
  out[i] = select(d, -(d - P.sp.w), (s & MEMBER) != 0u);
}
`;
}
