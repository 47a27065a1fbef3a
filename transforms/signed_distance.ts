/**
 * Signed distance maps of label volumes, per sample and per class, built on any
 * {@linkcode DistanceTransform}.
 *
 * @module
 */
import { SeglossRangeError, SeglossTypeError } from "../core/errors.ts";
import { checkOut, checkOutIntact, type NdArray, sizeOf } from "../core/ndarray.ts";
import type { DistanceTransform, SignedDistanceConvention } from "../core/types.ts";
import type { DistancePlugin } from "../core/registry.ts";
import { checkSignedArgs, SIGNED_KEYS } from "./signed_args.ts";
import { conventionShift } from "./conventions.ts";
import { edtTransform, type EdtTransformOptions, workerPoolOf } from "./edt.ts";
import { LOCAL_MAX_CLASSES, localSearch, localSigned, looksNoisy } from "./_edt_label_noise.ts";
import { flagsLength, scratchLength, signedInto, signedPlan } from "./_edt_plan.ts";
import { SCRATCH_EXTRA, SCRATCH_IN, SCRATCH_OUT, type WorkerPool } from "./edt_pool.ts";

/**
 * Options of {@linkcode signedDistance}.
 *
 * @example Basic usage
 * ```ts
 * import type { SignedDistanceOptions } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const o: SignedDistanceOptions = { numClasses: 2, convention: "kervadec" };
 * assert.equal(o.numClasses, 2);
 * ```
 */
export interface SignedDistanceOptions {
  /** C: labels must lie in `[0, C)`. */
  numClasses: number;
  /** Voxel size per spatial axis (default all 1). */
  spacing?: readonly number[];
  /** Sign convention (default `"kervadec"`). */
  convention?: SignedDistanceConvention;
  /** The distance transform (default: the exact CPU EDT). */
  transform?: DistanceTransform;
  /**
   * Write the maps into this `Float32Array` (N·C·voxels elements, any previous content is
   * overwritten) and return it as the result's `data`, instead of a new array. In a training
   * loop, one reused output per batch shape saves the first touch of fresh memory (on the VM of
   * bench/README.md, about half the time of the classic 16x64x64, 8-class batch). It must not
   * share memory with the target.
   */
  out?: Float32Array;
}

/**
 * Signed distance maps of a label batch: `(N, ...spatial)` labels in `[0, C)` →
 * `(N, C, ...spatial)` float32, computed per sample and per class (never across the batch).
 * Default convention `"kervadec"` reproduces the official boundary-loss code's `one_hot2dist`:
 * `EDT(neg)·neg − (EDT(pos) − 1)·pos`. A class absent from a sample gets an all-zero map; a
 * class filling a whole sample has no boundary and also gets an all-zero map (finite, and its
 * boundary-loss term is then 0).
 *
 * @param target Labels `(N, ...spatial)`, any integer typed array.
 * @param options `numClasses`, `spacing`, `convention`, `transform`, `out`.
 * @returns The maps, `(N, C, ...spatial)` (in `options.out` when given).
 *
 * @example Basic usage
 * ```ts
 * import { signedDistance } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const d = await signedDistance({ data: new Uint8Array([0, 1, 1, 0]), shape: [1, 4] }, { numClasses: 2 });
 * assert.deepEqual(Array.from(d.data.slice(4)), [1, 0, 0, 1]);
 * ```
 */
export async function signedDistance(
  target: NdArray,
  options: SignedDistanceOptions,
): Promise<NdArray<Float32Array>> {
  const { n, numClasses, spatial, spacing, convention } = checkSignedArgs(
    target,
    options,
    Infinity,
    [...SIGNED_KEYS, "out"],
  );
  const given = checkOut(
    options.out,
    n * numClasses * sizeOf(spatial),
    target.data,
    "options.out",
    "target.data",
  );
  const transform = options.transform ?? edtTransform();
  if (
    typeof transform !== "object" || transform === null ||
    typeof (transform as DistanceTransform).edt !== "function"
  ) {
    throw new SeglossTypeError(
      `Expected options.transform to be a DistanceTransform (an object with an edt method) but found ${
        transform === null ? "null" : typeof transform
      }`,
    );
  }
  const outShape = [n, numClasses, ...spatial];
  const vol = sizeOf(spatial);
  const labels = target.data;
  // the transform's capability: an exact edt lets the maps be built here, every class at once
  const maps = options.transform === undefined ? undefined : options.transform.labelMaps;
  const fast = options.transform === undefined || maps !== undefined;
  const handle = maps?.pool?.(n * numClasses * vol);
  const pool = handle === undefined ? undefined : workerPoolOf(handle);
  // validated Int32 copy of the labels
  const lab = fast ? new Int32Array(labels.length) : undefined;
  if (lab !== undefined && isIntegerArray(labels)) {
    // integer typed array: copy, then one range check (out-of-range int32 values of a
    // Uint32Array wrap to negative and are caught as well)
    lab.set(labels);
    for (let i = 0; i < lab.length; i++) {
      if (lab[i]! >>> 0 >= numClasses) {
        throw new SeglossRangeError(
          `Expected target labels in [0, ${numClasses}) but found ${
            Number(labels[i])
          } at flat index ${i}`,
        );
      }
    }
  } else {
    for (let i = 0; i < labels.length; i++) {
      const l = Number(labels[i]);
      if (!(l >= 0 && l < numClasses && Number.isInteger(l))) {
        throw new SeglossRangeError(
          `Expected target labels in [0, ${numClasses}) but found ${l} at flat index ${i}`,
        );
      }
      if (lab) lab[i] = l;
    }
  }
  const shift = conventionShift(convention, spacing);
  if (lab !== undefined) {
    return {
      data: await fromLabels(lab, n, numClasses, spatial, spacing, shift, pool, given),
      shape: outShape,
    };
  }
  // generic path. masks: (N, C, 2, ...spatial): [pos, neg] for each (n, c)
  const masks = new Uint8Array(n * numClasses * 2 * vol);
  for (let s = 0; s < n; s++) {
    for (let v = 0; v < vol; v++) {
      const l = Number(labels[s * vol + v]);
      for (let c = 0; c < numClasses; c++) {
        const base = ((s * numClasses + c) * 2) * vol;
        const pos = l === c ? 1 : 0;
        masks[base + v] = pos;
        masks[base + vol + v] = 1 - pos;
      }
    }
  }
  const d = await transform.edt({ data: masks, shape: [n * numClasses * 2, ...spatial] }, {
    spacing,
    spatialDims: spatial.length,
  });
  // absent and whole-volume classes keep zero maps
  const out = given?.fill(0) ?? new Float32Array(n * numClasses * vol);
  for (let k = 0; k < n * numClasses; k++) {
    const pos = masks.subarray(2 * k * vol, (2 * k + 1) * vol);
    let count = 0;
    for (let v = 0; v < vol; v++) count += pos[v]!;
    if (count === 0 || count === vol) continue; // absent or whole-volume class: zero map
    const dpos = d.data.subarray(2 * k * vol, (2 * k + 1) * vol);
    const dneg = d.data.subarray((2 * k + 1) * vol, (2 * k + 2) * vol);
    for (let v = 0; v < vol; v++) {
      out[k * vol + v] = pos[v] ? shift - dpos[v]! : dneg[v]!;
    }
  }
  return { data: out, shape: outShape };
}

/** Whether `a` is a typed array of integers that fit a float64 exactly (not bigint, not float). */
function isIntegerArray(a: ArrayLike<unknown>): a is ArrayLike<number> {
  return a instanceof Uint8Array || a instanceof Int8Array || a instanceof Uint8ClampedArray ||
    a instanceof Uint16Array || a instanceof Int16Array || a instanceof Int32Array;
}

/**
 * The fast path of the exact EDT: per sample, one "distance to the nearest voxel of class c"
 * transform per present class c, written straight into class c's output plane (that is
 * EDT(neg) outside c); inside c, EDT(pos) is the distance to the nearest voxel of any other
 * class, the minimum of the other present classes' planes at that voxel. C transforms instead
 * of 2C, and no masks. Samples with a single class keep all-zero maps. Runs on `pool`'s
 * Workers when given.
 */
async function fromLabels(
  labels: Int32Array,
  n: number,
  numClasses: number,
  spatial: number[],
  spacing: number[],
  shift: number,
  pool: WorkerPool | undefined,
  given?: Float32Array,
): Promise<Float32Array> {
  const vol = sizeOf(spatial);
  const total = n * numClasses * vol;
  const present = new Uint8Array(n * numClasses);
  for (let s = 0; s < n; s++) {
    const p = present.subarray(s * numClasses, (s + 1) * numClasses);
    for (let v = s * vol; v < (s + 1) * vol; v++) p[labels[v]!] = 1;
    let count = 0;
    for (let c = 0; c < numClasses; c++) count += p[c]!;
    if (count < 2) p.fill(0);
  }
  // samples and classes without a boundary keep zero maps
  const out = given?.fill(0) ?? new Float32Array(total);
  const job = { labels, present, out, numClasses, vol };
  if (spatial.length >= 2 && numClasses <= LOCAL_MAX_CLASSES) {
    // label noise (small distances everywhere): a direct search per voxel; samples done here
    // are dropped from the separable passes by clearing their presence flags
    const W = spatial[spatial.length - 1]!;
    let search: ReturnType<typeof localSearch> | undefined;
    for (let s = 0; s < n; s++) {
      if (!looksNoisy(job, s, W)) continue;
      search ??= localSearch(spatial, spacing, numClasses);
      if (localSigned(job, s, search, shift)) {
        present.fill(0, s * numClasses, (s + 1) * numClasses);
      }
    }
  }
  if (!present.includes(1)) return out; // the search did every sample
  if (pool === undefined) {
    signedInto(job, spatial, spacing, shift);
    return out;
  }
  // the Workers need shared copies (only the samples left by the search are computed there;
  // the others keep what the search wrote), in the pool's scratch (no fresh pages per call),
  // made and copied back in the job's turn; a caller's out transferred or resized while the job
  // waited is a precise error, not a copy into a detached or shorter array
  let sOut: Float32Array | undefined;
  await pool.run(
    () => {
      checkOutIntact(out, total, "options.out");
      sOut = pool.copyIn(SCRATCH_OUT, out);
      const job = {
        labels: pool.copyIn(SCRATCH_IN, labels),
        present: pool.copyIn(SCRATCH_EXTRA, present),
        out: sOut,
        numClasses,
        vol,
      };
      return { job, out: sOut };
    },
    scratchLength(spatial),
    flagsLength(total, spatial),
    signedPlan(total, vol, numClasses, spatial, spacing, shift),
    () => {
      checkOutIntact(out, total, "options.out");
      out.set(sOut!);
    },
  );
  return out;
}

/**
 * The `edt` distance plugin: the exact CPU Euclidean distance transform. `create` takes the
 * {@linkcode EdtTransformOptions} (`workers`, `parallelThreshold`).
 *
 * @example Basic usage
 * ```ts
 * import { edtPlugin } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const t = await edtPlugin.create();
 * assert.equal(t.exact, true);
 * const parallel = await edtPlugin.create({ workers: "auto" });
 * parallel.dispose?.();
 * ```
 */
export const edtPlugin: DistancePlugin<"edt"> = {
  kind: "distance",
  name: "edt",
  description: "Exact Euclidean distance transform on the CPU (Felzenszwalb–Huttenlocher)",
  create: (options?: Record<string, unknown>) =>
    edtTransform(options as EdtTransformOptions | undefined),
};
