/**
 * The configuration of a combination of losses, shared by every backend: `createScorer`
 * (cpu, webgpu, any registered backend) and the tfjs `createTfjsLoss` read it the same way.
 *
 * @module
 */

/**
 * One configured loss: a registry name, a weight (default 1) and the plugin's options.
 *
 * @example Basic usage
 * ```ts
 * import type { LossSpec } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const spec: LossSpec = { name: "dice", options: { includeBackground: false } };
 * assert.equal(spec.name, "dice");
 * ```
 */
export interface LossSpec {
  /** The loss plugin's name (`dice`, `generalized-dice`, `cross-entropy`, `boundary`, ...). */
  name: string;
  /** Multiplies the loss (default 1), on top of the schedule's factor. */
  weight?: number;
  /** Passed to the plugin's `create`. */
  options?: Record<string, unknown>;
}
