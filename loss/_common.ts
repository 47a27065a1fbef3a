/**
 * Validation of scores and targets shared by the functional losses and the scorer (internal
 * module; the loss options live beside each loss, their readers in `_options.ts`).
 *
 * @module
 */
import { SeglossRangeError, SeglossTypeError } from "../core/errors.ts";
import {
  checkElements,
  checkFinite,
  checkNdArray,
  checkUnitInterval,
  type FloatArray,
  formatShape,
  type NdArray,
  sizeOf,
} from "../core/ndarray.ts";

/** The scores after validation: float data and its shape `(N, C, ...spatial)`. */
export interface CheckedScores {
  data: FloatArray;
  shape: readonly number[];
  n: number;
  c: number;
  spatial: number[];
  vol: number;
}

/**
 * Validates scores `(N, C, ...spatial)` (1 to 3 spatial axes), float32/float64 and finite;
 * with `probs`, every value must lie in `[0, 1]` (within 1e-6, float32
 * rounding). Per-voxel sums over C are not checked: per-channel sigmoid outputs
 * (multi-label) are valid probabilities for the region and boundary losses.
 */
export function checkScores(input: unknown, name: string, probs = false): CheckedScores {
  const arr = checkNdArray(input, name);
  if (!(arr.data instanceof Float32Array) && !(arr.data instanceof Float64Array)) {
    throw new SeglossTypeError(
      `Expected ${name}.data to be a Float32Array or Float64Array but found ${arr.data.constructor.name}`,
    );
  }
  const r = arr.shape.length;
  if (r < 3 || r > 5) {
    throw new SeglossTypeError(
      `Expected ${name} to have shape (N, C, ...spatial) with 1 to 3 spatial axes (rank 3 to 5) but found ${
        formatShape(arr.shape)
      } (rank ${r})`,
    );
  }
  if (probs) checkUnitInterval(arr.data, name, "probabilities");
  else checkFinite(arr.data, name);
  const spatial = arr.shape.slice(2);
  const vol = sizeOf(spatial);
  // a single sigmoid channel is expanded to two classes
  checkElements(arr.shape[0]! * Math.max(2, arr.shape[1]!) * vol, `${name} (N·C·voxels)`);
  return {
    data: arr.data,
    shape: arr.shape,
    n: arr.shape[0]!,
    c: arr.shape[1]!,
    spatial,
    vol,
  };
}

/**
 * The hint added to a target-shape error when the scores look channels-last: `(N,
 * ...spatial, C)` whose spatial part matches the target's.
 */
function channelsLastHint(inShape: readonly number[], ts: readonly number[]): string {
  const r = inShape.length;
  const spatialLast = inShape.slice(1, r - 1);
  const labelsSpatial = ts.length === r - 1 ? ts.slice(1) : ts.length === r ? ts.slice(2) : [];
  const match = ts[0] === inShape[0] && spatialLast.length === labelsSpatial.length &&
    spatialLast.every((x, i) => x === labelsSpatial[i]);
  return match
    ? `; the scores ${
      formatShape(inShape)
    } look channels-last (N, ...spatial, C): segloss wants channels-first (N, C, ...spatial), so transpose them (or pass layout: "channels-last" to the tfjs losses)`
    : "";
}

/**
 * Expands a single sigmoid channel `(N, 1, V)` to two classes: `[1 − p, p]` for
 * probabilities, `[0, z]` for logits (so the softmax over the two equals the sigmoid of z).
 */
export function expandBinary(
  data: FloatArray,
  n: number,
  vol: number,
  logits: boolean,
): FloatArray {
  const out = data instanceof Float64Array
    ? new Float64Array(2 * n * vol)
    : new Float32Array(2 * n * vol);
  for (let s = 0; s < n; s++) {
    const src = s * vol;
    const dst = 2 * s * vol;
    for (let v = 0; v < vol; v++) {
      const x = data[src + v]!;
      out[dst + v] = logits ? 0 : 1 - x;
      out[dst + vol + v] = x;
    }
  }
  return out;
}

/** A validated batch in flat form, as the kernels read it. */
export interface KernelBatch {
  /** Scores `(N, C, V)` flat. */
  input: FloatArray;
  /** N. */
  n: number;
  /** C (after any sigmoid expansion). */
  c: number;
  /** V: voxels per sample. */
  vol: number;
  /** Whether `input` holds logits. */
  logits: boolean;
  /** Labels `(N, V)`; values outside `[0, C)` or equal to `ignoreIndex` give t = 0. */
  labels?: Int32Array;
  /** One-hot / soft target `(N, C, V)`. */
  onehot?: FloatArray;
  /** Label whose voxels get t = 0 for every class. */
  ignoreIndex?: number;
  /** Signed distance maps `(N, C, V)`. */
  distance?: FloatArray;
  /**
   * Logits only: a buffer `(N, C, V)` that `computeStatistics` fills with the probabilities
   * (then `probsReady` is set) so that `computeGradient` needs no second softmax.
   */
  probs?: FloatArray;
  /** Whether `probs` holds the probabilities. */
  probsReady?: boolean;
}

/** A target in kernel form. */
export interface CheckedTarget {
  labels?: Int32Array;
  onehot?: FloatArray;
}

/**
 * Validates a target against scores of shape `inShape` (before any sigmoid expansion):
 * labels `(N, ...spatial)` (integer values in `[0, C)` or `ignoreIndex`) or one-hot
 * `(N, C_in, ...spatial)` (finite). `C` is the number of classes after expansion; a
 * single-channel one-hot target is expanded to `[1 − t, t]`.
 */
export function checkTarget(
  target: unknown,
  inShape: readonly number[],
  C: number,
  ignoreIndex: number | undefined,
  name: string,
  float64: boolean,
): CheckedTarget {
  const arr = checkNdArray(target, name);
  const r = inShape.length;
  const n = inShape[0]!;
  const spatial = inShape.slice(2);
  const vol = sizeOf(spatial);
  const ts = arr.shape;
  const labelsShape = [n, ...spatial];
  if (ts.length === r) {
    const binaryTwo = inShape[1] === 1 && C === 2 && ts[1] === 2; // sigmoid input, 2-channel one-hot
    for (let i = 0; i < r; i++) {
      if (ts[i] !== inShape[i] && !(i === 1 && binaryTwo)) {
        const what = i === 0 ? " (batch size)" : i === 1 ? " (classes)" : " (spatial extent)";
        const msg = `Expected ${name}.shape[${i}]${what} of a one-hot target to be ${
          inShape[i]
        } but found ${ts[i]} (shape ${formatShape(ts)}, expected ${formatShape(inShape)})${
          channelsLastHint(inShape, ts)
        }`;
        throw i === 1 ? new SeglossRangeError(msg) : new SeglossTypeError(msg);
      }
    }
    if (arr.data instanceof BigInt64Array || arr.data instanceof BigUint64Array) {
      throw new SeglossTypeError(
        `Expected ${name}.data of a one-hot target to be a numeric (non-bigint) typed array but found ${arr.data.constructor.name}`,
      );
    }
    // one-hot or soft targets (label smoothing, multi-label): each value a probability
    checkUnitInterval(arr.data, name, "one-hot (or soft) target values");
    let oh: FloatArray;
    if (arr.data instanceof Float64Array || arr.data instanceof Float32Array) oh = arr.data;
    else {
      oh = float64 ? new Float64Array(arr.data.length) : new Float32Array(arr.data.length);
      for (let i = 0; i < oh.length; i++) oh[i] = Number(arr.data[i]);
    }
    if (inShape[1] === 1 && C === 2 && !binaryTwo) oh = expandBinary(oh, n, vol, false);
    return { onehot: oh };
  }
  if (ts.length === r - 1) {
    for (let i = 0; i < r - 1; i++) {
      if (ts[i] !== labelsShape[i]) {
        const what = i === 0 ? " (batch size)" : " (spatial extent)";
        throw new SeglossTypeError(
          `Expected ${name}.shape[${i}]${what} of a label target to be ${
            labelsShape[i]
          } but found ${ts[i]} (shape ${formatShape(ts)}, expected ${formatShape(labelsShape)})${
            channelsLastHint(inShape, ts)
          }`,
        );
      }
    }
    const src = arr.data;
    const labels = new Int32Array(src.length);
    for (let i = 0; i < src.length; i++) {
      const l = Number(src[i]);
      if (!(Number.isInteger(l) && ((l >= 0 && l < C) || l === ignoreIndex))) {
        throw new SeglossRangeError(
          `Expected ${name} labels to be integers in [0, ${C})${
            ignoreIndex !== undefined ? ` or the ignore index ${ignoreIndex}` : ""
          } but found ${l} at flat index ${i}`,
        );
      }
      labels[i] = l;
    }
    return { labels };
  }
  throw new SeglossTypeError(
    `Expected ${name} to have shape ${formatShape(labelsShape)} (labels) or ${
      formatShape(inShape)
    } (one-hot) but found ${formatShape(ts)}${channelsLastHint(inShape, ts)}`,
  );
}

/** A functional loss call's batch: validated probabilities and target in kernel form. */
export function functionalBatch(
  probs: NdArray,
  target: NdArray | undefined,
  ignoreIndex: number | undefined,
): { batch: KernelBatch; binary: boolean; spatial: number[] } {
  const s = checkScores(probs, "probs", true);
  const binary = s.c === 1;
  const C = binary ? 2 : s.c;
  const input = binary ? expandBinary(s.data, s.n, s.vol, false) : s.data;
  const t = target === undefined
    ? {}
    : checkTarget(target, s.shape, C, ignoreIndex, "target", s.data instanceof Float64Array);
  return {
    batch: { input, n: s.n, c: C, vol: s.vol, logits: false, ignoreIndex, ...t },
    binary,
    spatial: s.spatial,
  };
}
