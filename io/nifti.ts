/**
 * NIfTI-1 and NIfTI-2 images (`.nii`, `.nii.gz`) to and from {@linkcode NdArray}s.
 *
 * Reading parses the header with `nifti-reader-js` (a maintained reader of both versions,
 * either byte order) and gunzips with the Web `DecompressionStream`; the affine follows
 * nibabel's `get_best_affine()` (the sform when `sform_code` is set, else the qform, else
 * the pixdim-only base affine) and the data is scaled by `scl_slope`/`scl_inter` when they
 * say so, like nibabel's `get_fdata()`.
 *
 * Axis order: NIfTI stores x fastest. The array keeps those bytes as they are and reports
 * them row-major, so `shape` is the NIfTI `dim` reversed (`[z, y, x]` for a 3-D volume,
 * nibabel's array transposed: `np.asarray(img.dataobj).T`) and `spacing` the `pixdim`
 * reversed. Writing does the reverse, so a volume read and written back keeps its layout.
 *
 * Writing hand-writes the 348-byte (NIfTI-1) or 540-byte (NIfTI-2) little-endian header
 * with a `DataView`: npm has no maintained NIfTI writer, and the header is a fixed table of
 * fields. `like` copies the geometry (dims, pixdim, units, qform, sform, description) of an
 * image that was read, so a distance map lands on its mask's grid.
 *
 * @example Write a map and read it back
 * ```ts
 * import { decodeNifti, encodeNifti, gzip } from "@segloss/segloss/nifti";
 * import assert from "node:assert/strict";
 *
 * const map = { data: new Float32Array([0, 1, 2, 3, 4, 5]), shape: [1, 2, 3] };
 * const bytes = await gzip(encodeNifti(map, { spacing: [3, 0.5, 0.5] }));
 * const image = await decodeNifti(bytes, "map.nii.gz");
 * assert.deepEqual(image.shape, [1, 2, 3]);
 * assert.deepEqual(image.dims, [3, 2, 1]); // x, y, z
 * assert.deepEqual(image.spacing, [3, 0.5, 0.5]);
 * assert.equal(image.datatype, "float32");
 * assert.deepEqual(Array.from(image.data as Float32Array), [0, 1, 2, 3, 4, 5]);
 * ```
 *
 * @module
 */
import { concatBytes } from "../core/bytes.ts";
import * as nifti from "nifti-reader-js";
import { SeglossRangeError, SeglossTypeError } from "../core/errors.ts";
import type { NdArray, TypedArray } from "../core/ndarray.ts";
import type { NpyDtype } from "./npy.ts";
import { typedView } from "./_dtypes.ts";

/**
 * The NIfTI datatypes segloss reads (numeric, one value per voxel).
 *
 * @example Basic usage
 * ```ts
 * import type { NiftiDatatype } from "@segloss/segloss/nifti";
 * import assert from "node:assert/strict";
 *
 * const t: NiftiDatatype = "int16";
 * assert.equal(t, "int16");
 * ```
 */
export type NiftiDatatype = Exclude<NpyDtype, "bool" | "float16">;

interface TypeInfo {
  name: NiftiDatatype;
  bytes: number;
}

const TYPES: Record<number, TypeInfo> = {
  2: { name: "uint8", bytes: 1 },
  256: { name: "int8", bytes: 1 },
  4: { name: "int16", bytes: 2 },
  512: { name: "uint16", bytes: 2 },
  8: { name: "int32", bytes: 4 },
  768: { name: "uint32", bytes: 4 },
  1024: { name: "int64", bytes: 8 },
  1280: { name: "uint64", bytes: 8 },
  16: { name: "float32", bytes: 4 },
  64: { name: "float64", bytes: 8 },
};

const UNSUPPORTED: Record<number, string> = {
  1: "binary (1 bit)",
  32: "complex64",
  128: "rgb24",
  1536: "float128",
  1792: "complex128",
  2048: "complex256",
  2304: "rgba32",
};

const CODE_OF: Record<string, number> = {
  Uint8Array: 2,
  Int8Array: 256,
  Int16Array: 4,
  Uint16Array: 512,
  Int32Array: 8,
  Uint32Array: 768,
  BigInt64Array: 1024,
  BigUint64Array: 1280,
  Float32Array: 16,
  Float64Array: 64,
};

/**
 * Header fields that describe an image's grid and that {@linkcode encodeNifti} copies from a
 * `like` image. Spatial arrays are in NIfTI order (x, y, z, ...).
 *
 * @example Basic usage
 * ```ts
 * import { decodeNifti, encodeNifti } from "@segloss/segloss/nifti";
 * import assert from "node:assert/strict";
 *
 * const image = await decodeNifti(encodeNifti({ data: new Uint8Array(4), shape: [2, 2] }), "m");
 * assert.equal(image.header.sformCode, 0);
 * ```
 */
export interface NiftiGeometry {
  /** `qform_code` (0 unknown, 1 scanner, 2 aligned, 3 Talairach, 4 MNI). */
  qformCode: number;
  /** `sform_code`. */
  sformCode: number;
  /** `quatern_b`, `quatern_c`, `quatern_d`. */
  quatern: [number, number, number];
  /** `qoffset_x`, `qoffset_y`, `qoffset_z`. */
  qoffset: [number, number, number];
  /** `pixdim[0]`: the qform handedness, 1 or -1. */
  qfac: number;
  /** `srow_x`, `srow_y`, `srow_z`. */
  srow: [number[], number[], number[]];
  /** `xyzt_units`. */
  xyztUnits: number;
  /** `descrip` (at most 79 characters). */
  description: string;
}

/**
 * A decoded NIfTI image.
 *
 * @example Basic usage
 * ```ts
 * import { decodeNifti, encodeNifti } from "@segloss/segloss/nifti";
 * import type { NiftiImage } from "@segloss/segloss/nifti";
 * import assert from "node:assert/strict";
 *
 * const bytes = encodeNifti({ data: new Int16Array(24), shape: [2, 3, 4] }, { spacing: [2, 1, 1] });
 * const image: NiftiImage = await decodeNifti(bytes, "x.nii");
 * assert.deepEqual(image.pixdim, [1, 1, 2]);
 * assert.equal(image.version, 1);
 * ```
 */
export interface NiftiImage extends NdArray {
  /** The voxel values, row-major over `shape` (scaled to float when the header says so). */
  data: TypedArray;
  /** `dim[1..ndim]` reversed: row-major extents (`[z, y, x]` for 3-D). */
  shape: number[];
  /** `dim[1..ndim]`, NIfTI order (x first). */
  dims: number[];
  /** `pixdim[1..ndim]`, NIfTI order (absolute values). */
  pixdim: number[];
  /** `pixdim` reversed, one per axis of `shape`. */
  spacing: number[];
  /** The voxel-to-world affine (4×4, nibabel's `img.affine`), NIfTI voxel order (i, j, k). */
  affine: number[][];
  /** The datatype stored in the file. */
  datatype: NiftiDatatype;
  /** `scl_slope`, `scl_inter` as stored. */
  scaling: { slope: number; inter: number };
  /** 1 or 2. */
  version: 1 | 2;
  /** Whether the file was gzip-compressed. */
  gzipped: boolean;
  /** The geometry fields, for writing a map on the same grid. */
  header: NiftiGeometry;
}

async function streamBytes(
  bytes: Uint8Array,
  stream: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> },
): Promise<Uint8Array> {
  const writer = stream.writable.getWriter();
  const done = (async () => {
    await writer.write(bytes);
    await writer.close();
  })();
  done.catch(() => {}); // a failure surfaces on the reading side (or below)
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = stream.readable.getReader();
  for (;;) {
    const { value, done: end } = await reader.read();
    if (end) break;
    chunks.push(value);
    total += value.length;
  }
  await done;
  return concatBytes(chunks, total);
}

/**
 * Gzip-compresses bytes with the Web `CompressionStream` (for `.nii.gz`).
 *
 * @param bytes The bytes.
 * @returns The gzip member.
 *
 * @example Basic usage
 * ```ts
 * import { gunzip, gzip } from "@segloss/segloss/nifti";
 * import assert from "node:assert/strict";
 *
 * const z = await gzip(new Uint8Array(1000));
 * assert.deepEqual([z[0], z[1]], [0x1f, 0x8b]);
 * assert.equal((await gunzip(z, "z")).length, 1000);
 * ```
 */
export function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  return streamBytes(
    bytes,
    new CompressionStream("gzip") as unknown as {
      readable: ReadableStream<Uint8Array>;
      writable: WritableStream<Uint8Array>;
    },
  );
}

/**
 * Gunzips bytes with the Web `DecompressionStream`; a corrupt stream is a
 * {@linkcode SeglossTypeError} naming `name`.
 *
 * @param bytes The gzip data.
 * @param name The file name used in error messages.
 * @returns The decompressed bytes.
 *
 * @example Basic usage
 * ```ts
 * import { gunzip, gzip } from "@segloss/segloss/nifti";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(await gunzip(await gzip(new Uint8Array([1, 2])), "a"), new Uint8Array([1, 2]));
 * ```
 */
export async function gunzip(bytes: Uint8Array, name: string): Promise<Uint8Array> {
  try {
    return await streamBytes(
      bytes,
      new DecompressionStream("gzip") as unknown as {
        readable: ReadableStream<Uint8Array>;
        writable: WritableStream<Uint8Array>;
      },
    );
  } catch (e) {
    throw new SeglossTypeError(
      `Expected ${name} to be a valid gzip stream but decompression failed: ${
        (e as Error).message
      }`,
      { argument: name, cause: e },
    );
  }
}

/**
 * Whether bytes start with the gzip magic number (`1f 8b`).
 *
 * @param bytes The bytes.
 * @returns True for a gzip stream.
 *
 * @example Basic usage
 * ```ts
 * import { gzip, isGzip } from "@segloss/segloss/nifti";
 * import assert from "node:assert/strict";
 *
 * assert.ok(isGzip(await gzip(new Uint8Array(3))));
 * assert.ok(!isGzip(new Uint8Array(3)));
 * ```
 */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** nibabel's quaternion → rotation (`quaternions.quat2mat` with `fillpositive`). */
function quatToMat(b: number, c: number, d: number): number[][] {
  let w2 = 1 - (b * b + c * c + d * d);
  // nibabel: float32 quaternions slightly above 1 in norm give w = 0
  if (w2 < 0) w2 = 0;
  const a = Math.sqrt(w2);
  const Nq = a * a + b * b + c * c + d * d;
  if (Nq < 1e-300) return [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
  const s = 2 / Nq;
  const X = b * s, Y = c * s, Z = d * s;
  const wX = a * X, wY = a * Y, wZ = a * Z;
  const xX = b * X, xY = b * Y, xZ = b * Z;
  const yY = c * Y, yZ = c * Z, zZ = d * Z;
  return [
    [1 - (yY + zZ), xY - wZ, xZ + wY],
    [xY + wZ, 1 - (xX + zZ), yZ - wX],
    [xZ - wY, yZ + wX, 1 - (xX + yY)],
  ];
}

/**
 * The affine nibabel reports (`get_best_affine`): sform if `sform_code` ≠ 0, else qform if
 * `qform_code` ≠ 0, else the Analyze base affine (x flipped, centred).
 */
function bestAffine(g: NiftiGeometry, dims: number[], pixdim: number[]): number[][] {
  if (g.sformCode !== 0) return [...g.srow.map((r) => [...r]), [0, 0, 0, 1]];
  const zoom = [0, 1, 2].map((i) => pixdim[i] ?? 1);
  if (g.qformCode !== 0) {
    const R = quatToMat(...g.quatern);
    const qfac = g.qfac === -1 ? -1 : 1;
    const out: number[][] = [];
    for (let r = 0; r < 3; r++) {
      out.push([
        R[r]![0]! * zoom[0]!,
        R[r]![1]! * zoom[1]!,
        R[r]![2]! * zoom[2]! * qfac,
        g.qoffset[r]!,
      ]);
    }
    out.push([0, 0, 0, 1]);
    return out;
  }
  const shape = [0, 1, 2].map((i) => dims[i] ?? 1);
  const origin = shape.map((s) => (s - 1) / 2);
  return [
    [-zoom[0]!, 0, 0, origin[0]! * zoom[0]!],
    [0, zoom[1]!, 0, -origin[1]! * zoom[1]!],
    [0, 0, zoom[2]!, -origin[2]! * zoom[2]!],
    [0, 0, 0, 1],
  ];
}

function readSrow(view: DataView, version: 1 | 2, little: boolean): [number[], number[], number[]] {
  const rows: number[][] = [];
  for (let r = 0; r < 3; r++) {
    const row: number[] = [];
    for (let c = 0; c < 4; c++) {
      row.push(
        version === 1
          ? view.getFloat32(280 + 16 * r + 4 * c, little)
          : view.getFloat64(400 + 32 * r + 8 * c, little),
      );
    }
    rows.push(row);
  }
  return rows as [number[], number[], number[]];
}

/**
 * Options of {@linkcode decodeNifti}.
 *
 * @example Basic usage
 * ```ts
 * import type { DecodeNiftiOptions } from "@segloss/segloss/nifti";
 * import assert from "node:assert/strict";
 *
 * const o: DecodeNiftiOptions = { maxElements: 512 ** 3 };
 * assert.ok(o.maxElements! > 0);
 * ```
 */
export interface DecodeNiftiOptions {
  /** Largest accepted voxel count (default 2^31 - 1); more is a RangeError before allocation. */
  maxElements?: number;
}

/**
 * Decodes a NIfTI-1 or NIfTI-2 file (single `.nii`, gzip-compressed or not; either byte
 * order). Errors name the file and the problem: not NIfTI, a datatype segloss does not read
 * (complex, RGB), data shorter than the header declares.
 *
 * @param bytes The file's bytes.
 * @param name The file name used in error messages.
 * @param options Limits.
 * @returns The image: data, shape, spacing, affine, datatype and geometry.
 *
 * @example Basic usage
 * ```ts
 * import { decodeNifti, encodeNifti } from "@segloss/segloss/nifti";
 * import assert from "node:assert/strict";
 *
 * const mask = { data: new Uint8Array([0, 1, 1, 0]), shape: [2, 2] };
 * const image = await decodeNifti(encodeNifti(mask), "mask.nii");
 * assert.deepEqual(Array.from(image.data as Float32Array), [0, 1, 1, 0]);
 * await assert.rejects(decodeNifti(new Uint8Array(10), "bad.nii"), /bad\.nii/);
 * ```
 */
export async function decodeNifti(
  bytes: Uint8Array,
  name: string,
  options: DecodeNiftiOptions = {},
): Promise<NiftiImage> {
  // a Node Buffer may be a view into a shared pool, and its slice() does not copy
  const input = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const gzipped = isGzip(input);
  const raw = gzipped ? await gunzip(input, name) : input;
  const buffer = raw.byteOffset === 0 && raw.byteLength === raw.buffer.byteLength
    ? raw.buffer as ArrayBuffer
    : raw.slice().buffer as ArrayBuffer;
  if (!nifti.isNIFTI(buffer)) {
    throw new SeglossTypeError(
      `Expected ${name} to be a NIfTI-1 or NIfTI-2 file (.nii or .nii.gz) but found ${
        raw.length < 348 ? `${raw.length} bytes, shorter than a header` : "no NIfTI magic string"
      }`,
      { argument: name },
    );
  }
  let hdr: nifti.NIFTI1 | nifti.NIFTI2;
  try {
    hdr = nifti.readHeader(buffer);
  } catch (e) {
    throw new SeglossTypeError(
      `Expected ${name} to have a readable NIfTI header but found: ${(e as Error).message}`,
      { argument: name, cause: e },
    );
  }
  const version: 1 | 2 = nifti.isNIFTI2(buffer) ? 2 : 1;
  const little = hdr.littleEndian;
  const ndim = hdr.dims[0]!;
  if (!(ndim >= 1 && ndim <= 7)) {
    throw new SeglossRangeError(
      `Expected ${name} to declare 1 to 7 dimensions (dim[0]) but found ${ndim}`,
      { argument: name },
    );
  }
  const dims = hdr.dims.slice(1, 1 + ndim);
  dims.forEach((d, i) => {
    if (!Number.isInteger(d) || d < 1) {
      throw new SeglossRangeError(
        `Expected ${name} dim[${i + 1}] to be a positive integer but found ${d}`,
        { argument: name },
      );
    }
  });
  const info = TYPES[hdr.datatypeCode];
  if (info === undefined) {
    const what = UNSUPPORTED[hdr.datatypeCode] ?? `code ${hdr.datatypeCode}`;
    throw new SeglossTypeError(
      `Expected ${name} to hold a numeric datatype (uint8, int16, int32, float32, ...) but found ${what}`,
      { argument: name },
    );
  }
  const count = dims.reduce((a, b) => a * b, 1);
  const maxElements = options.maxElements ?? 2 ** 31 - 1;
  if (count > maxElements) {
    throw new SeglossRangeError(
      `Expected ${name} to have at most ${maxElements} voxels but its header declares ${count} (${
        dims.join("×")
      })`,
      { argument: name },
    );
  }
  const offset = Math.max(Math.floor(hdr.vox_offset), version === 1 ? 348 : 540);
  const need = count * info.bytes;
  if (raw.length < offset + need) {
    throw new SeglossTypeError(
      `Expected ${name} to hold ${need} data bytes after offset ${offset} (${
        dims.join("×")
      } ${info.name}) but found ${Math.max(0, raw.length - offset)}${
        gzipped ? "" : " (a .hdr/.img pair is not supported; convert it to .nii)"
      }`,
      { argument: name },
    );
  }
  const src = raw.subarray(offset, offset + need);
  const data = typedFrom(src, info, little, count);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const geometry: NiftiGeometry = {
    qformCode: hdr.qform_code,
    sformCode: hdr.sform_code,
    quatern: [hdr.quatern_b, hdr.quatern_c, hdr.quatern_d],
    qoffset: [hdr.qoffset_x, hdr.qoffset_y, hdr.qoffset_z],
    qfac: hdr.pixDims[0] === -1 ? -1 : 1,
    srow: readSrow(view, version, little),
    xyztUnits: hdr.xyzt_units,
    description: hdr.description.replace(/\0.*$/s, ""),
  };
  const pixdim = dims.map((_, i) => Math.abs(hdr.pixDims[i + 1] ?? 1) || 1);
  const slope = hdr.scl_slope;
  const inter = hdr.scl_inter;
  let values: TypedArray = data;
  // nibabel: slope 0 or NaN means unscaled; (1, 0) is a no-op
  if (
    Number.isFinite(slope) && slope !== 0 &&
    (slope !== 1 || (Number.isFinite(inter) && inter !== 0))
  ) {
    const it = Number.isFinite(inter) ? inter : 0;
    const out = new Float64Array(count); // like nibabel's get_fdata()
    for (let i = 0; i < count; i++) out[i] = Number(data[i]!) * slope + it;
    values = out;
  }
  return {
    data: values,
    shape: [...dims].reverse(),
    dims,
    pixdim,
    spacing: [...pixdim].reverse(),
    affine: bestAffine(geometry, dims, pixdim),
    datatype: info.name,
    scaling: { slope, inter },
    version,
    gzipped,
    header: geometry,
  };
}

function typedFrom(src: Uint8Array, info: TypeInfo, little: boolean, count: number): TypedArray {
  const bytes = new Uint8Array(src); // an aligned copy
  if (!little && info.bytes > 1) {
    for (let i = 0; i < bytes.length; i += info.bytes) {
      for (let a = i, b = i + info.bytes - 1; a < b; a++, b--) {
        const t = bytes[a]!;
        bytes[a] = bytes[b]!;
        bytes[b] = t;
      }
    }
  }
  return typedView(info.name, bytes.buffer, 0, count);
}

/**
 * Options of {@linkcode encodeNifti}.
 *
 * @example Basic usage
 * ```ts
 * import type { EncodeNiftiOptions } from "@segloss/segloss/nifti";
 * import assert from "node:assert/strict";
 *
 * const o: EncodeNiftiOptions = { spacing: [2.5, 0.8, 0.8], version: 1 };
 * assert.equal(o.version, 1);
 * ```
 */
export interface EncodeNiftiOptions {
  /**
   * An image read with {@linkcode decodeNifti} whose geometry (pixdim, units, qform, sform,
   * description) the new file copies; its version is the default version.
   */
  like?: NiftiImage;
  /** Spacing per axis of the array (row-major order); default: `like`'s, else ones. */
  spacing?: readonly number[];
  /** An explicit 4×4 voxel-to-world affine (i, j, k order) stored as the sform (code 2). */
  affine?: readonly (readonly number[])[];
  /** NIfTI version, 1 (348-byte header) or 2 (540 bytes). Default `like`'s, else 1. */
  version?: 1 | 2;
  /** The `descrip` field (cut to 79 ASCII characters). */
  description?: string;
}

/**
 * Encodes an array as a single-file NIfTI (`.nii`), little-endian, with the header written
 * field by field. The array's axes are reversed into NIfTI order (its last axis becomes x),
 * which keeps the bytes of an array read by {@linkcode decodeNifti}. Without `like` or
 * `affine`, the qform is the spacing alone (code 1, no rotation or offset).
 *
 * @param array The data (any numeric typed array; 1 to 7 axes).
 * @param options Geometry: `like`, `spacing`, `affine`, `version`, `description`.
 * @returns The file's bytes (gzip them with {@linkcode gzip} for `.nii.gz`).
 *
 * @example Basic usage
 * ```ts
 * import { encodeNifti } from "@segloss/segloss/nifti";
 * import assert from "node:assert/strict";
 *
 * const bytes = encodeNifti({ data: new Float32Array(8), shape: [2, 2, 2] });
 * assert.equal(bytes.length, 352 + 8 * 4);
 * assert.equal(new DataView(bytes.buffer).getInt32(0, true), 348);
 * ```
 */
export function encodeNifti(array: NdArray, options: EncodeNiftiOptions = {}): Uint8Array {
  const code = CODE_OF[array.data.constructor.name];
  if (code === undefined) {
    throw new SeglossTypeError(
      `Expected array.data to be a numeric typed array NIfTI can store but found ${array.data.constructor.name}`,
    );
  }
  const ndim = array.shape.length;
  if (ndim < 1 || ndim > 7) {
    throw new SeglossRangeError(`Expected array to have 1 to 7 axes but found ${ndim}`);
  }
  const like = options.like;
  const version = options.version ?? like?.version ?? 1;
  const dims = [...array.shape].reverse();
  let spacing: number[];
  if (options.spacing !== undefined) {
    if (options.spacing.length !== ndim) {
      throw new SeglossTypeError(
        `Expected options.spacing to have ${ndim} entries (one per axis) but found ${options.spacing.length}`,
      );
    }
    spacing = [...options.spacing].reverse();
  } else if (like !== undefined) {
    spacing = dims.map((_, i) => like.pixdim[i] ?? 1);
  } else spacing = dims.map(() => 1);
  const bytesPer = array.data.BYTES_PER_ELEMENT;
  const headerSize = version === 1 ? 348 : 540;
  const offset = headerSize + 4;
  const out = new Uint8Array(offset + array.data.length * bytesPer);
  const v = new DataView(out.buffer);
  const L = true;
  const g: NiftiGeometry = like?.header ?? {
    qformCode: 1,
    sformCode: 0,
    quatern: [0, 0, 0],
    qoffset: [0, 0, 0],
    qfac: 1,
    srow: [[spacing[0]!, 0, 0, 0], [0, spacing[1] ?? 1, 0, 0], [0, 0, spacing[2] ?? 1, 0]],
    xyztUnits: 2,
    description: "",
  };
  let sformCode = g.sformCode;
  let srow = g.srow;
  if (options.affine !== undefined) {
    const a = options.affine;
    if (a.length < 3 || a.slice(0, 3).some((r) => r.length !== 4)) {
      throw new SeglossTypeError("Expected options.affine to be a 4×4 matrix (rows of 4 numbers)");
    }
    srow = [[...a[0]!], [...a[1]!], [...a[2]!]];
    sformCode = Math.max(sformCode, 2);
  }
  const description = (options.description ?? g.description).replace(/[^\x20-\x7e]/g, "?")
    .slice(0, 79);
  const ascii = (at: number, s: string) => {
    for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
  };
  if (version === 1) {
    v.setInt32(0, 348, L);
    out[38] = 0x72; // regular = 'r'
    v.setInt16(40, ndim, L);
    for (let i = 0; i < 7; i++) v.setInt16(42 + 2 * i, dims[i] ?? 1, L);
    v.setInt16(70, code, L);
    v.setInt16(72, bytesPer * 8, L);
    v.setFloat32(76, g.qfac, L);
    for (let i = 0; i < 7; i++) v.setFloat32(80 + 4 * i, spacing[i] ?? 1, L);
    v.setFloat32(108, offset, L);
    v.setFloat32(112, 1, L); // scl_slope
    v.setFloat32(116, 0, L);
    out[123] = g.xyztUnits;
    ascii(148, description);
    v.setInt16(252, g.qformCode, L);
    v.setInt16(254, sformCode, L);
    for (let i = 0; i < 3; i++) {
      v.setFloat32(256 + 4 * i, g.quatern[i]!, L);
      v.setFloat32(268 + 4 * i, g.qoffset[i]!, L);
    }
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 4; c++) v.setFloat32(280 + 16 * r + 4 * c, srow[r]![c]!, L);
    }
    ascii(344, "n+1\0");
  } else {
    v.setInt32(0, 540, L);
    out.set([0x6e, 0x2b, 0x32, 0, 0x0d, 0x0a, 0x1a, 0x0a], 4); // "n+2\0\r\n\032\n"
    v.setInt16(12, code, L);
    v.setInt16(14, bytesPer * 8, L);
    v.setBigInt64(16, BigInt(ndim), L);
    for (let i = 0; i < 7; i++) v.setBigInt64(24 + 8 * i, BigInt(dims[i] ?? 1), L);
    v.setFloat64(104, g.qfac, L);
    for (let i = 0; i < 7; i++) v.setFloat64(112 + 8 * i, spacing[i] ?? 1, L);
    v.setBigInt64(168, BigInt(offset), L);
    v.setFloat64(176, 1, L);
    v.setFloat64(184, 0, L);
    ascii(240, description);
    v.setInt32(344, g.qformCode, L);
    v.setInt32(348, sformCode, L);
    for (let i = 0; i < 3; i++) {
      v.setFloat64(352 + 8 * i, g.quatern[i]!, L);
      v.setFloat64(376 + 8 * i, g.qoffset[i]!, L);
    }
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 4; c++) v.setFloat64(400 + 32 * r + 8 * c, srow[r]![c]!, L);
    }
    v.setInt32(500, g.xyztUnits, L);
  }
  // 4 zero bytes: no extensions
  const d = array.data;
  out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), offset);
  return out;
}
