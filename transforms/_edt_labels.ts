/**
 * The class passes of the label-map signed distance (`signedDistance`): the distance to the
 * nearest voxel of each present class over the `(N·C)` output planes ({@linkcode classRowPass},
 * {@linkcode classAxis0Pass}), then {@linkcode combinePass}, which turns them into signed maps.
 *
 * Not part of the public API (not exported from `mod.ts`).
 *
 * @module
 */
import { AXIS0_CHUNK, finishColumns, finishRow } from "./_edt_passes.ts";

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
