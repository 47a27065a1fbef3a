/**
 * Byte helpers shared by the codecs and the service (not part of the public API).
 *
 * @module
 */

/**
 * Joins byte chunks into one array (the chunk itself when there is only one).
 *
 * @param chunks The chunks, in order.
 * @param total Their summed length (computed when omitted).
 * @returns The bytes.
 *
 * @example Basic usage
 * ```ts
 * import { concatBytes } from "./bytes.ts";
 * import assert from "node:assert/strict";
 *
 * const joined = concatBytes([new Uint8Array([1, 2]), new Uint8Array([3])]);
 * assert.deepEqual([...joined], [1, 2, 3]);
 * ```
 */
export function concatBytes(
  chunks: readonly Uint8Array[],
  total: number = chunks.reduce((s, c) => s + c.length, 0),
): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
