/**
 * WGSL of the `webgpu` backend (internal): the fused statistics pass (softmax on the fly,
 * every requested per-(sample, class) sum, workgroup reductions into float32 partials that the
 * CPU adds in float64) and the gradient pass (through the softmax for logits).
 *
 * Semantics mirror the `cpu` backend (`backends/cpu/`): labels outside `[0, C)` or equal to
 * the ignore label give t = 0 for every class; for probabilities `log p` and `t/p` use
 * `max(p, 1e-38)`; for logits `log p = x − logsumexp(x)` exactly and the `t/p` gradient term
 * is folded through the softmax Jacobian (no division).
 *
 * @module
 */
import type { StatTerm } from "../../core/types.ts";

/** Workgroup size of the statistics kernel. */
export const STATS_WG = 64;
/** Classes handled per statistics workgroup (private accumulators are CB·T floats). */
export const STATS_CB = 4;
/** Workgroup size of the gradient kernel. */
export const GRAD_WG = 256;

/** What the target looks like on the device. */
export type TargetKind = "labels" | "onehot" | "none";

/** Shared parameter block (uniform): n, v, g (workgroups per sample), ignore, flags. */
const PARAMS = /* wgsl */ `
struct Params {
  n: u32,
  v: u32,
  g: u32,
  ignore: i32,
  has_ignore: u32,
  total: u32,
  pad0: u32,
  pad1: u32,
};
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;
`;

function targetDecl(kind: TargetKind): string {
  if (kind === "labels") return "@group(0) @binding(2) var<storage, read> labels: array<i32>;";
  if (kind === "onehot") return "@group(0) @binding(2) var<storage, read> onehot: array<f32>;";
  return "";
}

/** The statistics kernel for C classes, the given ordered terms and inputs. */
export function statsWgsl(
  C: number,
  terms: readonly StatTerm[],
  logits: boolean,
  target: TargetKind,
  phi: boolean,
): string {
  const T = terms.length;
  const K = STATS_CB * T;
  const nb = Math.ceil(C / STATS_CB);
  const acc = terms.map((term, j) => {
    const e = {
      pt: "p * t",
      p: "p",
      p2: "p * p",
      t: "t",
      t2: "t * t",
      tlogp: logits ? "select(0.0, t * (x - lse), t != 0.0)" : "select(0.0, t * logp(p), t != 0.0)",
      pphi: "p * phi[o]",
    }[term];
    return `        acc[j * ${T}u + ${j}u] += ${e};`;
  }).join("\n");
  return PARAMS + targetDecl(target) + /* wgsl */ `
${phi ? "@group(0) @binding(3) var<storage, read> phi: array<f32>;" : ""}
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;
const C: u32 = ${C}u;
const NB: u32 = ${nb}u;
const CB: u32 = ${STATS_CB}u;
const K: u32 = ${K}u;
var<workgroup> sh: array<f32, ${STATS_WG * K}>;
fn logp(p: f32) -> f32 {
  return select(log(p), -87.49823, p < 1.1754944e-38);
}
@compute @workgroup_size(${STATS_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = wid.x;
  let n = wid.y / NB;
  let blk = wid.y % NB;
  let V = P.v;
  var acc: array<f32, ${K}>;
  for (var k = 0u; k < K; k++) { acc[k] = 0.0; }
  for (var v = g * ${STATS_WG}u + lid; v < V; v += P.g * ${STATS_WG}u) {
    var lse = 0.0;
    ${
    logits
      ? `var m = input[n * C * V + v];
    for (var c = 1u; c < C; c++) { m = max(m, input[(n * C + c) * V + v]); }
    var s = 0.0;
    for (var c = 0u; c < C; c++) { s += exp(input[(n * C + c) * V + v] - m); }
    lse = m + log(s);`
      : ""
  }
    ${
    target === "labels"
      ? `var l = labels[n * V + v];
    if ((P.has_ignore != 0u && l == P.ignore) || l < 0 || l >= i32(C)) { l = -1; }`
      : ""
  }
    for (var j = 0u; j < CB; j++) {
      let c = blk * CB + j;
      if (c < C) {
        let o = (n * C + c) * V + v;
        let x = input[o];
        let p = ${logits ? "exp(x - lse)" : "x"};
        let t = ${
    target === "labels"
      ? "select(0.0, 1.0, l == i32(c))"
      : target === "onehot"
      ? "onehot[o]"
      : "0.0"
  };
${acc}
      }
    }
  }
  for (var k = 0u; k < K; k++) { sh[k * ${STATS_WG}u + lid] = acc[k]; }
  workgroupBarrier();
  for (var stride = ${STATS_WG / 2}u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      for (var k = 0u; k < K; k++) {
        sh[k * ${STATS_WG}u + lid] += sh[k * ${STATS_WG}u + lid + stride];
      }
    }
    workgroupBarrier();
  }
  // partials layout: ((n * G + g) * C + c) * T + term
  for (var k = lid; k < K; k += ${STATS_WG}u) {
    let j = k / ${T}u;
    let c = blk * CB + j;
    if (c < C) {
      partials[((n * P.g + g) * C + c) * ${T}u + (k % ${T}u)] = sh[k * ${STATS_WG}u];
    }
  }
}
`;
}

/**
 * The gradient kernel: one thread per (sample, voxel); coefficients `(N, C, 5)` as
 * `[t, one, p, phi, tOverP]`.
 */
export function gradientWgsl(
  C: number,
  logits: boolean,
  target: TargetKind,
  phi: boolean,
): string {
  const tExpr = target === "labels"
    ? "select(0.0, 1.0, l == i32(c))"
    : target === "onehot"
    ? "onehot[o]"
    : "0.0";
  const hExpr = `cf[k * 5u] * t + cf[k * 5u + 1u] + cf[k * 5u + 2u] * p${
    phi ? " + cf[k * 5u + 3u] * phi[o]" : ""
  }`;
  return PARAMS + targetDecl(target) + /* wgsl */ `
${phi ? "@group(0) @binding(3) var<storage, read> phi: array<f32>;" : ""}
@group(0) @binding(4) var<storage, read> cf: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
const C: u32 = ${C}u;
@compute @workgroup_size(${GRAD_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = gid.y * nw.x * ${GRAD_WG}u + gid.x;
  if (i >= P.total) { return; }
  let V = P.v;
  let n = i / V;
  let v = i - n * V;
  ${
    target === "labels"
      ? `var l = labels[n * V + v];
  if ((P.has_ignore != 0u && l == P.ignore) || l < 0 || l >= i32(C)) { l = -1; }`
      : ""
  }
  ${
    logits
      ? `var m = input[n * C * V + v];
  for (var c = 1u; c < C; c++) { m = max(m, input[(n * C + c) * V + v]); }
  var s = 0.0;
  for (var c = 0u; c < C; c++) { s += exp(input[(n * C + c) * V + v] - m); }
  let lse = m + log(s);
  var ps: array<f32, C>;
  var hs: array<f32, C>;
  var S = 0.0;
  for (var c = 0u; c < C; c++) {
    let o = (n * C + c) * V + v;
    let k = n * C + c;
    let p = exp(input[o] - lse);
    let t = ${tExpr};
    let h = ${hExpr};
    ps[c] = p;
    hs[c] = h;
    S += p * h + cf[k * 5u + 4u] * t;
  }
  for (var c = 0u; c < C; c++) {
    let o = (n * C + c) * V + v;
    let k = n * C + c;
    let t = ${tExpr};
    out[o] = ps[c] * (hs[c] - S) + cf[k * 5u + 4u] * t;
  }`
      : `for (var c = 0u; c < C; c++) {
    let o = (n * C + c) * V + v;
    let k = n * C + c;
    let p = input[o];
    let t = ${tExpr};
    var h = ${hExpr};
    let e = cf[k * 5u + 4u];
    if (e != 0.0 && t != 0.0) {
      h += select(e * t / p, e * t * 1e38, p < 1.1754944e-38);
    }
    out[o] = h;
  }`
  }
}
`;
}
