/**
 * The nearest zero element of every element (scipy's `distance_transform_edt(...,
 * return_indices=True)`): the feature transform behind {@linkcode edt}'s `returnIndices`.
 *
 * @module
 */
import type { NdArray } from "../core/ndarray.ts";
import { SeglossTypeError } from "../core/errors.ts";

/**
 * The `returnIndices` option of {@linkcode edt}.
 *
 * @example Basic usage
 * ```ts
 * import type { EdtIndicesOptions } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const o: EdtIndicesOptions = { spacing: [1, 0.5], returnIndices: true };
 * assert.equal(o.returnIndices, true);
 * ```
 */
export interface EdtIndicesOptions {
  /** Voxel size along each spatial axis, in physical units (default: all 1). */
  spacing?: readonly number[];
  /** How many trailing axes are spatial (default: all axes); leading axes index volumes. */
  spatialDims?: number;
  /**
   * Also return, for every element, the coordinates of its nearest zero element (default
   * false). See {@linkcode EdtWithIndices}.
   */
  returnIndices?: boolean;
  /**
   * Write the distances into this `Float32Array` (the mask's length) and return it as the
   * result's `data`, instead of a new array (scipy's `distances=`). In a loop, reusing one
   * output saves the first-touch cost of fresh memory, which on some machines (Bun, or any
   * runtime whose allocator hands back fresh pages) is as large as the transform itself. It
   * must not share memory with the mask.
   */
  out?: Float32Array;
}

/**
 * What `edt(mask, { returnIndices: true })` returns: the distances, plus `indices` of shape
 * `[spatialDims, ...mask.shape]` (scipy's layout: `indices[a]` holds the coordinate along
 * spatial axis `a` of each element's nearest zero element, within the element's own volume of
 * the batch). An element of a volume with no zero element gets -1 (its distance is Infinity).
 *
 * Ties: when several zero elements are equally near, the one with the smallest coordinate
 * along the first spatial axis is returned, then along the second, and so on (the smallest
 * flat index). This is exact for integer spacings; with other spacings a tie decided by
 * float rounding may go to another of the equally near elements. scipy's choice among ties
 * follows its own scan order and may differ; the distance to the returned element is always
 * the distance.
 *
 * @example Basic usage
 * ```ts
 * import { edt } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * // zeros at x = 0 and x = 4; x = 2 is equally near both: the smaller index wins
 * const r = edt({ data: new Uint8Array([0, 1, 1, 1, 0]), shape: [5] }, { returnIndices: true });
 * assert.deepEqual(Array.from(r.indices.data), [0, 0, 0, 4, 4]);
 * assert.deepEqual(r.indices.shape, [1, 5]);
 * ```
 */
export interface EdtWithIndices extends NdArray<Float32Array> {
  /** Coordinates of the nearest zero element, shape `[spatialDims, ...mask.shape]`. */
  indices: NdArray<Int32Array>;
}

/** Checks the `returnIndices` option; true when indices are wanted. */
export function wantsIndices(options: unknown): boolean {
  const v = (options as EdtIndicesOptions | null | undefined)?.returnIndices;
  if (v === undefined) return false;
  if (typeof v !== "boolean") {
    throw new SeglossTypeError(
      `Expected options.returnIndices to be true or false but found ${typeof v}`,
    );
  }
  return v;
}

/**
 * The flat index (within its volume) of every element's nearest zero element, -1 where the
 * volume has none: separable lower envelopes of parabolas (Felzenszwalb–Huttenlocher) that
 * carry the index of the parabola's site, the last spatial axis first and the first axis
 * last, ties to the smaller coordinate in every pass (hence the smallest flat index overall).
 *
 * @param data The mask; zero (or `0n`) is background.
 * @param spatial The spatial extents of one volume.
 * @param spacing One positive number per spatial axis.
 * @returns Flat indices, one per element.
 */
export function nearestZeroFlat(
  data: ArrayLike<number | bigint>,
  spatial: readonly number[],
  spacing: readonly number[],
): Int32Array {
  const d = spatial.length;
  let vol = 1;
  for (const n of spatial) vol *= n;
  const total = data.length;
  const idx = new Int32Array(total);
  const strides = new Array<number>(d);
  for (let a = d - 1, s = 1; a >= 0; a--) {
    strides[a] = s;
    s *= spatial[a]!;
  }
  const maxN = Math.max(...spatial);
  const g = new Float64Array(vol);
  const id = new Int32Array(vol);
  // scratch, one line at a time
  const f = new Float64Array(maxN);
  const fi = new Int32Array(maxN);
  const v = new Int32Array(maxN);
  const z = new Float64Array(maxN + 1);
  for (let off = 0; off < total; off += vol) {
    for (let i = 0; i < vol; i++) {
      // deno-lint-ignore eqeqeq
      const zero = data[off + i] == 0;
      g[i] = zero ? 0 : Infinity;
      id[i] = zero ? i : -1;
    }
    for (let a = d - 1; a >= 0; a--) {
      const n = spatial[a]!;
      const s = strides[a]!;
      const w2 = spacing[a]! * spacing[a]!;
      // every line along axis a: its start is a flat index whose coordinate a is 0
      for (let start = 0; start < vol; start++) {
        if (Math.floor(start / s) % n !== 0) continue;
        let sites = 0;
        for (let q = 0; q < n; q++) {
          const gi = g[start + q * s]!;
          f[q] = gi;
          fi[q] = id[start + q * s]!;
          if (gi !== Infinity) sites++;
        }
        if (sites === 0 || (sites === n && a === d - 1)) continue;
        // lower envelope of the parabolas f[p] + w2 (q - p)^2 over the finite sites
        let k = -1;
        for (let p = 0; p < n; p++) {
          const fp = f[p]!;
          if (fp === Infinity) continue;
          let sx = -Infinity;
          while (k >= 0) {
            const r = v[k]!;
            sx = ((fp + w2 * p * p) - (f[r]! + w2 * r * r)) / (2 * w2 * (p - r));
            if (sx <= z[k]!) k--;
            else break;
          }
          k++;
          v[k] = p;
          z[k] = k === 0 ? -Infinity : sx;
          z[k + 1] = Infinity;
        }
        let j = 0;
        for (let q = 0; q < n; q++) {
          // ties at an intersection stay with the smaller site
          while (z[j + 1]! < q) j++;
          const p = v[j]!;
          const dq = q - p;
          g[start + q * s] = f[p]! + w2 * dq * dq;
          id[start + q * s] = fi[p]!;
        }
      }
    }
    idx.set(id, off);
  }
  return idx;
}

/**
 * Adds the nearest zero element's coordinates to an EDT result (see
 * {@linkcode EdtWithIndices}).
 *
 * @param result The distances of `mask`.
 * @param mask The mask the distances come from.
 * @param spatial The spatial extents of one volume.
 * @param spacing One positive number per spatial axis.
 * @returns `result` with `indices`.
 */
export function withNearestZero(
  result: NdArray<Float32Array>,
  mask: NdArray,
  spatial: readonly number[],
  spacing: readonly number[],
): EdtWithIndices {
  const flat = nearestZeroFlat(
    mask.data as ArrayLike<number | bigint>,
    spatial,
    spacing,
  );
  const d = spatial.length;
  const total = flat.length;
  const coords = new Int32Array(d * total);
  for (let i = 0; i < total; i++) {
    let r = flat[i]!;
    if (r < 0) {
      for (let a = 0; a < d; a++) coords[a * total + i] = -1;
      continue;
    }
    for (let a = d - 1; a >= 0; a--) {
      const n = spatial[a]!;
      const c = r % n;
      coords[a * total + i] = c;
      r = (r - c) / n;
    }
  }
  return {
    data: result.data,
    shape: result.shape,
    indices: { data: coords, shape: [d, ...mask.shape] },
  };
}
