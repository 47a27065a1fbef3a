/**
 * Exact Euclidean distance transform on the CPU (Felzenszwalb–Huttenlocher separable lower
 * envelope of parabolas), with per-axis spacing, over any number of leading batch axes.
 *
 * @module
 */
import { checkKeys, quote, SeglossRangeError } from "../core/errors.ts";
import {
  checkElements,
  checkFinite,
  checkNdArray,
  checkOut,
  checkOutIntact,
  checkSpacing,
  checkSpatialDims,
  type NdArray,
} from "../core/ndarray.ts";
import type { DistanceTransform, EdtOptions } from "../core/types.ts";
import {
  type EdtIndicesOptions,
  type EdtWithIndices,
  wantsIndices,
  withNearestZero,
} from "./edt_indices.ts";
export type { EdtIndicesOptions, EdtWithIndices } from "./edt_indices.ts";
import { numberMask } from "./_edt_passes.ts";
import { edtInto, flagsLength, planPasses, scratchLength } from "./_edt_plan.ts";
import {
  poolSupported,
  SCRATCH_IN,
  SCRATCH_OUT,
  warnSingleThreaded,
  WorkerPool,
} from "./edt_pool.ts";
import { hardwareConcurrency } from "../core/_worker.ts";

/**
 * Exact Euclidean distance transform: the distance of every non-zero element to the nearest
 * zero element of its own volume, like scipy's `distance_transform_edt` (zeros stay 0), in
 * physical units when `spacing` is given. The trailing `spatialDims` axes (default: all) are
 * spatial; every leading index is an independent volume, so distances never cross the batch
 * axis. A volume with no zero element has no distance to report: every element gets
 * `Infinity` (scipy returns an accidental finite value there).
 *
 * @param mask Any typed array plus shape; non-zero means "inside".
 * @param options `spacing` (one positive number per spatial axis), `spatialDims`,
 * `returnIndices` (also the coordinates of each element's nearest zero element, scipy's
 * `return_indices`: see {@linkcode EdtWithIndices}), and `out` (a `Float32Array` to write the
 * distances into, scipy's `distances=`).
 * @returns float32 distances, same shape as `mask` (plus `indices` with `returnIndices`).
 *
 * @example Basic usage
 * ```ts
 * import { edt } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const d = edt({ data: new Uint8Array([0, 1, 1, 1]), shape: [1, 4] }, { spacing: [1, 2] });
 * assert.deepEqual(Array.from(d.data), [0, 2, 4, 6]);
 * ```
 */
export function edt(
  mask: NdArray,
  options: EdtIndicesOptions & { returnIndices: true },
): EdtWithIndices;
/**
 * The exact EDT of `mask` without the nearest-zero indices (see the signature above).
 *
 * @param mask Any typed array plus shape; non-zero means "inside".
 * @param options `spacing`, `spatialDims`, `returnIndices` (false or absent here), `out`.
 * @returns float32 distances, same shape as `mask` (in `options.out` when given).
 *
 * @example Basic usage
 * ```ts
 * import { edt } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const d = edt({ data: new Uint8Array([0, 1, 1]), shape: [3] });
 * assert.deepEqual(Array.from(d.data), [0, 1, 2]);
 * ```
 *
 * @example Into one reused output (a loop over same-sized masks)
 * ```ts
 * import { edt } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const out = new Float32Array(3);
 * for (const data of [new Uint8Array([0, 1, 1]), new Uint8Array([1, 1, 0])]) {
 *   assert.equal(edt({ data, shape: [3] }, { out }).data, out);
 * }
 * assert.deepEqual(Array.from(out), [2, 1, 0]);
 * ```
 */
export function edt(mask: NdArray, options?: EdtIndicesOptions): NdArray<Float32Array>;
export function edt(
  mask: NdArray,
  options: EdtIndicesOptions = {},
): NdArray<Float32Array> | EdtWithIndices {
  const [spatial, spacing] = checkEdtArgs(mask, options, [...EDT_KEYS, "returnIndices", "out"]);
  const indices = wantsIndices(options);
  const out = checkEdtOut(options.out, mask) ?? new Float32Array(mask.data.length);
  edtInto(numberMask(mask.data as ArrayLike<number> | ArrayLike<bigint>), out, spatial, spacing);
  const result: NdArray<Float32Array> = { data: out, shape: [...mask.shape] };
  // returnIndices: the nearest zero's coordinates too (scipy's return_indices), edt_indices.ts
  return indices ? withNearestZero(result, mask, spatial, spacing) : result;
}

/** The option keys of {@linkcode edt}. */
const EDT_KEYS: readonly string[] = ["spacing", "spatialDims"];
/** The option keys of an {@linkcode EdtWorkerPool}'s `edt`. */
const EDT_POOL_KEYS: readonly string[] = [...EDT_KEYS, "out"];
/** The option keys of {@linkcode edtParallel}. */
const EDT_PARALLEL_KEYS: readonly string[] = [...EDT_POOL_KEYS, "workers"];

/** Checks an `out` option of an EDT of `mask` (see {@linkcode checkOut}). */
function checkEdtOut(out: unknown, mask: NdArray): Float32Array | undefined {
  return checkOut(out, mask.data.length, mask.data, "options.out", "mask.data");
}

/**
 * Validates `mask` and `options` (unknown keys, `spatialDims`, `spacing` within float32's
 * range for the mask's extents, NaN/±Infinity in a float mask, the output's size); returns
 * the spatial extents and the spacing.
 */
function checkEdtArgs(
  mask: NdArray,
  options: EdtOptions,
  keys: readonly string[] = EDT_KEYS,
): [number[], number[]] {
  checkNdArray(mask, "mask");
  const o = checkKeys(options, keys, "options") as EdtOptions;
  const shape = mask.shape;
  const spatialDims = checkSpatialDims(o.spatialDims, shape.length, "options.spatialDims");
  const spatial = shape.slice(shape.length - spatialDims);
  const spacing = checkSpacing(o.spacing, spatialDims, "options.spacing", spatial);
  // NaN is not 0, so it would silently count as foreground
  const d = mask.data;
  if (d instanceof Float32Array || d instanceof Float64Array) checkFinite(d, "mask");
  checkElements(d.length, "the distance map", `the mask's ${d.length} elements`);
  return [spatial, spacing];
}

/**
 * Options of an {@linkcode EdtWorkerPool}'s `edt`: those of {@linkcode edt} except
 * `returnIndices`.
 *
 * @example Basic usage
 * ```ts
 * import type { EdtPoolOptions } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const o: EdtPoolOptions = { spacing: [1, 0.5], out: new Float32Array(6) };
 * assert.equal(o.out?.length, 6);
 * ```
 */
export interface EdtPoolOptions extends EdtOptions {
  /**
   * Write the distances into this `Float32Array` (the mask's length) instead of a new one, as
   * {@linkcode edt}'s `out` does. One that lives in a `SharedArrayBuffer` is written by the
   * Workers directly, with no copy at all.
   */
  out?: Float32Array;
}

/**
 * Options of {@linkcode edtParallel}: those of {@linkcode edt} (but `returnIndices`) plus the
 * number of Workers.
 *
 * @example Basic usage
 * ```ts
 * import type { EdtParallelOptions } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const o: EdtParallelOptions = { spacing: [1, 0.5], workers: 2 };
 * assert.equal(o.workers, 2);
 * ```
 */
export interface EdtParallelOptions extends EdtPoolOptions {
  /**
   * How many Workers run the passes: a positive integer, or `"auto"` (default) for
   * `navigator.hardwareConcurrency`.
   */
  workers?: number | "auto";
}

/** Checks a `workers` option and resolves `"auto"`. */
function resolveWorkers(workers: unknown, name: string): number {
  if (workers === undefined || workers === "auto") {
    // navigator.hardwareConcurrency, or os.availableParallelism() on Node 20
    return Math.max(1, Math.min(64, hardwareConcurrency()));
  }
  if (typeof workers !== "number" || !Number.isInteger(workers) || workers < 1) {
    throw new SeglossRangeError(
      `Expected ${name} to be "auto" or an integer >= 1 but found ${quote(workers)}`,
    );
  }
  return workers;
}

/**
 * A set of Workers that run {@linkcode edtParallel}'s passes and stay up between calls, so
 * repeated transforms pay neither the Worker start-up nor a cold JIT. Calls run one at a time
 * (queued). Idle Workers are terminated after `idleMs` (they would otherwise keep the process
 * alive) and restarted on the next call; {@linkcode EdtWorkerPool.close} ends them at once.
 *
 * @example Basic usage
 * ```ts
 * import { createEdtWorkerPool, edt } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const pool = createEdtWorkerPool({ workers: 2 });
 * const mask = { data: new Uint8Array([1, 0, 1, 1]), shape: [2, 2] };
 * try {
 *   assert.deepEqual((await pool.edt(mask)).data, edt(mask).data);
 * } finally {
 *   pool.close();
 * }
 * ```
 */
export interface EdtWorkerPool {
  /** The number of Workers. */
  readonly size: number;
  /**
   * Whether calls run on Worker threads: false where this runtime has no Workers or no
   * `SharedArrayBuffer` (a browser page without cross-origin isolation); calls then run
   * {@linkcode edt} on the calling thread, and a warning says so once.
   */
  readonly threaded: boolean;
  /**
   * The exact EDT of {@linkcode edt}, computed by the pool's Workers.
   *
   * @param mask Any typed array plus shape; non-zero means "inside".
   * @param options `spacing`, `spatialDims`, `out`.
   * @returns float32 distances, same shape as `mask` (in `options.out` when given).
   */
  edt(mask: NdArray, options?: EdtPoolOptions): Promise<NdArray<Float32Array>>;
  /** Terminates the Workers now (a later call starts them again). */
  close(): void;
}

/**
 * Options of {@linkcode createEdtWorkerPool}.
 *
 * @example Basic usage
 * ```ts
 * import type { EdtWorkerPoolOptions } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const o: EdtWorkerPoolOptions = { workers: "auto", idleMs: 500 };
 * assert.equal(o.idleMs, 500);
 * ```
 */
export interface EdtWorkerPoolOptions {
  /** A positive integer, or `"auto"` (default) for `navigator.hardwareConcurrency`. */
  workers?: number | "auto";
  /** Terminate the Workers after this many idle milliseconds (default 1000; 0: right away). */
  idleMs?: number;
}

/**
 * Creates an {@linkcode EdtWorkerPool}: Workers (started on first use) that compute the exact
 * EDT over shared memory. Every pass is cut into slabs of lines handed out through an atomic
 * counter, so one large volume and a batch of volumes both use every thread, and the result
 * is identical to {@linkcode edt}. The mask is copied once into shared memory (same type, one
 * memcpy) unless it already lives in a `SharedArrayBuffer`, and the result is copied out of
 * shared memory into an ordinary `Float32Array` (or into `out`; a shared `out` is written
 * directly). That shared scratch is the pool's, reused from call to call (fresh memory costs a
 * page fault per 4 KiB page) and as large as the largest call's mask and output; it is freed
 * when the pool closes or idles out. Needs module Workers and `SharedArrayBuffer` (Deno, Bun);
 * without them the pool computes with {@linkcode edt} on the calling thread.
 *
 * @param options `workers`, `idleMs`.
 * @returns The pool; `close()` it when done, or let the idle timeout end the Workers.
 *
 * @example Basic usage
 * ```ts
 * import { createEdtWorkerPool } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const pool = createEdtWorkerPool({ workers: 2 });
 * const d = await pool.edt({ data: new Uint8Array([0, 1, 1]), shape: [3] }, { spacing: [2] });
 * assert.deepEqual(Array.from(d.data), [0, 2, 4]);
 * pool.close();
 * ```
 */
export function createEdtWorkerPool(options: EdtWorkerPoolOptions = {}): EdtWorkerPool {
  checkKeys(options, ["workers", "idleMs"], "options");
  const size = resolveWorkers(options.workers, "options.workers");
  const idleMs = options.idleMs ?? 1000;
  if (typeof idleMs !== "number" || !(idleMs >= 0)) {
    throw new SeglossRangeError(
      `Expected options.idleMs to be a number >= 0 but found ${quote(idleMs)}`,
    );
  }
  const pool = new WorkerPool(size, idleMs);
  const result: EdtWorkerPool = {
    size,
    threaded: poolSupported,
    async edt(mask: NdArray, edtOptions: EdtPoolOptions = {}): Promise<NdArray<Float32Array>> {
      const [spatial, spacing] = checkEdtArgs(mask, edtOptions, EDT_POOL_KEYS);
      const given = checkEdtOut(edtOptions.out, mask);
      if (!poolSupported) {
        warnSingleThreaded();
        return edt(mask, edtOptions);
      }
      const total = mask.data.length;
      // the Workers write a shared output: the caller's own when it is shared, else the pool's
      // scratch (reused from call to call: no fresh pages), copied out in the job's turn
      const direct = given !== undefined && given.buffer instanceof SharedArrayBuffer;
      let work: Float32Array | undefined;
      // the mask as it is now: a job queued behind another reads it later, so it gets a copy
      // (numberMask copies every type but Uint8Array)
      let numbers = numberMask(mask.data as ArrayLike<number> | ArrayLike<bigint>);
      if (pool.busy && numbers === mask.data) numbers = (numbers as Uint8Array).slice();
      const data = await pool.run(
        () => {
          work = direct ? given : new Float32Array(pool.scratch(SCRATCH_OUT, total * 4), 0, total);
          const shared = (numbers as Uint8Array).buffer instanceof SharedArrayBuffer;
          return {
            mask: shared ? numbers : pool.copyIn(SCRATCH_IN, numbers as Uint8Array),
            out: work,
          };
        },
        scratchLength(spatial),
        flagsLength(total, spatial),
        planPasses(total, spatial, spacing, false),
        () => {
          if (direct) return given;
          const result = given ?? new Float32Array(total);
          checkOutIntact(result, total, "options.out");
          result.set(work!);
          return result;
        },
      );
      return { data, shape: [...mask.shape] };
    },
    close: () => pool.close(),
  };
  pools.set(result, pool);
  return result;
}

/** The internal pool behind each {@linkcode EdtWorkerPool} (used by `signedDistance`). */
const pools = new WeakMap<EdtWorkerPool, WorkerPool>();

/**
 * The Workers behind a pool made by {@linkcode createEdtWorkerPool} (what a transform's
 * `labelMaps.pool` returns), or `undefined` for any other object.
 *
 * @param pool A pool.
 * @returns Its Workers.
 */
export function workerPoolOf(pool: object): WorkerPool | undefined {
  return pools.get(pool as EdtWorkerPool);
}

/**
 * The exact EDT of {@linkcode edt}, computed by Workers over shared memory (a one-shot
 * {@linkcode createEdtWorkerPool}: the Workers are started for the call and terminated before
 * it returns, also on error). The result is identical, element for element, to
 * {@linkcode edt}. For repeated calls keep a pool (or an {@linkcode edtTransform} with
 * `workers`) instead: it saves the Worker start-up and JIT warm-up of every call.
 *
 * @param mask Any typed array plus shape; non-zero means "inside".
 * @param options `spacing`, `spatialDims` (see {@linkcode edt}) and `workers`.
 * @returns float32 distances, same shape as `mask`.
 *
 * @example Basic usage
 * ```ts
 * import { edt, edtParallel } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const mask = { data: new Uint8Array([1, 1, 0, 1, 1, 1, 1, 1, 1]), shape: [3, 3] };
 * const d = await edtParallel(mask, { spacing: [2, 1], workers: 2 });
 * assert.deepEqual(d.data, edt(mask, { spacing: [2, 1] }).data);
 * ```
 */
export async function edtParallel(
  mask: NdArray,
  options: EdtParallelOptions = {},
): Promise<NdArray<Float32Array>> {
  checkEdtArgs(mask, options, EDT_PARALLEL_KEYS);
  const pool = createEdtWorkerPool({ workers: options.workers, idleMs: 0 });
  try {
    const { workers: _, ...edtOptions } = options ?? {};
    return await pool.edt(mask, edtOptions);
  } finally {
    pool.close();
  }
}

/**
 * Options of {@linkcode edtTransform} (and of the `edt` plugin's `create`).
 *
 * @example Basic usage
 * ```ts
 * import type { EdtTransformOptions } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const o: EdtTransformOptions = { workers: "auto", parallelThreshold: 1 << 20 };
 * assert.equal(o.workers, "auto");
 * ```
 */
export interface EdtTransformOptions {
  /**
   * Workers for large masks (see {@linkcode edtParallel}): `"auto"` or a positive integer.
   * Default: none, every call runs the synchronous {@linkcode edt}.
   */
  workers?: number | "auto";
  /**
   * Masks with at least this many elements (and signed distance maps with at least this many
   * output elements) go to the Workers when `workers` is set (default 2^21, about a 128³
   * volume).
   */
  parallelThreshold?: number;
}

/** Masks with at least this many elements use Workers when enabled. */
const DEFAULT_PARALLEL_THRESHOLD = 1 << 21;

/**
 * The exact CPU EDT as a {@linkcode DistanceTransform} (the `edt` plugin), optionally
 * splitting large masks across Workers.
 *
 * @param options `workers` and `parallelThreshold` (default: always synchronous).
 * @returns A transform whose `edt` runs {@linkcode edt}, or a {@linkcode EdtWorkerPool} (kept
 * between calls, ended after 1 s idle or by `dispose()`) for masks of at least
 * `parallelThreshold` elements when `workers` is set.
 *
 * @example Basic usage
 * ```ts
 * import { edtTransform } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const d = await edtTransform().edt({ data: new Uint8Array([1, 0]), shape: [2] });
 * assert.deepEqual(Array.from(d.data), [1, 0]);
 * const t = edtTransform({ workers: 2, parallelThreshold: 1 });
 * const p = await t.edt({ data: new Uint8Array([1, 0]), shape: [2] });
 * assert.deepEqual(Array.from(p.data), [1, 0]);
 * t.dispose?.();
 * ```
 */
export function edtTransform(options: EdtTransformOptions = {}): DistanceTransform {
  checkKeys(options, ["workers", "parallelThreshold"], "options");
  const workers = options.workers;
  if (workers !== undefined) resolveWorkers(workers, "options.workers");
  const threshold = options.parallelThreshold ?? DEFAULT_PARALLEL_THRESHOLD;
  if (typeof threshold !== "number" || !(threshold >= 0)) {
    throw new SeglossRangeError(
      `Expected options.parallelThreshold to be a number >= 0 but found ${quote(threshold)}`,
    );
  }
  let pool: EdtWorkerPool | undefined;
  const poolFor = (elements: number) => {
    if (workers === undefined || !(elements >= threshold)) return undefined;
    if (!poolSupported) {
      warnSingleThreaded();
      return undefined;
    }
    pool ??= createEdtWorkerPool({ workers });
    return pool;
  };
  const transform: DistanceTransform = {
    name: "edt",
    exact: true,
    edt: (mask, edtOptions) => {
      const p = poolFor(mask?.data?.length);
      if (p !== undefined) return p.edt(mask, edtOptions);
      try {
        return Promise.resolve(edt(mask, edtOptions));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    dispose: () => pool?.close(),
    labelMaps: { pool: poolFor },
  };
  return transform;
}
