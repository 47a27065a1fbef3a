/**
 * The numeric element types the `.npy` and NIfTI codecs share, by numpy's names, and the typed
 * array each one is read into. Private to io/.
 *
 * @module
 */
import type { TypedArray } from "../core/ndarray.ts";

/** numpy's name of each shared dtype → the typed array that holds it. */
const ARRAY_OF = {
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  float32: Float32Array,
  float64: Float64Array,
} as const;

/** A dtype both codecs read (`NiftiDatatype`; `NpyDtype` adds `bool` and `float16`). */
export type NumericDtype = keyof typeof ARRAY_OF;

/**
 * A typed array of `dtype` viewing `count` elements of `buffer` from `byteOffset` (which must be
 * a multiple of the element size).
 */
export function typedView(
  dtype: NumericDtype,
  buffer: ArrayBufferLike,
  byteOffset: number,
  count: number,
): TypedArray {
  const Ctor = ARRAY_OF[dtype] as new (b: ArrayBufferLike, o: number, n: number) => TypedArray;
  return new Ctor(buffer, byteOffset, count);
}
