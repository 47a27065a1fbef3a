/**
 * PNG label masks to and from {@linkcode NdArray}s, with `fast-png` (a maintained pure
 * JavaScript PNG codec: 1/2/4/8/16-bit, grey, palette, RGB(A)).
 *
 * A mask is read as labels `[height, width]`: grey values as they are (8- or 16-bit), palette
 * images as their palette indices (the PASCAL VOC convention), grey+alpha as the grey value,
 * and RGB(A) only when every pixel is grey (R = G = B); a colour mask without a palette is
 * refused, since its colours have no label order.
 *
 * @example Write a 16-bit mask and read it back
 * ```ts
 * import { decodePngMask, encodePngMask } from "@segloss/segloss/png";
 * import assert from "node:assert/strict";
 *
 * const mask = { data: new Uint16Array([0, 1, 300, 2]), shape: [2, 2] };
 * const back = decodePngMask(encodePngMask(mask), "mask.png");
 * assert.deepEqual(back.shape, [2, 2]);
 * assert.equal(back.depth, 16);
 * assert.deepEqual(Array.from(back.data), [0, 1, 300, 2]);
 * ```
 *
 * @module
 */
import { decode, encode } from "fast-png";
import { SeglossRangeError, SeglossTypeError } from "../core/errors.ts";
import type { NdArray } from "../core/ndarray.ts";

/**
 * A PNG read as a label mask.
 *
 * @example Basic usage
 * ```ts
 * import { decodePngMask, encodePngMask } from "@segloss/segloss/png";
 * import type { PngMask } from "@segloss/segloss/png";
 * import assert from "node:assert/strict";
 *
 * const m: PngMask = decodePngMask(encodePngMask({ data: new Uint8Array(6), shape: [2, 3] }), "m");
 * assert.equal(m.kind, "grey");
 * ```
 */
export interface PngMask extends NdArray<Uint8Array | Uint16Array> {
  /** Labels, row-major `[height, width]`. */
  data: Uint8Array | Uint16Array;
  /** `[height, width]`. */
  shape: [number, number];
  /** Bits per sample in the file. */
  depth: number;
  /** What the labels were taken from. */
  kind: "grey" | "palette" | "grey-alpha" | "rgb-grey";
}

function unpackBits(packed: Uint8Array, width: number, height: number, depth: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const rowBytes = Math.ceil((width * depth) / 8);
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      const byte = packed[y * rowBytes + (bit >> 3)]!;
      out[y * width + x] = (byte >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}

/**
 * Decodes a PNG file as a label mask. Errors name the file: not a PNG, a corrupt stream, or
 * a colour image that is not a label mask.
 *
 * @param bytes The file's bytes.
 * @param name The file name used in error messages.
 * @returns The labels `[height, width]` and how they were read.
 *
 * @example Basic usage
 * ```ts
 * import { decodePngMask, encodePngMask } from "@segloss/segloss/png";
 * import assert from "node:assert/strict";
 *
 * const bytes = encodePngMask({ data: new Uint8Array([0, 3, 3, 0]), shape: [2, 2] });
 * assert.deepEqual(Array.from(decodePngMask(bytes, "a.png").data), [0, 3, 3, 0]);
 * assert.throws(() => decodePngMask(new Uint8Array(8), "b.png"), /b\.png/);
 * ```
 */
export function decodePngMask(bytes: Uint8Array, name: string): PngMask {
  let png: ReturnType<typeof decode>;
  try {
    png = decode(bytes);
  } catch (e) {
    throw new SeglossTypeError(
      `Expected ${name} to be a PNG file but decoding failed: ${(e as Error).message}`,
      { argument: name, cause: e },
    );
  }
  const { width, height, depth, channels } = png;
  const n = width * height;
  let data = png.data as Uint8Array | Uint16Array;
  if (depth < 8) data = unpackBits(data as Uint8Array, width * channels, height, depth);
  if (png.palette !== undefined) {
    return { data, shape: [height, width], depth, kind: "palette" };
  }
  if (channels === 1) return { data, shape: [height, width], depth, kind: "grey" };
  const out = depth === 16 ? new Uint16Array(n) : new Uint8Array(n);
  if (channels === 2) {
    for (let i = 0; i < n; i++) out[i] = data[2 * i]!;
    return { data: out, shape: [height, width], depth, kind: "grey-alpha" };
  }
  for (let i = 0; i < n; i++) {
    const r = data[channels * i]!;
    if (data[channels * i + 1] !== r || data[channels * i + 2] !== r) {
      const y = Math.floor(i / width);
      throw new SeglossRangeError(
        `Expected ${name} to be a label mask (grey or palette PNG) but found a colour pixel (${r}, ${
          data[channels * i + 1]
        }, ${data[channels * i + 2]}) at row ${y}, column ${
          i - y * width
        }; save label masks as grey or palette PNGs`,
        { argument: name },
      );
    }
    out[i] = r;
  }
  return { data: out, shape: [height, width], depth, kind: "rgb-grey" };
}

/**
 * Encodes labels `[height, width]` as a grey PNG: 8-bit when every label is below 256, else
 * 16-bit.
 *
 * @param mask Labels (a non-negative integer typed array, values below 65536).
 * @returns The PNG file's bytes.
 *
 * @example Basic usage
 * ```ts
 * import { encodePngMask } from "@segloss/segloss/png";
 * import assert from "node:assert/strict";
 *
 * const bytes = encodePngMask({ data: new Uint8Array(4), shape: [2, 2] });
 * assert.deepEqual(Array.from(bytes.subarray(1, 4)), [0x50, 0x4e, 0x47]); // "PNG"
 * ```
 */
export function encodePngMask(mask: NdArray): Uint8Array {
  if (mask.shape.length !== 2) {
    throw new SeglossTypeError(
      `Expected mask to have 2 axes [height, width] but found ${mask.shape.length}`,
    );
  }
  const [height, width] = mask.shape as [number, number];
  let max = 0;
  for (let i = 0; i < mask.data.length; i++) {
    const v = Number(mask.data[i]!);
    if (!Number.isInteger(v) || v < 0 || v > 65535) {
      throw new SeglossRangeError(
        `Expected mask to hold integer labels in [0, 65535] but found ${v} at flat index ${i}`,
      );
    }
    if (v > max) max = v;
  }
  const data = max < 256 ? Uint8Array.from(mask.data as ArrayLike<number>) : Uint16Array.from(
    mask.data as ArrayLike<number>,
  );
  return encode({ width, height, data, depth: max < 256 ? 8 : 16, channels: 1 });
}

/**
 * Encodes an RGB picture (8-bit, `[height, width, 3]` row-major) as a PNG.
 *
 * @param rgb The pixels, 3 bytes each.
 * @param width The width in pixels.
 * @param height The height in pixels.
 * @returns The PNG file's bytes.
 *
 * @example Basic usage
 * ```ts
 * import { encodePngRgb } from "@segloss/segloss/png";
 * import assert from "node:assert/strict";
 *
 * const bytes = encodePngRgb(new Uint8Array(2 * 2 * 3).fill(255), 2, 2);
 * assert.equal(bytes[1], 0x50);
 * ```
 */
export function encodePngRgb(rgb: Uint8Array, width: number, height: number): Uint8Array {
  if (rgb.length !== width * height * 3) {
    throw new SeglossTypeError(
      `Expected rgb to have ${
        width * height * 3
      } bytes (${width}×${height}×3) but found ${rgb.length}`,
    );
  }
  return encode({ width, height, data: rgb, depth: 8, channels: 3 });
}
