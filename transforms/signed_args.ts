/**
 * Argument checks shared by every signed-distance entry point (the CPU `signedDistance` and the
 * jump flood's on-device maps). Internal: not exported from `mod.ts`.
 *
 * @module
 */
import { SeglossRangeError, SeglossTypeError } from "../core/errors.ts";
import { checkNdArray, checkSpacing, type NdArray } from "../core/ndarray.ts";
import type { SignedDistanceConvention } from "../core/types.ts";

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

/**
 * Checks `target` (labels `(N, ...spatial)`) and the options every signed-distance call takes:
 * `numClasses`, `spacing`, `convention`. With `maxSpatialDims`, more spatial axes than that are a
 * TypeError. Labels are not range-checked here (each caller does it while copying them).
 */
export function checkSignedArgs(
  target: NdArray,
  options: {
    numClasses: number;
    spacing?: readonly number[];
    convention?: SignedDistanceConvention;
  },
  maxSpatialDims = Infinity,
): SignedArgs {
  checkNdArray(target, "target");
  if (typeof options !== "object" || options === null) {
    throw new SeglossTypeError(`Expected options to be an object but found ${options}`);
  }
  const { numClasses } = options;
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new SeglossRangeError(
      `Expected options.numClasses to be an integer >= 1 but found ${numClasses}`,
    );
  }
  if (target.shape.length < 2 || target.shape.length - 1 > maxSpatialDims) {
    throw new SeglossTypeError(
      `Expected target to have shape (N, ...spatial) with 1 to 3 spatial axes but found [${
        target.shape.join(", ")
      }]`,
    );
  }
  const spatial = target.shape.slice(1);
  const spacing = checkSpacing(options.spacing, spatial.length, "options.spacing");
  const convention = options.convention ?? "kervadec";
  if (!["kervadec", "signed", "inner-zero"].includes(convention)) {
    throw new SeglossRangeError(
      `Expected options.convention to be "kervadec", "signed" or "inner-zero" but found ${
        JSON.stringify(convention)
      }`,
    );
  }
  return { n: target.shape[0]!, numClasses, spatial, spacing, convention };
}
