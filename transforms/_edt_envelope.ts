/**
 * One-dimensional lower envelopes of parabolas (Felzenszwalb & Huttenlocher 2012) over one line
 * of squared distances: the kernel of every pass after the first of the exact EDT.
 *
 * Not part of the public API (not exported from `mod.ts`).
 *
 * @module
 */
import type { Scratch } from "./_edt_passes.ts";

/**
 * {@linkcode envelope} for a column whose only finite samples are `f[off + t]` at positions
 * `list[t]` (`t < m`, increasing): plain Felzenszwalb–Huttenlocher over those parabolas, swept
 * over all `n` positions.
 */
export function sparseEnvelope(
  f: Float64Array,
  off: number,
  m: number,
  list: Int32Array,
  n: number,
  s2: number,
  out: Float32Array,
  obase: number,
  stride: number,
  final: boolean,
  scratch: Scratch,
): void {
  const { v, g, fv, z } = scratch;
  let k = -1;
  for (let t = 0; t < m; t++) {
    const fq = f[off + t]!;
    if (fq === Infinity) continue;
    const q = list[t]!;
    const gq = fq + s2 * q * q;
    while (k > 0) {
      const vk = v[k]!;
      const gk = g[k]!;
      if ((gq - gk) * (vk - v[k - 1]!) <= (gk - g[k - 1]!) * (q - vk)) k--;
      else break;
    }
    k++;
    v[k] = q;
    g[k] = gq;
    fv[k] = fq;
  }
  if (k < 0) {
    for (let q = 0; q < n; q++) out[obase + q * stride] = Infinity;
    return;
  }
  const inv = 1 / (2 * s2);
  for (let i = 1; i <= k; i++) z[i] = (g[i]! - g[i - 1]!) * inv / (v[i]! - v[i - 1]!);
  z[k + 1] = Infinity;
  let q = 0;
  for (let j = 0; j <= k; j++) {
    const zj = z[j + 1]!;
    const end = zj >= n - 1 ? n - 1 : Math.floor(zj);
    const vj = v[j]!;
    const fj = fv[j]!;
    if (final) {
      for (; q <= end; q++) {
        const d = q - vj;
        out[obase + q * stride] = Math.sqrt(s2 * d * d + fj);
      }
    } else {
      for (; q <= end; q++) {
        const d = q - vj;
        out[obase + q * stride] = s2 * d * d + fj;
      }
    }
  }
}

/** Columns up to this long are written straight into the output (longer ones via scratch). */
export const DIRECT_MAX = 512;

/**
 * Columns whose mean squared distance is at most `NEAR2·s2` (a search radius of a few samples)
 * use a direct outward search: cheaper than the envelope's unpredictable branches on noisy
 * masks (random label maps).
 */
const NEAR2 = 16;

/**
 * `res[q] = min over p of f[p] + s2·(q − p)²` by searching outward from each `q` until
 * `s2·d²` exceeds the best value found (every `f` finite).
 */
function nearSearch(
  f: Float64Array,
  off: number,
  n: number,
  s2: number,
  out: Float32Array,
  obase: number,
  stride: number,
  final: boolean,
): void {
  let maxF = 0;
  for (let q = 0; q < n; q++) maxF = Math.max(maxF, f[off + q]!);
  // no search reaches further than r samples, so [r, n - r) needs no bounds checks
  const r = Math.min(n, Math.ceil(Math.sqrt(maxF / s2)) + 1);
  const lo = Math.min(r, n);
  const hi = Math.max(lo, n - r);
  for (let q = 0; q < n; q++) {
    const i = off + q;
    let best = f[i]!;
    if (q < lo || q >= hi) {
      best = nearEdge(f, off, n, s2, q);
    } else {
      for (let dd = 1; s2 * dd * dd < best; dd++) {
        const c = s2 * dd * dd;
        best = Math.min(best, f[i - dd]! + c, f[i + dd]! + c);
      }
    }
    out[obase + q * stride] = final ? Math.sqrt(best) : best;
  }
}

function nearEdge(f: Float64Array, off: number, n: number, s2: number, q: number): number {
  let best = f[off + q]!;
  for (let dd = 1; s2 * dd * dd < best; dd++) {
    const c = s2 * dd * dd;
    if (q >= dd) best = Math.min(best, f[off + q - dd]! + c);
    if (q + dd < n) best = Math.min(best, f[off + q + dd]! + c);
  }
  return best;
}

/**
 * Lower envelope of the parabolas `s2·(x − p)² + f[p]` over one column `f[off .. off+n)`,
 * sampled at every `x`, into `res[off .. off+n)` (Felzenszwalb & Huttenlocher 2012), skipping
 * Infinity samples; a column of Infinity (or of zeros) is copied through. Division-free: the
 * intersection tests are cross-multiplied and the final sweep compares neighbouring parabolas
 * directly (the envelope's argmin is monotone in `x`).
 */
export function envelope(
  f: Float64Array,
  off: number,
  n: number,
  s2: number,
  out: Float32Array,
  obase: number,
  stride: number,
  final: boolean,
  scratch: Scratch,
): boolean {
  const { v, g, fv, runStart, runEnd } = scratch;
  let k = -1;
  let sumF = 0;
  let runs = 0;
  for (let q = 0; q < n; q++) {
    const fq = f[off + q]!;
    sumF += fq;
    if (fq === Infinity) continue;
    // inside a run of zeros only the run's ends can be nearest to a sample outside it
    if (fq === 0 && q > 0 && q < n - 1 && f[off + q - 1] === 0 && f[off + q + 1] === 0) {
      if (runs > 0 && runEnd[runs - 1] === q - 1) runEnd[runs - 1] = q;
      else {
        runStart[runs] = q;
        runEnd[runs] = q;
        runs++;
      }
      continue;
    }
    // parabola heights g = f + s2·q²; the intersection of p < q lies at
    // (g[q] - g[p]) / (2 s2 (q - p)). Pop while the new parabola's intersection with the top
    // is left of the top's own left intersection (cross-multiplied, no division):
    // (gq - g[k]) / (q - v[k]) <= (g[k] - g[k-1]) / (v[k] - v[k-1])
    const gq = fq + s2 * q * q;
    while (k > 0) {
      const vk = v[k]!;
      const gk = g[k]!;
      if ((gq - gk) * (vk - v[k - 1]!) <= (gk - g[k - 1]!) * (q - vk)) k--;
      else break;
    }
    k++;
    v[k] = q;
    g[k] = gq;
    fv[k] = fq;
  }
  // all Infinity or all zero: nothing changes (sqrt keeps 0 and Infinity)
  if (k < 0 || sumF === 0) return false;
  if (sumF <= NEAR2 * s2 * n) {
    // answers lie a few samples away on average: a direct outward search beats the envelope
    nearSearch(f, off, n, s2, out, obase, stride, final);
    return true;
  }
  const z = scratch.z;
  const inv = 1 / (2 * s2);
  for (let i = 1; i <= k; i++) z[i] = (g[i]! - g[i - 1]!) * inv / (v[i]! - v[i - 1]!);
  z[k + 1] = Infinity;
  // sweep the envelope's segments: parabola j is lowest on (z[j], z[j+1]]; the skipped
  // interiors of zero runs are written as 0 on the way
  let q = 0;
  let r = 0;
  let nextRun = runs > 0 ? runStart[0]! : n;
  for (let j = 0; j <= k; j++) {
    const zj = z[j + 1]!;
    const end = zj >= n - 1 ? n - 1 : Math.floor(zj);
    const vj = v[j]!;
    const fj = fv[j]!;
    for (; q <= end; q++) {
      if (q === nextRun) {
        const e = runEnd[r]!;
        for (; q <= e; q++) out[obase + q * stride] = 0;
        q = e;
        r++;
        nextRun = r < runs ? runStart[r]! : n;
        continue;
      }
      const d = q - vj;
      const x = s2 * d * d + fj;
      out[obase + q * stride] = final ? Math.sqrt(x) : x;
    }
  }
  return true;
}

/** Runs of at most this many samples are solved by an outward search, longer ones by an envelope. */
const SHORT_RUN = 12;

/**
 * The lower envelope of {@linkcode envelope} over one line `f[off .. off+n)`, solved run by run:
 * a sample with `f = 0` (a zero of the mask) keeps 0, and the answer at a sample inside a run of
 * non-zero samples never comes from beyond the zeros that bound the run (those are nearer than
 * anything behind them), so each run is an independent problem over itself and its two bounding
 * zeros. Short runs (fine structures, thin gaps) take an outward search bounded by the run's
 * ends, long runs a Felzenszwalb–Huttenlocher envelope of the run's parabolas. Writes the
 * non-zero samples only, unless `zeros` (an output that does not already hold the zeros).
 */
export function runsEnvelope(
  f: Float64Array,
  off: number,
  n: number,
  s2: number,
  out: Float32Array,
  obase: number,
  stride: number,
  final: boolean,
  zeros: boolean,
  scratch: Scratch,
): void {
  let x = 0;
  while (x < n) {
    if (f[off + x] === 0) {
      if (zeros) out[obase + x * stride] = 0;
      x++;
      continue;
    }
    const a = x;
    x++;
    while (x < n && f[off + x] !== 0) x++;
    // run [a, x - 1]; bounded by zeros at a - 1 (when a > 0) and x (when x < n)
    const lo = a > 0 ? a - 1 : a;
    const hi = x < n ? x : x - 1;
    if (x - a <= SHORT_RUN) shortRun(f, off, a, x - 1, lo, hi, s2, out, obase, stride, final);
    else runEnvelope(f, off, a, x - 1, lo, hi, s2, out, obase, stride, final, scratch);
  }
}

/**
 * {@linkcode runsEnvelope} in place on a contiguous line `out[base .. base+n)` of squared
 * distances (the rows of a 2-D transform): only each run of non-zero samples (and its bounding
 * zeros) is copied into the float64 scratch, the zeros are never copied or written.
 */
export function runsEnvelopeInPlace(
  out: Float32Array,
  base: number,
  n: number,
  s2: number,
  final: boolean,
  scratch: Scratch,
): void {
  const f = scratch.f;
  const end = base + n;
  let x = base;
  while (x < end) {
    if (out[x] === 0) {
      x++;
      continue;
    }
    const a = x;
    x++;
    while (x < end && out[x] !== 0) x++;
    const lo = a > base ? a - 1 : a;
    const hi = x < end ? x : x - 1;
    for (let i = lo; i <= hi; i++) f[i - lo] = out[i]!;
    // f[q - lo] is the value at q
    if (x - a <= SHORT_RUN) shortRun(f, -lo, a, x - 1, lo, hi, s2, out, 0, 1, final);
    else runEnvelope(f, -lo, a, x - 1, lo, hi, s2, out, 0, 1, final, scratch);
  }
}

/**
 * Outward search for the samples `[a, b]` of a run, over candidates `[lo, hi]`: from each
 * sample, step outwards while `s2·d²` is below the best value found.
 */
function shortRun(
  f: Float64Array,
  off: number,
  a: number,
  b: number,
  lo: number,
  hi: number,
  s2: number,
  out: Float32Array,
  obase: number,
  stride: number,
  final: boolean,
): void {
  for (let q = a; q <= b; q++) {
    let best = f[off + q]!;
    for (let d = 1; s2 * d * d < best; d++) {
      const c = s2 * d * d;
      const l = q - d;
      const r = q + d;
      if (l >= lo) {
        const v = f[off + l]! + c;
        if (v < best) best = v;
      } else if (r > hi) break;
      if (r <= hi) {
        const v = f[off + r]! + c;
        if (v < best) best = v;
      }
    }
    out[obase + q * stride] = final ? Math.sqrt(best) : best;
  }
}

/**
 * Felzenszwalb–Huttenlocher over the parabolas of `[lo, hi]` (Infinity samples skipped),
 * sampled at `[a, b]`.
 */
function runEnvelope(
  f: Float64Array,
  off: number,
  a: number,
  b: number,
  lo: number,
  hi: number,
  s2: number,
  out: Float32Array,
  obase: number,
  stride: number,
  final: boolean,
  scratch: Scratch,
): void {
  const { v, g, fv, z } = scratch;
  // a parabola whose vertex is at least as high as the farthest bounding zero is from any
  // sample of the run never wins: skip it (no bounding zero: nothing to compare with)
  const len = b - a + 1;
  const reach = lo < a && hi > b ? (len + 1) >> 1 : lo < a || hi > b ? len : Infinity;
  const cap = s2 * reach * reach;
  let k = -1;
  for (let q = lo; q <= hi; q++) {
    const fq = f[off + q]!;
    if (fq >= cap) continue;
    const gq = fq + s2 * q * q;
    while (k > 0) {
      const vk = v[k]!;
      const gk = g[k]!;
      if ((gq - gk) * (vk - v[k - 1]!) <= (gk - g[k - 1]!) * (q - vk)) k--;
      else break;
    }
    k++;
    v[k] = q;
    g[k] = gq;
    fv[k] = fq;
  }
  if (k < 0) {
    for (let q = a; q <= b; q++) out[obase + q * stride] = Infinity;
    return;
  }
  const inv = 1 / (2 * s2);
  for (let i = 1; i <= k; i++) z[i] = (g[i]! - g[i - 1]!) * inv / (v[i]! - v[i - 1]!);
  z[k + 1] = Infinity;
  let q = a;
  for (let j = 0; j <= k && q <= b; j++) {
    const zj = z[j + 1]!;
    const end = zj >= b ? b : Math.floor(zj);
    const vj = v[j]!;
    const fj = fv[j]!;
    if (final) {
      for (; q <= end; q++) {
        const d = q - vj;
        out[obase + q * stride] = Math.sqrt(s2 * d * d + fj);
      }
    } else {
      for (; q <= end; q++) {
        const d = q - vj;
        out[obase + q * stride] = s2 * d * d + fj;
      }
    }
  }
}
