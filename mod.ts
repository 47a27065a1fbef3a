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
export {
  LimitError,
  type SeglossErrorOptions,
  SeglossRangeError,
  SeglossTypeError,
  UnavailableError,
} from "./core/errors.ts";
export {
  type FloatArray,
  MAX_CLASSES,
  MAX_ELEMENTS,
  type NdArray,
  type TypedArray,
} from "./core/ndarray.ts";
export {
  type Backend,
  type BackendBatch,
  type BackendInfo,
  type DeviceSignedRequest,
  type DistanceLoss,
  type DistanceTransform,
  type EdtOptions,
  type GradientCoefficients,
  type LossFunction,
  type PreparedBatch,
  type RegionLoss,
  type SignedDistanceConvention,
  type Statistics,
  type StatTerm,
} from "./core/types.ts";
export {
  type BackendPlugin,
  createRegistry,
  type DistancePlugin,
  type LossPlugin,
  type Plugin,
  type PluginKind,
  type PluginNames,
  type PluginOfKind,
  type Registry,
} from "./core/registry.ts";
export {
  createEdtWorkerPool,
  edt,
  edtParallel,
  type EdtParallelOptions,
  type EdtPoolOptions,
  edtTransform,
  type EdtTransformOptions,
  type EdtWorkerPool,
  type EdtWorkerPoolOptions,
} from "./transforms/edt.ts";
export { type EdtIndicesOptions, type EdtWithIndices } from "./transforms/edt_indices.ts";
export {
  edtPlugin,
  signedDistance,
  type SignedDistanceOptions,
} from "./transforms/signed_distance.ts";
export { softmax } from "./loss/softmax.ts";
export { type DiceOptions, dicePlugin } from "./loss/dice.ts";
export { type GeneralizedDiceOptions, generalizedDicePlugin } from "./loss/generalized_dice.ts";
export { type CrossEntropyOptions, crossEntropyPlugin } from "./loss/cross_entropy.ts";
export { type BoundaryOptions, boundaryPlugin } from "./loss/boundary.ts";
export { type Schedule, type ScheduleWeights, scheduleWeights } from "./loss/schedule.ts";
export { type LossSpec } from "./loss/spec.ts";
export {
  createScorer,
  type EvaluateRequest,
  type EvaluateResult,
  type Scorer,
  type ScorerConfig,
  type ScorerInfo,
  type ScorerOptions,
} from "./scorer/scorer.ts";
export { type Capabilities, capabilities } from "./backends/capabilities.ts";
export { type CpuBackendOptions, cpuPlugin, createCpuBackend } from "./backends/cpu/backend.ts";
export {
  boundaryLoss,
  crossEntropyLoss,
  diceLoss,
  generalizedDiceLoss,
} from "./backends/cpu/functional.ts";
export {
  createWebgpuBackend,
  getDefaultWebgpuDevice,
  isWebgpuAvailable,
  requestWebgpuDevice,
  type WebgpuBackend,
  type WebgpuBackendOptions,
  webgpuPlugin,
} from "./backends/webgpu/mod.ts";
export {
  type JfaOptions,
  jfaPlugin,
  type JfaRefinement,
  type JfaSignedOptions,
  type JfaTransform,
  jfaTransform,
} from "./transforms/jfa.ts";
export {
  type EdtGpuKernel,
  type EdtGpuOptions,
  edtGpuPlugin,
  type EdtGpuSignedOptions,
  type EdtGpuTransform,
  edtGpuTransform,
} from "./transforms/edt_gpu.ts";
export { builtinPlugins, defaultRegistry } from "./plugins/builtin.ts";
export {
  averageSurfaceDistance,
  computeMetrics,
  computeMetricsAsync,
  type ComputeMetricsAsyncOptions,
  type ComputeMetricsOptions,
  type Convention,
  dice,
  type EmptyPolicy,
  type EmptyValue,
  hausdorff,
  type HausdorffOptions,
  iou,
  METRIC_NAMES,
  type MetricName,
  type MetricOptions,
  type MetricResult,
  type MetricsReport,
  type OverlapMetric,
  precision,
  recall,
  relativeVolumeDifference,
  specificity,
  surfaceDice,
  type SurfaceDiceOptions,
  type SurfaceDistanceOptions,
  type SurfaceOptions,
  surfaceVoxels,
  volumeSimilarity,
} from "./metrics/mod.ts";
