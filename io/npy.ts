/**
 * NumPy `.npy` files (format versions 1.0, 2.0 and 3.0) to and from {@linkcode NdArray}s.
 *
 * Decoding is strict and linear in the header's length (a hand-written scanner, no regular
 * expression that can backtrack): a header that does not parse, data shorter or longer than
 * the header declares, or a lying header length throws a {@linkcode NpyFormatError}; a
 * well-formed file with a dtype or layout segloss does not take (big-endian, Fortran order,
 * object, string, structured) a `SeglossTypeError`; a declared shape over `maxElements` a
 * `LimitError`, before any allocation. (The service answers 400, 422 and 413.)
 *
 * @module
 */
import { LimitError, quote, SeglossTypeError } from "../core/errors.ts";
import type { NdArray, TypedArray } from "../core/ndarray.ts";
import { typedView } from "./_dtypes.ts";

/**
 * The dtypes the service decodes (little-endian, `|` for one-byte types).
 *
 * @example Basic usage
 * ```ts
 * import { decodeNpy, encodeNpy } from "@segloss/segloss/npy";
 * import type { NpyDtype } from "@segloss/segloss/npy";
 * import assert from "node:assert/strict";
 *
 * const bytes = encodeNpy({ data: new Int32Array([1, 2]), shape: [2] });
 * const dtype: NpyDtype = decodeNpy(bytes, "labels").dtype;
 * assert.equal(dtype, "int32");
 * ```
 */
export type NpyDtype =
  | "bool"
  | "int8"
  | "uint8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "uint64"
  | "float16"
  | "float32"
  | "float64";

interface DtypeInfo {
  dtype: NpyDtype;
  size: number;
}

/** numpy `descr` (without byte-order character) → dtype. */
const DESCR: Record<string, DtypeInfo> = {
  b1: { dtype: "bool", size: 1 },
  i1: { dtype: "int8", size: 1 },
  u1: { dtype: "uint8", size: 1 },
  i2: { dtype: "int16", size: 2 },
  u2: { dtype: "uint16", size: 2 },
  i4: { dtype: "int32", size: 4 },
  u4: { dtype: "uint32", size: 4 },
  i8: { dtype: "int64", size: 8 },
  u8: { dtype: "uint64", size: 8 },
  f2: { dtype: "float16", size: 2 },
  f4: { dtype: "float32", size: 4 },
  f8: { dtype: "float64", size: 8 },
};

/** The dtype of a type code (`f4`, `u1`, ...), own keys only: `constructor` is no dtype. */
function dtypeInfo(code: string): DtypeInfo | undefined {
  return Object.hasOwn(DESCR, code) ? DESCR[code] : undefined;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/**
 * A decoded `.npy` file: the array and the dtype it was stored with.
 *
 * @example Basic usage
 * ```ts
 * import { decodeNpy, encodeNpy } from "@segloss/segloss/npy";
 * import type { NpyArray } from "@segloss/segloss/npy";
 * import assert from "node:assert/strict";
 *
 * const a: NpyArray = decodeNpy(encodeNpy({ data: new Float32Array(6), shape: [2, 3] }), "x");
 * assert.deepEqual(a.shape, [2, 3]);
 * ```
 */
export interface NpyArray extends NdArray {
  /** The dtype in the file (the data may be widened: float16 → Float32Array). */
  dtype: NpyDtype;
}

/**
 * Options of {@linkcode decodeNpy}.
 *
 * @example Basic usage
 * ```ts
 * import { decodeNpy, encodeNpy } from "@segloss/segloss/npy";
 * import type { DecodeNpyOptions } from "@segloss/segloss/npy";
 * import assert from "node:assert/strict";
 *
 * const options: DecodeNpyOptions = { maxElements: 4 };
 * const bytes = encodeNpy({ data: new Uint8Array(8), shape: [8] });
 * assert.throws(() => decodeNpy(bytes, "target", options));
 * ```
 */
export interface DecodeNpyOptions {
  /** Largest accepted element count (default: unlimited); more is a 413. */
  maxElements?: number;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/**
 * A `.npy` file that does not parse: no magic string, a header that is not numpy's dict
 * literal, a lying header length, data shorter or longer than the header declares. Extends
 * {@linkcode SeglossTypeError}; the service answers 400.
 *
 * @example Basic usage
 * ```ts
 * import { decodeNpy, NpyFormatError } from "@segloss/segloss/npy";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => decodeNpy(new Uint8Array(16), "input"), NpyFormatError);
 * ```
 */
export class NpyFormatError extends SeglossTypeError {
  /**
   * Creates the error.
   *
   * @param message What is malformed, naming the field.
   * @param argument The field (argument) name.
   */
  constructor(message: string, argument?: string) {
    super(message, { argument });
    this.name = "NpyFormatError";
  }
}

/** The longest shape a header may declare (numpy allows 64 axes). */
const MAX_AXES = 64;

/**
 * Parses numpy's header dict literal with a single left-to-right scan (linear time in the
 * header, no regular expression that can backtrack): `{'descr': '<f4', 'fortran_order':
 * False, 'shape': (2, 3), }`. Throws a {@linkcode NpyFormatError} on anything else.
 */
function parseHeader(
  text: string,
  name: string,
): { descr: string; fortran: boolean; shape: number[]; structured: boolean } {
  const bad = (why: string) =>
    new NpyFormatError(`Malformed .npy header in ${quote(name)}: ${why}`, name);
  let i = 0;
  const n = text.length;
  const ws = () => {
    while (i < n && (text[i] === " " || text[i] === "\n" || text[i] === "\t" || text[i] === "\r")) {
      i++;
    }
  };
  const str = (): string => {
    const q = text[i];
    if (q !== "'" && q !== '"') throw bad(`expected a quoted string at offset ${i}`);
    i++;
    let out = "";
    while (i < n && text[i] !== q) {
      if (text[i] === "\\") i++;
      out += text[i] ?? "";
      i++;
      if (out.length > 256) throw bad("a string longer than 256 characters");
    }
    if (i >= n) throw bad("an unterminated string");
    i++;
    return out;
  };
  const word = (w: string): boolean => {
    if (text.startsWith(w, i)) {
      i += w.length;
      return true;
    }
    return false;
  };
  ws();
  if (text[i] !== "{") throw bad("expected a Python dict literal");
  i++;
  let descr: string | undefined;
  let structured = false;
  let fortran: boolean | undefined;
  let shape: number[] | undefined;
  for (;;) {
    ws();
    if (text[i] === "}") {
      i++;
      break;
    }
    const key = str();
    ws();
    if (text[i] !== ":") throw bad(`expected ':' after the key ${quote(key)}`);
    i++;
    ws();
    if (key === "descr") {
      if (descr !== undefined || structured) throw bad("duplicate key 'descr'");
      if (text[i] === "[") {
        // a structured dtype: skip the list (strings may hold brackets), linear
        structured = true;
        let depth = 0;
        while (i < n) {
          const ch = text[i]!;
          if (ch === "'" || ch === '"') {
            str();
            continue;
          }
          if (ch === "[" || ch === "(") depth++;
          else if (ch === "]" || ch === ")") depth--;
          i++;
          if (depth === 0) break;
        }
        if (depth !== 0) throw bad("an unterminated descr list");
        descr = "";
      } else descr = str();
    } else if (key === "fortran_order") {
      if (fortran !== undefined) throw bad("duplicate key 'fortran_order'");
      if (word("True")) fortran = true;
      else if (word("False")) fortran = false;
      else throw bad("fortran_order must be True or False");
    } else if (key === "shape") {
      if (shape !== undefined) throw bad("duplicate key 'shape'");
      if (text[i] !== "(") throw bad("shape must be a tuple of integers");
      i++;
      shape = [];
      for (;;) {
        ws();
        if (text[i] === ")") {
          i++;
          break;
        }
        const d0 = i;
        while (i < n && text[i]! >= "0" && text[i]! <= "9") i++;
        if (i === d0) throw bad(`shape must be a tuple of integers (offset ${i})`);
        // more than 15 digits cannot be a safe integer: Infinity, refused by the size check
        shape.push(i - d0 > 15 ? Infinity : Number(text.slice(d0, i)));
        if (shape.length > MAX_AXES) throw bad(`a shape with more than ${MAX_AXES} axes`);
        ws();
        if (text[i] === ",") i++;
        else if (text[i] !== ")") throw bad(`shape must be a tuple of integers (offset ${i})`);
      }
    } else {
      throw bad(`unexpected key ${quote(key)}`);
    }
    ws();
    if (text[i] === ",") i++;
    else if (text[i] !== "}") throw bad(`expected ',' or '}' at offset ${i}`);
  }
  ws();
  if (i !== n) throw bad(`unexpected text after the dict at offset ${i}`);
  if (descr === undefined) throw bad("missing key 'descr'");
  if (fortran === undefined) throw bad("missing key 'fortran_order'");
  if (shape === undefined) throw bad("missing key 'shape'");
  return { descr, fortran, shape, structured };
}

/**
 * The total byte length a `.npy` file at the start of `bytes` declares (header + data), or
 * `undefined` when its header does not parse or declares an unknown dtype. Lets the multipart
 * parser jump over array data instead of scanning it for the boundary (it still checks that
 * the delimiter follows exactly there).
 *
 * @param bytes Bytes that start with a `.npy` file.
 * @returns The declared length, or `undefined`.
 *
 * @example Basic usage
 * ```ts
 * import { encodeNpy, npyDeclaredLength } from "@segloss/segloss/npy";
 * import assert from "node:assert/strict";
 *
 * const file = encodeNpy({ data: new Float32Array(3), shape: [3] });
 * assert.equal(npyDeclaredLength(file), file.length);
 * assert.equal(npyDeclaredLength(new Uint8Array(16)), undefined);
 * ```
 */
export function npyDeclaredLength(bytes: Uint8Array): number | undefined {
  if (bytes.length < 12) return undefined;
  for (let i = 0; i < MAGIC.length; i++) if (bytes[i] !== MAGIC[i]) return undefined;
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerStart = major === 1 ? 10 : 12;
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if ((major !== 1 && major !== 2 && major !== 3) || headerStart + headerLen > bytes.length) {
    return undefined;
  }
  try {
    const text = new TextDecoder(major === 3 ? "utf-8" : "latin1", { fatal: true }).decode(
      bytes.subarray(headerStart, headerStart + headerLen),
    );
    const { descr, shape, structured } = parseHeader(text, "part");
    if (structured) return undefined;
    const info = dtypeInfo(descr.slice(1));
    if (!info) return undefined;
    let n = 1;
    for (const d of shape) n *= d;
    const total = headerStart + headerLen + n * info.size;
    return Number.isSafeInteger(total) ? total : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Decodes a NumPy `.npy` file (what `np.save` writes) into a typed array and shape.
 * Supported dtypes: bool, int8/16/32/64, uint8/16/32/64, float16 (widened to float32),
 * float32, float64; little-endian (or byte-order-free), C order.
 *
 * @param bytes The whole file.
 * @param name The field name, quoted in error messages.
 * @param options `maxElements`.
 * @returns The array (`data` is a copy or an aligned view of `bytes`) and its file dtype.
 * @throws {NpyFormatError} The file is malformed (the service answers 400).
 * @throws {LimitError} The shape declares more than `maxElements` elements (413), checked
 *   before any allocation.
 * @throws {SeglossTypeError} A well-formed file with a dtype or layout segloss does not take
 *   (big-endian, Fortran order, object, string, structured; 422).
 *
 * @example Basic usage
 * ```ts
 * import { decodeNpy, encodeNpy } from "@segloss/segloss/npy";
 * import assert from "node:assert/strict";
 *
 * const bytes = encodeNpy({ data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] });
 * const arr = decodeNpy(bytes, "input");
 * assert.deepEqual(arr.shape, [2, 2]);
 * assert.equal(arr.dtype, "float32");
 * assert.deepEqual(Array.from(arr.data as Float32Array), [1, 2, 3, 4]);
 * ```
 */
export function decodeNpy(
  bytes: Uint8Array,
  name: string,
  options: DecodeNpyOptions = {},
): NpyArray {
  const q = /^[A-Za-z_][\w.]{0,63}$/.test(name) ? name : quote(name);
  const malformed = (message: string) => new NpyFormatError(message, name);
  if (bytes.length < 10) {
    throw malformed(
      `Malformed .npy file in ${q}: ${bytes.length} bytes is shorter than a header`,
    );
  }
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) {
      throw malformed(`Malformed .npy file in ${q}: missing the \\x93NUMPY magic string`);
    }
  }
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw malformed(`Malformed .npy file in ${q}: truncated header`);
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw malformed(`Malformed .npy file in ${q}: unknown format version ${major}.${bytes[7]}`);
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) {
    throw malformed(
      `Malformed .npy file in ${q}: header declares ${headerLen} bytes but only ${
        bytes.length - headerStart
      } follow`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder(major === 3 ? "utf-8" : "latin1", { fatal: true }).decode(
      bytes.subarray(headerStart, dataStart),
    );
  } catch {
    throw malformed(`Malformed .npy file in ${q}: header is not valid text`);
  }
  const { descr, fortran, shape, structured } = parseHeader(text, name);
  if (structured) {
    throw new SeglossTypeError(
      `Expected ${q} to have a numeric dtype but found a structured dtype`,
      { argument: name },
    );
  }
  const order = descr[0];
  const code = descr.slice(1);
  const info = dtypeInfo(code);
  if (!info || !["<", "|", "="].includes(order!)) {
    const why = order === ">" && info
      ? "big-endian data (save it with .astype('<" + code + "'))"
      : code.startsWith("O")
      ? "an object dtype"
      : `dtype '${descr}'`;
    throw new SeglossTypeError(
      `Expected ${q} to be a little-endian bool, int, uint or float array but found ${why}`,
      { argument: name },
    );
  }
  if ((order === "|") !== (info.size === 1) && order !== "=") {
    throw malformed(`Malformed .npy header in ${q}: byte order '${order}' with '${code}'`);
  }
  if (fortran && shape.filter((s) => s > 1).length > 1) {
    throw new SeglossTypeError(
      `Expected ${q} in C order but found fortran_order: True (save np.ascontiguousarray(x))`,
      { argument: name },
    );
  }
  let count = 1;
  for (const s of shape) count *= s;
  if (!Number.isSafeInteger(count)) count = Infinity; // a dimension of 16+ digits
  const max = options.maxElements ?? Infinity;
  if (count > max) {
    throw new LimitError(
      "maxElements",
      count,
      max,
      `Expected ${q} to have at most ${max} elements but its shape (${
        shape.join(", ")
      }) declares ${count}`,
    );
  }
  const byteLength = count * info.size;
  const available = bytes.length - dataStart;
  if (!(available >= byteLength)) {
    throw malformed(
      `Truncated .npy data in ${q}: shape (${
        shape.join(", ")
      }) of ${info.dtype} needs ${byteLength} bytes but ${available} follow the header`,
    );
  }
  if (available > byteLength) {
    throw malformed(
      `Malformed .npy file in ${q}: ${available - byteLength} bytes after the declared data`,
    );
  }
  const raw = bytes.subarray(dataStart, dataStart + byteLength);
  return { data: toTyped(raw, info), shape, dtype: info.dtype };
}

function aligned(raw: Uint8Array, size: number): Uint8Array {
  return raw.byteOffset % size === 0 ? raw : raw.slice();
}

function toTyped(raw: Uint8Array, info: DtypeInfo): TypedArray {
  const n = raw.length / info.size;
  switch (info.dtype) {
    case "bool": {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = raw[i] ? 1 : 0;
      return out;
    }
    case "uint8":
      return raw;
    case "float16": {
      const a = aligned(raw, 2);
      const h = new Uint16Array(a.buffer, a.byteOffset, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(h[i]!);
      return out;
    }
    default: {
      const a = aligned(raw, info.size);
      return typedView(info.dtype, a.buffer, a.byteOffset, n);
    }
  }
}

const ENCODE_DESCR: Record<string, string> = {
  Float32Array: "<f4",
  Float64Array: "<f8",
  Uint8Array: "|u1",
  Uint8ClampedArray: "|u1",
  Int8Array: "|i1",
  Int16Array: "<i2",
  Uint16Array: "<u2",
  Int32Array: "<i4",
  Uint32Array: "<u4",
  BigInt64Array: "<i8",
  BigUint64Array: "<u8",
};

/**
 * The header of the `.npy` file of an array (format 1.0, C order, little-endian): magic,
 * version, header length and the padded header dict. The file is these bytes followed by the
 * array's bytes, so a server can send the two without copying the data into one buffer.
 *
 * @param array The array (any typed array segloss accepts).
 * @returns The header's bytes; their length is a multiple of 64.
 *
 * @example Basic usage
 * ```ts
 * import { encodeNpy, encodeNpyHeader } from "@segloss/segloss/npy";
 * import assert from "node:assert/strict";
 *
 * const array = { data: new Float32Array([0.5, 1.5]), shape: [2] };
 * const header = encodeNpyHeader(array);
 * assert.equal(header.length % 64, 0);
 * assert.deepEqual(encodeNpy(array).subarray(0, header.length), header);
 * ```
 */
export function encodeNpyHeader(array: NdArray): Uint8Array {
  const name = array.data?.constructor?.name;
  const descr = typeof name === "string" && Object.hasOwn(ENCODE_DESCR, name)
    ? ENCODE_DESCR[name]
    : undefined;
  if (!descr) {
    throw new SeglossTypeError(`Expected a typed array but found ${quote(name)}`);
  }
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(", ")})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = 10 + header.length + 1;
  header += " ".repeat((64 - (unpadded % 64)) % 64) + "\n";
  const out = new Uint8Array(10 + header.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  return out;
}

/**
 * Encodes an array as a NumPy `.npy` file (format 1.0, C order, little-endian), readable with
 * `np.load(io.BytesIO(body))`.
 *
 * @param array The array (any typed array segloss accepts).
 * @returns The file's bytes.
 *
 * @example Basic usage
 * ```ts
 * import { encodeNpy } from "@segloss/segloss/npy";
 * import assert from "node:assert/strict";
 *
 * const bytes = encodeNpy({ data: new Float32Array([0.5, 1.5]), shape: [2] });
 * assert.equal((bytes.length - 8) % 64, 0); // header padded to a multiple of 64, then 2 float32
 * assert.equal(new TextDecoder().decode(bytes.subarray(1, 6)), "NUMPY");
 * ```
 */
export function encodeNpy(array: NdArray): Uint8Array {
  const header = encodeNpyHeader(array);
  const out = new Uint8Array(header.length + array.data.byteLength);
  out.set(header, 0);
  out.set(
    new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength),
    header.length,
  );
  return out;
}
