/**
 * N-dimensional arrays over typed arrays, and the shape checks shared by every module.
 *
 * @module
 */
import { SeglossRangeError, SeglossTypeError } from "./errors.ts";

/**
 * Any JavaScript typed array segloss accepts as input data.
 *
 * @example Basic usage
 * ```ts
 * import type { TypedArray } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const a: TypedArray = new Uint8Array(3);
 * assert.equal(a.length, 3);
 * ```
 */
export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/**
 * Floating-point typed arrays accepted as scores (logits or probabilities).
 *
 * @example Basic usage
 * ```ts
 * import type { FloatArray } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const a: FloatArray = new Float64Array([0.5]);
 * assert.equal(a[0], 0.5);
 * ```
 */
export type FloatArray = Float32Array | Float64Array;

/**
 * A row-major n-dimensional array: a flat typed array plus its shape.
 *
 * @typeParam T The typed array holding the data.
 *
 * @example Basic usage
 * ```ts
 * import type { NdArray } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const mask: NdArray<Uint8Array> = { data: new Uint8Array([0, 1, 1, 0]), shape: [2, 2] };
 * assert.equal(mask.data.length, 4);
 * ```
 */
export interface NdArray<T extends TypedArray = TypedArray> {
  /** The elements in row-major (C) order. */
  data: T;
  /** The extent of each axis; the product equals `data.length`. */
  shape: readonly number[];
}

/**
 * Returns the number of elements of a shape (the product of its extents).
 *
 * @param shape The extents.
 * @returns The product of the extents (1 for a scalar shape).
 *
 * @example Basic usage
 * ```ts
 * import { sizeOf } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * assert.equal(sizeOf([2, 3, 4]), 24);
 * ```
 */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

const TYPED_ARRAY_NAMES = new Set([
  "Float32Array",
  "Float64Array",
  "Int8Array",
  "Uint8Array",
  "Uint8ClampedArray",
  "Int16Array",
  "Uint16Array",
  "Int32Array",
  "Uint32Array",
  "BigInt64Array",
  "BigUint64Array",
]);

/**
 * Returns whether `x` is one of the typed arrays segloss accepts.
 *
 * @param x Any value.
 * @returns True for the typed arrays of {@linkcode TypedArray}.
 *
 * @example Basic usage
 * ```ts
 * import { isTypedArray } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isTypedArray(new Int32Array(2)), true);
 * assert.equal(isTypedArray([1, 2]), false);
 * ```
 */
export function isTypedArray(x: unknown): x is TypedArray {
  return ArrayBuffer.isView(x) && !(x instanceof DataView) &&
    TYPED_ARRAY_NAMES.has((x as object).constructor.name);
}

/**
 * Formats a shape as `[2, 3, 4]` for error messages.
 *
 * @param shape The extents.
 * @returns The shape in brackets.
 *
 * @example Basic usage
 * ```ts
 * import { formatShape } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatShape([2, 3]), "[2, 3]");
 * ```
 */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/**
 * Checks that `arr` is a well-formed NdArray and returns it typed; throws a TypeError or
 * RangeError naming `name` otherwise. Checks: an object with a typed-array `data`, a shape of
 * positive integers whose product equals `data.length`, and no empty array.
 *
 * @param arr The value to check.
 * @param name The argument name used in error messages.
 * @returns `arr`, narrowed to an NdArray.
 *
 * @example Basic usage
 * ```ts
 * import { checkNdArray } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * assert.throws(
 *   () => checkNdArray({ data: new Float32Array(3), shape: [2, 2] }, "probs"),
 *   TypeError,
 * );
 * ```
 */
export function checkNdArray(arr: unknown, name: string): NdArray {
  if (typeof arr !== "object" || arr === null) {
    throw new SeglossTypeError(
      `Expected ${name} to be an object { data, shape } but found ${
        arr === null ? "null" : typeof arr
      }`,
    );
  }
  const { data, shape } = arr as { data?: unknown; shape?: unknown };
  if (!isTypedArray(data)) {
    const found = data === undefined
      ? "undefined"
      : data === null
      ? "null"
      : (data as object).constructor?.name ?? typeof data;
    throw new SeglossTypeError(`Expected ${name}.data to be a typed array but found ${found}`);
  }
  if (!Array.isArray(shape)) {
    throw new SeglossTypeError(
      `Expected ${name}.shape to be an array of integers but found ${typeof shape}`,
    );
  }
  for (let i = 0; i < shape.length; i++) {
    const s = shape[i];
    if (typeof s !== "number" || !Number.isInteger(s)) {
      throw new SeglossTypeError(
        `Expected ${name}.shape[${i}] to be an integer but found ${JSON.stringify(s)}`,
      );
    }
    if (s <= 0) {
      throw new SeglossRangeError(
        `Expected ${name}.shape[${i}] to be greater than 0 but found ${s} (empty arrays are not accepted)`,
      );
    }
  }
  if (shape.length === 0) {
    throw new SeglossRangeError(`Expected ${name}.shape to have at least one axis but found []`);
  }
  const n = sizeOf(shape);
  if (n !== data.length) {
    throw new SeglossTypeError(
      `Expected ${name}.data to have ${n} elements (shape ${
        formatShape(shape)
      }) but found ${data.length}`,
    );
  }
  return arr as NdArray;
}

/**
 * Checks a per-axis voxel spacing: `dims` finite numbers greater than 0. Returns a fresh
 * array, all ones when `spacing` is undefined.
 *
 * @param spacing The spacing to check (may be undefined).
 * @param dims The number of spatial axes.
 * @param name The argument name used in error messages.
 * @returns The spacing as a number array of length `dims`.
 *
 * @example Basic usage
 * ```ts
 * import { checkSpacing } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(checkSpacing(undefined, 2, "spacing"), [1, 1]);
 * assert.throws(() => checkSpacing([1, 0], 2, "spacing"), RangeError);
 * ```
 */
export function checkSpacing(
  spacing: readonly number[] | undefined,
  dims: number,
  name = "spacing",
): number[] {
  if (spacing === undefined || spacing === null) return new Array(dims).fill(1);
  if (!Array.isArray(spacing)) {
    throw new SeglossTypeError(
      `Expected ${name} to be an array of ${dims} numbers but found ${typeof spacing}`,
    );
  }
  if (spacing.length !== dims) {
    throw new SeglossTypeError(
      `Expected ${name} to have ${dims} entries (one per spatial axis) but found ${spacing.length}`,
    );
  }
  return spacing.map((s, i) => {
    if (typeof s !== "number" || !Number.isFinite(s) || s <= 0) {
      throw new SeglossRangeError(
        `Expected ${name}[${i}] to be a finite number greater than 0 but found ${String(s)}`,
      );
    }
    return s;
  });
}

/**
 * Throws a RangeError naming `name` and the flat index of the first NaN or Infinity in
 * `data`.
 *
 * @param data The values to check.
 * @param name The argument name used in error messages.
 *
 * @example Basic usage
 * ```ts
 * import { checkFinite } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => checkFinite(new Float32Array([0, NaN]), "input"), RangeError);
 * ```
 */
export function checkFinite(data: ArrayLike<number>, name: string): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    // v - v is NaN exactly for NaN and ±Infinity
    if (v - v !== 0) {
      throw new SeglossRangeError(
        `Expected ${name} to hold finite numbers but found ${v} at flat index ${i}`,
      );
    }
  }
}
