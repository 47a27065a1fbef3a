/**
 * Gradient configurations for the tfjs kernels the segloss losses use.
 *
 * `@tensorflow/tfjs-core` alone has no kernel gradients until
 * `@tensorflow/tfjs-core/dist/register_all_gradients` is imported, and that file (plain ESM
 * with extension-less relative imports) does not load under Deno. So segloss carries its own
 * gradient configs for the few kernels its losses run, written with the same math as tfjs's
 * own, and registers them **only for kernels that have no gradient yet** (never replacing a
 * user's or tfjs's). `@segloss/segloss/tfjs` does so when it is imported: tfjs records a
 * kernel's gradient function when the kernel runs, so the gradients must exist before the
 * network's forward pass, not only before the loss (a lazy registration at the first loss
 * call left the first step's network ops without gradients). tfjs's gradient registry is
 * global by nature: what gets registered is listed in {@linkcode LOSS_GRADIENT_KERNELS}.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

type Saved = tf.Tensor[];
type Attrs = tf.NamedAttrMap;

/** Sums `g` over the axes that broadcasting added to reach `outShape`, back to `shape`. */
function unbroadcast(g: tf.Tensor, shape: number[]): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, g.shape);
  const r = axes.length > 0 ? tf.sum(g, axes) : g;
  return tf.reshape(r, shape);
}

function f32(x: tf.Tensor): tf.Tensor {
  return x.dtype === "float32" ? x : tf.cast(x, "float32");
}

function expandDy(dy: tf.Tensor, xShape: number[], axes: number[]): tf.Tensor {
  const shape = xShape.slice();
  for (const a of axes) shape[a] = 1;
  return tf.reshape(dy, shape);
}

type Fn = (
  dy: tf.Tensor,
  saved: Saved,
  attrs: Attrs,
) => Record<string, () => tf.Tensor>;

interface Config {
  kernelName: string;
  inputsToSave?: string[];
  outputsToSave?: boolean[];
  gradFunc: Fn;
}

function toGradConfig(c: Config): tf.GradConfig {
  return {
    ...c,
    gradFunc: (dy, saved, attrs) => c.gradFunc(dy as tf.Tensor, saved, attrs),
  };
}

const CONFIGS: tf.GradConfig[] = ([
  {
    kernelName: "Add",
    inputsToSave: ["a", "b"],
    gradFunc: (dy: tf.Tensor, [a, b]: Saved) => ({
      a: () => unbroadcast(dy, a!.shape),
      b: () => unbroadcast(dy, b!.shape),
    }),
  },
  {
    kernelName: "Sub",
    inputsToSave: ["a", "b"],
    gradFunc: (dy: tf.Tensor, [a, b]: Saved) => ({
      a: () => unbroadcast(dy, a!.shape),
      b: () => tf.neg(unbroadcast(dy, b!.shape)),
    }),
  },
  {
    kernelName: "Multiply",
    inputsToSave: ["a", "b"],
    gradFunc: (dy: tf.Tensor, [a, b]: Saved) => ({
      a: () => unbroadcast(tf.mul(dy, f32(b!)), a!.shape),
      b: () => unbroadcast(tf.mul(dy, f32(a!)), b!.shape),
    }),
  },
  {
    kernelName: "RealDiv",
    inputsToSave: ["a", "b"],
    gradFunc: (dy: tf.Tensor, [a, b]: Saved) => ({
      a: () => unbroadcast(tf.div(dy, f32(b!)), a!.shape),
      b: () => tf.neg(tf.div(unbroadcast(tf.mul(dy, f32(a!)), b!.shape), tf.square(f32(b!)))),
    }),
  },
  {
    kernelName: "Neg",
    gradFunc: (dy: tf.Tensor) => ({ x: () => tf.neg(dy) }),
  },
  {
    kernelName: "Square",
    inputsToSave: ["x"],
    gradFunc: (dy: tf.Tensor, [x]: Saved) => ({
      x: () => tf.mul(dy, tf.mul(f32(x!), 2)),
    }),
  },
  {
    kernelName: "Exp",
    outputsToSave: [true],
    gradFunc: (dy: tf.Tensor, [y]: Saved) => ({ x: () => tf.mul(dy, y!) }),
  },
  {
    kernelName: "Log",
    inputsToSave: ["x"],
    gradFunc: (dy: tf.Tensor, [x]: Saved) => ({ x: () => tf.div(dy, f32(x!)) }),
  },
  {
    kernelName: "Sigmoid",
    outputsToSave: [true],
    gradFunc: (dy: tf.Tensor, [y]: Saved) => ({
      x: () => tf.mul(dy, tf.mul(y!, tf.sub(1, y!))),
    }),
  },
  {
    kernelName: "Maximum",
    inputsToSave: ["a", "b"],
    gradFunc: (dy: tf.Tensor, [a, b]: Saved) => ({
      a: () => unbroadcast(tf.mul(dy, tf.cast(tf.greaterEqual(a!, b!), "float32")), a!.shape),
      b: () => unbroadcast(tf.mul(dy, tf.cast(tf.less(a!, b!), "float32")), b!.shape),
    }),
  },
  {
    kernelName: "Sum",
    inputsToSave: ["x"],
    gradFunc: (dy: tf.Tensor, [x]: Saved, attrs: Attrs) => {
      const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x!.shape);
      // broadcastTo, not tfjs's mul by ones: a broadcasting multiply is ~2x slower on tfjs cpu
      return { x: () => tf.broadcastTo(expandDy(dy, x!.shape, axes), x!.shape) };
    },
  },
  {
    kernelName: "Max",
    inputsToSave: ["x"],
    outputsToSave: [true],
    gradFunc: (dy: tf.Tensor, [x, y]: Saved, attrs: Attrs) => {
      const axes = tf.util.parseAxisParam(attrs.reductionIndices as number | number[], x!.shape);
      return {
        x: () => {
          const ye = expandDy(y!, x!.shape, axes);
          return tf.mul(expandDy(dy, x!.shape, axes), tf.cast(tf.equal(x!, ye), "float32"));
        },
      };
    },
  },
  {
    kernelName: "Reshape",
    inputsToSave: ["x"],
    gradFunc: (dy: tf.Tensor, [x]: Saved) => ({ x: () => tf.reshape(dy, x!.shape) }),
  },
  {
    kernelName: "Cast",
    inputsToSave: ["x"],
    gradFunc: (dy: tf.Tensor, [x]: Saved) => ({ x: () => tf.cast(dy, x!.dtype) }),
  },
  {
    kernelName: "Identity",
    gradFunc: (dy: tf.Tensor) => ({ x: () => tf.cast(dy, "float32") }),
  },
] as Config[]).map(toGradConfig);

/**
 * The tfjs kernels whose gradients segloss's tfjs losses need, in the order
 * {@linkcode registerLossGradients} considers them.
 *
 * @example Basic usage
 * ```ts
 * import { LOSS_GRADIENT_KERNELS } from "@segloss/segloss/tfjs";
 * import assert from "node:assert/strict";
 *
 * assert.ok(LOSS_GRADIENT_KERNELS.includes("Multiply"));
 * ```
 */
export const LOSS_GRADIENT_KERNELS: readonly string[] = CONFIGS.map((c) => c.kernelName);

let done = false;

/**
 * Registers, in tfjs's global gradient registry, a gradient for each kernel of
 * {@linkcode LOSS_GRADIENT_KERNELS} that has none yet; kernels that already have one (from
 * `@tensorflow/tfjs`, `register_all_gradients` or your own) are left alone. Idempotent.
 * `@segloss/segloss/tfjs` calls it when imported; call it again after unregistering gradients.
 *
 * @returns The kernel names this call registered (empty when all had a gradient).
 *
 * @example Basic usage
 * ```ts
 * import { registerLossGradients } from "@segloss/segloss/tfjs";
 * import * as tf from "@tensorflow/tfjs-core";
 * import assert from "node:assert/strict";
 *
 * registerLossGradients();
 * assert.ok(tf.getGradient("Multiply") !== undefined);
 * assert.deepEqual(registerLossGradients(), []);
 * ```
 */
export function registerLossGradients(): string[] {
  const added: string[] = [];
  for (const config of CONFIGS) {
    if (tf.getGradient(config.kernelName) == null) {
      tf.registerGradient(config);
      added.push(config.kernelName);
    }
  }
  done = true;
  return added;
}

/** Calls {@linkcode registerLossGradients} once per process (internal, cheap on later calls). */
export function ensureLossGradients(): void {
  if (!done) registerLossGradients();
}
