/**
 * The interfaces every part of segloss plugs into: distance transforms, losses expressed over
 * per-(sample, class) sufficient statistics, and backends that compute those statistics and
 * the gradient in fused passes.
 *
 * @module
 */
import type { FloatArray, NdArray } from "./ndarray.ts";

/**
 * A per-voxel quantity whose sum over the voxels of each (sample, class) a loss needs.
 * `p` is the probability of the class, `t` the target (one-hot), `phi` the signed distance
 * map of the class:
 * - `"pt"`: Σ p·t, `"p"`: Σ p, `"p2"`: Σ p², `"t"`: Σ t, `"t2"`: Σ t²,
 * - `"tlogp"`: Σ t·log p (log clamped at `log(1e-38)`-ish in float, see the backend),
 * - `"pphi"`: Σ p·phi.
 *
 * @example Basic usage
 * ```ts
 * import type { StatTerm } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const terms: StatTerm[] = ["pt", "p", "t"];
 * assert.equal(terms.length, 3);
 * ```
 */
export type StatTerm = "pt" | "p" | "p2" | "t" | "t2" | "tlogp" | "pphi";

/**
 * All statistic terms, in a fixed order that backends may use to lay out their sums.
 *
 * @example Basic usage
 * ```ts
 * import { STAT_TERMS } from "./types.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(STAT_TERMS.includes("pphi"));
 * ```
 */
export const STAT_TERMS: readonly StatTerm[] = ["pt", "p", "p2", "t", "t2", "tlogp", "pphi"];

/**
 * Per-(sample, class) sums over voxels, row-major `(N, C)` in float64, for the terms a backend
 * was asked for.
 *
 * @example Basic usage
 * ```ts
 * import type { Statistics } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const stats: Statistics = {
 *   numSamples: 1,
 *   numClasses: 2,
 *   voxels: 4,
 *   sums: { t: new Float64Array([3, 1]) },
 * };
 * assert.equal(stats.sums.t?.[1], 1);
 * ```
 */
export interface Statistics {
  /** N, the batch size. */
  numSamples: number;
  /** C, the number of classes (2 for a single sigmoid channel, which is expanded). */
  numClasses: number;
  /** The number of voxels of one sample (product of the spatial extents). */
  voxels: number;
  /** The sums, each of length N·C, indexed `n * C + c`. */
  sums: Partial<Record<StatTerm, Float64Array>>;
}

/**
 * The derivative of a loss with respect to the probabilities, as per-(sample, class)
 * coefficients of per-voxel terms:
 * `dL/dp[n,c,v] = t[n,c]·t + one[n,c] + p[n,c]·p + phi[n,c]·phi + tOverP[n,c]·t/p`.
 * Absent fields are zero. Each present array has length N·C.
 *
 * @example Basic usage
 * ```ts
 * import type { GradientCoefficients } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * // the boundary loss mean(p·phi) over 1 sample, 1 class, 4 voxels: dL/dp = phi / 4
 * const g: GradientCoefficients = { phi: new Float64Array([0.25]) };
 * assert.equal(g.phi?.[0], 0.25);
 * ```
 */
export interface GradientCoefficients {
  /** Coefficient of the target t. */
  t?: Float64Array;
  /** Constant term. */
  one?: Float64Array;
  /** Coefficient of the probability p. */
  p?: Float64Array;
  /** Coefficient of the signed distance phi. */
  phi?: Float64Array;
  /** Coefficient of t/p (cross entropy). Through a softmax it becomes t, with no division. */
  tOverP?: Float64Array;
}

/**
 * A loss as a formula over sufficient statistics: it declares the terms it needs, computes its
 * value from their sums and its gradient coefficients (see {@linkcode GradientCoefficients}).
 *
 * @example Basic usage
 * ```ts
 * import type { LossFunction, Statistics } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * // mean foreground volume fraction, as a toy loss
 * const toy: LossFunction = {
 *   name: "toy",
 *   kind: "region",
 *   terms: ["p"],
 *   needsDistance: false,
 *   value: (s: Statistics) => s.sums.p![1]! / s.voxels,
 *   gradient: (s: Statistics) => ({ one: new Float64Array([0, 1 / s.voxels]) }),
 * };
 * assert.equal(toy.value({ numSamples: 1, numClasses: 2, voxels: 4, sums: { p: new Float64Array([3, 1]) } }), 0.25);
 * ```
 */
export interface LossFunction {
  /** The registry name (for example `"dice"`). */
  readonly name: string;
  /** `"region"` losses are weighted by the schedule's region weight, `"boundary"` ones by alpha. */
  readonly kind: "region" | "boundary";
  /** The statistic terms `value` and `gradient` read. */
  readonly terms: readonly StatTerm[];
  /** Whether the loss reads `pphi` (a signed distance map must be computed or given). */
  readonly needsDistance: boolean;
  /** Voxels whose label equals this value contribute t = 0 for every class (cross entropy). */
  readonly ignoreIndex?: number;
  /** The loss value from the sums. */
  value(stats: Statistics): number;
  /** dL/dp as per-(n, c) coefficients. */
  gradient(stats: Statistics): GradientCoefficients;
}

/**
 * A region loss (dice, generalized dice, cross entropy): compares probabilities with the target.
 *
 * @example Basic usage
 * ```ts
 * import { dicePlugin } from "@segloss/segloss";
 * import type { RegionLoss } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const loss = dicePlugin.create({}) as RegionLoss;
 * assert.equal(loss.kind, "region");
 * ```
 */
export interface RegionLoss extends LossFunction {
  /** Always `"region"`. */
  readonly kind: "region";
}

/**
 * A distance loss (the boundary loss): integrates probabilities against signed distance maps.
 *
 * @example Basic usage
 * ```ts
 * import { boundaryPlugin } from "@segloss/segloss";
 * import type { DistanceLoss } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const loss = boundaryPlugin.create({}) as DistanceLoss;
 * assert.equal(loss.needsDistance, true);
 * ```
 */
export interface DistanceLoss extends LossFunction {
  /** Always `"boundary"`. */
  readonly kind: "boundary";
  /** Always true. */
  readonly needsDistance: true;
}

/**
 * Options of a distance transform call.
 *
 * @example Basic usage
 * ```ts
 * import type { EdtOptions } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const o: EdtOptions = { spacing: [1, 0.5], spatialDims: 2 };
 * assert.equal(o.spatialDims, 2);
 * ```
 */
export interface EdtOptions {
  /** Voxel size along each spatial axis, in physical units (default: all 1). */
  spacing?: readonly number[];
  /** How many trailing axes are spatial (default: all axes); leading axes index volumes. */
  spatialDims?: number;
}

/**
 * A Euclidean distance transform: the distance of every non-zero element to the nearest zero
 * element of its own volume (scipy's `distance_transform_edt` convention; zeros stay 0), over
 * the trailing `spatialDims` axes, each leading index an independent volume. A volume with no
 * zero element gets `Infinity` everywhere.
 *
 * @example Basic usage
 * ```ts
 * import { edtTransform } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const t = edtTransform();
 * const d = await t.edt({ data: new Uint8Array([0, 1, 1]), shape: [3] });
 * assert.deepEqual(Array.from(d.data), [0, 1, 2]);
 * ```
 */
export interface DistanceTransform {
  /** The registry name (for example `"edt"`). */
  readonly name: string;
  /** Whether the result is exact (`edt`) or approximate (`jfa`). */
  readonly exact: boolean;
  /** The unsigned EDT of every volume of `mask`; float32, same shape as `mask`. */
  edt(mask: NdArray, options?: EdtOptions): Promise<NdArray<Float32Array>>;
  /** Releases resources (GPU devices, workers). */
  dispose?(): void;

  // ---- optional capabilities (CPU side) -----------------------------------------------------

  /**
   * Capability: `edt` is the exact Euclidean transform, so `signedDistance` may build the maps
   * of a label batch itself (every class in one pass, the same values) instead of calling `edt`
   * twice per class. `pool(elements)` may return a pool made by `createEdtWorkerPool` to spread
   * a job of that many output elements over Workers (`undefined`: the calling thread).
   * `edtTransform()` sets it; so may a third party's transform whose `edt` is exact.
   */
  readonly labelMaps?: { pool?(elements: number): object | undefined };

  // ---- optional capabilities (GPU side; see DeviceSignedRequest) ----------------------------

  /**
   * Capability: signed distance maps of a label batch computed on `request.device` and left
   * there, with no readback. Resolves to a float32 GPUBuffer `(N, C, ...spatial)` (usage
   * STORAGE | COPY_SRC | COPY_DST; owned by the caller, who destroys it) holding the same
   * values as `signedDistance(labels, { numClasses, spacing, convention, transform: this })`, or to
   * `undefined` when this transform cannot run on that device (the caller then falls back to
   * `signedDistance` on the CPU and uploads). The `webgpu` backend and the tfjs WebGPU path use
   * it for any transform, built-in or third-party.
   */
  signedOnDevice?(request: DeviceSignedRequest): Promise<GPUBuffer | undefined>;
}

/**
 * What {@linkcode DistanceTransform.signedOnDevice} receives: a label batch already validated
 * (labels in `[0, numClasses)`), the device the maps must live on and, when the caller has
 * them there already, the labels as an int32 GPUBuffer (not to be destroyed by the transform).
 *
 * @example Basic usage
 * ```ts
 * import type { DeviceSignedRequest } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * function voxels(r: Omit<DeviceSignedRequest, "device">): number {
 *   return r.numSamples * r.spatial.reduce((a, b) => a * b, 1);
 * }
 * assert.equal(
 *   voxels({
 *     labels: new Int32Array(8),
 *     numSamples: 2,
 *     numClasses: 2,
 *     spatial: [2, 2],
 *     spacing: [1, 1],
 *     convention: "kervadec",
 *   }),
 *   8,
 * );
 * ```
 */
export interface DeviceSignedRequest {
  /** The device the maps must be written on. */
  device: GPUDevice;
  /** Labels `(N, ...spatial)` flattened, each in `[0, numClasses)`. */
  labels: Int32Array;
  /** The same labels as an int32 storage buffer on `device`, when the caller has it. */
  labelsBuffer?: GPUBuffer;
  /** N. */
  numSamples: number;
  /** C. */
  numClasses: number;
  /** Spatial extents (1 to 3 axes). */
  spatial: readonly number[];
  /** Voxel size per spatial axis. */
  spacing: readonly number[];
  /** Sign convention. */
  convention: SignedDistanceConvention;
}

/**
 * The sign convention of a signed distance map (see `signedDistance`):
 * - `"kervadec"` (default): the official boundary-loss code's `one_hot2dist`,
 *   `EDT(neg)·neg − (EDT(pos) − 1)·pos`: positive outside, `≤ 0` inside with the innermost
 *   layer at 0 for unit spacing.
 * - `"signed"`: `EDT(neg)·neg − EDT(pos)·pos`: positive outside, negative inside.
 * - `"inner-zero"`: `EDT(neg)·neg − (EDT(pos) − min spacing)·pos`: like kervadec, with the
 *   shift in physical units so the first inner layer is 0 with any spacing.
 *
 * @example Basic usage
 * ```ts
 * import type { SignedDistanceConvention } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const c: SignedDistanceConvention = "kervadec";
 * assert.equal(c, "kervadec");
 * ```
 */
export type SignedDistanceConvention = "kervadec" | "signed" | "inner-zero";

/**
 * A batch as a backend receives it, validated and normalized by the scorer.
 *
 * @example Basic usage
 * ```ts
 * import type { BackendBatch } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const batch: BackendBatch = {
 *   input: { data: new Float32Array(8), shape: [1, 2, 2, 2] },
 *   inputKind: "logits",
 *   numClasses: 2,
 *   labels: new Int32Array(4),
 * };
 * assert.equal(batch.numClasses, 2);
 * ```
 */
export interface BackendBatch {
  /** Scores `(N, C, ...spatial)`, finite. A single sigmoid channel is already expanded to 2. */
  input: NdArray<FloatArray>;
  /** Whether `input` holds logits (softmax over C applied) or probabilities. */
  inputKind: "logits" | "probs";
  /** C. */
  numClasses: number;
  /** Labels `(N, ...spatial)` in `[0, C)` (or `ignoreIndex`); exclusive with `onehot`. */
  labels?: Int32Array;
  /** A one-hot (or soft) target `(N, C, ...spatial)`; exclusive with `labels`. */
  onehot?: FloatArray;
  /** Label value whose voxels get t = 0 for every class. */
  ignoreIndex?: number;
  /** Precomputed signed distance maps `(N, C, ...spatial)`. */
  distance?: NdArray<Float32Array>;
  /** How to compute the signed distance maps from the target when `pphi` is needed. */
  distanceRequest?: {
    transform: DistanceTransform;
    spacing: readonly number[];
    convention: SignedDistanceConvention;
  };
}

/**
 * A batch resident in a backend: statistics and gradient each take one fused pass.
 *
 * @example Basic usage
 * ```ts
 * import { createCpuBackend } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const backend = createCpuBackend();
 * const prepared = await backend.prepare({
 *   input: { data: new Float32Array([0.2, 0.8]), shape: [1, 2, 1] },
 *   inputKind: "probs",
 *   numClasses: 2,
 *   labels: new Int32Array([1]),
 * });
 * const stats = await prepared.statistics(new Set(["pt"]));
 * assert.ok(Math.abs(stats.sums.pt![1]! - 0.8) < 1e-6);
 * prepared.dispose();
 * ```
 */
export interface PreparedBatch {
  /** Per-(n, c) sums of the requested terms, in one pass over the data. */
  statistics(terms: ReadonlySet<StatTerm>): Promise<Statistics>;
  /** dL/dinput (through the softmax for logits) for the given dL/dp coefficients, one pass. */
  gradient(coefficients: GradientCoefficients): Promise<FloatArray>;
  /** Releases buffers. */
  dispose(): void;
}

/**
 * A compute backend (cpu, webgpu, tfjs): turns a batch into sufficient statistics and
 * gradients.
 *
 * @example Basic usage
 * ```ts
 * import { createCpuBackend } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const backend = createCpuBackend();
 * assert.equal(backend.name, "cpu");
 * backend.dispose();
 * ```
 */
export interface Backend {
  /** The registry name. */
  readonly name: string;
  /** What the backend runs on (kernel, adapter), for a scorer's `info()`; optional. */
  info?(): BackendInfo;
  /** Uploads / validates a batch for the statistics and gradient passes. */
  prepare(batch: BackendBatch): Promise<PreparedBatch>;
  /** Releases everything the backend holds. */
  dispose(): void;
}

/**
 * What a backend runs on: the kernel of its last batch, why a faster kernel did not run, and
 * the GPU adapter of GPU backends. Reported by a scorer's `info()`.
 *
 * @example Basic usage
 * ```ts
 * import type { BackendInfo } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const i: BackendInfo = { kernel: "js", fallback: "this runtime has no WebAssembly" };
 * assert.equal(i.kernel, "js");
 * ```
 */
export interface BackendInfo {
  /**
   * The kernel of the last batch: `"wasm-simd"` or `"js"` (cpu), `"wgsl"` (webgpu), ...;
   * undefined before the first batch.
   */
  kernel?: string;
  /** Why a faster kernel is not used here, when one exists (undefined when it is). */
  fallback?: string;
  /** The GPU adapter, for GPU backends. */
  adapter?: { name: string; isSoftware: boolean | undefined };
}
