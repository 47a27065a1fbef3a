/**
 * Exact Euclidean distance transform on the CPU (Felzenszwalb–Huttenlocher separable lower
 * envelope of parabolas), with per-axis spacing, over any number of leading batch axes.
 *
 * @module
 */
import { checkNdArray, checkSpacing, type NdArray, sizeOf } from "../core/ndarray.ts";
import type { DistanceTransform, EdtOptions } from "../core/types.ts";

/**
 * Exact Euclidean distance transform: the distance of every non-zero element to the nearest
 * zero element of its own volume, like scipy's `distance_transform_edt` (zeros stay 0), in
 * physical units when `spacing` is given. The trailing `spatialDims` axes (default: all) are
 * spatial; every leading index is an independent volume, so distances never cross the batch
 * axis. A volume with no zero element has no distance to report: every element gets
 * `Infinity` (scipy returns an accidental finite value there).
 *
 * @param mask Any typed array plus shape; non-zero means "inside".
 * @param options `spacing` (one positive number per spatial axis), `spatialDims`.
 * @returns float32 distances, same shape as `mask`.
 *
 * @example Basic usage
 * ```ts
 * import { edt } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const d = edt({ data: new Uint8Array([0, 1, 1, 1]), shape: [1, 4] }, { spacing: [1, 2] });
 * assert.deepEqual(Array.from(d.data), [0, 2, 4, 6]);
 * ```
 */
export function edt(mask: NdArray, options: EdtOptions = {}): NdArray<Float32Array> {
  checkNdArray(mask, "mask");
  const shape = mask.shape;
  const spatialDims = options.spatialDims ?? shape.length;
  if (!Number.isInteger(spatialDims) || spatialDims < 1 || spatialDims > shape.length) {
    throw new RangeError(
      `Expected options.spatialDims to be an integer in [1, ${shape.length}] but found ${spatialDims}`,
    );
  }
  const spacing = checkSpacing(options.spacing, spatialDims, "options.spacing");
  const spatial = shape.slice(shape.length - spatialDims);
  const vol = sizeOf(spatial);
  const count = mask.data.length / vol;
  const out = new Float32Array(mask.data.length);
  const f = new Float64Array(vol);
  const src = mask.data;
  const maxLen = Math.max(...spatial);
  const v = new Int32Array(maxLen);
  const z = new Float64Array(maxLen + 1);
  const line = new Float64Array(maxLen);
  const res = new Float64Array(maxLen);
  for (let b = 0; b < count; b++) {
    const off = b * vol;
    let anyZero = false;
    for (let i = 0; i < vol; i++) {
      // loose comparison handles bigint arrays too
      // deno-lint-ignore eqeqeq
      const inside = src[off + i] != 0;
      f[i] = inside ? Infinity : 0;
      if (!inside) anyZero = true;
    }
    if (!anyZero) {
      out.fill(Infinity, off, off + vol);
      continue;
    }
    let stride = vol;
    for (let ax = 0; ax < spatialDims; ax++) {
      const n = spatial[ax]!;
      stride /= n;
      const s2 = spacing[ax]! * spacing[ax]!;
      const outer = vol / (n * stride);
      for (let o = 0; o < outer; o++) {
        for (let inner = 0; inner < stride; inner++) {
          const base = o * n * stride + inner;
          for (let i = 0; i < n; i++) line[i] = f[base + i * stride]!;
          envelope(line, res, n, s2, v, z);
          for (let i = 0; i < n; i++) f[base + i * stride] = res[i]!;
        }
      }
    }
    for (let i = 0; i < vol; i++) out[off + i] = Math.sqrt(f[i]!);
  }
  return { data: out, shape: [...shape] };
}

/** 1-D squared distance transform of sampled function `f` with squared spacing `s2`. */
function envelope(
  f: Float64Array,
  d: Float64Array,
  n: number,
  s2: number,
  v: Int32Array,
  z: Float64Array,
): void {
  let k = -1;
  for (let q = 0; q < n; q++) {
    const fq = f[q]!;
    if (fq === Infinity) continue;
    if (k < 0) {
      k = 0;
      v[0] = q;
      z[0] = -Infinity;
      z[1] = Infinity;
      continue;
    }
    let s: number;
    for (;;) {
      const p = v[k]!;
      s = ((fq + s2 * q * q) - (f[p]! + s2 * p * p)) / (2 * s2 * (q - p));
      if (s <= z[k]! && k > 0) k--;
      else break;
    }
    if (s <= z[k]!) {
      // k === 0 and the new parabola dominates everywhere
      v[0] = q;
      z[0] = -Infinity;
      z[1] = Infinity;
      continue;
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  if (k < 0) {
    d.fill(Infinity, 0, n);
    return;
  }
  let j = 0;
  for (let q = 0; q < n; q++) {
    while (z[j + 1]! < q) j++;
    const p = v[j]!;
    d[q] = s2 * (q - p) * (q - p) + f[p]!;
  }
}

/**
 * The exact CPU EDT as a {@linkcode DistanceTransform} (the `edt` plugin).
 *
 * @returns A transform whose `edt` wraps {@linkcode edt}.
 *
 * @example Basic usage
 * ```ts
 * import { edtTransform } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const d = await edtTransform().edt({ data: new Uint8Array([1, 0]), shape: [2] });
 * assert.deepEqual(Array.from(d.data), [1, 0]);
 * ```
 */
export function edtTransform(): DistanceTransform {
  return {
    name: "edt",
    exact: true,
    edt: (mask, options) => Promise.resolve(edt(mask, options)),
  };
}
