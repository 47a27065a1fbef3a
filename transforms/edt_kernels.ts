/**
 * Internal kernels of the exact EDT and of the label-map signed distance, shared by the
 * synchronous {@linkcode edt} / `signedDistance` and the Worker module (`edt_worker.ts`).
 * {@linkcode planPasses} lists the passes: a two-sweep nearest-zero pass along the innermost
 * (contiguous) axis, then Felzenszwalb–Huttenlocher lower envelopes of parabolas along every
 * other axis on blocks of adjacent columns gathered into a small scratch; or, for 2-D volumes
 * with long columns, the two-sweep pass along axis 0 (plane after plane) and the envelopes along
 * the rows. Every pass works in place on the float32 output, which holds squared physical
 * distances until the last pass takes the square root, and records which lines hold finite
 * values so that later passes skip or thin out the others. {@linkcode runPass} runs any range of
 * a pass's work units, which is how the Workers split them. {@linkcode localSigned} is the
 * direct search used for label noise.
 *
 * Not part of the public API (not exported from `mod.ts`).
 *
 * @module
 */

/**
 * Columns gathered per block in a strided pass along an axis of length `n`: at least 16
 * (16 float32 = one 64-byte cache line per row), more for short axes so that the gathered rows
 * span several cache lines (fewer TLB misses on large strides), keeping the block's scratch
 * (`width·n` float64) within `BLOCK_ELEMENTS`.
 */
export function blockWidth(n: number): number {
  return Math.max(16, Math.min(128, Math.floor(BLOCK_ELEMENTS / n)));
}
const BLOCK_ELEMENTS = 16384;

/** A typed array of numbers (every accepted mask type except the bigint ones). */
export type NumberMask = ArrayLike<number>;
/**
 * The mask as numbers: bigint typed arrays (int64/uint64 masks) become a Uint8Array of 0/1 (one
 * byte per element), so one set of kernels serves every mask type; other masks are returned as
 * they are.
 */
export function numberMask(data: ArrayLike<number> | ArrayLike<bigint>): NumberMask {
  if (typeof data[0] !== "bigint") return data as NumberMask;
  const big = data as ArrayLike<bigint>;
  const out = new Uint8Array(big.length);
  for (let i = 0; i < big.length; i++) out[i] = big[i] === 0n ? 0 : 1;
  return out;
}

/**
 * Pass along the innermost axis for rows `[r0, r1)` of length `n`: the distance (in voxels) to
 * the nearest zero of the row, by a forward and a backward sweep; written as the squared
 * physical distance `(d·s)²`, or as `d·s` when `final` (a 1-D transform). Rows without a zero
 * get Infinity, and `flags[r]` says whether row r has a zero (finite values).
 */
export function rowPass(
  mask: NumberMask,
  out: Float32Array,
  n: number,
  s: number,
  r0: number,
  r1: number,
  final: boolean,
  flags: Uint8Array,
): void {
  const typed = mask as Uint8Array;
  for (let r = r0; r < r1; r++) {
    const base = r * n;
    // rows without a zero (most of them around a small object) are filled at once
    const first = typed.subarray(base, base + n).indexOf(0);
    if (first < 0) {
      out.fill(Infinity, base, base + n);
      flags[r] = 0;
      continue;
    }
    out.fill(Infinity, base, base + first);
    let lastZero = -1;
    for (let i = first; i < n; i++) {
      if (mask[base + i] === 0) {
        lastZero = i;
        out[base + i] = 0;
      } else {
        out[base + i] = lastZero < 0 ? Infinity : i - lastZero;
      }
    }
    flags[r] = lastZero < 0 ? 0 : 1;
    if (lastZero < 0) continue;
    finishRow(out, base, n, s, final);
  }
}

/**
 * Geometry of a signed-distance job: labels `(N, ...spatial)` as Int32, output planes
 * `(N, C, ...spatial)`, and `present[n·C + c]` = 1 when class c occurs in sample n (with at
 * least two classes in the sample; otherwise all of the sample's planes stay zero).
 */
export interface LabelJob {
  labels: Int32Array;
  present: Uint8Array;
  out: Float32Array;
  numClasses: number;
  vol: number;
}

/**
 * Row pass of the "distance to the nearest voxel of class c" transforms, for rows `[u0, u1)`
 * of the `(N·C)` output planes (rows of absent classes are skipped: those planes stay zero).
 */
export function classRowPass(
  job: LabelJob,
  n: number,
  s: number,
  u0: number,
  u1: number,
  final: boolean,
  flags: Uint8Array,
): void {
  const { labels, present, out, numClasses, vol } = job;
  const rowsPerPlane = vol / n;
  for (let u = u0; u < u1; u++) {
    const k = Math.floor(u / rowsPerPlane);
    if (present[k] === 0) {
      // absent class (or single-class sample): the plane stays zero, later passes skip it
      flags[u] = 0;
      continue;
    }
    const r = u - k * rowsPerPlane;
    const sample = Math.floor(k / numClasses);
    const cls = k - sample * numClasses;
    const lbase = sample * vol + r * n;
    const base = k * vol + r * n;
    let lastZero = -1;
    for (let i = 0; i < n; i++) {
      if (labels[lbase + i] === cls) {
        lastZero = i;
        out[base + i] = 0;
      } else {
        out[base + i] = lastZero < 0 ? Infinity : i - lastZero;
      }
    }
    flags[u] = lastZero < 0 ? 0 : 1;
    if (lastZero < 0) continue;
    finishRow(out, base, n, s, final);
  }
}

/** Voxels per work unit of {@linkcode combinePass}. */
export const COMBINE_CHUNK = 4096;

/** The number of work units of {@linkcode combinePass}. */
export function combineUnits(samples: number, vol: number): number {
  return samples * Math.ceil(vol / COMBINE_CHUNK);
}

/**
 * Last step of the label-map signed distance, for work units `[u0, u1)` (chunks of voxels of
 * one sample): plane c holds the distance to class c, which is EDT(neg) outside c; inside its
 * own class l a voxel gets `shift − (distance to the nearest voxel of another class)`, the
 * minimum of the other present planes.
 */
export function combinePass(job: LabelJob, shift: number, u0: number, u1: number): void {
  const { labels, present, out, numClasses: C, vol } = job;
  const chunks = Math.ceil(vol / COMBINE_CHUNK);
  for (let u = u0; u < u1; u++) {
    const sample = Math.floor(u / chunks);
    const v0 = (u - sample * chunks) * COMBINE_CHUNK;
    const v1 = Math.min(vol, v0 + COMBINE_CHUNK);
    const pbase = sample * C;
    let first = -1;
    let second = -1;
    let count = 0;
    for (let c = 0; c < C; c++) {
      if (present[pbase + c] === 0) continue;
      if (first < 0) first = c;
      else if (second < 0) second = c;
      count++;
    }
    if (count < 2) continue;
    const lbase = sample * vol;
    const obase = pbase * vol;
    if (count === 2) {
      const a = obase + first * vol;
      const b = obase + second * vol;
      for (let v = v0; v < v1; v++) {
        if (labels[lbase + v] === first) out[a + v] = shift - out[b + v]!;
        else out[b + v] = shift - out[a + v]!;
      }
      continue;
    }
    for (let v = v0; v < v1; v++) {
      const l = labels[lbase + v]!;
      let m = Infinity;
      for (let c = first; c < C; c++) {
        if (c === l || present[pbase + c] === 0) continue;
        const x = out[obase + c * vol + v]!;
        if (x < m) m = x;
      }
      out[obase + l * vol + v] = shift - m;
    }
  }
}

/** Backward sweep of a row holding forward distances (0 at zeros), then scale/square. */
function finishRow(out: Float32Array, base: number, n: number, s: number, final: boolean): void {
  let nextZero = Infinity;
  if (final) {
    for (let i = n - 1; i >= 0; i--) {
      let d = out[base + i]!;
      if (d === 0) nextZero = i;
      else if (nextZero - i < d) d = nextZero - i;
      out[base + i] = d * s;
    }
  } else {
    const s2 = s * s;
    for (let i = n - 1; i >= 0; i--) {
      let d = out[base + i]!;
      if (d === 0) nextZero = i;
      else if (nextZero - i < d) d = nextZero - i;
      out[base + i] = d * d * s2;
    }
  }
}

/** Columns per work unit of the first pass (along spatial axis 0). */
export const AXIS0_CHUNK = 2048;

/** The number of work units of {@linkcode axis0Pass}: (volume, chunk of columns) pairs. */
export function axis0Units(volumes: number, rest: number): number {
  return volumes * Math.ceil(rest / AXIS0_CHUNK);
}

/**
 * First pass of a 2-D or higher transform, along spatial axis 0 (length `n0`, stride `rest`):
 * the distance (in voxels) to the nearest zero of each column by a forward and a backward
 * sweep, plane after plane, so every access is contiguous. Writes squared physical distances
 * (Infinity for columns without a zero) and `flags[volume·rest + x]` = whether column x of the
 * volume has a zero. Work units `[u0, u1)` (see {@linkcode axis0Units}).
 */
export function axis0Pass(
  mask: NumberMask,
  out: Float32Array,
  n0: number,
  rest: number,
  s: number,
  u0: number,
  u1: number,
  flags: Uint8Array,
  next: Float64Array,
): void {
  const chunks = Math.ceil(rest / AXIS0_CHUNK);
  const s2 = s * s;
  for (let u = u0; u < u1; u++) {
    const b = Math.floor(u / chunks);
    const c0 = (u - b * chunks) * AXIS0_CHUNK;
    const w = Math.min(AXIS0_CHUNK, rest - c0);
    const base = b * n0 * rest + c0;
    for (let x = 0; x < w; x++) out[base + x] = mask[base + x] === 0 ? 0 : Infinity;
    for (let z = 1; z < n0; z++) {
      const row = base + z * rest;
      for (let x = 0; x < w; x++) {
        out[row + x] = mask[row + x] === 0 ? 0 : out[row - rest + x]! + 1;
      }
    }
    finishColumns(out, base, n0, rest, w, s2, next);
    const fbase = b * rest + c0;
    for (let x = 0; x < w; x++) flags[fbase + x] = next[x] === Infinity ? 0 : 1;
  }
}

/**
 * {@linkcode axis0Pass} for the class transforms of a label job: planes `k = n·C + c` are the
 * volumes; the zeros are the voxels of class c (absent classes: the plane stays zero and its
 * flags 0).
 */
export function classAxis0Pass(
  job: LabelJob,
  n0: number,
  rest: number,
  s: number,
  u0: number,
  u1: number,
  flags: Uint8Array,
  next: Float64Array,
): void {
  const { labels, present, out, numClasses, vol } = job;
  const chunks = Math.ceil(rest / AXIS0_CHUNK);
  const s2 = s * s;
  for (let u = u0; u < u1; u++) {
    const k = Math.floor(u / chunks);
    const c0 = (u - k * chunks) * AXIS0_CHUNK;
    const w = Math.min(AXIS0_CHUNK, rest - c0);
    const fbase = k * rest + c0;
    if (present[k] === 0) {
      for (let x = 0; x < w; x++) flags[fbase + x] = 0;
      continue;
    }
    const sample = Math.floor(k / numClasses);
    const cls = k - sample * numClasses;
    const base = k * vol + c0;
    const lbase = sample * vol + c0;
    for (let x = 0; x < w; x++) out[base + x] = labels[lbase + x] === cls ? 0 : Infinity;
    for (let z = 1; z < n0; z++) {
      const row = base + z * rest;
      const lrow = lbase + z * rest;
      for (let x = 0; x < w; x++) {
        out[row + x] = labels[lrow + x] === cls ? 0 : out[row - rest + x]! + 1;
      }
    }
    finishColumns(out, base, n0, rest, w, s2, next);
    for (let x = 0; x < w; x++) flags[fbase + x] = next[x] === Infinity ? 0 : 1;
  }
}

/**
 * Backward sweep of {@linkcode axis0Pass} over `w` columns holding forward distances, then
 * squared physical distances; `next` ends holding each column's (unsquared) first value.
 */
function finishColumns(
  out: Float32Array,
  base: number,
  n0: number,
  rest: number,
  w: number,
  s2: number,
  next: Float64Array,
): void {
  const top = base + (n0 - 1) * rest;
  for (let x = 0; x < w; x++) {
    const v = out[top + x]!;
    next[x] = v;
    out[top + x] = v * v * s2;
  }
  for (let z = n0 - 2; z >= 0; z--) {
    const row = base + z * rest;
    for (let x = 0; x < w; x++) {
      const v = Math.min(out[row + x]!, next[x]! + 1);
      next[x] = v;
      out[row + x] = v * v * s2;
    }
  }
}

/**
 * Felzenszwalb–Huttenlocher along the innermost (contiguous) axis of length `n`, after
 * {@linkcode axis0Pass}: rows `[u0, u1)`; `flagsIn` are the axis-0 flags (which columns hold
 * finite values, per volume; `n0` is the length of axis 0 and `perPlane` the number of rows per
 * plane of axis 0), `flagsOut[r]` = whether row r holds finite values afterwards.
 */
export function lastAxisPass(
  out: Float32Array,
  n: number,
  n0: number,
  perPlane: number,
  s2: number,
  u0: number,
  u1: number,
  final: boolean,
  scratch: Scratch,
  flagsIn: Uint8Array,
  flagsOut: Uint8Array,
): void {
  const { f, list } = scratch;
  // perPlane rows per z-plane of a volume; the axis-0 flags of a row depend on (volume, p)
  let lastFo = -1;
  let m = 0;
  for (let r = u0; r < u1; r++) {
    const b = Math.floor(r / (n0 * perPlane));
    const p = r % perPlane;
    const fo = (b * perPlane + p) * n;
    if (fo !== lastFo) {
      lastFo = fo;
      m = 0;
      for (let x = 0; x < n; x++) if (flagsIn[fo + x] !== 0) list[m++] = x;
    }
    flagsOut[r] = m > 0 ? 1 : 0;
    if (m === 0) continue;
    const base = r * n;
    if (m < n) {
      for (let t = 0; t < m; t++) f[t] = out[base + list[t]!]!;
      sparseEnvelope(f, 0, m, list, n, s2, out, base, 1, final, scratch);
    } else {
      for (let x = 0; x < n; x++) f[x] = out[base + x]!;
      envelope(f, 0, n, s2, out, base, 1, final, scratch);
    }
  }
}

/** Scratch buffers of {@linkcode columnPass}, sized once for the longest axis. */
export interface Scratch {
  f: Float64Array;
  res: Float32Array;
  v: Int32Array;
  z: Float64Array;
  g: Float64Array;
  fv: Float64Array;
  list: Int32Array;
  runStart: Int32Array;
  runEnd: Int32Array;
  /** The backward-sweep row of {@linkcode axis0Pass}. */
  next: Float64Array;
}

/** Allocates scratch for axes up to `maxLen` long. */
export function makeScratch(maxLen: number): Scratch {
  return {
    f: new Float64Array(Math.max(16 * maxLen, BLOCK_ELEMENTS)),
    res: new Float32Array(Math.max(16 * maxLen, BLOCK_ELEMENTS)),
    v: new Int32Array(maxLen),
    z: new Float64Array(maxLen + 1),
    g: new Float64Array(maxLen),
    fv: new Float64Array(maxLen),
    list: new Int32Array(maxLen),
    runStart: new Int32Array(maxLen),
    runEnd: new Int32Array(maxLen),
    next: new Float64Array(AXIS0_CHUNK),
  };
}

/** The number of work units of a strided pass: (outer index, block of columns) pairs. */
export function columnUnits(total: number, n: number, stride: number): number {
  return (total / (n * stride)) * Math.ceil(stride / blockWidth(n));
}

/**
 * Strided pass along an axis of length `n` and stride `stride` (> 0) for work units
 * `[u0, u1)` (see {@linkcode columnUnits}): squared distances in `out` become the squared
 * distances of the lower envelope along this axis with squared spacing `s2`; the square root is
 * taken when `final`.
 */
export function columnPass(
  out: Float32Array,
  n: number,
  stride: number,
  s2: number,
  u0: number,
  u1: number,
  final: boolean,
  scratch: Scratch,
  flagsIn: Uint8Array,
  flagsOut: Uint8Array,
): void {
  const width = blockWidth(n);
  const nb = Math.ceil(stride / width);
  const { f, list } = scratch;
  let listO = -1;
  let m = 0;
  for (let u = u0; u < u1; u++) {
    const o = Math.floor(u / nb);
    if (o !== listO) {
      // positions along this axis that hold finite values (the same for every column of o)
      listO = o;
      m = 0;
      for (let i = 0; i < n; i++) if (flagsIn[o * n + i] !== 0) list[m++] = i;
      flagsOut[o] = m > 0 ? 1 : 0;
    }
    if (m === 0) continue; // all Infinity (or a plane left as it is): nothing changes
    const j0 = (u - o * nb) * width;
    const w = Math.min(width, stride - j0);
    const base = o * n * stride + j0;
    const direct = n <= DIRECT_MAX;
    const res = scratch.res;
    if (m < n) {
      // gather only the finite positions; the envelope of those parabolas covers the column
      for (let t = 0; t < m; t++) {
        const src = base + list[t]! * stride;
        for (let j = 0; j < w; j++) f[j * m + t] = out[src + j]!;
      }
      for (let j = 0; j < w; j++) {
        if (direct) sparseEnvelope(f, j * m, m, list, n, s2, out, base + j, stride, final, scratch);
        else sparseEnvelope(f, j * m, m, list, n, s2, res, j * n, 1, final, scratch);
      }
    } else {
      // gather w columns into f (column-major: column j at j*n)
      for (let i = 0; i < n; i++) {
        const src = base + i * stride;
        for (let j = 0; j < w; j++) f[j * n + i] = out[src + j]!;
      }
      if (direct) {
        // short columns: write straight into the output
        for (let j = 0; j < w; j++) {
          envelope(f, j * n, n, s2, out, base + j, stride, final, scratch);
        }
        continue;
      }
      // long columns: contiguous results first, then one scatter in row order
      for (let j = 0; j < w; j++) {
        if (!envelope(f, j * n, n, s2, res, j * n, 1, final, scratch)) {
          for (let q = 0; q < n; q++) res[j * n + q] = f[j * n + q]!;
        }
      }
    }
    if (!direct) {
      for (let i = 0; i < n; i++) {
        const dst = base + i * stride;
        for (let j = 0; j < w; j++) out[dst + j] = res[j * n + i]!;
      }
    }
  }
}

/**
 * {@linkcode envelope} for a column whose only finite samples are `f[off + t]` at positions
 * `list[t]` (`t < m`, increasing): plain Felzenszwalb–Huttenlocher over those parabolas, swept
 * over all `n` positions.
 */
function sparseEnvelope(
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
const DIRECT_MAX = 512;

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
function envelope(
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

/** One pass of a transform, as the sync path and the Workers run it. */
export interface PassPlan {
  /**
   * `row`/`classRow`: the only pass of a 1-D transform; `axis0`/`classAxis0`: the first pass
   * of a 2-D or higher one; `last`: the innermost axis; `column`: an axis in between;
   * `combine`: the last step of a signed distance map.
   */
  kind: "row" | "classRow" | "axis0" | "classAxis0" | "last" | "column" | "combine";
  n: number;
  stride: number;
  spacing: number;
  units: number;
  final: boolean;
  /** `last`: the length of axis 0 and the rows per plane of axis 0. */
  n0?: number;
  perPlane?: number;
  /** `combine`: the inside shift of the convention. */
  shift?: number;
}

/**
 * The passes of a transform over `total` elements of volumes with extents `spatial`. Either
 * the two-sweep pass along the innermost axis, then the envelope along every other axis
 * (blocks of columns gathered into scratch); or, for 2-D volumes with long columns, the
 * two-sweep pass along axis 0 (plane after plane, contiguous) and then the envelope along the
 * innermost axis (contiguous rows; the general form would add the axes in between).
 * `classes`: the class transforms of a label job.
 */
export function planPasses(
  total: number,
  spatial: readonly number[],
  spacing: readonly number[],
  classes: boolean,
): PassPlan[] {
  const d = spatial.length;
  const nLast = spatial[d - 1]!;
  if (d === 1) {
    return [{
      kind: classes ? "classRow" : "row",
      n: nLast,
      stride: 1,
      spacing: spacing[0]!,
      units: total / nLast,
      final: true,
    }];
  }
  const n0 = spatial[0]!;
  if (d > 2 || n0 <= DIRECT_MAX) {
    // rows first, then every other axis as gathered blocks of columns (measured faster for
    // 3-D and for short 2-D columns)
    const plan: PassPlan[] = [{
      kind: classes ? "classRow" : "row",
      n: nLast,
      stride: 1,
      spacing: spacing[d - 1]!,
      units: total / nLast,
      final: false,
    }];
    let stride = nLast;
    for (let ax = d - 2; ax >= 0; ax--) {
      const n = spatial[ax]!;
      plan.push({
        kind: "column",
        n,
        stride,
        spacing: spacing[ax]!,
        units: columnUnits(total, n, stride),
        final: ax === 0,
      });
      stride *= n;
    }
    return plan;
  }
  // long 2-D columns: the two-sweep pass along axis 0 (contiguous rows), then the envelope
  // along the rows, with no gathering at all
  const vol = spatial.reduce((a, b) => a * b, 1);
  const rest = vol / n0;
  const plan: PassPlan[] = [
    {
      kind: classes ? "classAxis0" : "axis0",
      n: n0,
      stride: rest,
      spacing: spacing[0]!,
      units: axis0Units(total / vol, rest),
      final: false,
    },
    {
      kind: "last",
      n: nLast,
      stride: 1,
      spacing: spacing[d - 1]!,
      units: total / nLast,
      final: true,
      n0,
      perPlane: rest / nLast,
    },
  ];
  return plan;
}

/** The length of each of the two flag buffers the passes of {@linkcode planPasses} use. */
export function flagsLength(total: number, spatial: readonly number[]): number {
  const d = spatial.length;
  return d === 1 ? total / spatial[0]! : total / Math.min(spatial[0]!, spatial[d - 1]!);
}

/** What a pass works on. */
export interface PassContext {
  mask?: NumberMask;
  job?: LabelJob;
  out: Float32Array;
  /** Pass i writes `flags[i % 2]` and reads `flags[(i + 1) % 2]`. */
  flags: Uint8Array[];
  scratch: Scratch;
}

/** Runs work units `[u0, u1)` of pass number `i` of a plan. */
export function runPass(p: PassPlan, i: number, ctx: PassContext, u0: number, u1: number): void {
  const fout = ctx.flags[i % 2]!;
  const fin = ctx.flags[(i + 1) % 2]!;
  const { out, scratch } = ctx;
  switch (p.kind) {
    case "row":
      rowPass(ctx.mask!, out, p.n, p.spacing, u0, u1, p.final, fout);
      break;
    case "classRow":
      classRowPass(ctx.job!, p.n, p.spacing, u0, u1, p.final, fout);
      break;
    case "axis0":
      axis0Pass(
        ctx.mask!,
        out,
        p.n,
        p.stride,
        p.spacing,
        u0,
        u1,
        fout,
        scratch.next,
      );
      break;
    case "classAxis0":
      classAxis0Pass(ctx.job!, p.n, p.stride, p.spacing, u0, u1, fout, scratch.next);
      break;
    case "last":
      lastAxisPass(
        out,
        p.n,
        p.n0!,
        p.perPlane!,
        p.spacing * p.spacing,
        u0,
        u1,
        p.final,
        scratch,
        fin,
        fout,
      );
      break;
    case "column":
      columnPass(out, p.n, p.stride, p.spacing * p.spacing, u0, u1, p.final, scratch, fin, fout);
      break;
    case "combine":
      combinePass(ctx.job!, p.shift!, u0, u1);
      break;
  }
}

/**
 * Runs every pass of the EDT of `total` elements whose trailing spatial extents are `spatial`
 * (leading indices are independent volumes) into `out`, single-threaded.
 */
export function edtInto(
  mask: NumberMask,
  out: Float32Array,
  spatial: readonly number[],
  spacing: readonly number[],
): void {
  const plan = planPasses(out.length, spatial, spacing, false);
  const n = flagsLength(out.length, spatial);
  const ctx: PassContext = {
    mask,
    out,
    flags: [new Uint8Array(n), new Uint8Array(n)],
    scratch: makeScratch(Math.max(...spatial)),
  };
  for (let i = 0; i < plan.length; i++) runPass(plan[i]!, i, ctx, 0, plan[i]!.units);
}

/**
 * Signed distance maps of a label job (see {@linkcode LabelJob}), single-threaded: the class
 * transforms over all `(N·C)` planes, then {@linkcode combinePass}.
 */
export function signedInto(
  job: LabelJob,
  spatial: readonly number[],
  spacing: readonly number[],
  shift: number,
): void {
  const plan = signedPlan(job.out.length, job.vol, job.numClasses, spatial, spacing, shift);
  const n = flagsLength(job.out.length, spatial);
  const ctx: PassContext = {
    job,
    out: job.out,
    flags: [new Uint8Array(n), new Uint8Array(n)],
    scratch: makeScratch(Math.max(...spatial)),
  };
  for (let i = 0; i < plan.length; i++) runPass(plan[i]!, i, ctx, 0, plan[i]!.units);
}

/** The passes of a label job: the class transforms, then the combination. */
export function signedPlan(
  total: number,
  vol: number,
  numClasses: number,
  spatial: readonly number[],
  spacing: readonly number[],
  shift: number,
): PassPlan[] {
  return [
    ...planPasses(total, spatial, spacing, true),
    {
      kind: "combine",
      n: 0,
      stride: 0,
      spacing: 0,
      units: combineUnits(total / (vol * numClasses), vol),
      final: true,
      shift,
    },
  ];
}

/**
 * Search radius of {@linkcode localSigned}, in voxels of the smallest spacing: 2-D and 3-D.
 * Offsets farther than that (in physical units) are not searched; a voxel whose search runs out
 * sends its sample to the separable passes.
 */
const LOCAL_RADIUS_2D = 8;
const LOCAL_RADIUS_3D = 4;
/** Class bit masks are int32: the search handles up to this many classes. */
export const LOCAL_MAX_CLASSES = 30;

/** Offsets sorted by physical distance for one spacing: per-axis steps and float32 distance. */
interface Offsets {
  /** `steps[t * dims + a]`: the step along axis a of offset t. */
  steps: Int32Array;
  d: Float32Array;
  /** Half-width of the box searched along each axis. */
  reach: number[];
}
const offsetCache = new Map<string, Offsets>();

/**
 * Every offset within the physical radius `R·min(spacing)`, sorted by distance. Along axis a
 * the box reaches `floor(R·min / s_a)` steps, so every voxel outside it is farther than the
 * radius: an offset found within the radius is the nearest of its class (exact).
 */
function offsetsFor(spacing: readonly number[]): Offsets {
  const key = spacing.join(",");
  let o = offsetCache.get(key);
  if (o !== undefined) return o;
  const dims = spacing.length;
  const rPhys = (dims === 2 ? LOCAL_RADIUS_2D : LOCAL_RADIUS_3D) * Math.min(...spacing);
  const reach = spacing.map((s) => Math.floor(rPhys / s + 1e-9));
  const s2 = spacing.map((s) => s * s);
  const list: { k: number[]; d2: number }[] = [];
  const k = new Array<number>(dims).fill(0);
  const visit = (a: number) => {
    if (a === dims) {
      if (k.every((v) => v === 0)) return;
      // the arithmetic of the separable passes: the innermost axis first, each partial sum
      // rounded to float32 before the next axis is added (the last one in float64)
      let d2 = Math.fround(s2[dims - 1]! * k[dims - 1]! * k[dims - 1]!);
      for (let b = dims - 2; b >= 0; b--) {
        d2 = s2[b]! * k[b]! * k[b]! + d2;
        if (b > 0) d2 = Math.fround(d2);
      }
      if (d2 <= rPhys * rPhys * (1 + 1e-12)) list.push({ k: k.slice(), d2 });
      return;
    }
    for (let v = -reach[a]!; v <= reach[a]!; v++) {
      k[a] = v;
      visit(a + 1);
    }
  };
  visit(0);
  list.sort((a, b) => a.d2 - b.d2);
  const steps = new Int32Array(list.length * dims);
  list.forEach((e, t) => steps.set(e.k, t * dims));
  o = { steps, d: Float32Array.from(list, (e) => Math.sqrt(e.d2)), reach };
  if (offsetCache.size > 64) offsetCache.clear();
  offsetCache.set(key, o);
  return o;
}

/**
 * Whether sample `s` of a label job looks like label noise (at least a quarter of the
 * neighbours along the innermost axis differ), where {@linkcode localSigned} beats the
 * separable passes. `W`: the innermost extent.
 */
export function looksNoisy(job: LabelJob, s: number, W: number): boolean {
  const { labels, vol } = job;
  let changes = 0;
  const base = s * vol;
  for (let row = base; row < base + vol; row += W) {
    for (let x = 1; x < W; x++) if (labels[row + x] !== labels[row + x - 1]) changes++;
  }
  return changes * 4 >= (vol / W) * (W - 1);
}

/** Scratch of {@linkcode localSigned} for one spatial shape and spacing. */
export interface LocalSearch {
  spatial: number[];
  /** Padded extents and the padded label copy (pad value: numClasses, a sentinel class). */
  padded: number[];
  pad: Uint8Array;
  /** Linear offsets into `pad`, sorted by distance, and their float32 distances. */
  lin: Int32Array;
  d: Float32Array;
  found: Float64Array;
}

/** The scratch of {@linkcode localSigned} (2-D or 3-D spatial shape, up to 30 classes). */
export function localSearch(
  spatial: readonly number[],
  spacing: readonly number[],
  numClasses: number,
): LocalSearch {
  const dims = spatial.length;
  const { steps, d, reach } = offsetsFor(spacing);
  const padded = spatial.map((n, a) => n + 2 * reach[a]!);
  const m = d.length;
  const lin = new Int32Array(m);
  for (let t = 0; t < m; t++) {
    let v = 0;
    for (let a = 0; a < dims; a++) v = v * padded[a]! + steps[t * dims + a]!;
    lin[t] = v;
  }
  return {
    spatial: spatial.slice(),
    padded,
    pad: new Uint8Array(padded.reduce((a, b) => a * b, 1)),
    lin,
    d,
    found: new Float64Array(numClasses + 1),
  };
}

/**
 * Signed distance maps of sample `s` of a 2-D or 3-D label job by a direct search: one scan
 * per voxel over the offsets sorted by distance (a padded label copy, so no bounds checks),
 * marking every class at its first sight, until every present class has been seen. That gives
 * the distance to each other class (the first sight is the nearest) and, inside the voxel's own
 * class, the distance to the nearest voxel of another class (the nearest of those). Exact, with
 * the rounding of the separable passes. Returns false, leaving the sample to the separable
 * passes, as soon as a voxel's search runs out of offsets (some class farther than the radius).
 */
export function localSigned(
  job: LabelJob,
  s: number,
  search: LocalSearch,
  shift: number,
): boolean {
  const { labels, present, out, numClasses: C, vol } = job;
  const { spatial, padded, pad, lin, d, found } = search;
  const pbase = s * C;
  let count = 0;
  let base = 1 << C; // the sentinel (padding) and the absent classes count as seen
  for (let c = 0; c < C; c++) {
    if (present[pbase + c] !== 0) count++;
    else base |= 1 << c;
  }
  if (count < 2) return true; // all-zero maps
  const full = (2 << C) - 1;
  const m = lin.length;
  // padded copy of the sample
  pad.fill(C);
  const lbase = s * vol;
  const dims = spatial.length;
  const W = spatial[dims - 1]!;
  const H = spatial[dims - 2]!;
  const D = dims === 3 ? spatial[0]! : 1;
  const Wp = padded[dims - 1]!;
  const Hp = padded[dims - 2]!;
  const rx = (Wp - W) >> 1;
  const ry = (Hp - H) >> 1;
  const rz = dims === 3 ? (padded[0]! - D) >> 1 : 0;
  for (let z = 0; z < D; z++) {
    for (let y = 0; y < H; y++) {
      const src = lbase + (z * H + y) * W;
      const dst = ((z + rz) * Hp + y + ry) * Wp + rx;
      for (let x = 0; x < W; x++) pad[dst + x] = labels[src + x]!;
    }
  }
  const obase = pbase * vol;
  // found[c]: the distance to class c at the current voxel. Every present class other than the
  // voxel's own is written by each scan (else the sample falls back), so nothing needs a reset;
  // absent classes keep 0 (their planes stay zero); found[C] takes the padding's writes
  found.fill(0);
  let v = 0;
  for (let z = 0; z < D; z++) {
    for (let y = 0; y < H; y++) {
      let p = ((z + rz) * Hp + y + ry) * Wp + rx;
      for (let x = 0; x < W; x++, p++, v++) {
        const l = pad[p]!;
        // inside class l: the distance to the nearest voxel of another class (the first
        // offset whose label is neither l nor the padding)
        let t = 0;
        for (; t < m; t++) {
          const c = pad[p + lin[t]!]!;
          if (c !== l && c !== C) break;
        }
        if (t === m) return false;
        const inner = shift - d[t]!;
        // how far the scan must go: until every present class has been seen
        const t0 = t;
        let mask = base | (1 << l);
        for (; t < m; t++) {
          mask |= 1 << pad[p + lin[t]!]!;
          if (mask === full) break;
        }
        if (t === m) return false;
        // then backwards, without branches: the last write of a class is its nearest sight
        for (; t >= t0; t--) found[pad[p + lin[t]!]!] = d[t]!;
        found[l] = inner;
        for (let c = 0; c < C; c++) out[obase + c * vol + v] = found[c]!;
      }
    }
  }
  return true;
}

/** What `signedDistance` needs to know about a transform made by `edtTransform`. */
export interface BuiltinInfo {
  /** A Worker pool to use for a job of `elements` output elements, if any. */
  poolFor(elements: number): unknown;
}

const builtin = new WeakMap<object, BuiltinInfo>();

/** Marks a transform made by `edtTransform` (signed distance maps then take a fast path). */
export function markBuiltin(transform: object, info: BuiltinInfo): void {
  builtin.set(transform, info);
}

/** The info of a transform made by `edtTransform`, or undefined for any other transform. */
export function builtinInfo(transform: object): BuiltinInfo | undefined {
  return builtin.get(transform);
}
