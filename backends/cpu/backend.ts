/**
 * The `cpu` backend: typed arrays, zero dependencies, one fused pass for every statistic the
 * configured losses need (softmax computed on the fly for logits, float64 accumulators) and
 * one pass for the gradient.
 *
 * @module
 */
import { quote, SeglossTypeError } from "../../core/errors.ts";
import type { FloatArray } from "../../core/ndarray.ts";
import type {
  Backend,
  BackendBatch,
  GradientCoefficients,
  PreparedBatch,
  Statistics,
  StatTerm,
} from "../../core/types.ts";
import type { BackendPlugin } from "../../core/registry.ts";
import { signedDistance } from "../../transforms/signed_distance.ts";
import { checkBackendBatch, distanceLabels, missingDistanceError } from "../common.ts";
import { computeGradient, computeStatistics, type KernelBatch } from "./_kernel.ts";
import {
  createSimdBatch,
  createSimdContext,
  type SimdBatch,
  type SimdContext,
  simdSupports,
  simdUnavailableReason,
} from "./_kernel_simd.ts";

/**
 * Options of {@linkcode createCpuBackend}.
 *
 * @example Basic usage
 * ```ts
 * import type { CpuBackendOptions } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const o: CpuBackendOptions = { cacheProbabilities: false, simd: false };
 * assert.equal(o.simd, false);
 * ```
 */
export interface CpuBackendOptions {
  /**
   * For logits: keep the softmax probabilities of the statistics pass (one buffer the size
   * of the input) so that the gradient pass needs no second softmax (default true; false
   * saves that memory and recomputes).
   */
  cacheProbabilities?: boolean;
  /**
   * Run the passes of float32 logits with a label target in WebAssembly SIMD (float32
   * arithmetic, float64 accumulators; about 4x faster) when the runtime has it (default
   * true). Float64 input always takes the float64 JavaScript path.
   */
  simd?: boolean;
}

/** Wasm memories up to this size are kept between batches (larger ones are released). */
const KEEP_WASM_BYTES = 256 * 2 ** 20;

function checkBatch(batch: BackendBatch): KernelBatch {
  const { n, c, vol } = checkBackendBatch(batch, true);
  return {
    input: batch.input.data,
    n,
    c,
    vol,
    logits: batch.inputKind === "logits",
    ...(batch.labels ? { labels: batch.labels } : {}),
    ...(batch.onehot ? { onehot: batch.onehot } : {}),
    ...(batch.ignoreIndex !== undefined ? { ignoreIndex: batch.ignoreIndex } : {}),
    ...(batch.distance ? { distance: batch.distance.data } : {}),
  };
}

/**
 * Creates the CPU backend. `prepare` validates a batch (cheaply: the scorer has already
 * checked it); `statistics` computes all requested per-(sample, class) sums in one pass,
 * computing the signed distance maps first (through `batch.distanceRequest`, with
 * `signedDistance`) when `pphi` is requested and none were given; `gradient` returns
 * dL/dinput in one pass (float64 for float64 input, else float32). With a one-hot target the
 * maps are computed from its argmax; voxels with the ignore label count as background there.
 *
 * @param options See {@linkcode CpuBackendOptions}.
 * @returns The backend.
 *
 * @example Basic usage
 * ```ts
 * import { createCpuBackend } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const prepared = await createCpuBackend().prepare({
 *   input: { data: new Float64Array([0, 0]), shape: [1, 2, 1] },
 *   inputKind: "logits",
 *   numClasses: 2,
 *   labels: new Int32Array([1]),
 * });
 * const stats = await prepared.statistics(new Set(["pt", "tlogp"]));
 * assert.ok(Math.abs(stats.sums.pt![1]! - 0.5) < 1e-12);
 * assert.ok(Math.abs(stats.sums.tlogp![1]! + Math.log(2)) < 1e-12);
 * // dL/dp = t/p for L = Σ log p_label: through the softmax, dL/dz = t − p
 * const g = await prepared.gradient({ tOverP: new Float64Array([1, 1]) });
 * assert.deepEqual(Array.from(g), [-0.5, 0.5]);
 * ```
 */
export function createCpuBackend(options: CpuBackendOptions = {}): Backend {
  if (typeof options !== "object" || options === null) {
    throw new SeglossTypeError(`Expected options to be an object but found ${quote(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (key !== "cacheProbabilities" && key !== "simd") {
      throw new SeglossTypeError(
        `Expected backend options keys among cacheProbabilities, simd but found ${quote(key)}`,
      );
    }
  }
  const cache = options.cacheProbabilities ?? true;
  const useSimd = options.simd ?? true;
  for (const [key, v] of [["cacheProbabilities", cache], ["simd", useSimd]] as const) {
    if (typeof v !== "boolean") {
      throw new SeglossTypeError(
        `Expected options.${key} to be a boolean but found ${quote(v)}`,
      );
    }
  }
  // one probability buffer kept between batches of the same size (page faults of a fresh
  // buffer cost about as much as filling it)
  let spare: FloatArray | undefined;
  const takeBuffer = (like: FloatArray): FloatArray => {
    if (spare && spare.length === like.length && spare.constructor === like.constructor) {
      const b = spare;
      spare = undefined;
      return b;
    }
    return like instanceof Float64Array
      ? new Float64Array(like.length)
      : new Float32Array(like.length);
  };
  // likewise one signed-distance map buffer (the maps are the backend's own, never returned)
  let spareMaps: Float32Array | undefined;
  const takeMaps = (length: number): Float32Array | undefined => {
    const b = spareMaps?.length === length ? spareMaps : undefined;
    spareMaps = undefined;
    return b;
  };
  // one wasm instance kept between batches (its memory sized for the largest batch so far)
  let freeContext: SimdContext | undefined;
  let lastKernel: "wasm-simd" | "js" | undefined;
  return {
    name: "cpu",
    info: () => ({
      kernel: lastKernel,
      fallback: useSimd ? simdUnavailableReason() : "the simd option is false",
    }),
    prepare(batch: BackendBatch): Promise<PreparedBatch> {
      let k: KernelBatch;
      try {
        k = checkBatch(batch);
      } catch (e) {
        return Promise.reject(e);
      }
      // the SIMD path holds the batch in wasm memory (with its own probability cache); it is
      // set up on the first statistics call whose terms it supports
      let simd: SimdBatch | undefined;
      let context: SimdContext | undefined;
      let mode: "simd" | "js" | undefined;
      let distanceReady: Promise<void> | undefined;
      let ownMaps: Float32Array | undefined;
      const ensureDistance = (): Promise<void> => {
        if (k.distance) return Promise.resolve();
        if (!distanceReady) {
          const missing = missingDistanceError(batch);
          if (missing) return Promise.reject(missing);
          const req = batch.distanceRequest!;
          distanceReady = signedDistance(
            {
              data: distanceLabels(k, k.n, k.c, k.vol),
              shape: [k.n, ...batch.input.shape.slice(2)],
            },
            {
              numClasses: k.c,
              spacing: req.spacing,
              convention: req.convention,
              transform: req.transform,
              out: takeMaps(k.n * k.c * k.vol),
            },
          ).then((d) => {
            k.distance = ownMaps = d.data;
          });
        }
        return distanceReady;
      };
      const prepared: PreparedBatch = {
        async statistics(terms: ReadonlySet<StatTerm>): Promise<Statistics> {
          if (terms.has("pphi")) await ensureDistance();
          if (useSimd && mode === undefined && simdSupports(terms)) {
            context = freeContext ?? createSimdContext();
            freeContext = undefined;
            simd = context ? createSimdBatch(k, context) : undefined;
          }
          if (simd && simd.supports(terms)) {
            if (k.distance) simd.setDistance(k.distance);
            mode = "simd";
            lastKernel = "wasm-simd";
            return simd.stats(terms);
          }
          mode = "js";
          lastKernel = "js";
          if (cache && k.logits && !k.probs) k.probs = takeBuffer(k.input);
          return computeStatistics(k, terms);
        },
        async gradient(coefficients: GradientCoefficients): Promise<FloatArray> {
          const phi = coefficients.phi?.some((x) => x !== 0) ?? false;
          if (phi) await ensureDistance();
          if (simd && mode !== "js" && simd.supportsGradient(coefficients)) {
            if (k.distance) simd.setDistance(k.distance);
            return simd.gradient(coefficients);
          }
          return computeGradient(k, coefficients);
        },
        dispose() {
          if (context) {
            // keep the larger instance, unless it is too large to hold on to between calls
            const size = (c?: SimdContext) => c?.memory.buffer.byteLength ?? -1;
            if (size(context) > size(freeContext) && size(context) <= KEEP_WASM_BYTES) {
              freeContext = context;
            }
            context = undefined;
            simd = undefined;
          }
          if (k.probs) spare = k.probs;
          if (ownMaps) spareMaps = ownMaps;
          ownMaps = undefined;
          k.distance = undefined;
          k.probs = undefined;
          k.probsReady = false;
        },
      };
      return Promise.resolve(prepared);
    },
    dispose() {
      spare = undefined;
      spareMaps = undefined;
      freeContext = undefined;
    },
  };
}

/**
 * The `cpu` backend plugin (priority 0, always available).
 *
 * @example Basic usage
 * ```ts
 * import { cpuPlugin } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const backend = await cpuPlugin.create();
 * assert.equal(backend.name, "cpu");
 * ```
 */
export const cpuPlugin: BackendPlugin<"cpu"> = {
  kind: "backend",
  name: "cpu",
  description: "Typed arrays, zero dependencies: one fused statistics pass, one gradient pass",
  priority: 0,
  isAvailable: () => true,
  create: (options) => createCpuBackend(options as CpuBackendOptions | undefined),
};
