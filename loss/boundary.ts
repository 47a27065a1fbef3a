/**
 * The boundary loss of Kervadec et al. (arXiv 1812.07032) over sufficient statistics.
 *
 * @module
 */
import type { DistanceLoss } from "../core/types.ts";
import type { LossPlugin } from "../core/registry.ts";
import {
  boolOption,
  checkOptions,
  classesOption,
  need,
  type Reduction,
  reductionOption,
  selectClasses,
} from "./_options.ts";

/**
 * Options of the boundary loss `mean over (n, c ∈ classes, voxels) of p·phi`, with `phi` the
 * signed distance map of class c in sample n. It is linear in p, unbounded and may be
 * negative. Default classes: all but the background (class 0), which is the official code's
 * `idc=[1]` for two classes.
 *
 * @example Basic usage
 * ```ts
 * import type { BoundaryOptions } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const o: BoundaryOptions = { classes: [1] };
 * assert.deepEqual(o.classes, [1]);
 * ```
 */
export interface BoundaryOptions {
  /** Class indices to score (default: all but 0, or all when `includeBackground`). */
  classes?: readonly number[];
  /** Whether class 0 is scored when `classes` is not given (default false). */
  includeBackground?: boolean;
  /** `"mean"` (default: over samples, classes and voxels) or `"sum"`. */
  reduction?: "mean" | "sum";
}

/** The option keys of the `boundary` loss. */
export const BOUNDARY_KEYS: readonly string[] = ["classes", "includeBackground", "reduction"];

/** The parsed options of the `boundary` loss (defaults filled in). */
export interface ParsedBoundaryOptions {
  classes: number[] | undefined;
  includeBackground: boolean;
  reduction: Reduction;
}

/** Reads the `boundary` options (keys already checked), errors in option order. */
export function parseBoundaryOptions(
  o: Record<string, unknown>,
  name: string,
): ParsedBoundaryOptions {
  return {
    classes: classesOption(o, name),
    includeBackground: boolOption(o, "includeBackground", name, false),
    reduction: reductionOption(o, name),
  };
}

function createBoundary(options: BoundaryOptions | Record<string, unknown> = {}): DistanceLoss {
  const name = "boundary options";
  const o = checkOptions(options, BOUNDARY_KEYS, name);
  const { classes, includeBackground, reduction } = parseBoundaryOptions(o, name);
  return {
    name: "boundary",
    kind: "boundary",
    terms: ["pphi"],
    needsDistance: true,
    value(s) {
      const N = s.numSamples, C = s.numClasses;
      const K = selectClasses(classes, includeBackground, C, name);
      const pphi = need(s.sums, "pphi", "boundary");
      let sum = 0;
      for (let n = 0; n < N; n++) for (const c of K) sum += pphi[n * C + c]!;
      return reduction === "sum" ? sum : sum / (N * K.length * s.voxels);
    },
    gradient(s) {
      const N = s.numSamples, C = s.numClasses;
      const K = selectClasses(classes, includeBackground, C, name);
      const scale = reduction === "sum" ? 1 : 1 / (N * K.length * s.voxels);
      const phi = new Float64Array(N * C);
      for (let n = 0; n < N; n++) for (const c of K) phi[n * C + c] = scale;
      return { phi };
    },
  };
}

/**
 * The `boundary` loss plugin: `create(options: BoundaryOptions)`. The scorer computes the
 * signed distance maps it needs with the configured distance transform.
 *
 * @example Basic usage
 * ```ts
 * import { boundaryPlugin } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * assert.equal(boundaryPlugin.create().needsDistance, true);
 * ```
 */
export const boundaryPlugin: LossPlugin<"boundary"> = {
  kind: "loss",
  name: "boundary",
  description: "Boundary loss of Kervadec et al.: mean of p times the signed distance map",
  create: (options) => createBoundary(options),
};
