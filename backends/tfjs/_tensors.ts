/**
 * Shared tensor plumbing of the tfjs losses and backend (internal module): input and target
 * normalization for both layouts, softmax, one-hot targets, and the per-(sample, class) sums.
 *
 * @module
 */
import { SeglossTypeError } from "../../core/errors.ts";
import * as tf from "@tensorflow/tfjs-core";
import { formatShape, isTypedArray, type NdArray } from "../../core/ndarray.ts";

/**
 * Where the class axis is: `"channels-first"` `(N, C, ...spatial)` (PyTorch, the default) or
 * `"channels-last"` `(N, ...spatial, C)` (NHWC, tfjs-layers' default).
 *
 * @example Basic usage
 * ```ts
 * import type { Layout } from "@segloss/segloss/tfjs";
 * import assert from "node:assert/strict";
 *
 * const layout: Layout = "channels-last";
 * assert.equal(layout, "channels-last");
 * ```
 */
export type Layout = "channels-first" | "channels-last";

/**
 * A tensor argument: a `tf.Tensor`, or an {@linkcode NdArray} (uploaded as a constant).
 *
 * @example Basic usage
 * ```ts
 * import type { TensorLike } from "@segloss/segloss/tfjs";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import assert from "node:assert/strict";
 *
 * const a: TensorLike = { data: new Float32Array([1, 2]), shape: [1, 2] };
 * const b: TensorLike = tf.zeros([1, 2]);
 * assert.deepEqual(a.shape, b.shape);
 * b.dispose();
 * ```
 */
export type TensorLike = tf.Tensor | NdArray;

/** Whether `x` is a tfjs tensor (duck-typed: tfjs may be loaded twice). */
export function isTensor(x: unknown): x is tf.Tensor {
  return x instanceof tf.Tensor ||
    (typeof x === "object" && x !== null && "dataId" in x && "shape" in x && "dtype" in x);
}

/** A tensor from a tensor or an NdArray; `owned` tells whether the caller must dispose it. */
export function toTensor(
  x: unknown,
  name: string,
  dtype?: "float32" | "int32",
): { t: tf.Tensor; owned: boolean } {
  if (isTensor(x)) {
    if (dtype && x.dtype !== dtype) return { t: tf.cast(x, dtype), owned: true };
    return { t: x, owned: false };
  }
  if (
    typeof x === "object" && x !== null && isTypedArray((x as NdArray).data) &&
    Array.isArray((x as NdArray).shape)
  ) {
    const a = x as NdArray;
    const size = a.shape.reduce((s, d) => s * d, 1);
    if (size !== a.data.length) {
      throw new SeglossTypeError(
        `Expected ${name}.data to have ${size} elements for shape ${
          formatShape(a.shape)
        } but found ${a.data.length}`,
      );
    }
    const want = dtype ??
      (a.data instanceof Float32Array || a.data instanceof Float64Array ? "float32" : "int32");
    const data = want === "float32"
      ? (a.data instanceof Float32Array ? a.data : Float32Array.from(a.data as ArrayLike<number>))
      : (a.data instanceof Int32Array ? a.data : Int32Array.from(a.data as ArrayLike<number>));
    return { t: tf.tensor(data, [...a.shape], want), owned: true };
  }
  throw new SeglossTypeError(
    `Expected ${name} to be a tf.Tensor or an NdArray ({ data, shape }) but found ${
      x === null ? "null" : typeof x
    }`,
  );
}

/** Input as the losses see it: probabilities (and log-probabilities) in 3-D form. */
export interface Canonical {
  /** Probabilities `(N, C, V)` (channels-first) or `(N, V, C)` (channels-last). */
  p: tf.Tensor;
  /** log p, exact for logits (z − logsumexp z), clamped at 1e-38 for probabilities. */
  logp: () => tf.Tensor;
  /** N, C (after sigmoid expansion), V. */
  n: number;
  c: number;
  vol: number;
  /** Whether a single channel was expanded to two classes. */
  binary: boolean;
  /** The class axis (1 or 2) and the voxel axis (2 or 1) of the 3-D form. */
  classAxis: number;
  voxelAxis: number;
  /** The 3-D shape, and the original input's shape. */
  shape3: [number, number, number];
  inShape: number[];
  layout: Layout;
}

/** `max(x, axis, keepDims)` as a constant for autodiff (its gradient is taken as zero). */
function maxNoGradient(x: tf.Tensor, axis: number): tf.Tensor {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const v = args[0] as tf.Tensor;
    return { value: tf.max(v, axis, true), gradFunc: () => tf.zerosLike(v) };
  });
  return f(x);
}

/** Probability floor before `log` (the CPU backend's `PROB_FLOOR`). */
export const PROB_FLOOR = 1e-38;

/** Checks rank and layout of scores and returns N, C, spatial extents. */
export function scoresGeometry(
  shape: readonly number[],
  layout: Layout,
  name: string,
): { n: number; c: number; spatial: number[] } {
  const r = shape.length;
  if (r < 3 || r > 5) {
    throw new SeglossTypeError(
      `Expected ${name} to have rank 3 to 5 (${
        layout === "channels-first" ? "(N, C, ...spatial)" : "(N, ...spatial, C)"
      }, 1 to 3 spatial axes) but found shape ${formatShape(shape)}`,
    );
  }
  const n = shape[0]!;
  const c = layout === "channels-first" ? shape[1]! : shape[r - 1]!;
  const spatial = layout === "channels-first" ? shape.slice(2) : shape.slice(1, r - 1);
  if (shape.some((d) => d === 0)) {
    throw new SeglossTypeError(
      `Expected ${name} to be non-empty but found shape ${formatShape(shape)}`,
    );
  }
  return { n, c, spatial: [...spatial] };
}

/** A constant of shape `[1, k, 1]` or `[1, 1, k]` along the class axis. */
export function classVector(values: number[], classAxis: number): tf.Tensor {
  const shape = classAxis === 1 ? [1, values.length, 1] : [1, 1, values.length];
  return tf.tensor(values, shape, "float32");
}

/**
 * Normalizes scores into {@linkcode Canonical} form: reshaped to 3-D, softmax over the class
 * axis for logits, a single sigmoid channel expanded to `[1 − p, p]` (probabilities) or
 * `[0, z]` (logits: the softmax of the two is the sigmoid of z). Differentiable.
 */
export function canonicalInput(
  input: tf.Tensor,
  kind: "logits" | "probs",
  layout: Layout,
  name = "input",
): Canonical {
  const { n, c: cIn, spatial } = scoresGeometry(input.shape, layout, name);
  const vol = spatial.reduce((a, b) => a * b, 1);
  const classAxis = layout === "channels-first" ? 1 : 2;
  const voxelAxis = 3 - classAxis;
  let x = tf.reshape(
    input.dtype === "float32" ? input : tf.cast(input, "float32"),
    classAxis === 1 ? [n, cIn, vol] : [n, vol, cIn],
  );
  const binary = cIn === 1;
  const c = binary ? 2 : cIn;
  let p: tf.Tensor;
  let logp: () => tf.Tensor;
  if (kind === "logits") {
    if (binary) x = tf.mul(x, classVector([0, 1], classAxis));
    const z = x;
    // log-sum-exp with the max shift held constant: the shift cancels in the value, and its
    // gradient (an Equal and a broadcasting multiply, ~0.3 s on 16×8×64×64 on tfjs cpu) is
    // exactly zero, so it is not taken
    const m = maxNoGradient(z, classAxis);
    const lse = tf.add(m, tf.log(tf.sum(tf.exp(tf.sub(z, m)), classAxis, true)));
    const lp = tf.sub(z, lse);
    p = tf.exp(lp);
    logp = () => lp;
  } else {
    if (binary) {
      x = tf.add(classVector([1, 0], classAxis), tf.mul(x, classVector([-1, 1], classAxis)));
    }
    p = x;
    let lp: tf.Tensor | undefined;
    logp = () => (lp ??= tf.log(tf.maximum(p, PROB_FLOOR)));
  }
  const shape3: [number, number, number] = classAxis === 1 ? [n, c, vol] : [n, vol, c];
  return {
    p,
    logp,
    n,
    c,
    vol,
    binary,
    classAxis,
    voxelAxis,
    shape3,
    inShape: [...input.shape],
    layout,
  };
}

/**
 * The target as a float32 tensor in the canonical 3-D form of `ci`: labels `(N, ...spatial)`
 * (int) become one-hot (labels equal to `ignoreIndex` or outside `[0, C)` give t = 0 for
 * every class), a one-hot / soft target of the input's shape is reshaped (a single channel
 * expanded to `[1 − t, t]`). Constant (no gradient).
 */
export function canonicalTarget(
  target: unknown,
  ci: Canonical,
  ignoreIndex: number | undefined,
  name = "target",
): tf.Tensor {
  return tf.tidy(() => {
    const { t: raw } = toTensor(target, name);
    const r = ci.inShape.length;
    const spatial = ci.layout === "channels-first" ? ci.inShape.slice(2) : ci.inShape.slice(1, -1);
    const labelsShape = [ci.n, ...spatial];
    if (raw.rank === r - 1) {
      raw.shape.forEach((d, i) => {
        if (d !== labelsShape[i]) {
          throw new SeglossTypeError(
            `Expected ${name} labels to have shape ${formatShape(labelsShape)} but found ${
              formatShape(raw.shape)
            }`,
          );
        }
      });
      let labels = tf.reshape(raw.dtype === "int32" ? raw : tf.cast(raw, "int32"), [ci.n * ci.vol]);
      if (ignoreIndex !== undefined && ignoreIndex >= 0 && ignoreIndex < ci.c) {
        labels = tf.where(
          tf.equal(labels, ignoreIndex),
          tf.fill(labels.shape, -1, "int32"),
          labels,
        );
      }
      const oh = tf.reshape(tf.oneHot(labels, ci.c, 1, 0, "float32"), [ci.n, ci.vol, ci.c]);
      return ci.classAxis === 1 ? tf.transpose(oh, [0, 2, 1]) : oh;
    }
    if (raw.rank === r) {
      raw.shape.forEach((d, i) => {
        if (d !== ci.inShape[i]) {
          throw new SeglossTypeError(
            `Expected ${name} one-hot to have the input's shape ${
              formatShape(ci.inShape)
            } but found ${formatShape(raw.shape)}`,
          );
        }
      });
      const cIn = ci.binary ? 1 : ci.c;
      let t = tf.reshape(
        raw.dtype === "float32" ? raw : tf.cast(raw, "float32"),
        ci.classAxis === 1 ? [ci.n, cIn, ci.vol] : [ci.n, ci.vol, cIn],
      );
      if (ci.binary) {
        t = tf.add(
          classVector([1, 0], ci.classAxis),
          tf.mul(t, classVector([-1, 1], ci.classAxis)),
        );
      }
      return t;
    }
    throw new SeglossTypeError(
      `Expected ${name} to have shape ${formatShape(labelsShape)} (labels) or ${
        formatShape(ci.inShape)
      } (one-hot) but found ${formatShape(raw.shape)}`,
    );
  });
}

/**
 * Signed distance maps as a float32 tensor in the canonical 3-D form of `ci`; they must have
 * the input's shape (a single-channel input takes single-channel maps of the foreground, the
 * background map being its negation is NOT assumed: pass two channels to score class 0).
 */
export function canonicalDistance(distance: unknown, ci: Canonical, name = "distance"): tf.Tensor {
  return tf.tidy(() => {
    const { t: raw } = toTensor(distance, name, "float32");
    const cIn = ci.binary ? 1 : ci.c;
    const ok = raw.rank === ci.inShape.length && raw.shape.every((d, i) => d === ci.inShape[i]);
    const ok2 = ci.binary && raw.rank === ci.inShape.length &&
      raw.shape.every((d, i) =>
        (ci.layout === "channels-first" ? i === 1 : i === ci.inShape.length - 1)
          ? d === 2
          : d === ci.inShape[i]
      );
    if (!ok && !ok2) {
      throw new SeglossTypeError(
        `Expected ${name} to have the input's shape ${formatShape(ci.inShape)} but found ${
          formatShape(raw.shape)
        }`,
      );
    }
    const c = ok2 ? 2 : cIn;
    let d = tf.reshape(raw, ci.classAxis === 1 ? [ci.n, c, ci.vol] : [ci.n, ci.vol, c]);
    if (ci.binary && !ok2) d = tf.mul(d, classVector([0, 1], ci.classAxis));
    return d;
  });
}

/** Per-(sample, class) sum over voxels: `(N, C)`. */
export function voxelSum(x: tf.Tensor, ci: Canonical): tf.Tensor {
  return tf.sum(x, ci.voxelAxis);
}
