/**
 * segloss: segmentation losses for highly unbalanced data, built around the boundary loss of
 * Kervadec et al. ("Boundary loss for highly unbalanced segmentation", arXiv 1812.07032).
 *
 * - {@linkcode edt}: exact Euclidean distance transform (scipy's semantics, per-axis spacing,
 *   batched); {@linkcode signedDistance}: signed distance maps per sample and class.
 * - {@linkcode diceLoss}, {@linkcode generalizedDiceLoss}, {@linkcode crossEntropyLoss},
 *   {@linkcode boundaryLoss}, {@linkcode softmax}: functional CPU losses.
 * - {@linkcode createScorer}: a configured, weighted, scheduled combination of losses on a
 *   backend, with gradients; {@linkcode createRegistry} to add your own plugins.
 *
 * @example Boundary loss with dice on logits
 * ```ts
 * import { createScorer } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const scorer = await createScorer({
 *   input: "logits",
 *   losses: [{ name: "dice" }, { name: "boundary", weight: 0.01 }],
 * });
 * const { total, terms, gradient } = await scorer.evaluate({
 *   input: { data: new Float32Array([2, -1, 0.5, 1, -2, 1, 0, 0]), shape: [1, 2, 2, 2] },
 *   target: { data: new Uint8Array([0, 1, 1, 0]), shape: [1, 2, 2] },
 *   gradient: true,
 * });
 * assert.ok(Math.abs(total - (terms.dice! + 0.01 * terms.boundary!)) < 1e-9);
 * assert.equal(gradient!.data.length, 8);
 * scorer.dispose();
 * ```
 *
 * @module
 */
export * from "./core/errors.ts";
export * from "./core/ndarray.ts";
export * from "./core/types.ts";
export * from "./core/registry.ts";
export * from "./transforms/edt.ts";
export * from "./transforms/signed_distance.ts";
export * from "./loss/softmax.ts";
export * from "./loss/dice.ts";
export * from "./loss/generalized_dice.ts";
export * from "./loss/cross_entropy.ts";
export * from "./loss/boundary.ts";
export * from "./loss/schedule.ts";
export * from "./loss/spec.ts";
export * from "./scorer/scorer.ts";
export * from "./backends/capabilities.ts";
export * from "./backends/cpu/backend.ts";
export * from "./backends/cpu/functional.ts";
export * from "./backends/webgpu/mod.ts";
export * from "./transforms/jfa.ts";
export * from "./plugins/builtin.ts";
export * from "./metrics/mod.ts";
