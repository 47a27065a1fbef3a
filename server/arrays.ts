/**
 * JSON arrays (`{ shape, data, dtype? }` with a flat, row-major `data` list) to and from
 * {@linkcode NdArray}s, with the request's element budget.
 *
 * @module
 */
import { quote } from "../core/errors.ts";
import type { NdArray, TypedArray } from "../core/ndarray.ts";
import { tooLarge, unprocessable } from "./errors.ts";
import { encodeNpyHeader } from "../io/npy.ts";

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
 * Array answers up to this many elements are built in one piece (and carry a
 * `Content-Length`); larger ones are streamed in chunks, so the request's thread never holds
 * the whole answer at once (a JSON answer of 48M floats is longer than a JavaScript string
 * may be) and other requests, `/healthz` included, are served between chunks.
 */
export const STREAM_MIN_ELEMENTS = 1 << 18;
/** Elements per chunk of a streamed JSON array answer. */
const JSON_CHUNK_ELEMENTS = 1 << 15;
/** Bytes per chunk of a streamed `.npy` answer (views of the array: nothing is copied). */
const NPY_CHUNK_BYTES = 1 << 20;

function dtypeOf(array: NdArray): string {
  const name = array.data.constructor.name;
  return name === "Float64Array" ? "float64" : name === "Float32Array" ? "float32" : "int32";
}

/** Elements `[a, b)` as JSON numbers separated by commas (non-finite ones as strings). */
function jsonElements(data: ArrayLike<number>, a: number, b: number): string {
  const part = new Array<number | string>(b - a);
  for (let i = a; i < b; i++) part[i - a] = jsonNumber(data[i]!);
  return JSON.stringify(part).slice(1, -1);
}

/**
 * The JSON text of `{ shape, dtype, data }` (see {@linkcode encodeJsonArray}), or of `summary`
 * with that object added under `key`: a string for small arrays, a stream of UTF-8 chunks for
 * arrays over {@linkcode STREAM_MIN_ELEMENTS} elements. The text is what `JSON.stringify`
 * writes for the same value.
 *
 * @param array The array.
 * @param summary Other fields of the answer, written before the array (JSON-safe values).
 * @param key The array's field in `summary`'s object.
 * @returns The body.
 */
export function jsonArrayBody(
  array: NdArray,
  summary?: Record<string, unknown>,
  key = "data",
): string | ReadableStream<Uint8Array> {
  const open = `{"shape":${JSON.stringify([...array.shape])},"dtype":"${dtypeOf(array)}","data":[`;
  let head = open, tail = "]}";
  if (summary !== undefined) {
    const s = JSON.stringify(summary);
    head = (s === "{}" ? "{" : s.slice(0, -1) + ",") + JSON.stringify(key) + ":" + open;
    tail = "]}}";
  }
  const data = array.data as ArrayLike<number>;
  const n = data.length;
  if (n <= STREAM_MIN_ELEMENTS) return head + jsonElements(data, 0, n) + tail;
  const utf8 = new TextEncoder();
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= n) {
        controller.enqueue(utf8.encode(tail));
        controller.close();
        return;
      }
      const end = Math.min(n, at + JSON_CHUNK_ELEMENTS);
      const text = (at === 0 ? head : ",") + jsonElements(data, at, end);
      at = end;
      controller.enqueue(utf8.encode(text));
    },
  }, { highWaterMark: 0 });
}

/** The JSON text of a plain value in pieces (what `JSON.stringify(jsonSafe(v))` writes). */
function* jsonPieces(v: unknown): Generator<string> {
  if (Array.isArray(v)) {
    yield "[";
    for (let i = 0; i < v.length; i++) {
      if (i) yield ",";
      const x = v[i];
      if (typeof x === "number") yield JSON.stringify(jsonNumber(x));
      else if (x === undefined || typeof x === "function") yield "null";
      else yield* jsonPieces(x);
    }
    yield "]";
  } else if (typeof v === "object" && v !== null) {
    yield "{";
    let first = true;
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined || typeof x === "function") continue;
      yield (first ? "" : ",") + JSON.stringify(k) + ":";
      first = false;
      yield* jsonPieces(x);
    }
    yield "}";
  } else if (typeof v === "number") yield JSON.stringify(jsonNumber(v));
  else yield JSON.stringify(v) ?? "null";
}

/**
 * A JSON answer of plain objects, arrays and numbers (non-finite numbers as strings, see
 * {@linkcode jsonSafe}): one string when `size` (a count of the numbers it holds) is at most
 * {@linkcode STREAM_MIN_ELEMENTS}, else a stream of UTF-8 chunks of about 64 KB written as
 * they are read, so a big report (a metrics table of 200000 samples is 33 MB of JSON) does not
 * hold the request's thread for seconds.
 *
 * @param value The answer.
 * @param size How many numbers it holds, roughly.
 * @returns The body.
 */
export function jsonBody(value: unknown, size: number): string | ReadableStream<Uint8Array> {
  if (size <= STREAM_MIN_ELEMENTS) return JSON.stringify(jsonSafe(value));
  const pieces = jsonPieces(value);
  const utf8 = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      let text = "";
      while (text.length < 1 << 16) {
        const next = pieces.next();
        if (next.done) {
          if (text) controller.enqueue(utf8.encode(text));
          controller.close();
          return;
        }
        text += next.value;
      }
      controller.enqueue(utf8.encode(text));
    },
  }, { highWaterMark: 0 });
}

/**
 * The `.npy` file of an array as a response body: one buffer for small arrays, else a stream
 * of the header and then views of the array's own bytes (nothing copied; see
 * {@linkcode STREAM_MIN_ELEMENTS}).
 *
 * @param array The array.
 * @returns The body.
 */
export function npyBody(array: NdArray): Uint8Array | ReadableStream<Uint8Array> {
  const header = encodeNpyHeader(array);
  const bytes = new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength);
  if (array.data.length <= STREAM_MIN_ELEMENTS) {
    const out = new Uint8Array(header.length + bytes.length);
    out.set(header, 0);
    out.set(bytes, header.length);
    return out;
  }
  let at = -1;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at < 0) {
        controller.enqueue(header);
        at = 0;
      } else if (at >= bytes.length) {
        controller.close();
      } else {
        const end = Math.min(bytes.length, at + NPY_CHUNK_BYTES);
        controller.enqueue(bytes.subarray(at, end));
        at = end;
      }
    },
  }, { highWaterMark: 0 });
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
