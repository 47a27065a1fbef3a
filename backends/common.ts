/**
 * Internal helpers shared by the `cpu`, `webgpu` and `tfjs` backends: batch validation and the
 * labels the signed distance maps are computed from. Not exported from `mod.ts`.
 *
 * @module
 */
import { quote, SeglossRangeError, SeglossTypeError } from "../core/errors.ts";
import { type FloatArray, formatShape, sizeOf } from "../core/ndarray.ts";
import type { BackendBatch } from "../core/types.ts";

/** The dimensions of a checked batch: N, C, voxels per sample, and the spatial shape. */
export interface BatchDims {
  /** N. */
  n: number;
  /** C. */
  c: number;
  /** Voxels per sample. */
  vol: number;
  /** The spatial shape (`input.shape.slice(2)`). */
  spatial: number[];
}

/**
 * Throws unless `batch` is an object whose `input` is an NdArray over float32/float64 (of rank
 * 3 or more when `rank3`); `message` is the TypeError's for the input.
 */
function checkBatchObject(batch: BackendBatch, message: string, rank3: boolean): void {
  if (typeof batch !== "object" || batch === null) {
    throw new SeglossTypeError(`Expected batch to be an object but found ${typeof batch}`);
  }
  const { input } = batch;
  if (
    !input || !(input.data instanceof Float32Array || input.data instanceof Float64Array) ||
    !Array.isArray(input.shape) || (rank3 && input.shape.length < 3)
  ) {
    throw new SeglossTypeError(message);
  }
}

/**
 * Checks `batch.inputKind` and the target (`labels` xor `onehot`, of the sizes N·V and N·C·V).
 *
 * @param batch The batch.
 * @param n N.
 * @param c C.
 * @param vol Voxels per sample.
 */
function checkKindAndTarget(batch: BackendBatch, n: number, c: number, vol: number): void {
  if (batch.inputKind !== "logits" && batch.inputKind !== "probs") {
    throw new SeglossRangeError(
      `Expected batch.inputKind to be "logits" or "probs" but found ${quote(batch.inputKind)}`,
    );
  }
  if (batch.labels && batch.onehot) {
    throw new SeglossTypeError("Expected batch.labels or batch.onehot, not both");
  }
  if (batch.labels && batch.labels.length !== n * vol) {
    throw new SeglossTypeError(
      `Expected batch.labels to have ${n * vol} elements but found ${batch.labels.length}`,
    );
  }
  if (batch.onehot && batch.onehot.length !== n * c * vol) {
    throw new SeglossTypeError(
      `Expected batch.onehot to have ${n * c * vol} elements but found ${batch.onehot.length}`,
    );
  }
}

/**
 * Validates a backend batch as the `cpu` and `webgpu` backends do (errors name the field,
 * expected and actual).
 *
 * @param batch The batch.
 * @param rejectEmpty Whether an input with no elements is an error.
 * @returns The batch's dimensions.
 */
export function checkBackendBatch(batch: BackendBatch, rejectEmpty: boolean): BatchDims {
  checkBatchObject(
    batch,
    "Expected batch.input to be an NdArray over a Float32Array or Float64Array",
    false,
  );
  const { input, numClasses: C } = batch;
  const shape = input.shape;
  if (
    shape.length < 3 || sizeOf(shape) !== input.data.length ||
    (rejectEmpty && sizeOf(shape) === 0)
  ) {
    throw new SeglossTypeError(
      `Expected batch.input to have shape (N, C, ...spatial) matching its ${input.data.length} elements but found ${
        formatShape(shape)
      }`,
    );
  }
  if (shape[1] !== C) {
    throw new SeglossRangeError(
      `Expected batch.numClasses to equal batch.input.shape[1] (${shape[1]}) but found ${C}`,
    );
  }
  const n = shape[0]!, spatial = shape.slice(2), vol = sizeOf(spatial);
  checkKindAndTarget(batch, n, C, vol);
  if (batch.distance && batch.distance.data.length !== n * C * vol) {
    throw new SeglossTypeError(
      `Expected batch.distance to have shape ${formatShape(shape)} but found ${
        formatShape(batch.distance.shape)
      }`,
    );
  }
  return { n, c: C, vol, spatial };
}

/**
 * Validates a backend batch as the `tfjs` backend does (its own wording for the input and the
 * distance maps; the same checks of the input kind and the target).
 *
 * @param batch The batch.
 * @returns N, C and the voxels per sample.
 */
export function checkTfjsBackendBatch(batch: BackendBatch): { n: number; c: number; vol: number } {
  checkBatchObject(
    batch,
    "Expected batch.input to be an NdArray (N, C, ...spatial) over a Float32Array or Float64Array",
    true,
  );
  const { input, numClasses: c } = batch;
  const n = input.shape[0]!;
  const vol = input.shape.slice(2).reduce((a, b) => a * b, 1);
  if (n * c * vol !== input.data.length || input.shape[1] !== c) {
    throw new SeglossTypeError(
      `Expected batch.input (${input.data.length} elements, shape [${
        input.shape.join(", ")
      }]) to match numClasses ${c}`,
    );
  }
  checkKindAndTarget(batch, n, c, vol);
  if (batch.distance && batch.distance.data.length !== n * c * vol) {
    throw new SeglossTypeError(
      `Expected batch.distance to have ${
        n * c * vol
      } elements but found ${batch.distance.data.length}`,
    );
  }
  return { n, c, vol };
}

/** The target fields {@linkcode distanceLabels} reads. */
export interface DistanceTarget {
  /** Labels `(N, V)`. */
  labels?: Int32Array;
  /** One-hot / soft target `(N, C, V)`. */
  onehot?: FloatArray;
  /** Label of the ignored voxels. */
  ignoreIndex?: number;
}

/**
 * Labels for the distance maps: ignored voxels (and labels outside `[0, C)`) count as class 0,
 * a one-hot target is argmax'ed (the first maximum wins).
 *
 * @param target `labels` or, when absent, `onehot` (one of them must be set).
 * @param n N.
 * @param c C.
 * @param vol Voxels per sample.
 * @returns Labels `(N, V)`.
 */
export function distanceLabels(
  target: DistanceTarget,
  n: number,
  c: number,
  vol: number,
): Int32Array {
  const out = new Int32Array(n * vol);
  if (target.labels) {
    const L = target.labels, ig = target.ignoreIndex;
    for (let i = 0; i < out.length; i++) {
      const l = L[i]!;
      out[i] = l >= 0 && l < c && l !== ig ? l : 0;
    }
    return out;
  }
  const oh = target.onehot!;
  for (let s = 0; s < n; s++) {
    for (let v = 0; v < vol; v++) {
      let best = 0, bv = oh[s * c * vol + v]!;
      for (let k = 1; k < c; k++) {
        const x = oh[(s * c + k) * vol + v]!;
        if (x > bv) {
          bv = x;
          best = k;
        }
      }
      out[s * vol + v] = best;
    }
  }
  return out;
}

/**
 * The error of a distance term that has no maps to compute from, or `undefined` when the batch
 * has a distance request and a target.
 *
 * @param batch The batch.
 * @returns The TypeError to reject with, or `undefined`.
 */
export function missingDistanceError(batch: BackendBatch): TypeError | undefined {
  if (!batch.distanceRequest) {
    return new SeglossTypeError(
      "Expected batch.distance or batch.distanceRequest for a distance term but found neither",
    );
  }
  if (!batch.labels && !batch.onehot) {
    return new SeglossTypeError(
      "Expected a target (labels or one-hot) to compute distance maps from",
    );
  }
  return undefined;
}
