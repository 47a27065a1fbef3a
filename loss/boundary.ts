/**
 * The boundary loss of Kervadec et al. (arXiv 1812.07032) over sufficient statistics.
 *
 * @module
 */
import { SeglossTypeError } from "../core/errors.ts";
import { checkFinite, checkNdArray, formatShape, type NdArray } from "../core/ndarray.ts";
import type { DistanceLoss } from "../core/types.ts";
import type { LossPlugin } from "../core/registry.ts";
import {
  BOUNDARY_KEYS,
  checkOptions,
  functionalBatch,
  need,
  parseBoundaryOptions,
  selectClasses,
} from "./common.ts";
import { computeStatistics } from "../backends/cpu/_kernel.ts";

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

/**
 * The boundary loss of probabilities against signed distance maps (see
 * {@linkcode BoundaryOptions}); compute the maps with `signedDistance`. A single sigmoid
 * channel `(N, 1, ...)` is expanded to `[1 − p, p]`; its maps may then be `(N, 1, ...)`
 * (the foreground's) or `(N, 2, ...)`.
 *
 * @param probs Probabilities `(N, C, ...spatial)`, float32 or float64.
 * @param distance Signed distance maps, the same shape as `probs`.
 * @param options See {@linkcode BoundaryOptions}.
 * @returns The loss.
 *
 * @example Basic usage
 * ```ts
 * import { boundaryLoss, signedDistance } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const labels = { data: new Uint8Array([0, 1, 1, 0]), shape: [1, 4] };
 * const phi = await signedDistance(labels, { numClasses: 2 }); // class 1: [1, 0, 0, 1]
 * const probs = { data: new Float32Array([1, 0, 0, 1, 0, 1, 1, 0]), shape: [1, 2, 4] };
 * assert.equal(boundaryLoss(probs, phi), 0); // class 1 predicted exactly
 * ```
 */
export function boundaryLoss(
  probs: NdArray,
  distance: NdArray,
  options: BoundaryOptions = {},
): number {
  const loss = createBoundary(options);
  const { batch, binary } = functionalBatch(probs, undefined, undefined);
  checkNdArray(distance, "distance");
  const want = [...probs.shape];
  const ds = distance.shape;
  const ok = ds.length === want.length &&
    ds.every((d, i) => d === want[i] || (i === 1 && binary && d === 2));
  if (!ok) {
    throw new SeglossTypeError(
      `Expected distance to have shape ${formatShape(want)} (like probs) but found ${
        formatShape(ds)
      }`,
    );
  }
  checkFinite(distance.data as ArrayLike<number>, "distance");
  let d = Float64Array.from(distance.data as ArrayLike<number>);
  if (binary && ds[1] === 1) {
    const vol = batch.vol;
    const full = new Float64Array(2 * batch.n * vol);
    for (let s = 0; s < batch.n; s++) {
      full.set(d.subarray(s * vol, (s + 1) * vol), (2 * s + 1) * vol);
    }
    d = full;
  }
  batch.distance = d;
  return loss.value(computeStatistics(batch, new Set(loss.terms)));
}
