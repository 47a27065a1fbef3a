/**
 * Surface metrics: Hausdorff distance (maximum or any percentile), average symmetric surface
 * distance and normalized surface Dice, from surface voxels and the exact EDT.
 *
 * A surface voxel is a foreground voxel with at least one background neighbour (face
 * connectivity by default: 4 in 2-D, 6 in 3-D; `connectivity: "full"` for 8 / 26). By default
 * (`border: "surface"`) the outside of the volume counts as background, so foreground voxels on
 * the volume border are surface voxels, as in MONAI's `get_mask_edges` and medpy's
 * `__surface_distances`; `border: "none"` does not count the outside (for crops of a larger
 * volume, where the crop edge is not an object edge). The distance of a surface voxel of A to the surface of B
 * is read from the exact EDT of a mask that is zero on B's surface voxels (no pairwise point
 * distances), computed over the bounding box of both masks (exact: every zero and every query
 * lies in it).
 *
 * @module
 */
import { checkKeys, quote, SeglossRangeError, SeglossTypeError } from "../core/errors.ts";
import { checkNdArray, checkSpatialDims, type NdArray, sizeOf } from "../core/ndarray.ts";
import { edt } from "../transforms/edt.ts";
import type { DistanceTransform } from "../core/types.ts";
import {
  checkBoolean,
  type EmptyPolicy,
  type LabelArray,
  metricLabels,
  type MetricOptions,
  type PreparedLabels,
  resolveEmpty,
} from "./input.ts";
import { type MetricResult, summarize } from "./result.ts";

/**
 * How surface voxels are found: `border` (`"surface"`, the default: the outside of the volume
 * is background, as in MONAI and medpy; `"none"`: the volume border is not a surface) and
 * `connectivity` (`"face"`, the default: neighbours across a face, 4 in 2-D and 6 in 3-D, like
 * medpy's `connectivity=1` and MONAI; `"full"`: every neighbour of the 3×3(×3) block, 8 / 26,
 * like medpy's `connectivity=ndim`; or medpy's integer 1..ndim, e.g. 2 in 3-D for 18).
 *
 * @example Basic usage
 * ```ts
 * import type { SurfaceOptions } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const medpyFull: SurfaceOptions = { border: "surface", connectivity: "full" };
 * assert.equal(medpyFull.connectivity, "full");
 * ```
 */
export interface SurfaceOptions {
  /**
   * `"surface"` (default): foreground voxels on the volume border are surface voxels (MONAI,
   * medpy); `"none"`: only a background neighbour inside the volume makes a surface voxel.
   */
  border?: "surface" | "none";
  /** `"face"` (default), `"full"`, or medpy's integer connectivity 1..ndim. */
  connectivity?: "face" | "full" | number;
}

/** The checked surface rule: whether the border is a surface, and the connectivity 1..ndim. */
export interface SurfaceRule {
  /** Foreground voxels on the volume border are surface voxels. */
  borderIsSurface: boolean;
  /** Neighbours with at most this many non-zero offsets (1: face, ndim: full). */
  connectivity: number;
}

/** The option keys of {@linkcode SurfaceOptions}. */
export const SURFACE_KEYS = ["border", "connectivity"] as const;

/**
 * Checks `border` and `connectivity` for `ndim` spatial axes.
 *
 * @param options The caller's options (only `border` and `connectivity` are read).
 * @param ndim The number of spatial axes.
 * @param name The options' argument name for messages.
 * @returns The rule.
 */
export function surfaceRule(
  options: SurfaceOptions,
  ndim: number,
  name = "options",
): SurfaceRule {
  const border = options.border ?? "surface";
  if (border !== "surface" && border !== "none") {
    throw new SeglossRangeError(
      `Expected ${name}.border to be "surface" or "none" but found ${quote(border)}`,
    );
  }
  const c = options.connectivity ?? "face";
  let connectivity: number;
  if (c === "face") connectivity = 1;
  else if (c === "full") connectivity = ndim;
  else if (typeof c === "number" && Number.isInteger(c) && c >= 1 && c <= ndim) connectivity = c;
  else {
    throw new SeglossRangeError(
      `Expected ${name}.connectivity to be "face", "full" or an integer in [1, ${ndim}] but found ${
        quote(c)
      }`,
    );
  }
  return { borderIsSurface: border === "surface", connectivity };
}

/** The rule spelled for reports: `{ border, connectivity }` with "face"/"full" where they apply. */
export function describeRule(
  rule: SurfaceRule,
  ndim: number,
): { border: "surface" | "none"; connectivity: "face" | "full" | number } {
  return {
    border: rule.borderIsSurface ? "surface" : "none",
    connectivity: rule.connectivity === 1
      ? "face"
      : rule.connectivity === ndim
      ? "full"
      : rule.connectivity,
  };
}

/**
 * The surface voxels of a binary mask: non-zero voxels with a zero neighbour. By default the
 * neighbours are the face neighbours and the outside of the volume is zero (MONAI's and
 * medpy's rule: scipy's `mask & ~binary_erosion(mask, border_value=0)` with the cross
 * structure); `border: "none"` counts only zeros inside the volume (`border_value=1`), and
 * `connectivity: "full"` uses the full 3×3(×3) neighbourhood (medpy's `connectivity=ndim`).
 *
 * @param mask Any typed array plus shape; non-zero is foreground.
 * @param options `spatialDims`: the trailing axes that are spatial (default all); each
 * leading index is an independent volume. `border`, `connectivity`: see
 * {@linkcode SurfaceOptions}.
 * @returns A uint8 mask, 1 on surface voxels, same shape as `mask`.
 *
 * @example Basic usage
 * ```ts
 * import { surfaceVoxels } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * // a 3x3 square in a 5x5 image: its 8 outer voxels are surface, the centre is not
 * const data = new Uint8Array(25);
 * for (const y of [1, 2, 3]) for (const x of [1, 2, 3]) data[y * 5 + x] = 1;
 * const s = surfaceVoxels({ data, shape: [5, 5] });
 * assert.equal(s.data.reduce((a, b) => a + b, 0), 8);
 * assert.equal(s.data[12], 0);
 * // a mask filling the image: all of its border is surface, unless border: "none"
 * const full = { data: new Uint8Array(25).fill(1), shape: [5, 5] };
 * assert.equal(surfaceVoxels(full).data.reduce((a, b) => a + b, 0), 16);
 * assert.equal(surfaceVoxels(full, { border: "none" }).data.reduce((a, b) => a + b, 0), 0);
 * ```
 */
export function surfaceVoxels(
  mask: NdArray,
  options: { spatialDims?: number } & SurfaceOptions = {},
): NdArray<Uint8Array> {
  checkNdArray(mask, "mask");
  checkKeys(options, ["spatialDims", ...SURFACE_KEYS], "options");
  options ??= {};
  const shape = mask.shape;
  const spatialDims = checkSpatialDims(options.spatialDims, shape.length, "options.spatialDims");
  const spatial = shape.slice(shape.length - spatialDims);
  const rule = surfaceRule(options, spatialDims);
  const vol = sizeOf(spatial);
  const labels = new Uint8Array(mask.data.length);
  const src = mask.data;
  // deno-lint-ignore eqeqeq
  for (let i = 0; i < src.length; i++) labels[i] = src[i] != 0 ? 1 : 0;
  const out = new Uint8Array(mask.data.length);
  const strides = stridesOf(spatial);
  const lo = spatial.map(() => 0);
  const hi = spatial.map((n) => n - 1);
  for (let off = 0; off < labels.length; off += vol) {
    const flags = new Uint8Array(vol);
    markSurface(labels, 1, { off, spatial, strides, lo, hi, c: 1, flags, rule });
    for (let i = 0; i < vol; i++) out[off + i] = flags[i]! & 1;
  }
  return { data: out, shape: [...shape] };
}

function stridesOf(spatial: readonly number[]): number[] {
  const strides = new Array<number>(spatial.length);
  let s = 1;
  for (let a = spatial.length - 1; a >= 0; a--) {
    strides[a] = s;
    s *= spatial[a]!;
  }
  return strides;
}

/** Where {@linkcode markSurface} looks, and where it writes. */
interface SurfaceBox {
  /** The offset of the volume in the label arrays. */
  off: number;
  /** The volume's spatial extents. */
  spatial: readonly number[];
  /** Their row-major strides. */
  strides: readonly number[];
  /** The box's first coordinate per axis. */
  lo: readonly number[];
  /** Its last coordinate per axis (inclusive). */
  hi: readonly number[];
  /** The class whose surface is marked. */
  c: number;
  /** One entry per voxel of the box (row-major), zeroed before the first mark. */
  flags: Uint8Array;
  /** Which voxels are surface voxels. */
  rule: SurfaceRule;
}

/** The neighbour offsets (per-axis deltas in {-1, 0, 1}) with 1..k non-zero entries. */
function neighbourDeltas(d: number, k: number): number[][] {
  const out: number[][] = [];
  const delta = new Array<number>(d).fill(-1);
  for (;;) {
    const nz = delta.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0);
    if (nz >= 1 && nz <= k) out.push(delta.slice());
    let a = d - 1;
    while (a >= 0 && delta[a] === 1) delta[a--] = -1;
    if (a < 0) break;
    delta[a]!++;
  }
  return out;
}

/**
 * Sets `bit` in `box.flags` at the surface voxels of class `box.c` of `arr` inside the box of
 * one volume. Returns their count.
 */
function markSurface(arr: LabelArray, bit: number, box: SurfaceBox): number {
  const { off, spatial, strides, lo, hi, c, flags, rule } = box;
  const last = spatial.length - 1;
  const x0 = lo[last]!;
  const x1 = hi[last]!;
  const nLast = spatial[last]!;
  const coord = lo.slice();
  const borderSurf = rule.borderIsSurface;
  // face connectivity: per row, the offsets of the two neighbours along each outer axis, 0
  // where the neighbour is outside the volume (the voxel itself then stands in: never
  // background; a border row is then a surface row as a whole when the border is a surface)
  const neg = new Int32Array(Math.max(last, 1));
  const pos = new Int32Array(Math.max(last, 1));
  // wider connectivity: the neighbours' per-axis deltas and flat offsets
  const deltas = rule.connectivity > 1 ? neighbourDeltas(spatial.length, rule.connectivity) : [];
  const offsets = deltas.map((dl) => dl.reduce((o, v, a) => o + v * strides[a]!, 0));
  let count = 0;
  let k = 0;
  for (;;) {
    let base = off;
    let rowOnBorder = false;
    for (let a = 0; a < last; a++) {
      const ca = coord[a]!;
      const s = strides[a]!;
      base += ca * s;
      neg[a] = ca > 0 ? s : 0;
      pos[a] = ca < spatial[a]! - 1 ? s : 0;
      if (ca === 0 || ca === spatial[a]! - 1) rowOnBorder = true;
    }
    const rowSurf = borderSurf && rowOnBorder;
    for (let x = x0; x <= x1; x++, k++) {
      const g = base + x;
      if (arr[g] !== c) continue;
      let surf = rowSurf || (x > 0 ? arr[g - 1] !== c : borderSurf) ||
        (x < nLast - 1 ? arr[g + 1] !== c : borderSurf);
      for (let a = 0; a < last && !surf; a++) {
        surf = arr[g - neg[a]!] !== c || arr[g + pos[a]!] !== c;
      }
      for (let j = 0; j < deltas.length && !surf; j++) {
        // not on a border face here when the border is a surface, else check the bounds
        const dl = deltas[j]!;
        let inside = true;
        for (let a = 0; a < last && inside; a++) {
          const ca = coord[a]! + dl[a]!;
          inside = ca >= 0 && ca < spatial[a]!;
        }
        const xa = x + dl[last]!;
        if (inside && xa >= 0 && xa < nLast) surf = arr[g + offsets[j]!] !== c;
      }
      if (surf) {
        flags[k] = flags[k]! | bit;
        count++;
      }
    }
    let a = last - 1;
    while (a >= 0) {
      if (coord[a]! < hi[a]!) {
        coord[a]!++;
        break;
      }
      coord[a] = lo[a]!;
      a--;
    }
    if (a < 0) break;
  }
  return count;
}

/**
 * The bounding box of the voxels of class `c` in `pred` or `target` of one volume, or null
 * when neither holds the class.
 */
function boundingBox(
  pred: LabelArray,
  target: LabelArray,
  off: number,
  spatial: readonly number[],
  c: number,
): { lo: number[]; hi: number[] } | null {
  const d = spatial.length;
  const last = d - 1;
  const nLast = spatial[last]!;
  const end = off + sizeOf(spatial);
  const lo = spatial.map((n) => n);
  const hi = spatial.map(() => -1);
  for (const whole of [pred, target]) {
    // native indexOf jumps over the rows without the class; per row with a hit, the first and
    // last hit give the extent along the last axis
    const arr = whole.subarray(off, end);
    let i = arr.indexOf(c);
    while (i >= 0) {
      const rowStart = i - (i % nLast);
      const rowEnd = rowStart + nLast - 1;
      const first = i - rowStart;
      const lastHit = arr.lastIndexOf(c, rowEnd) - rowStart;
      if (first < lo[last]!) lo[last] = first;
      if (lastHit > hi[last]!) hi[last] = lastHit;
      let r = rowStart / nLast;
      for (let a = last - 1; a >= 0; a--) {
        const n = spatial[a]!;
        const ca = r % n;
        r = (r - ca) / n;
        if (ca < lo[a]!) lo[a] = ca;
        if (ca > hi[a]!) hi[a] = ca;
      }
      i = rowEnd + 1 < arr.length ? arr.indexOf(c, rowEnd + 1) : -1;
    }
  }
  return hi[0]! < 0 ? null : { lo, hi };
}

/**
 * The surfaces of one class in one sample and the distances between them: `predToTarget[i]`
 * is the distance of the i-th prediction surface voxel to the target surface (null when the
 * target has no surface), and the converse.
 */
export interface SurfacePair {
  /** Surface voxels of the prediction. */
  predSurface: number;
  /** Surface voxels of the target. */
  targetSurface: number;
  /** Distances (physical units) from each prediction surface voxel to the target surface. */
  predToTarget: Float32Array | null;
  /** Distances from each target surface voxel to the prediction surface. */
  targetToPred: Float32Array | null;
}

/** The surfaces of one (sample, class) inside their bounding box, ready for the EDTs. */
interface PairSetup {
  /** Surface flags in the box: bit 1 prediction, bit 2 target. */
  flags: Uint8Array;
  /** The box's extents. */
  boxShape: number[];
  /** Prediction surface voxels. */
  nP: number;
  /** Target surface voxels. */
  nT: number;
}

/** Finds the box and the surfaces; a finished pair when a distance set is empty. */
function pairSetup(
  labels: PreparedLabels,
  n: number,
  c: number,
  rule: SurfaceRule,
  crop: boolean,
): PairSetup | SurfacePair {
  const { pred, target, spatial, voxels } = labels;
  const off = n * voxels;
  const box = crop ? boundingBox(pred, target, off, spatial, c) : {
    lo: spatial.map(() => 0),
    hi: spatial.map((s) => s - 1),
  };
  if (box === null) {
    return { predSurface: 0, targetSurface: 0, predToTarget: null, targetToPred: null };
  }
  const boxShape = box.lo.map((l, a) => box.hi[a]! - l + 1);
  const flags = new Uint8Array(sizeOf(boxShape));
  const inBox: SurfaceBox = {
    off,
    spatial,
    strides: stridesOf(spatial),
    lo: box.lo,
    hi: box.hi,
    c,
    flags,
    rule,
  };
  const nP = markSurface(pred, 1, inBox);
  const nT = markSurface(target, 2, inBox);
  if (nP === 0 || nT === 0) {
    return { predSurface: nP, targetSurface: nT, predToTarget: null, targetToPred: null };
  }
  return { flags, boxShape, nP, nT };
}

/** Writes the EDT input that is 0 on the voxels with `zeroBit` into `mask` at `at`. */
function fillMask(flags: Uint8Array, zeroBit: number, mask: Uint8Array, at: number): void {
  for (let i = 0; i < flags.length; i++) mask[at + i] = flags[i]! & zeroBit ? 0 : 1;
}

/** Reads `dist` (from `at`) at the voxels with `queryBit`. */
function gather(
  flags: Uint8Array,
  queryBit: number,
  dist: Float32Array,
  at: number,
  count: number,
): Float32Array {
  const out = new Float32Array(count);
  let k = 0;
  for (let i = 0; i < flags.length; i++) if (flags[i]! & queryBit) out[k++] = dist[at + i]!;
  return out;
}

/**
 * Surface pairs with at most this many (prediction voxel, target voxel) combinations are
 * measured directly, without an EDT of the box: many small structures (thousands of samples
 * or classes with a few surface voxels each) cost an EDT setup per pair otherwise (20000
 * samples of (1, 2) with 4 classes: 14.6 s through the EDT, a client's 80 KB request).
 */
const DIRECT_PAIRS = 4096;

/** Coordinates (per axis, physical units) of the voxels of `flags` with `bit`, flat order. */
function coordinates(
  flags: Uint8Array,
  shape: readonly number[],
  spacing: readonly number[],
  bit: number,
  count: number,
): Float64Array[] {
  const d = shape.length;
  const out = Array.from({ length: d }, () => new Float64Array(count));
  let k = 0;
  for (let i = 0; i < flags.length; i++) {
    if (!(flags[i]! & bit)) continue;
    let r = i;
    for (let a = d - 1; a >= 0; a--) {
      out[a]![k] = (r % shape[a]!) * spacing[a]!;
      r = Math.floor(r / shape[a]!);
    }
    k++;
  }
  return out;
}

/**
 * The distance of every `queryBit` voxel (flat order) to the nearest `targetBit` voxel, by
 * direct comparison: what the EDT of the box gives there (float32), for small surfaces.
 */
function directDistances(
  flags: Uint8Array,
  shape: readonly number[],
  spacing: readonly number[],
  queryBit: number,
  nQuery: number,
  targetBit: number,
  nTarget: number,
): Float32Array {
  const q = coordinates(flags, shape, spacing, queryBit, nQuery);
  const t = coordinates(flags, shape, spacing, targetBit, nTarget);
  const out = new Float32Array(nQuery);
  for (let i = 0; i < nQuery; i++) {
    let best = Infinity;
    for (let j = 0; j < nTarget; j++) {
      let s = 0;
      for (let a = 0; a < q.length; a++) {
        const diff = q[a]![i]! - t[a]![j]!;
        s += diff * diff;
      }
      if (s < best) best = s;
    }
    out[i] = Math.sqrt(best);
  }
  return out;
}

/**
 * Surfaces and directed distances of class `c` in sample `n`. `crop: false` runs the EDT over
 * the whole volume instead of the bounding box (same result; for benchmarks).
 */
export function surfacePair(
  labels: PreparedLabels,
  n: number,
  c: number,
  rule: SurfaceRule,
  crop = true,
): SurfacePair {
  const s = pairSetup(labels, n, c, rule, crop);
  if (!("flags" in s)) return s;
  const { flags, boxShape, nP, nT } = s;
  if (nP * nT <= DIRECT_PAIRS) {
    return {
      predSurface: nP,
      targetSurface: nT,
      predToTarget: directDistances(flags, boxShape, labels.spacing, 1, nP, 2, nT),
      targetToPred: directDistances(flags, boxShape, labels.spacing, 2, nT, 1, nP),
    };
  }
  const mask = new Uint8Array(flags.length);
  const directed = (zeroBit: number, queryBit: number, count: number): Float32Array => {
    fillMask(flags, zeroBit, mask, 0);
    const dist = edt({ data: mask, shape: boxShape }, { spacing: labels.spacing }).data;
    return gather(flags, queryBit, dist, 0, count);
  };
  return {
    predSurface: nP,
    targetSurface: nT,
    predToTarget: directed(2, 1, nP),
    targetToPred: directed(1, 2, nT),
  };
}

/**
 * {@linkcode surfacePair} with a {@linkcode DistanceTransform}: both directions in one call,
 * as a batch of two volumes (a Worker pool can run them side by side).
 */
export async function surfacePairAsync(
  labels: PreparedLabels,
  n: number,
  c: number,
  rule: SurfaceRule,
  transform: DistanceTransform,
): Promise<SurfacePair> {
  const s = pairSetup(labels, n, c, rule, true);
  if (!("flags" in s)) return s;
  const { flags, boxShape, nP, nT } = s;
  const vol = flags.length;
  const mask = new Uint8Array(2 * vol);
  fillMask(flags, 2, mask, 0);
  fillMask(flags, 1, mask, vol);
  const dist = await transform.edt({ data: mask, shape: [2, ...boxShape] }, {
    spacing: labels.spacing,
    spatialDims: boxShape.length,
  });
  if (!(dist.data instanceof Float32Array) || dist.data.length !== 2 * vol) {
    throw new SeglossTypeError(
      `Expected the distance transform ${transform.name} to return ${
        2 * vol
      } float32 distances but found ${dist.data?.length} ${dist.data?.constructor?.name}`,
    );
  }
  return {
    predSurface: nP,
    targetSurface: nT,
    predToTarget: gather(flags, 1, dist.data, 0, nP),
    targetToPred: gather(flags, 2, dist.data, vol, nT),
  };
}

/**
 * The q-th percentile (0–100) of ascending `sorted`, with numpy's default "linear" method
 * (`np.percentile`): virtual index `h = (n - 1) · q / 100`, then numpy's `_lerp` between the
 * two neighbours.
 */
export function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  const h = (n - 1) * (q / 100);
  const lo = Math.floor(h);
  const t = h - lo;
  const a = sorted[lo]!;
  const b = sorted[Math.min(lo + 1, n - 1)]!;
  const diff = b - a;
  // numpy's _lerp: symmetric form for accuracy
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

function maxOf(a: Float32Array): number {
  let m = -Infinity;
  for (let i = 0; i < a.length; i++) if (a[i]! > m) m = a[i]!;
  return m;
}

function sumOf(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

/**
 * Options of {@linkcode hausdorff}.
 *
 * @example Basic usage
 * ```ts
 * import type { HausdorffOptions } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * // medpy's hd95 in millimetres
 * const options: HausdorffOptions = { percentile: 95, convention: "medpy", spacing: [3, 1, 1] };
 * assert.equal(options.convention, "medpy");
 * ```
 */
export interface HausdorffOptions extends MetricOptions, SurfaceOptions {
  /**
   * The percentile of the surface distances, in [0, 100]. Default: none, the maximum distance
   * (the classic Hausdorff distance; MONAI's `percentile=None`, medpy's `hd`); 95 gives HD95.
   */
  percentile?: number;
  /**
   * `"monai"` (default): the percentile of each directed distance set, then the larger of
   * the two; `"medpy"` and `"medpy-0.4"` (medpy's `hd95`, same in every release): the
   * percentile of the two sets pooled. All equal for the maximum.
   */
  convention?: Convention;
  /** Only the distances from the prediction's surface to the target's (default false). */
  directed?: boolean;
}

/**
 * Options of {@linkcode averageSurfaceDistance}.
 *
 * @example Basic usage
 * ```ts
 * import type { SurfaceDistanceOptions } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * // medpy 0.4's assd: the mean of the two directed means
 * const options: SurfaceDistanceOptions = { convention: "medpy-0.4" };
 * assert.equal(options.symmetric ?? true, true);
 * ```
 */
export interface SurfaceDistanceOptions extends MetricOptions, SurfaceOptions {
  /**
   * `"monai"` (default) and `"medpy"` (medpy ≥ 0.5): the mean of both directed distance sets
   * pooled; `"medpy-0.4"` (medpy ≤ 0.4): the mean of the two directed means.
   */
  convention?: Convention;
  /** Both directions (default true); false gives the directed mean, prediction to target. */
  symmetric?: boolean;
}

/**
 * Options of {@linkcode surfaceDice}.
 *
 * @example Basic usage
 * ```ts
 * import type { SurfaceDiceOptions } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * // 1 mm for class 1, 2 mm for class 2
 * const options: SurfaceDiceOptions = { tolerance: [1, 2], classes: [1, 2] };
 * assert.deepEqual(options.tolerance, [1, 2]);
 * ```
 */
export interface SurfaceDiceOptions extends MetricOptions, SurfaceOptions {
  /**
   * The tolerance τ in physical units (the unit of `spacing`), one for all classes or one
   * per evaluated class; a surface voxel counts when its distance is at most τ.
   */
  tolerance: number | readonly number[];
}

/** Default empty results of the distance metrics (MONAI's Hausdorff and surface distance). */
export const DISTANCE_EMPTY_DEFAULTS = {
  both: "nan",
  prediction: "infinity",
  target: "infinity",
} as const;

/** Default empty results of surface Dice (MONAI's `compute_surface_dice`). */
export const NSD_EMPTY_DEFAULTS = { both: "nan", prediction: 0, target: 0 } as const;

/** Resolves the empty policy and picks the case of a surface pair; NaN when none applies. */
export function emptyCase(
  pair: SurfacePair,
  empty: { both: number; prediction: number; target: number },
): number | undefined {
  if (pair.predSurface === 0 && pair.targetSurface === 0) return empty.both;
  if (pair.predSurface === 0) return empty.prediction;
  if (pair.targetSurface === 0) return empty.target;
  return undefined;
}

/** Checks a Hausdorff percentile. */
export function checkPercentile(q: unknown): number {
  if (typeof q !== "number" || !(q >= 0 && q <= 100)) {
    throw new SeglossRangeError(
      `Expected options.percentile to be a number in [0, 100] but found ${q}`,
    );
  }
  return q;
}

/**
 * A surface-distance convention: `"monai"` (MONAI 1.x), `"medpy"` (medpy ≥ 0.5) or
 * `"medpy-0.4"` (medpy ≤ 0.4, whose `assd` averaged the two directed means).
 */
export type Convention = "monai" | "medpy" | "medpy-0.4";

/** Every {@linkcode Convention}. */
export const CONVENTIONS: readonly Convention[] = ["monai", "medpy", "medpy-0.4"];

/** Checks a convention option. */
export function checkConvention(v: unknown, name: string): Convention {
  if (v === undefined) return "monai";
  if (!CONVENTIONS.includes(v as Convention)) {
    throw new SeglossRangeError(
      `Expected ${name} to be "monai", "medpy" or "medpy-0.4" but found ${quote(v)}`,
    );
  }
  return v as Convention;
}

/** The two directed distance sets of a pair that is not an empty case (neither is null). */
function distanceSets(pair: SurfacePair): [Float32Array, Float32Array] {
  return [pair.predToTarget!, pair.targetToPred!];
}

/** Hausdorff value of one pair whose distance sets are both non-empty; sorts them in place. */
export function hausdorffOfPair(
  pair: SurfacePair,
  q: number,
  convention: Convention,
  directed: boolean,
): number {
  const [a, b] = distanceSets(pair);
  if (q === 100) return directed ? maxOf(a) : Math.max(maxOf(a), maxOf(b));
  a.sort();
  if (directed) return percentileSorted(a, q);
  b.sort();
  if (convention === "monai") return Math.max(percentileSorted(a, q), percentileSorted(b, q));
  const pooled = new Float32Array(a.length + b.length);
  pooled.set(a);
  pooled.set(b, a.length);
  pooled.sort();
  return percentileSorted(pooled, q);
}

/** Average surface distance of one pair whose distance sets are both non-empty. */
export function assdOfPair(
  pair: SurfacePair,
  convention: Convention,
  symmetric: boolean,
): number {
  const [a, b] = distanceSets(pair);
  if (!symmetric) return sumOf(a) / a.length;
  if (convention !== "medpy-0.4") return (sumOf(a) + sumOf(b)) / (a.length + b.length);
  return (sumOf(a) / a.length + sumOf(b) / b.length) / 2;
}

/** Normalized surface Dice of one pair whose distance sets are both non-empty. */
export function nsdOfPair(pair: SurfacePair, tolerance: number): number {
  const [a, b] = distanceSets(pair);
  // distances are float32: compare with τ rounded the same way so exact ties count
  const tau = Math.fround(tolerance);
  let ok = 0;
  for (let i = 0; i < a.length; i++) if (a[i]! <= tau) ok++;
  for (let i = 0; i < b.length; i++) if (b[i]! <= tau) ok++;
  return ok / (a.length + b.length);
}

/** Checks `tolerance` against the number of evaluated classes; one value per class. */
export function checkTolerance(tolerance: unknown, numClasses: number): number[] {
  const list = typeof tolerance === "number"
    ? new Array<number>(numClasses).fill(tolerance)
    : Array.isArray(tolerance)
    ? tolerance
    : undefined;
  if (list === undefined) {
    throw new SeglossTypeError(
      `Expected options.tolerance to be a number or an array of numbers but found ${
        tolerance === undefined ? "undefined" : typeof tolerance
      }`,
    );
  }
  if (list.length !== numClasses) {
    throw new SeglossTypeError(
      `Expected options.tolerance to have ${numClasses} entries (one per evaluated class) but found ${list.length}`,
    );
  }
  return list.map((t, i) => {
    if (typeof t !== "number" || !Number.isFinite(t) || t < 0) {
      throw new SeglossRangeError(
        `Expected options.tolerance${
          typeof tolerance === "number" ? "" : `[${i}]`
        } to be a finite number >= 0 but found ${t}`,
      );
    }
    return t;
  });
}

function surfaceTable(
  labels: PreparedLabels,
  rule: SurfaceRule,
  empty: { both: number; prediction: number; target: number },
  value: (pair: SurfacePair, k: number) => number,
): number[][] {
  const out: number[][] = [];
  for (let n = 0; n < labels.numSamples; n++) {
    const row: number[] = [];
    labels.classes.forEach((c, k) => {
      const pair = surfacePair(labels, n, c, rule);
      row.push(emptyCase(pair, empty) ?? value(pair, k));
    });
    out.push(row);
  }
  return out;
}

/** What a surface metric makes of its own options, once the labels are known. */
interface SurfaceMeasure {
  /** The metric's name in the result (`"hd95"`, `"assd"`, ...). */
  name: string;
  /** The value of a pair that is not an empty case; `k` indexes `labels.classes`. */
  value: (pair: SurfacePair, k: number) => number;
}

/**
 * A surface metric (the surface counterpart of overlap.ts's `overlapMetric`): checks the option
 * keys (the shared ones and the metric's `keys`), prepares the labels, reads the metric's own
 * options with `measure`, then the surface rule and the empty policy (over `defaults`), and
 * summarizes the per-(sample, class) table, errors in that order.
 */
function surfaceMetric(
  prediction: NdArray,
  target: NdArray,
  options: MetricOptions & SurfaceOptions,
  keys: readonly string[],
  defaults: Required<EmptyPolicy>,
  measure: (labels: PreparedLabels) => SurfaceMeasure,
): MetricResult {
  const labels = metricLabels(prediction, target, options, [...SURFACE_KEYS, ...keys]);
  const { name, value } = measure(labels);
  const rule = surfaceRule(options, labels.spatial.length);
  const empty = resolveEmpty(options.empty, defaults, labels.spatial, labels.spacing);
  return summarize(name, labels.classes, surfaceTable(labels, rule, empty, value), options.nan);
}

/**
 * Hausdorff distance per sample and class, in physical units: the maximum (default: MONAI's
 * `HausdorffDistanceMetric()` and medpy's `hd`) or a percentile (`percentile: 95` gives
 * HD95) of the surface-to-surface distances.
 *
 * Conventions: `"monai"` (default) takes the percentile of each directed set (prediction →
 * target, target → prediction) and then the larger one; `"medpy"` takes the percentile of
 * the two sets pooled (medpy's `hd95`). Percentiles use numpy's default linear interpolation.
 * Surfaces: `border` and `connectivity` (see {@linkcode SurfaceOptions}; MONAI's and medpy's
 * rule by default). Empty cases (defaults from MONAI): both surfaces empty → NaN, one empty →
 * Infinity (numpy's percentile of an all-Infinity set gives NaN there; MONAI's maximum gives
 * Infinity, and so do we).
 *
 * @param prediction Predicted labels `(N, ...spatial)`, or scores `(N, C, ...spatial)`.
 * @param target Target labels `(N, ...spatial)`.
 * @param options `percentile`, `convention`, `directed`, `border`, `connectivity`, plus
 * {@linkcode MetricOptions}.
 * @returns The per-(sample, class) table and its averages; `metric` is `"hausdorff"` for
 * the maximum, else `"hd" + percentile` (for example `"hd95"`).
 *
 * @example Basic usage
 * ```ts
 * import { hausdorff } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * // two single-voxel objects 3 voxels apart, anisotropic spacing along the last axis
 * const p = new Uint8Array(16);
 * const t = new Uint8Array(16);
 * p[4 + 0] = 1;
 * t[4 + 3] = 1;
 * const r = hausdorff({ data: p, shape: [1, 4, 4] }, { data: t, shape: [1, 4, 4] }, {
 *   spacing: [1, 0.5],
 * });
 * assert.equal(r.metric, "hausdorff");
 * assert.equal(r.values[0]![0], 1.5);
 * assert.equal(hausdorff({ data: p, shape: [1, 4, 4] }, { data: t, shape: [1, 4, 4] }, {
 *   percentile: 95,
 * }).metric, "hd95");
 * ```
 */
export function hausdorff(
  prediction: NdArray,
  target: NdArray,
  options: HausdorffOptions = {},
): MetricResult {
  const keys = ["percentile", "convention", "directed"];
  return surfaceMetric(prediction, target, options, keys, DISTANCE_EMPTY_DEFAULTS, () => {
    const q = options.percentile === undefined ? 100 : checkPercentile(options.percentile);
    const convention = checkConvention(options.convention, "options.convention");
    const directed = checkBoolean(options.directed, "options.directed", false);
    return {
      name: options.percentile === undefined ? "hausdorff" : `hd${q}`,
      value: (pair) => hausdorffOfPair(pair, q, convention, directed),
    };
  });
}

/**
 * Average symmetric surface distance (ASSD) per sample and class, in physical units.
 *
 * Conventions: `"monai"` (default; MONAI's `compute_average_surface_distance(symmetric=True)`)
 * and `"medpy"` (medpy ≥ 0.5's `assd`) are the mean of both directed distance sets pooled;
 * `"medpy-0.4"` (medpy ≤ 0.4's `assd`) is the mean of the two directed means.
 * `symmetric: false` gives the directed mean from the prediction's surface to the target's
 * (medpy's `asd`). Empty cases (MONAI): both empty → NaN, one empty → Infinity.
 *
 * @param prediction Predicted labels `(N, ...spatial)`, or scores `(N, C, ...spatial)`.
 * @param target Target labels `(N, ...spatial)`.
 * @param options `convention`, `symmetric`, `border`, `connectivity`, plus
 * {@linkcode MetricOptions}.
 * @returns The per-(sample, class) table and its averages (`metric` is `"assd"`, or `"asd"`
 * when not symmetric).
 *
 * @example Basic usage
 * ```ts
 * import { averageSurfaceDistance } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * // a 1-voxel target and a 2-voxel prediction beside it on a line
 * const r = averageSurfaceDistance(
 *   { data: new Uint8Array([0, 1, 1, 0, 0]), shape: [1, 5] },
 *   { data: new Uint8Array([0, 0, 0, 1, 0]), shape: [1, 5] },
 * );
 * // prediction → target: [2, 1]; target → prediction: [1]; pooled mean 4/3
 * assert.ok(Math.abs(r.values[0]![0]! - 4 / 3) < 1e-6);
 * ```
 */
export function averageSurfaceDistance(
  prediction: NdArray,
  target: NdArray,
  options: SurfaceDistanceOptions = {},
): MetricResult {
  const keys = ["convention", "symmetric"];
  return surfaceMetric(prediction, target, options, keys, DISTANCE_EMPTY_DEFAULTS, () => {
    const convention = checkConvention(options.convention, "options.convention");
    const symmetric = checkBoolean(options.symmetric, "options.symmetric", true);
    return {
      name: symmetric ? "assd" : "asd",
      value: (pair) => assdOfPair(pair, convention, symmetric),
    };
  });
}

/**
 * Normalized surface Dice (NSD) at tolerance τ per sample and class:
 * `(|S_P with d(S_T) ≤ τ| + |S_T with d(S_P) ≤ τ|) / (|S_P| + |S_T|)`, counting surface
 * voxels (MONAI's `compute_surface_dice` with `use_subvoxels=False`). Empty cases (MONAI):
 * both empty → NaN, one empty → 0.
 *
 * @param prediction Predicted labels `(N, ...spatial)`, or scores `(N, C, ...spatial)`.
 * @param target Target labels `(N, ...spatial)`.
 * @param options `tolerance` (required, physical units), `border`, `connectivity`, plus
 * {@linkcode MetricOptions}.
 * @returns The per-(sample, class) table and its averages (`metric` is `"nsd"`).
 *
 * @example Basic usage
 * ```ts
 * import { surfaceDice } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const r = surfaceDice(
 *   { data: new Uint8Array([0, 1, 1, 0, 0]), shape: [1, 5] },
 *   { data: new Uint8Array([0, 0, 0, 1, 0]), shape: [1, 5] },
 *   { tolerance: 1 },
 * );
 * // distances [2, 1] and [1]: two of three surface voxels within 1
 * assert.ok(Math.abs(r.values[0]![0]! - 2 / 3) < 1e-12);
 * ```
 */
export function surfaceDice(
  prediction: NdArray,
  target: NdArray,
  options: SurfaceDiceOptions,
): MetricResult {
  if (typeof options !== "object" || options === null) {
    throw new SeglossTypeError(
      `Expected options to be an object with a tolerance but found ${quote(options)}`,
    );
  }
  return surfaceMetric(prediction, target, options, ["tolerance"], NSD_EMPTY_DEFAULTS, (labels) => {
    const tolerance = checkTolerance(options.tolerance, labels.classes.length);
    return { name: "nsd", value: (pair, k) => nsdOfPair(pair, tolerance[k]!) };
  });
}
