/**
 * The sign conventions of signed distance maps, defined once: their list and what each one
 * subtracts inside the class (the "shift"). Used by `signedDistance`, its argument checks, the
 * jump flood, the exact GPU EDT and the tfjs WebGPU path.
 *
 * @module
 */
import type { SignedDistanceConvention } from "../core/types.ts";

/**
 * Every sign convention, the default first.
 *
 * @example Basic usage
 * ```ts
 * import { SIGN_CONVENTIONS } from "./conventions.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(SIGN_CONVENTIONS[0], "kervadec");
 * ```
 */
export const SIGN_CONVENTIONS: readonly SignedDistanceConvention[] = [
  "kervadec",
  "signed",
  "inner-zero",
];

/**
 * Whether `value` names a sign convention.
 *
 * @param value Anything.
 * @returns True for `"kervadec"`, `"signed"` and `"inner-zero"`.
 *
 * @example Basic usage
 * ```ts
 * import { isSignConvention } from "./conventions.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isSignConvention("signed"), true);
 * assert.equal(isSignConvention("Signed"), false);
 * ```
 */
export function isSignConvention(value: unknown): value is SignedDistanceConvention {
  return (SIGN_CONVENTIONS as readonly unknown[]).includes(value);
}

/**
 * What a convention subtracts from the distance inside the class: the map there is
 * `shift − EDT(pos)`. `"kervadec"` (the official `one_hot2dist`): 1, whatever the spacing;
 * `"signed"`: 0; `"inner-zero"`: the smallest spacing, so the first inner layer is 0 in
 * physical units.
 *
 * @param convention The sign convention.
 * @param spacing Voxel size per spatial axis.
 * @returns The shift.
 *
 * @example Basic usage
 * ```ts
 * import { conventionShift } from "./conventions.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(conventionShift("kervadec", [0.5, 2]), 1);
 * assert.equal(conventionShift("inner-zero", [0.5, 2]), 0.5);
 * assert.equal(conventionShift("signed", [0.5, 2]), 0);
 * ```
 */
export function conventionShift(
  convention: SignedDistanceConvention,
  spacing: readonly number[],
): number {
  switch (convention) {
    case "kervadec":
      return 1;
    case "inner-zero":
      return Math.min(...spacing);
    case "signed":
      return 0;
  }
}
