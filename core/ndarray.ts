/**
 * N-dimensional arrays over typed arrays, and the shape checks shared by every module.
 *
 * @module
 */
import { LimitError, quote, SeglossRangeError, SeglossTypeError } from "./errors.ts";

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
 * import { sizeOf } from "./ndarray.ts";
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
 * import { isTypedArray } from "./ndarray.ts";
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
 * import { formatShape } from "./ndarray.ts";
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
 * import { checkNdArray } from "./ndarray.ts";
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
      `Expected ${name}.shape to be an array of integers but found ${
        shape === null ? "null" : typeof shape
      }`,
    );
  }
  for (let i = 0; i < shape.length; i++) {
    const s = shape[i];
    if (typeof s !== "number" || !Number.isInteger(s)) {
      throw new SeglossTypeError(
        `Expected ${name}.shape[${i}] to be an integer but found ${quote(s)}`,
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
 * The most classes any call accepts (`numClasses`, the class axis of scores): 65536. A request
 * for more is refused with a {@linkcode LimitError} before anything is allocated.
 *
 * @example Basic usage
 * ```ts
 * import { MAX_CLASSES } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * assert.equal(MAX_CLASSES, 65536);
 * ```
 */
export const MAX_CLASSES = 65536;

/**
 * The most elements any array segloss allocates may have (inputs, outputs, distance maps,
 * gradients, scratch): 2^31 − 1, so every flat index is an int32 and every typed array fits
 * the JavaScript engines' limits. A call whose output would be larger is refused with a
 * {@linkcode LimitError} before anything is allocated.
 *
 * @example Basic usage
 * ```ts
 * import { MAX_ELEMENTS } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * assert.equal(MAX_ELEMENTS, 2 ** 31 - 1);
 * ```
 */
export const MAX_ELEMENTS = 2 ** 31 - 1;

/**
 * Throws a {@linkcode LimitError} (resource `"elements"`) when an array of `count` elements
 * would exceed {@linkcode MAX_ELEMENTS}; call it before allocating.
 *
 * @param count The number of elements the call would allocate (any non-negative number).
 * @param what What would be allocated, for the message (e.g. `"the signed distance maps"`).
 * @param how How the count comes about, for the message (e.g. `"N·C·voxels = 2·3·4"`).
 *
 * @example Basic usage
 * ```ts
 * import { checkElements } from "./ndarray.ts";
 * import { LimitError } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * checkElements(1024, "the output");
 * assert.throws(() => checkElements(2 ** 40, "the output", "N·C·voxels"), LimitError);
 * ```
 */
export function checkElements(count: number, what: string, how?: string): void {
  if (!(count <= MAX_ELEMENTS)) {
    throw new LimitError(
      "elements",
      count,
      MAX_ELEMENTS,
      `Expected ${what} to have at most ${MAX_ELEMENTS} elements (MAX_ELEMENTS) but it would have ${count}${
        how === undefined ? "" : ` (${how})`
      }`,
    );
  }
}

/**
 * Throws a {@linkcode LimitError} (resource `"numClasses"`) unless `numClasses` is at most
 * {@linkcode MAX_CLASSES}, and a RangeError unless it is an integer >= 1.
 *
 * @param numClasses The number of classes asked for.
 * @param name The argument name used in messages (e.g. `"options.numClasses"`).
 * @returns `numClasses`.
 *
 * @example Basic usage
 * ```ts
 * import { checkNumClasses } from "./ndarray.ts";
 * import { LimitError } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * assert.equal(checkNumClasses(3, "numClasses"), 3);
 * assert.throws(() => checkNumClasses(2 ** 31, "numClasses"), LimitError);
 * assert.throws(() => checkNumClasses(undefined, "options.numClasses"), /options\.numClasses/);
 * ```
 */
export function checkNumClasses(numClasses: unknown, name: string): number {
  if (numClasses === undefined) {
    throw new SeglossTypeError(
      `Expected ${name} (the number of classes C; labels lie in [0, C)) to be given but it is missing`,
      { argument: name },
    );
  }
  if (typeof numClasses !== "number" || !Number.isInteger(numClasses) || numClasses < 1) {
    throw new SeglossRangeError(
      `Expected ${name} to be an integer >= 1 but found ${quote(numClasses)}`,
      { argument: name },
    );
  }
  if (numClasses > MAX_CLASSES) {
    throw new LimitError(
      name,
      numClasses,
      MAX_CLASSES,
      `Expected ${name} to be at most ${MAX_CLASSES} (MAX_CLASSES) but found ${numClasses}`,
    );
  }
  return numClasses;
}

/** float32's largest finite value. */
const F32_MAX = 3.4028234663852886e38;
/** float32's smallest normal value. */
const F32_MIN_NORMAL = 1.1754943508222875e-38;

/**
 * Checks `spatialDims` (the number of trailing axes that form a volume) against an array's rank;
 * returns it, or the rank when undefined.
 *
 * @param spatialDims The caller's value.
 * @param rank The array's number of axes.
 * @param name The argument name used in error messages.
 * @returns The number of spatial axes.
 *
 * @example Basic usage
 * ```ts
 * import { checkSpatialDims } from "./ndarray.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(checkSpatialDims(undefined, 3, "options.spatialDims"), 3);
 * assert.throws(() => checkSpatialDims(4, 3, "options.spatialDims"), RangeError);
 * ```
 */
export function checkSpatialDims(spatialDims: unknown, rank: number, name: string): number {
  const d = spatialDims ?? rank;
  if (typeof d !== "number" || !Number.isInteger(d) || d < 1 || d > rank) {
    throw new SeglossRangeError(
      `Expected ${name} to be an integer in [1, ${rank}] but found ${quote(spatialDims)}`,
    );
  }
  return d;
}

/**
 * Checks a per-axis voxel spacing: `dims` finite numbers greater than 0. Returns a fresh
 * array, all ones when `spacing` is undefined.
 *
 * With `extents` (the spatial shape the spacing applies to), it also checks that the
 * distances are representable where the transforms keep them, squared, in float32: the
 * smallest spacing squared must be a float32 normal (spacing >= about 1.09e-19) and the
 * largest possible squared distance `Σ (spacing_i · extent_i)²` must be finite in float32
 * (distances up to about 1.8e19). Outside that range the result would be 0, Infinity or NaN,
 * so the call is refused up front with a RangeError.
 *
 * @param spacing The spacing to check (may be undefined).
 * @param dims The number of spatial axes.
 * @param name The argument name used in error messages.
 * @param extents The spatial extents, to check the distances' float32 range.
 * @returns The spacing as a number array of length `dims`.
 *
 * @example Basic usage
 * ```ts
 * import { checkSpacing } from "./ndarray.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(checkSpacing(undefined, 2, "spacing"), [1, 1]);
 * assert.throws(() => checkSpacing([1, 0], 2, "spacing"), RangeError);
 * assert.throws(() => checkSpacing([1e-300, 1e300], 2, "spacing", [4, 4]), RangeError);
 * ```
 */
export function checkSpacing(
  spacing: readonly number[] | undefined,
  dims: number,
  name = "spacing",
  extents?: readonly number[],
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
  const out = spacing.map((s, i) => {
    if (typeof s !== "number" || !Number.isFinite(s) || s <= 0) {
      throw new SeglossRangeError(
        `Expected ${name}[${i}] to be a finite number greater than 0 but found ${quote(s)}`,
      );
    }
    return s;
  });
  if (extents !== undefined) {
    let d2 = 0;
    for (let i = 0; i < dims; i++) {
      const s = out[i]!;
      if (s * s < F32_MIN_NORMAL) {
        throw new SeglossRangeError(
          `Expected ${name}[${i}] to be at least 1.09e-19 (its square must be a float32 normal, or distances round to 0) but found ${s}`,
          { argument: `${name}[${i}]` },
        );
      }
      const e = s * (extents[i] ?? 1);
      d2 += e * e;
    }
    if (!(d2 <= F32_MAX)) {
      throw new SeglossRangeError(
        `Expected ${name} to keep every squared distance finite in float32 (sqrt(Σ (spacing·extent)²) <= 1.8e19) but found ${
          quote(out)
        } over extents ${formatShape(extents)} (largest distance ${Math.sqrt(d2)})`,
        { argument: name },
      );
    }
  }
  return out;
}

/**
 * Checks an `out` option: a `Float32Array` of `length` elements that shares no memory with
 * `input` (which is read while `out` is written). Returns it, or `undefined` when not given.
 *
 * @example Basic usage
 * ```ts
 * import { checkOut } from "./ndarray.ts";
 * import assert from "node:assert/strict";
 *
 * const out = new Float32Array(3);
 * assert.equal(checkOut(out, 3, new Uint8Array(3), "options.out", "mask.data"), out);
 * assert.throws(() => checkOut(out, 4, new Uint8Array(4), "options.out", "mask.data"), RangeError);
 * ```
 *
 * @param out The option's value.
 * @param length The elements it must have.
 * @param input The data read while `out` is written.
 * @param name The option's name, for messages.
 * @param inputName The input's name, for messages.
 * @returns `out`, or `undefined`.
 * @throws {SeglossTypeError} When `out` is not a `Float32Array`.
 * @throws {SeglossRangeError} When its length is not `length`, or it overlaps `input`.
 */
export function checkOut(
  out: unknown,
  length: number,
  input: unknown,
  name: string,
  inputName: string,
): Float32Array | undefined {
  if (out === undefined) return undefined;
  if (!(out instanceof Float32Array)) {
    const what = out === null ? "null" : (out as object)?.constructor?.name ?? typeof out;
    throw new SeglossTypeError(`Expected ${name} to be a Float32Array but found ${what}`);
  }
  if (out.length !== length) {
    throw new SeglossRangeError(
      `Expected ${name} to have ${length} elements but found ${out.length}`,
    );
  }
  if (
    ArrayBuffer.isView(input) && sameMemory(input.buffer, out) &&
    input.byteOffset < out.byteOffset + out.byteLength &&
    out.byteOffset < input.byteOffset + input.byteLength
  ) {
    throw new SeglossRangeError(
      `Expected ${name} not to share memory with ${inputName} (it is read while ${name} is written)`,
    );
  }
  return out;
}

/**
 * Checks that an `out` taken by {@linkcode checkOut} still has its `length` elements when a
 * job that waited (a Worker pool's queue) writes it: a caller may transfer or resize it
 * meanwhile.
 *
 * @example Basic usage
 * ```ts
 * import { checkOutIntact } from "./ndarray.ts";
 * import assert from "node:assert/strict";
 *
 * const out = new Float32Array(new ArrayBuffer(8, { maxByteLength: 16 }));
 * checkOutIntact(out, 2, "options.out");
 * (out.buffer as ArrayBuffer).resize(4);
 * assert.throws(() => checkOutIntact(out, 2, "options.out"), TypeError);
 * ```
 *
 * @param out The output.
 * @param length The elements it had when checked.
 * @param name The option's name, for messages.
 * @throws {SeglossTypeError} When it has been detached or resized.
 */
export function checkOutIntact(out: Float32Array, length: number, name: string): void {
  if (out.length !== length) {
    throw new SeglossTypeError(
      `Expected ${name} to keep its ${length} elements until the job ran but found ${out.length} (detached or resized)`,
    );
  }
}

/**
 * Whether `buffer` is `out`'s memory: the same object, or another `SharedArrayBuffer` object
 * over the same block (a clone, as a Worker receives one), found by a write through `out` that
 * shows through `buffer` (the byte is restored; `out` is about to be overwritten anyway).
 */
function sameMemory(buffer: ArrayBufferLike, out: Float32Array): boolean {
  const ob = out.buffer;
  if (buffer === ob) return true;
  if (out.byteLength === 0) return false; // no byte to share
  if (
    typeof SharedArrayBuffer !== "function" || !(buffer instanceof SharedArrayBuffer) ||
    !(ob instanceof SharedArrayBuffer) || buffer.byteLength !== ob.byteLength
  ) return false;
  const mine = new Uint8Array(ob, out.byteOffset, 1);
  const theirs = new Uint8Array(buffer, out.byteOffset, 1);
  const saved = mine[0]!;
  mine[0] = saved ^ 0xff;
  const seen = theirs[0] === (saved ^ 0xff);
  mine[0] = saved;
  return seen && theirs[0] === saved;
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
 * import { checkFinite } from "./ndarray.ts";
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

/**
 * Tolerance of {@linkcode checkUnitInterval}: values in `[−1e-6, 1 + 1e-6]` are accepted
 * (about 8 float32 rounding steps at 1, what a float32 softmax or a sigmoid can produce).
 *
 * @example Basic usage
 * ```ts
 * import { UNIT_TOLERANCE } from "./ndarray.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(UNIT_TOLERANCE, 1e-6);
 * ```
 */
export const UNIT_TOLERANCE = 1e-6;

/**
 * Throws a RangeError naming `name` and the flat index of the first value outside
 * `[0, 1]` (beyond {@linkcode UNIT_TOLERANCE}), NaN or ±Infinity in `data`: probabilities and
 * one-hot (or soft) targets.
 *
 * @param data The values to check.
 * @param name The argument name used in error messages.
 * @param what What the values are, for the message (e.g. `"probabilities"`).
 *
 * @example Basic usage
 * ```ts
 * import { checkUnitInterval } from "./ndarray.ts";
 * import assert from "node:assert/strict";
 *
 * checkUnitInterval(new Float32Array([0, 0.5, 1]), "input", "probabilities");
 * assert.throws(
 *   () => checkUnitInterval(new Float32Array([0.5, 5]), "input", "probabilities"),
 *   /found 5 at flat index 1/,
 * );
 * ```
 */
export function checkUnitInterval(data: ArrayLike<number>, name: string, what: string): void {
  const lo = -UNIT_TOLERANCE, hi = 1 + UNIT_TOLERANCE;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!(v >= lo && v <= hi)) {
      throw new SeglossRangeError(
        `Expected ${name} to hold ${what} in [0, 1] but found ${v} at flat index ${i}`,
        { argument: name },
      );
    }
  }
}
