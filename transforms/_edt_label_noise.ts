/**
 * The direct search of the label-map signed distance for label noise ({@linkcode localSigned}):
 * one scan per voxel over offsets sorted by distance, exact, with the rounding of the separable
 * passes; {@linkcode looksNoisy} decides when it beats them.
 *
 * Not part of the public API (not exported from `mod.ts`).
 *
 * @module
 */
import type { LabelJob } from "./_edt_labels.ts";

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
