/**
 * Argument checks shared by every signed-distance entry point (the CPU `signedDistance` and the
 * jump flood's on-device maps). Internal: not exported from `mod.ts`.
 *
 * @module
 */
import { checkKeys, quote, SeglossRangeError, SeglossTypeError } from "../core/errors.ts";
import {
  checkElements,
  checkNdArray,
  checkNumClasses,
  checkSpacing,
  formatShape,
  type NdArray,
  sizeOf,
} from "../core/ndarray.ts";
import type { SignedDistanceConvention } from "../core/types.ts";
import { isSignConvention, SIGN_CONVENTIONS } from "./conventions.ts";

/** The checked arguments of a signed-distance call. */
export interface SignedArgs {
  /** N. */
  n: number;
  /** C. */
  numClasses: number;
  /** The spatial extents (the target's shape without N). */
  spatial: number[];
  /** One positive spacing per spatial axis. */
  spacing: number[];
  /** The sign convention (default `"kervadec"`). */
  convention: SignedDistanceConvention;
}

/** The option keys of `signedDistance` (and of the jump flood's `signedDistance`). */
export const SIGNED_KEYS: readonly string[] = ["numClasses", "spacing", "convention", "transform"];

/**
 * Checks `target` (labels `(N, ...spatial)`) and the options every signed-distance call takes:
 * `numClasses` (required, at most `MAX_CLASSES`), `spacing` (distances representable in
 * float32), `convention`; unknown keys among `keys` are a TypeError with a suggestion, and an
 * output `(N, C, ...spatial)` over `MAX_ELEMENTS` is a LimitError, all before any allocation.
 * With `maxSpatialDims`, more spatial axes than that are a TypeError. Labels are not
 * range-checked here (each caller does it while copying them, with {@linkcode int32Labels} or
 * a faster path of its own).
 */
export function checkSignedArgs(
  target: NdArray,
  options: {
    numClasses: number;
    spacing?: readonly number[];
    convention?: SignedDistanceConvention;
  },
  maxSpatialDims = Infinity,
  keys: readonly string[] = SIGNED_KEYS,
): SignedArgs {
  checkNdArray(target, "target");
  if (options === undefined || options === null) {
    throw new SeglossTypeError(
      "Expected options.numClasses (the number of classes C; labels lie in [0, C)) to be given but found no options",
      { argument: "options.numClasses" },
    );
  }
  const o = checkKeys(options, keys, "options");
  const numClasses = checkNumClasses(o.numClasses, "options.numClasses");
  if (target.shape.length < 2 || target.shape.length - 1 > maxSpatialDims) {
    throw new SeglossTypeError(
      `Expected target to have shape (N, ...spatial) with 1 to ${
        Math.min(maxSpatialDims, 3)
      } spatial axes but found ${formatShape(target.shape)}`,
    );
  }
  const spatial = target.shape.slice(1);
  const n = target.shape[0]!;
  checkElements(
    n * numClasses * sizeOf(spatial),
    "the signed distance maps",
    `N·C·voxels = ${n}·${numClasses}·${sizeOf(spatial)}`,
  );
  const spacing = checkSpacing(
    o.spacing as readonly number[] | undefined,
    spatial.length,
    "options.spacing",
    spatial,
  );
  const convention = o.convention ?? "kervadec";
  if (!isSignConvention(convention)) {
    throw new SeglossRangeError(
      `Expected options.convention to be one of ${
        SIGN_CONVENTIONS.map((c) => `"${c}"`).join(", ")
      } but found ${quote(convention)}`,
    );
  }
  return { n, numClasses, spatial, spacing, convention };
}

/**
 * A validated Int32 copy of `src`: every value an integer label in `[0, numClasses)`.
 *
 * @example Basic usage
 * ```ts
 * import { int32Labels } from "./signed_args.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(int32Labels([0, 2, 1], 3), Int32Array.of(0, 2, 1));
 * assert.throws(() => int32Labels([0, 3], 3), /labels in \[0, 3\) but found 3 at flat index 1/);
 * ```
 *
 * @param src The target labels.
 * @param numClasses C.
 * @returns The labels as an Int32Array.
 * @throws {SeglossRangeError} At the first value out of range or not an integer.
 */
export function int32Labels(src: ArrayLike<number | bigint>, numClasses: number): Int32Array {
  const labels = new Int32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const l = Number(src[i]);
    if (!(l >= 0 && l < numClasses && Number.isInteger(l))) {
      throw new SeglossRangeError(
        `Expected target labels in [0, ${numClasses}) but found ${l} at flat index ${i}`,
      );
    }
    labels[i] = l;
  }
  return labels;
}
