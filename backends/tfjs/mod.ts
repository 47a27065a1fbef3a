/**
 * segloss for TensorFlow.js (`@segloss/segloss/tfjs`): the segloss losses written with
 * tfjs-core ops, for training with `tf.grad` / optimizers, and the `tfjs` backend of
 * `createScorer`. Importing `@segloss/segloss` does not load tfjs; this module does.
 *
 * - {@linkcode diceLossTf}, {@linkcode generalizedDiceLossTf}, {@linkcode crossEntropyLossTf},
 *   {@linkcode boundaryLossTf}: `tf.Tensor` in, differentiable scalar `tf.Tensor` out
 *   (channels-first by default, `layout: "channels-last"` for NHWC models).
 * - {@linkcode createTfjsLoss}: a weighted, scheduled combination (the `createScorer` config)
 *   as one differentiable function, with signed distance maps from any DistanceTransform.
 * - {@linkcode createTfjsKerasLoss} / {@linkcode packTargetsTf} / {@linkcode fitDatasetTf}: the
 *   same combination as a tfjs-layers loss for `model.compile({ loss })` and
 *   `model.fitDataset`, its signed distance maps carried in `yTrue`.
 * - {@linkcode tfjsPlugin} / {@linkcode tfjsRegistry}: `createScorer({ backend: "tfjs" })`.
 * - {@linkcode registerTfjsWebgpu}: tfjs-backend-webgpu on a GPUDevice segloss shares, so the
 *   `jfa` distance maps become tensors without a CPU readback ({@linkcode signedDistanceTfWebgpu}).
 *
 * Global state: tfjs keeps one global engine, backend registry and gradient registry.
 * Importing this module registers gradients for the 15 kernels its losses run
 * ({@linkcode LOSS_GRADIENT_KERNELS}: Add, Sub, Multiply, RealDiv, Sum, Max, Exp, Log, ...)
 * where none is registered yet ({@linkcode registerLossGradients}, never replacing one:
 * `@tensorflow/tfjs` users keep tfjs's own). It registers no backend and no kernel: you choose
 * the tfjs backend (`import "@tensorflow/tfjs-backend-cpu"`, or {@linkcode registerTfjsWebgpu}).
 * Your network's own kernels (Conv2D, Relu, ...) need gradients too: import
 * `@tensorflow/tfjs` (which registers all of them) or register them (see examples/).
 *
 * @example Training step with dice + boundary loss
 * ```ts
 * import { createTfjsLoss } from "@segloss/segloss/tfjs";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import assert from "node:assert/strict";
 *
 * await tf.setBackend("cpu");
 * const loss = createTfjsLoss({
 *   input: "logits",
 *   numClasses: 2,
 *   losses: [{ name: "dice" }, { name: "boundary" }],
 *   schedule: { kind: "rebalance" },
 * });
 * const labels = tf.tensor3d([0, 1, 1, 0], [1, 2, 2], "int32");
 * const distance = await loss.distance(labels);
 * const logits = tf.variable(tf.zeros([1, 2, 2, 2]));
 * const optimizer = tf.train.sgd(0.5);
 * const before = loss.compute(logits, labels, { distance }).arraySync();
 * for (let i = 0; i < 5; i++) {
 *   optimizer.minimize(() => loss.compute(logits, labels, { distance }));
 * }
 * assert.ok(loss.compute(logits, labels, { distance }).arraySync() < before);
 * ```
 *
 * @module
 */
import { registerLossGradients } from "./gradients.ts";
export { LOSS_GRADIENT_KERNELS, registerLossGradients } from "./gradients.ts";
export type { Layout, TensorLike } from "./_tensors.ts";
export {
  boundaryLossTf,
  crossEntropyLossTf,
  diceLossTf,
  generalizedDiceLossTf,
  softmaxTf,
  type TfjsInputOptions,
} from "./losses.ts";
export {
  createTfjsLoss,
  signedDistanceTf,
  type SignedDistanceTfOptions,
  type TfjsLoss,
  type TfjsLossConfig,
  type TfjsLossRequest,
  type TfjsLossTerms,
} from "./combined.ts";
export {
  createTfjsKerasLoss,
  fitDatasetTf,
  packTargetsTf,
  type PackTargetsTfOptions,
  type TfjsKerasLoss,
  type TfjsKerasLossConfig,
} from "./keras.ts";
export { createTfjsBackend, type TfjsBackendOptions, tfjsPlugin } from "./backend.ts";
export { tfjsRegistry } from "../../plugins/tfjs.ts";
export {
  registerTfjsWebgpu,
  signedDistanceTfWebgpu,
  type SignedDistanceTfWebgpuOptions,
  type TfjsWebgpu,
  type TfjsWebgpuOptions,
} from "./webgpu.ts";

// tfjs records a kernel's gradient when the kernel runs: register ours before any forward pass
registerLossGradients();
