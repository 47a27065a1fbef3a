/**
 * JSON arrays (`{ shape, data, dtype? }` with a flat, row-major `data` list) to and from
 * {@linkcode NdArray}s, with the request's element budget.
 *
 * @module
 */
import { quote } from "../core/errors.ts";
import type { NdArray, TypedArray } from "../core/ndarray.ts";
import { tooLarge, unprocessable } from "./errors.ts";

/** dtypes a JSON array may name. */
export const JSON_DTYPES = ["float32", "float64", "int32", "uint8"] as const;

/** A dtype a JSON array may name. */
export type JsonDtype = typeof JSON_DTYPES[number];

/** Counts the elements a request decodes against `maxElements` (413 past it). */
export class ElementBudget {
  #left: number;
  readonly max: number;
  /** @param max Largest total element count of all arrays in one request. */
  constructor(max: number) {
    this.max = max;
    this.#left = max;
  }
  /** Takes `count` elements for `name`; throws a 413 when the request goes over. */
  take(count: number, name: string): void {
    if (count > this.#left) {
      throw tooLarge(
        `Expected at most ${this.max} array elements per request (maxElements, SEGLOSS_MAX_ELEMENTS) but ${name} alone declares ${count}` +
          (this.#left < this.max ? ` (${this.max - this.#left} already taken)` : ""),
        {
          resource: "maxElements",
          requested: Number.isFinite(count) ? count + this.max - this.#left : "Infinity",
          limit: this.max,
        },
      );
    }
    this.#left -= count;
  }
  /** What is left. */
  get left(): number {
    return this.#left;
  }
}

/** Validates a shape from JSON: a non-empty list of positive integers. Returns its size. */
export function checkJsonShape(shape: unknown, name: string): number {
  if (!Array.isArray(shape)) {
    throw unprocessable(
      `Expected ${name}.shape to be an array of integers but found ${typeName(shape)}`,
    );
  }
  if (shape.length === 0 || shape.length > 8) {
    throw unprocessable(`Expected ${name}.shape to have 1 to 8 axes but found ${shape.length}`);
  }
  let n = 1;
  for (let i = 0; i < shape.length; i++) {
    const s = shape[i];
    if (typeof s !== "number" || !Number.isInteger(s) || s < 1) {
      throw unprocessable(
        `Expected ${name}.shape[${i}] to be an integer >= 1 but found ${typeName(s)}`,
      );
    }
    n *= s;
  }
  return n;
}

/**
 * A short description of a JSON value for error messages: `null`, `an array`, `an object`,
 * `number Infinity` (a JSON literal like `1e400` overflows to Infinity), `string "abc"`
 * (shortened).
 */
export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "number") {
    return Number.isFinite(v)
      ? `number ${v}`
      : `number ${v} (a JSON number too large for a double)`;
  }
  return typeof v === "object" ? "an object" : `${typeof v} ${quote(v)}`;
}

/**
 * The one encoding of non-finite numbers in JSON responses: NaN, Infinity and -Infinity are
 * the strings `"NaN"`, `"Infinity"` and `"-Infinity"` (JSON has no literal for them;
 * `float("Infinity")` in Python and `Number("Infinity")` in JavaScript read them back).
 *
 * @param v A number.
 * @returns It, or its string form when it is not finite.
 */
export function jsonNumber(v: number): number | string {
  return Number.isFinite(v) ? v : String(v);
}

/**
 * Replaces every non-finite number in a plain JSON-like value by its string (see
 * {@linkcode jsonNumber}).
 *
 * @param v Numbers, arrays and plain objects.
 * @returns A copy that `JSON.stringify` writes without loss.
 */
export function jsonSafe(v: unknown): unknown {
  if (typeof v === "number") return jsonNumber(v);
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = jsonSafe(x);
    return out;
  }
  return v;
}

/**
 * Decodes `{ shape, data, dtype? }` from a parsed JSON body.
 *
 * @param value The parsed JSON value.
 * @param name The field name for error messages.
 * @param defaultDtype The dtype when `dtype` is absent.
 * @param budget The request's element budget.
 * @returns The typed array and shape.
 */
export function decodeJsonArray(
  value: unknown,
  name: string,
  defaultDtype: JsonDtype,
  budget: ElementBudget,
): NdArray {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw unprocessable(
      `Expected ${name} to be an object { shape, data, dtype? } but found ${typeName(value)}`,
    );
  }
  const { shape, data, dtype = defaultDtype } = value as Record<string, unknown>;
  for (const key of Object.keys(value)) {
    if (!["shape", "data", "dtype"].includes(key)) {
      throw unprocessable(
        `Unexpected field ${name}.${quote(key)}: expected only shape, data and dtype`,
      );
    }
  }
  if (typeof dtype !== "string" || !(JSON_DTYPES as readonly string[]).includes(dtype)) {
    throw unprocessable(
      `Expected ${name}.dtype to be one of ${JSON_DTYPES.join(", ")} but found ${quote(dtype)}`,
    );
  }
  const n = checkJsonShape(shape, name);
  budget.take(n, name);
  if (!Array.isArray(data)) {
    throw unprocessable(
      `Expected ${name}.data to be a flat array of numbers but found ${typeName(data)}`,
    );
  }
  if (data.length !== n) {
    throw unprocessable(
      `Expected ${name}.data to have ${n} elements (shape [${
        (shape as number[]).join(", ")
      }]) but found ${data.length}`,
    );
  }
  let out: TypedArray;
  if (dtype === "float32" || dtype === "float64") {
    out = dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = data[i];
      if (typeof v !== "number") {
        throw unprocessable(`Expected ${name}.data[${i}] to be a number but found ${typeName(v)}`);
      }
      out[i] = v;
    }
  } else {
    const lo = dtype === "uint8" ? 0 : -2147483648;
    const hi = dtype === "uint8" ? 255 : 2147483647;
    out = dtype === "uint8" ? new Uint8Array(n) : new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = data[i];
      if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
        throw unprocessable(
          `Expected ${name}.data[${i}] to be an integer in [${lo}, ${hi}] (${dtype}) but found ${
            typeName(v)
          }`,
        );
      }
      out[i] = v;
    }
  }
  return { data: out, shape: (shape as number[]).slice() };
}

/**
 * The JSON form of an array: `{ shape, dtype, data }`. Non-finite floats become the strings
 * `"NaN"`, `"Infinity"`, `"-Infinity"` (see {@linkcode jsonNumber}); `.npy` keeps them as
 * floats.
 *
 * @param array The array.
 * @returns A plain object for `JSON.stringify`.
 */
export function encodeJsonArray(
  array: NdArray,
): { shape: number[]; dtype: string; data: (number | string)[] } {
  const name = array.data.constructor.name;
  const dtype = name === "Float64Array" ? "float64" : name === "Float32Array" ? "float32" : "int32";
  const data = Array.from(array.data as ArrayLike<number>, jsonNumber);
  return { shape: [...array.shape], dtype, data };
}

/**
 * Normalizes a decoded target or label array: 64-bit integers become Int32Array (labels are
 * class indices; a value outside int32 is out of range anyway, a 422).
 *
 * @param array The decoded array.
 * @param name The field name for error messages.
 * @returns An array without BigInt data.
 */
export function narrowBigInt(array: NdArray, name: string): NdArray {
  const d = array.data;
  if (!(d instanceof BigInt64Array || d instanceof BigUint64Array)) return array;
  const out = new Int32Array(d.length);
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (v > 2147483647n || v < -2147483648n) {
      throw unprocessable(
        `Expected ${name} values to fit in int32 but found ${v} at flat index ${i}`,
      );
    }
    out[i] = Number(v);
  }
  return { data: out, shape: array.shape };
}
