/**
 * The `jfa` distance transform: a jump flood on WebGPU, seeded with every zero voxel, with
 * refinement passes, per-axis spacing, 2-D and 3-D, the whole batch in one submit.
 *
 * @module
 */
import { checkKeys, quote, SeglossRangeError } from "../core/errors.ts";
import { checkFinite, checkNdArray, checkSpacing, type NdArray, sizeOf } from "../core/ndarray.ts";
import type {
  DeviceSignedRequest,
  DistanceTransform,
  EdtOptions,
  SignedDistanceConvention,
} from "../core/types.ts";
import type { DistancePlugin } from "../core/registry.ts";
import { checkSignedArgs, int32Labels } from "./signed_args.ts";
import { edtInChunks, gpuSpatialDims, maskBytes } from "./_gpu_common.ts";
import { checkBindingSize, DeviceSource, isWebgpuAvailable, readBuffer } from "../core/gpu.ts";
import {
  encodeFlood,
  type FloodConfig,
  JFA_REFINEMENTS,
  type JfaRefinement,
  jfaSteps,
  releaseScratch,
  signedMapsOnDevice,
} from "./jfa_gpu.ts";
import { floodGeometry } from "./jfa_kernels.ts";

export type { JfaRefinement } from "./jfa_gpu.ts";

/**
 * Options of {@linkcode jfaTransform}.
 *
 * @example Basic usage
 * ```ts
 * import type { JfaOptions } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const o: JfaOptions = { refinement: "jfa+2" };
 * assert.equal(o.refinement, "jfa+2");
 * ```
 */
export interface JfaOptions {
  /**
   * A GPUDevice to run on (for example the one of tfjs-backend-webgpu). Default: the shared
   * default device, which the `webgpu` backend uses too.
   */
  device?: GPUDevice;
  /**
   * Refinement passes after the log-step flood (default `"jfa+2"`: with 2 seeds per voxel the
   * fewest passes that met the accuracy target on every test and benchmark mask; see the
   * README). With anisotropic spacing (largest / smallest spacing `r` > 1.25) the tail of
   * `"jfa+2"`, `"1+jfa+2"` and `"jfa+4+2+1"` starts at `2^ceil(log2 2r)` instead (r = 2:
   * steps 4, 2, 1; r = 4: 8, 4, 2, 1): the seeds' Voronoi cells are stretched along the finer
   * axes, and the short tail left errors above one voxel.
   */
  refinement?: JfaRefinement;
  /**
   * Seeds kept per voxel (default 2): the two nearest distinct ones, which repairs nearly all
   * of the classic jump flood's misses at medial axes (for example the centres of round
   * blobs) at twice the memory traffic; 1 is the classic flood (faster, about 10x more
   * wrong voxels on round shapes; see the README for measurements).
   */
  seeds?: 1 | 2;
}

/**
 * Options of {@linkcode JfaTransform.signedDistance} (as for `signedDistance`, without the
 * transform).
 *
 * @example Basic usage
 * ```ts
 * import type { JfaSignedOptions } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const o: JfaSignedOptions = { numClasses: 3, convention: "signed" };
 * assert.equal(o.numClasses, 3);
 * ```
 */
export interface JfaSignedOptions {
  /** C: labels must lie in `[0, C)`. */
  numClasses: number;
  /** Voxel size per spatial axis (default all 1). */
  spacing?: readonly number[];
  /** Sign convention (default `"kervadec"`). */
  convention?: SignedDistanceConvention;
}

/**
 * The jump-flood {@linkcode DistanceTransform}. Besides `edt`, it tells which device it runs
 * on, so the `webgpu` backend can compute signed maps straight into GPU memory.
 *
 * @example Basic usage
 * ```ts
 * import { isWebgpuAvailable, jfaTransform } from "@segloss/segloss";
 * import type { JfaTransform } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * if (await isWebgpuAvailable()) {
 *   const t: JfaTransform = jfaTransform();
 *   assert.equal(t.exact, false);
 *   t.dispose();
 * }
 * ```
 */
export interface JfaTransform extends DistanceTransform {
  /** Always `"jfa"`. */
  readonly name: "jfa";
  /** Always false: a jump flood may miss the nearest seed at a few voxels. */
  readonly exact: false;
  /** The refinement in use. */
  readonly refinement: JfaRefinement;
  /** Seeds kept per voxel (1 or 2). */
  readonly seeds: 1 | 2;
  /** The device this transform runs on (requested on first use unless handed in). */
  device(): Promise<GPUDevice>;
  /**
   * Signed distance maps of a label batch computed entirely on the device (one flood per
   * (sample, class) volume fills both sides), returned as a GPU buffer that stays there:
   * float32 `(N, C, ...spatial)`, the same values as `signedDistance(target, { transform })`
   * (absent and whole-volume classes get zero maps). The caller owns the buffer (destroy it).
   */
  signedDistanceBuffer(
    target: NdArray,
    options: JfaSignedOptions,
  ): Promise<{ buffer: GPUBuffer; shape: number[]; device: GPUDevice }>;
  /**
   * The {@linkcode DistanceTransform.signedOnDevice} capability: the flood runs on
   * `request.device` (any device: pipelines and scratch are kept per device) and the maps stay
   * there. Never `undefined`.
   */
  signedOnDevice(request: DeviceSignedRequest): Promise<GPUBuffer>;
  /** Like `signedDistanceBuffer`, read back into an NdArray. */
  signedDistance(target: NdArray, options: JfaSignedOptions): Promise<NdArray<Float32Array>>;
  /** Frees the scratch buffers kept on the device between calls (the device stays). */
  dispose(): void;
}

/**
 * Creates the jump-flood distance transform. `edt(mask, { spacing, spatialDims })` has the
 * exact `edt`'s semantics (distance of every non-zero voxel to the nearest zero voxel of its
 * own volume, zeros stay 0, a volume without zeros gets Infinity), computed on WebGPU for
 * every volume of the batch in one submit. Spatial volumes of 1 to 3 axes.
 *
 * Accuracy (tests): vs the exact EDT at most 1e-4 of the voxels differ by more than 1e-3, and
 * no voxel by more than one voxel spacing.
 *
 * @param options `device`, `refinement`.
 * @returns The transform; its methods reject with an Error when no WebGPU adapter exists.
 *
 * @example Basic usage
 * ```ts
 * import { isWebgpuAvailable, jfaTransform } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * if (await isWebgpuAvailable()) {
 *   const jfa = jfaTransform();
 *   const d = await jfa.edt({ data: new Uint8Array([0, 1, 1, 1]), shape: [1, 4] }, {
 *     spacing: [1, 2],
 *   });
 *   assert.deepEqual(Array.from(d.data), [0, 2, 4, 6]);
 * }
 * ```
 */
export function jfaTransform(options: JfaOptions = {}): JfaTransform {
  options = checkKeys(options, ["device", "refinement", "seeds"], "options") as JfaOptions;
  const refinement = options.refinement ?? "jfa+2";
  const seeds = options.seeds ?? 2;
  if (seeds !== 1 && seeds !== 2) {
    throw new SeglossRangeError(
      `Expected options.seeds to be 1 or 2 but found ${quote(seeds)}`,
    );
  }
  const cfg: FloodConfig = { refinement, seeds };
  if (!JFA_REFINEMENTS.includes(refinement)) {
    throw new SeglossRangeError(
      `Expected options.refinement to be one of ${
        JFA_REFINEMENTS.map((r) => JSON.stringify(r)).join(", ")
      } but found ${quote(refinement)}`,
    );
  }
  const source = new DeviceSource(options.device);
  const used = new Set<GPUDevice>(); // devices signedOnDevice ran on (scratch to release)
  const transform: JfaTransform = {
    name: "jfa",
    exact: false,
    refinement,
    seeds,
    device: () => source.get(),
    signedOnDevice(request) {
      try {
        used.add(request.device);
        return Promise.resolve(jfaSignedOnDevice(cfg, request));
      } catch (e) {
        return Promise.reject(e);
      }
    },
    edt: (mask, opts) => jfaEdt(source, cfg, mask, opts ?? {}),
    signedDistanceBuffer: (target, opts) => jfaSignedBuffer(source, cfg, target, opts),
    async signedDistance(target, opts) {
      const { buffer, shape, device } = await jfaSignedBuffer(source, cfg, target, opts);
      try {
        const data = new Float32Array(await readBuffer(device, buffer, sizeOf(shape) * 4));
        return { data, shape };
      } finally {
        buffer.destroy();
      }
    },
    dispose() {
      source.peek().then((d) => d && releaseScratch(d), () => {});
      for (const d of used) releaseScratch(d);
      used.clear();
    },
  };
  return transform;
}

async function jfaSignedBuffer(
  source: DeviceSource,
  cfg: FloodConfig,
  target: NdArray,
  options: JfaSignedOptions,
): Promise<{ buffer: GPUBuffer; shape: number[]; device: GPUDevice }> {
  const { n, numClasses, spatial, spacing, convention } = checkSignedArgs(target, options, 3);
  floodGeometry(spatial, cfg.seeds);
  const labels = int32Labels(target.data, numClasses);
  const device = await source.get();
  checkBindingSize(device, n * numClasses * sizeOf(spatial) * 4, "the signed maps");
  const buffer = signedMapsOnDevice(
    device,
    labels,
    n,
    numClasses,
    spatial,
    spacing,
    convention,
    cfg,
  );
  return { buffer, shape: [n, numClasses, ...spatial], device };
}

function jfaSignedOnDevice(cfg: FloodConfig, r: DeviceSignedRequest): GPUBuffer {
  const V = sizeOf(r.spatial);
  floodGeometry(r.spatial, cfg.seeds);
  checkBindingSize(r.device, r.numSamples * r.numClasses * V * 4 * cfg.seeds, "the jfa seeds");
  return signedMapsOnDevice(
    r.device,
    r.labels,
    r.numSamples,
    r.numClasses,
    r.spatial,
    r.spacing,
    r.convention,
    cfg,
    r.labelsBuffer,
  );
}

async function jfaEdt(
  source: DeviceSource,
  cfg: FloodConfig,
  mask: NdArray,
  options: EdtOptions,
): Promise<NdArray<Float32Array>> {
  checkNdArray(mask, "mask");
  options = checkKeys(options, ["spacing", "spatialDims"], "options") as EdtOptions;
  const shape = mask.shape;
  const spatialDims = gpuSpatialDims(options.spatialDims, shape);
  const spatial = shape.slice(shape.length - spatialDims);
  const spacing = checkSpacing(options.spacing, spatialDims, "options.spacing", spatial);
  const m = mask.data;
  if (m instanceof Float32Array || m instanceof Float64Array) checkFinite(m, "mask");
  const geometry = floodGeometry(spatial, cfg.seeds);
  const V = sizeOf(spatial);
  const bytes = maskBytes(mask.data);
  const device = await source.get();
  const steps = jfaSteps(Math.max(...spatial), cfg.refinement, spacing);
  const data = await edtInChunks(
    device,
    bytes,
    V,
    V * 4 * cfg.seeds,
    "one jfa volume's seeds",
    (pass, maskBuf, outBuf, volumes) =>
      encodeFlood(device, pass, {
        geometry,
        volumes,
        spacing,
        steps,
        init: { kind: "mask", buffer: maskBuf },
        final: { kind: "edt" },
        out: outBuf,
      }),
  );
  return { data, shape: [...shape] };
}

/**
 * The `jfa` distance plugin: the WebGPU jump flood. Options: `device` (a GPUDevice) and
 * `refinement`. Available when a WebGPU adapter exists.
 *
 * @example Basic usage
 * ```ts
 * import { jfaPlugin } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * assert.equal(jfaPlugin.name, "jfa");
 * assert.equal(typeof (await jfaPlugin.isAvailable!()), "boolean");
 * ```
 */
export const jfaPlugin: DistancePlugin<"jfa"> = {
  kind: "distance",
  name: "jfa",
  description: "Jump flood distance transform on WebGPU (approximate; 1e-4 voxels off at most)",
  isAvailable: () => isWebgpuAvailable(),
  create: (options) => jfaTransform(options as JfaOptions | undefined),
};
