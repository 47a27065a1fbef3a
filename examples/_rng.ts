/**
 * mulberry32: a small deterministic PRNG, so that example runs, failures and benchmark inputs
 * reproduce. Shared by the examples and (through `tests/util.ts`) the tests and benchmarks; not
 * part of the published package.
 *
 * @module
 */

/**
 * A mulberry32 generator.
 *
 * @param seed Any number (its low 32 bits are used).
 * @returns A function giving uniform numbers in [0, 1).
 *
 * @example Basic usage
 * ```ts
 * import { mulberry32 } from "./_rng.ts";
 * import assert from "node:assert/strict";
 *
 * const a = mulberry32(7), b = mulberry32(7);
 * const x = a();
 * assert.equal(x, b());
 * assert.ok(x >= 0 && x < 1);
 * ```
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
