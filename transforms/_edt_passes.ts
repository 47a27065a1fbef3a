/**
 * The passes of the exact EDT of a mask (`edt`, the Worker pool): the two-sweep nearest-zero
 * pass along the innermost (contiguous) axis ({@linkcode rowPass}) or along axis 0, plane after
 * plane ({@linkcode axis0Pass}), then the lower envelope of parabolas along every other axis
 * ({@linkcode lastAxisPass} for contiguous rows, {@linkcode columnPass} for strided axes, blocks
 * of adjacent columns gathered into a small scratch). Every pass works in place on the float32
 * output, which holds squared physical distances until the last pass takes the square root,
 * and records which lines hold finite values so that later passes skip or thin out the others.
 *
 * Not part of the public API (not exported from `mod.ts`).
 *
 * @module
 */
import { DIRECT_MAX, runsEnvelope, runsEnvelopeInPlace, sparseEnvelope } from "./_edt_envelope.ts";

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
 * The mask as a Uint8Array (non-zero: inside): a Uint8Array is returned as it is, every other
 * type (float, signed, wider, bigint) becomes a 0/1 Uint8Array in one pass, so the kernels
 * see one array type (monomorphic, and `Math.min(m, 1)` is the branch-free 0/1 of a value).
 */
export function numberMask(data: ArrayLike<number> | ArrayLike<bigint>): NumberMask {
  if (data instanceof Uint8Array) return data;
  const out = new Uint8Array(data.length);
  if (typeof data[0] === "bigint") {
    const big = data as ArrayLike<bigint>;
    for (let i = 0; i < big.length; i++) out[i] = big[i] === 0n ? 0 : 1;
  } else {
    const num = data as ArrayLike<number>;
    for (let i = 0; i < num.length; i++) out[i] = num[i] === 0 ? 0 : 1;
  }
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
  // int32 forward distances in the output's own memory, then the backward minimum, both
  // branch-free (see axis0Pass)
  const dist = new Int32Array(out.buffer, out.byteOffset, out.length);
  const one = ONE[0]!;
  const s2 = s * s;
  for (let r = r0; r < r1; r++) {
    const base = r * n;
    // rows without a zero (most of them around a small object) are filled at once
    const first = typed.subarray(base, base + n).indexOf(0);
    if (first < 0) {
      out.fill(Infinity, base, base + n);
      flags[r] = 0;
      continue;
    }
    flags[r] = 1;
    let d = 0;
    for (let i = base + first; i < base + n; i++) {
      d = (d + 1) & -Math.min(typed[i]!, 1);
      dist[i] = d;
    }
    let c = NO_ZERO;
    if (final) {
      for (let i = base + n - 1; i >= base + first; i--) {
        const e = dist[i]! - (c + 1);
        c = c + 1 + (e & (e >> 31));
        out[i] = c * one * s;
      }
      for (let i = base + first - 1; i >= base; i--) out[i] = (base + first - i) * one * s;
    } else {
      for (let i = base + n - 1; i >= base + first; i--) {
        const e = dist[i]! - (c + 1);
        c = c + 1 + (e & (e >> 31));
        const fv = c * one;
        out[i] = fv * fv * s2;
      }
      for (let i = base + first - 1; i >= base; i--) {
        const fv = (base + first - i) * one;
        out[i] = fv * fv * s2;
      }
    }
  }
}

/**
 * Geometry of a signed-distance job: labels `(N, ...spatial)` as Int32, output planes
 * `(N, C, ...spatial)`, and `present[n·C + c]` = 1 when class c occurs in sample n (with at
 * least two classes in the sample; otherwise all of the sample's planes stay zero).

/** Backward sweep of a row holding forward distances (0 at zeros), then scale/square. */
export function finishRow(
  out: Float32Array,
  base: number,
  n: number,
  s: number,
  final: boolean,
): void {
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
export const AXIS0_CHUNK = 256;

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
  next: Int32Array,
): void {
  const chunks = Math.ceil(rest / AXIS0_CHUNK);
  const s2 = s * s;
  // forward distances as int32 in the output's own memory, branch-free: `Math.min(m, 1)` is
  // the 0/1 of a uint8 mask, `& -bit` keeps or clears; a column without a zero so far holds
  // NO_ZERO + (steps), which stays above every real distance
  const dist = new Int32Array(out.buffer, out.byteOffset, out.length);
  const m8 = mask as Uint8Array;
  // forces the float64 multiplication below (V8's int32 one is slow on mixed data)
  const one = ONE[0]!;
  for (let u = u0; u < u1; u++) {
    const b = Math.floor(u / chunks);
    const c0 = (u - b * chunks) * AXIS0_CHUNK;
    const w = Math.min(AXIS0_CHUNK, rest - c0);
    const base = b * n0 * rest + c0;
    for (let x = 0; x < w; x++) dist[base + x] = NO_ZERO & -Math.min(m8[base + x]!, 1);
    for (let z = 1; z < n0; z++) {
      const row = base + z * rest;
      for (let x = 0; x < w; x++) {
        dist[row + x] = (dist[row - rest + x]! + 1) & -Math.min(m8[row + x]!, 1);
      }
    }
    // backward: the minimum with the distance below (branch-free int32 min), then the squared
    // physical distance as float32 in place
    const top = base + (n0 - 1) * rest;
    for (let x = 0; x < w; x++) {
      const v = dist[top + x]!;
      next[x] = v;
      const fv = v * one;
      out[top + x] = fv * fv * s2;
    }
    for (let z = n0 - 2; z >= 0; z--) {
      const row = base + z * rest;
      for (let x = 0; x < w; x++) {
        const a = dist[row + x]!;
        const c = next[x]! + 1;
        const d = a - c;
        const v = c + (d & (d >> 31));
        next[x] = v;
        const fv = v * one;
        out[row + x] = fv * fv * s2;
      }
    }
    // columns without a zero hold finite garbage: flagged 0, never read by the next pass
    const fbase = b * rest + c0;
    for (let x = 0; x < w; x++) flags[fbase + x] = next[x]! >= NO_ZERO ? 0 : 1;
  }
}

/** {@linkcode axis0Pass}'s mark of a column without a zero (above every real distance). */
const NO_ZERO = 1 << 30;
const ONE = new Float64Array([1]);

/**
 * {@linkcode axis0Pass} for the class transforms of a label job: planes `k = n·C + c` are the
 * volumes; the zeros are the voxels of class c (absent classes: the plane stays zero and its
 * flags 0).

/**
 * Backward sweep of {@linkcode axis0Pass} over `w` columns holding forward distances, then
 * squared physical distances; `next` ends holding each column's (unsquared) first value.
 */
export function finishColumns(
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
    const base = r * n;
    if (m === 0) {
      // no column of this plane has a zero: axis0Pass left finite garbage there
      out.fill(Infinity, base, base + n);
      continue;
    }
    if (m < n) {
      for (let t = 0; t < m; t++) f[t] = out[base + list[t]!]!;
      sparseEnvelope(f, 0, m, list, n, s2, out, base, 1, final, scratch);
    } else {
      runsEnvelopeInPlace(out, base, n, s2, final, scratch);
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
  /** The backward-sweep row of the class axis-0 pass. */
  next: Float64Array;
  /** The backward-sweep row of {@linkcode axis0Pass}. */
  nextInt: Int32Array;
}

/** Allocates scratch for axes up to `maxLen` long. */
export function makeScratch(maxLen: number): Scratch {
  return {
    f: new Float64Array(Math.max(16 * maxLen, BLOCK_ELEMENTS) + 128 * PAD),
    res: new Float32Array(Math.max(16 * maxLen, BLOCK_ELEMENTS) + 128 * PAD),
    v: new Int32Array(maxLen),
    z: new Float64Array(maxLen + 1),
    g: new Float64Array(maxLen),
    fv: new Float64Array(maxLen),
    list: new Int32Array(maxLen),
    runStart: new Int32Array(maxLen),
    runEnd: new Int32Array(maxLen),
    next: new Float64Array(AXIS0_CHUNK),
    nextInt: new Int32Array(AXIS0_CHUNK),
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
    // short axes with small strides: results straight into the output; otherwise contiguous
    // results first, then one scatter in row order (a strided write per element thrashes the
    // cache when the stride is a large power of two)
    const direct = n <= DIRECT_MAX && stride <= DIRECT_STRIDE;
    const res = scratch.res;
    if (m < n) {
      // gather only the finite positions; the envelope of those parabolas covers the column.
      // Column j sits at j·ld (ld = m + PAD: columns of the scratch land in different cache sets)
      const ld = m + PAD;
      for (let t = 0; t < m; t++) {
        const src = base + list[t]! * stride;
        for (let j = 0; j < w; j++) f[j * ld + t] = out[src + j]!;
      }
      for (let j = 0; j < w; j++) {
        if (direct) {
          sparseEnvelope(f, j * ld, m, list, n, s2, out, base + j, stride, final, scratch);
        } else sparseEnvelope(f, j * ld, m, list, n, s2, res, j * (n + PAD), 1, final, scratch);
      }
    } else {
      // gather w columns into f (column-major: column j at j·ld)
      const ld = n + PAD;
      for (let i = 0; i < n; i++) {
        const src = base + i * stride;
        for (let j = 0; j < w; j++) f[j * ld + i] = out[src + j]!;
      }
      if (direct) {
        for (let j = 0; j < w; j++) {
          runsEnvelope(f, j * ld, n, s2, out, base + j, stride, final, false, scratch);
        }
        continue;
      }
      for (let j = 0; j < w; j++) {
        runsEnvelope(f, j * ld, n, s2, res, j * ld, 1, final, true, scratch);
      }
    }
    if (!direct) {
      const ld = n + PAD;
      for (let i = 0; i < n; i++) {
        const dst = base + i * stride;
        for (let j = 0; j < w; j++) out[dst + j] = res[j * ld + i]!;
      }
    }
  }
}

/** Padding (in elements) between the gathered columns of {@linkcode columnPass}'s scratch. */
const PAD = 16;
/** Strides up to this many elements are written in place by {@linkcode columnPass}. */
const DIRECT_STRIDE = 4096;

/**
 * {@linkcode envelope} for a column whose only finite samples are `f[off + t]` at positions
 * `list[t]` (`t < m`, increasing): plain Felzenszwalb–Huttenlocher over those parabolas, swept
 * over all `n` positions.
 */
