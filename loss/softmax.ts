/**
 * Numerically stable softmax over the class axis.
 *
 * @module
 */
import { SeglossTypeError } from "../core/errors.ts";
import { checkFinite, checkNdArray, formatShape, type NdArray, sizeOf } from "../core/ndarray.ts";

/**
 * Softmax over axis 1 (the classes) of `(N, C, ...spatial)` scores, numerically stable (the
 * maximum over classes is subtracted before `exp`). Float64 input gives float64 output,
 * anything else float32. A single channel (`C = 1`) gives all ones; use the sigmoid for
 * single-channel logits.
 *
 * @param input Logits `(N, C, ...spatial)` (at least 2 axes), finite.
 * @returns Probabilities of the same shape.
 *
 * @example Basic usage
 * ```ts
 * import { softmax } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const p = softmax({ data: new Float64Array([0, 1000, Math.log(3), 1000]), shape: [1, 2, 2] });
 * assert.ok(Math.abs(p.data[0]! - 0.25) < 1e-12 && Math.abs(p.data[2]! - 0.75) < 1e-12);
 * assert.equal(p.data[1], 0.5);
 * ```
 */
export function softmax(input: NdArray): NdArray<Float32Array | Float64Array> {
  checkNdArray(input, "input");
  if (input.shape.length < 2) {
    throw new SeglossTypeError(
      `Expected input to have shape (N, C, ...spatial) (at least 2 axes) but found ${
        formatShape(input.shape)
      }`,
    );
  }
  if (input.data instanceof BigInt64Array || input.data instanceof BigUint64Array) {
    throw new SeglossTypeError(
      `Expected input.data to be a numeric (non-bigint) typed array but found ${input.data.constructor.name}`,
    );
  }
  const x = input.data as ArrayLike<number>;
  checkFinite(x, "input");
  const n = input.shape[0]!, C = input.shape[1]!, vol = sizeOf(input.shape.slice(2));
  const out = input.data instanceof Float64Array
    ? new Float64Array(x.length)
    : new Float32Array(x.length);
  const mx = new Float64Array(vol), sum = new Float64Array(vol);
  const tmp = new Float64Array(C * vol);
  for (let s = 0; s < n; s++) {
    const base = s * C * vol;
    for (let v = 0; v < vol; v++) mx[v] = x[base + v]!;
    for (let c = 1; c < C; c++) {
      const o = base + c * vol;
      for (let v = 0; v < vol; v++) if (x[o + v]! > mx[v]!) mx[v] = x[o + v]!;
    }
    sum.fill(0);
    for (let c = 0; c < C; c++) {
      const o = base + c * vol;
      for (let v = 0; v < vol; v++) {
        const e = Math.exp(x[o + v]! - mx[v]!);
        tmp[c * vol + v] = e;
        sum[v]! += e;
      }
    }
    for (let c = 0; c < C; c++) {
      const o = base + c * vol;
      for (let v = 0; v < vol; v++) out[o + v] = tmp[c * vol + v]! / sum[v]!;
    }
  }
  return { data: out, shape: [...input.shape] };
}
