/**
 * The CPU kernels behind the `cpu` backend and the functional losses: one fused pass that
 * computes every requested per-(sample, class) sum (softmax on the fly for logits), and one
 * pass that turns per-(sample, class) gradient coefficients into dL/dinput. Internal module:
 * the public entry points are `createCpuBackend` and the functional losses.
 *
 * @module
 */
import type { FloatArray } from "../core/ndarray.ts";
import type { GradientCoefficients, Statistics, StatTerm } from "../core/types.ts";

/** Voxels processed per block (scratch buffers are `C × BLOCK` float64). */
const BLOCK = 1024;
/** Probabilities are clamped here before `log` and `t/p` (probability input only). */
export const PROB_FLOOR = 1e-38;

/** A validated batch in flat form, as the kernels read it. */
export interface KernelBatch {
  /** Scores `(N, C, V)` flat. */
  input: FloatArray;
  /** N. */
  n: number;
  /** C (after any sigmoid expansion). */
  c: number;
  /** V: voxels per sample. */
  vol: number;
  /** Whether `input` holds logits. */
  logits: boolean;
  /** Labels `(N, V)`; values outside `[0, C)` or equal to `ignoreIndex` give t = 0. */
  labels?: Int32Array;
  /** One-hot / soft target `(N, C, V)`. */
  onehot?: FloatArray;
  /** Label whose voxels get t = 0 for every class. */
  ignoreIndex?: number;
  /** Signed distance maps `(N, C, V)`. */
  distance?: FloatArray;
}

/** Fills `P[c*BLOCK + v]` with the probabilities of block `[b0, b0+len)` of sample `s`. */
function blockProbs(
  b: KernelBatch,
  s: number,
  b0: number,
  len: number,
  P: Float64Array,
  mx: Float64Array,
  lse: Float64Array,
): void {
  const { input, c: C, vol } = b;
  const base = s * C * vol + b0;
  if (!b.logits) {
    for (let c = 0; c < C; c++) {
      const o = base + c * vol;
      const po = c * BLOCK;
      for (let v = 0; v < len; v++) P[po + v] = input[o + v]!;
    }
    return;
  }
  for (let v = 0; v < len; v++) mx[v] = input[base + v]!;
  for (let c = 1; c < C; c++) {
    const o = base + c * vol;
    for (let v = 0; v < len; v++) {
      const x = input[o + v]!;
      if (x > mx[v]!) mx[v] = x;
    }
  }
  lse.fill(0, 0, len);
  for (let c = 0; c < C; c++) {
    const o = base + c * vol;
    const po = c * BLOCK;
    for (let v = 0; v < len; v++) {
      const e = Math.exp(input[o + v]! - mx[v]!);
      P[po + v] = e;
      lse[v]! += e;
    }
  }
  for (let v = 0; v < len; v++) {
    const sum = lse[v]!;
    const inv = 1 / sum;
    lse[v] = mx[v]! + Math.log(sum); // log-sum-exp, for exact log-softmax
    mx[v] = inv;
  }
  for (let c = 0; c < C; c++) {
    const po = c * BLOCK;
    for (let v = 0; v < len; v++) P[po + v]! *= mx[v]!;
  }
}

/** Effective labels of a block: -1 where the voxel is ignored (t = 0 for every class). */
function blockLabels(b: KernelBatch, s: number, b0: number, len: number, L: Int32Array): void {
  const labels = b.labels!;
  const off = s * b.vol + b0;
  const ig = b.ignoreIndex;
  const C = b.c;
  for (let v = 0; v < len; v++) {
    const l = labels[off + v]!;
    L[v] = l === ig || l < 0 || l >= C ? -1 : l;
  }
}

/**
 * Per-(sample, class) sums of the requested terms in one pass over the data (float64
 * accumulators). `pt`, `p`, `p2`, `t`, `t2` are always computed (they are nearly free);
 * `tlogp` and `pphi` only when requested. Terms needing a target are zero without one.
 *
 * @param b The batch.
 * @param terms The terms to report.
 * @returns The statistics.
 */
export function computeStatistics(b: KernelBatch, terms: ReadonlySet<StatTerm>): Statistics {
  const { n: N, c: C, vol, input } = b;
  const NC = N * C;
  const spt = new Float64Array(NC), sp = new Float64Array(NC), sp2 = new Float64Array(NC);
  const st = new Float64Array(NC), st2 = new Float64Array(NC);
  const stl = new Float64Array(NC), sphi = new Float64Array(NC);
  const wantLog = terms.has("tlogp") && (b.labels !== undefined || b.onehot !== undefined);
  const dist = terms.has("pphi") ? b.distance : undefined;
  if (terms.has("pphi") && !dist) {
    throw new TypeError("Expected signed distance maps for the pphi statistic but found none");
  }
  const P = new Float64Array(C * BLOCK);
  const mx = new Float64Array(BLOCK);
  const lse = new Float64Array(BLOCK);
  const L = new Int32Array(BLOCK);
  const onehot = b.onehot;
  for (let s = 0; s < N; s++) {
    for (let b0 = 0; b0 < vol; b0 += BLOCK) {
      const len = Math.min(BLOCK, vol - b0);
      blockProbs(b, s, b0, len, P, mx, lse);
      if (b.labels) blockLabels(b, s, b0, len, L);
      for (let c = 0; c < C; c++) {
        const k = s * C + c;
        const po = c * BLOCK;
        const o = (s * C + c) * vol + b0;
        let aPt = 0, aP = 0, aP2 = 0, aT = 0, aT2 = 0, aL = 0, aPhi = 0;
        if (onehot) {
          for (let v = 0; v < len; v++) {
            const p = P[po + v]!;
            const t = onehot[o + v]!;
            aP += p;
            aP2 += p * p;
            aPt += p * t;
            aT += t;
            aT2 += t * t;
          }
          if (wantLog) {
            if (b.logits) {
              for (let v = 0; v < len; v++) {
                const t = onehot[o + v]!;
                if (t !== 0) aL += t * (input[o + v]! - lse[v]!);
              }
            } else {
              for (let v = 0; v < len; v++) {
                const t = onehot[o + v]!;
                if (t !== 0) aL += t * Math.log(Math.max(P[po + v]!, PROB_FLOOR));
              }
            }
          }
        } else if (b.labels) {
          for (let v = 0; v < len; v++) {
            const p = P[po + v]!;
            aP += p;
            aP2 += p * p;
            if (L[v] === c) {
              aPt += p;
              aT += 1;
              if (wantLog) {
                aL += b.logits ? input[o + v]! - lse[v]! : Math.log(Math.max(p, PROB_FLOOR));
              }
            }
          }
          aT2 = aT;
        } else {
          for (let v = 0; v < len; v++) {
            const p = P[po + v]!;
            aP += p;
            aP2 += p * p;
          }
        }
        if (dist) {
          for (let v = 0; v < len; v++) aPhi += P[po + v]! * dist[o + v]!;
        }
        spt[k]! += aPt;
        sp[k]! += aP;
        sp2[k]! += aP2;
        st[k]! += aT;
        st2[k]! += aT2;
        stl[k]! += aL;
        sphi[k]! += aPhi;
      }
    }
  }
  const all: Record<StatTerm, Float64Array> = {
    pt: spt,
    p: sp,
    p2: sp2,
    t: st,
    t2: st2,
    tlogp: stl,
    pphi: sphi,
  };
  const sums: Partial<Record<StatTerm, Float64Array>> = {};
  for (const term of terms) {
    if (!(term in all)) {
      throw new RangeError(
        `Expected statistic terms among ${Object.keys(all).join(", ")} but found ${
          JSON.stringify(term)
        }`,
      );
    }
    sums[term] = all[term];
  }
  return { numSamples: N, numClasses: C, voxels: vol, sums };
}

/**
 * dL/dinput in one pass from per-(n, c) coefficients of
 * `dL/dp = a·t + b + c·p + d·phi + e·t/p`. For probabilities that is the result (with `p`
 * clamped at {@linkcode PROB_FLOOR} in `t/p`); for logits the softmax Jacobian is applied,
 * `dL/dz_c = p_c (h_c − Σ_k p_k h_k − Σ_k e_k t_k) + e_c t_c` with `h = a·t + b + c·p + d·phi`
 * (the `e·t/p` term folded, no division).
 *
 * @param b The batch.
 * @param g The coefficients.
 * @returns dL/dinput `(N, C, V)` flat, Float64Array for Float64Array input, else Float32Array.
 */
export function computeGradient(b: KernelBatch, g: GradientCoefficients): FloatArray {
  const { n: N, c: C, vol } = b;
  const NC = N * C;
  const out = b.input instanceof Float64Array
    ? new Float64Array(N * C * vol)
    : new Float32Array(N * C * vol);
  const zero = new Float64Array(NC);
  const ca = g.t ?? zero, cb = g.one ?? zero, cp = g.p ?? zero, ce = g.tOverP ?? zero;
  const cd = g.phi ?? zero;
  for (const [key, arr] of Object.entries(g)) {
    if (arr !== undefined && (!(arr instanceof Float64Array) || arr.length !== NC)) {
      throw new TypeError(
        `Expected gradient coefficient ${key} to be a Float64Array of length ${NC} but found ${arr?.constructor?.name} of length ${arr?.length}`,
      );
    }
  }
  let usePhi = false;
  if (g.phi) { for (let k = 0; k < NC; k++) if (cd[k] !== 0) usePhi = true; }
  const dist = b.distance;
  if (usePhi && !dist) {
    throw new TypeError("Expected signed distance maps for the phi coefficient but found none");
  }
  const P = new Float64Array(C * BLOCK);
  const H = new Float64Array(C * BLOCK);
  const S = new Float64Array(BLOCK);
  const mx = new Float64Array(BLOCK);
  const lse = new Float64Array(BLOCK);
  const L = new Int32Array(BLOCK);
  const T = new Float64Array(BLOCK);
  const onehot = b.onehot;
  const hasTarget = onehot !== undefined || b.labels !== undefined;
  for (let s = 0; s < N; s++) {
    for (let b0 = 0; b0 < vol; b0 += BLOCK) {
      const len = Math.min(BLOCK, vol - b0);
      blockProbs(b, s, b0, len, P, mx, lse);
      if (b.labels) blockLabels(b, s, b0, len, L);
      if (b.logits) S.fill(0, 0, len);
      for (let c = 0; c < C; c++) {
        const k = s * C + c;
        const a = ca[k]!, one = cb[k]!, pc = cp[k]!, d = usePhi ? cd[k]! : 0, e = ce[k]!;
        const po = c * BLOCK;
        const o = k * vol + b0;
        // target of class c over the block
        if (onehot) { for (let v = 0; v < len; v++) T[v] = onehot[o + v]!; }
        else if (hasTarget) { for (let v = 0; v < len; v++) T[v] = L[v] === c ? 1 : 0; }
        else T.fill(0, 0, len);
        if (b.logits) {
          if (d !== 0) {
            for (let v = 0; v < len; v++) {
              const p = P[po + v]!, t = T[v]!;
              const h = a * t + one + pc * p + d * dist![o + v]!;
              H[po + v] = h;
              S[v]! += p * h + e * t;
            }
          } else {
            for (let v = 0; v < len; v++) {
              const p = P[po + v]!, t = T[v]!;
              const h = a * t + one + pc * p;
              H[po + v] = h;
              S[v]! += p * h + e * t;
            }
          }
        } else {
          for (let v = 0; v < len; v++) {
            const p = P[po + v]!, t = T[v]!;
            let h = a * t + one + pc * p;
            if (d !== 0) h += d * dist![o + v]!;
            if (e !== 0 && t !== 0) h += e * t / Math.max(p, PROB_FLOOR);
            out[o + v] = h;
          }
        }
      }
      if (b.logits) {
        for (let c = 0; c < C; c++) {
          const k = s * C + c;
          const e = ce[k]!;
          const po = c * BLOCK;
          const o = k * vol + b0;
          if (e !== 0) {
            if (onehot) { for (let v = 0; v < len; v++) T[v] = onehot[o + v]!; }
            else if (hasTarget) { for (let v = 0; v < len; v++) T[v] = L[v] === c ? 1 : 0; }
            else T.fill(0, 0, len);
            for (let v = 0; v < len; v++) {
              out[o + v] = P[po + v]! * (H[po + v]! - S[v]!) + e * T[v]!;
            }
          } else {
            for (let v = 0; v < len; v++) out[o + v] = P[po + v]! * (H[po + v]! - S[v]!);
          }
        }
      }
    }
  }
  return out;
}
