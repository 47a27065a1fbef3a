/**
 * The boundary loss (with dice) in tfjs-layers' `model.fitDataset`: a tiny per-pixel model trained
 * for a few epochs on synthetic 8×8 images with one small square object each, its signed
 * distance maps carried in `yTrue` (see `packTargetsTf` / `createTfjsKerasLoss`).
 *
 * Used by `examples/fit_node.ts` (Node 20, bundled with esbuild) and by
 * `tests/tfjs_training_test.ts` (Deno, Bun). Only tfjs-core, tfjs-backend-cpu and tfjs-layers
 * are needed: the model's kernels (Reshape, BatchMatMul via the Dense layer, Add) have
 * gradients once segloss's tfjs module is imported; a convolutional model needs
 * `@tensorflow/tfjs` (which registers every gradient) instead of tfjs-core alone.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
// a named import: bundlers drop a bare `import "@tensorflow/tfjs-backend-cpu"` (its package.json
// "sideEffects" list does not name its Node entry), and then no "cpu" backend is registered
import { version_cpu } from "@tensorflow/tfjs-backend-cpu";
import * as tfl from "@tensorflow/tfjs-layers";
import { createTfjsKerasLoss, fitDatasetTf, packTargetsTf } from "../backends/tfjs/mod.ts";
import { boundaryLoss, diceLoss, signedDistance, softmax } from "../mod.ts";
import { mulberry32 } from "./_rng.ts";

/** What {@linkcode runFitDemo} measured. */
export interface FitDemoResult {
  /** `history.loss` of `model.fitDataset`, one value per epoch. */
  history: number[];
  /** `model.evaluateDataset` after training (one batch: the whole set). */
  evaluate: number;
  /**
   * The same total from segloss's functional CPU losses (float64) on `model.predict(x)`:
   * `w_R · diceLoss + alpha · boundaryLoss` with the schedule's weights at the last epoch.
   */
  functional: number;
  /** The schedule's epoch the loss saw last (set by `loss.callbacks`). */
  epoch: number;
  /** The tfjs backend that ran, with the tfjs-backend-cpu version. */
  backend: string;
}

/**
 * Trains a Dense(2) per-pixel model with `model.fitDataset` on `n` synthetic 8×8 images (a 2×2 to
 * 3×3 bright square in noise) with dice + boundary loss under the paper's
 * rebalance schedule, and compares the trained loss with the functional CPU losses.
 *
 * @param epochs Epochs of `model.fit` (default 6).
 * @param n Images (default 4; one batch).
 * @returns The loss history and the two final values.
 */
export async function runFitDemo(epochs = 6, n = 4): Promise<FitDemoResult> {
  await tf.setBackend("cpu");
  const H = 8, W = 8, C = 2;
  const r = mulberry32(7);
  const images = new Float32Array(n * H * W);
  const labels = new Int32Array(n * H * W);
  for (let k = 0; k < n; k++) {
    const s = 2 + Math.floor(r() * 2), y0 = 1 + Math.floor(r() * 4), x0 = 1 + Math.floor(r() * 4);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const inside = y >= y0 && y < y0 + s && x >= x0 && x < x0 + s;
        const i = (k * H + y) * W + x;
        labels[i] = inside ? 1 : 0;
        images[i] = (inside ? 1 : 0) + 0.3 * (r() - 0.5);
      }
    }
  }
  const x = tf.tensor4d(images, [n, H, W, 1]);
  const labelsT = tf.tensor3d(labels, [n, H, W], "int32");
  // yTrue: one-hot (2 channels) + signed distance maps (2 channels), channels-last
  const yTrue = await packTargetsTf(labelsT, { numClasses: C });
  const schedule = { kind: "rebalance" as const };
  const loss = createTfjsKerasLoss({
    numClasses: C,
    losses: [{ name: "dice" }, { name: "boundary" }],
    schedule,
  });
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({
        inputShape: [H, W, 1],
        units: C,
        kernelInitializer: tfl.initializers.randomNormal({ mean: 0, stddev: 0.1, seed: 1 }),
      }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.1), loss });
  // fitDataset: model.fit would insist that yTrue has the output's 2 channels
  const dataset = fitDatasetTf(x, yTrue, { batchSize: n });
  const h = await model.fitDataset(dataset, { epochs, verbose: 0, callbacks: loss.callbacks });
  const history = (h.history.loss as number[]).map(Number);
  const ev = await model.evaluateDataset(dataset as never, {}) as tf.Scalar;
  const evaluate = (await ev.data())[0]!;
  // the functional CPU losses on the trained model's logits (float64, channels-first)
  const pred = model.predict(x) as tf.Tensor;
  const logitsCF = tf.transpose(pred, [0, 3, 1, 2]);
  const probs = softmax({ data: Float64Array.from(await logitsCF.data()), shape: [n, C, H, W] });
  const target = { data: labels, shape: [n, H, W] };
  const maps = await signedDistance(target, { numClasses: C });
  const epoch = loss.epoch;
  const w = loss.loss.weights(epoch);
  const functional = w.dice! * diceLoss(probs, target) + w.boundary! * boundaryLoss(probs, maps);
  tf.dispose([x, labelsT, yTrue, ev, pred, logitsCF]);
  model.layers.forEach((l) => l.dispose());
  return { history, evaluate, functional, epoch, backend: `${tf.getBackend()} ${version_cpu}` };
}
