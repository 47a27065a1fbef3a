/**
 * The `edt-gpu` distance transform: the exact Euclidean distance transform on WebGPU —
 * separable passes (a scan from the sites along the innermost axis, then the
 * Felzenszwalb–Huttenlocher lower envelope along each further axis), per-axis spacing, 1 to 3
 * spatial axes, the whole batch in one submit, and signed maps written on any GPUDevice with no
 * readback. Same values as the CPU `edt` up to float32 rounding: no wrong voxels (unlike the
 * jump flood).
 *
 * @module
 */
import { quote, SeglossRangeError, SeglossTypeError } from "../core/errors.ts";
import { checkNdArray, checkSpacing, type NdArray, sizeOf } from "../core/ndarray.ts";
import type {
  DeviceSignedRequest,
  DistanceTransform,
  EdtOptions,
  SignedDistanceConvention,
} from "../core/types.ts";
import type { DistancePlugin } from "../core/registry.ts";
import {
  BUFFER,
  cachedPipeline,
  checkBindingSize,
  DeviceSource,
  dispatchSize,
  isSoftwareDevice,
  isWebgpuAvailable,
  readBuffer,
  uploadBuffer,
} from "../core/gpu.ts";
import { checkSignedArgs, int32Labels } from "./signed_args.ts";
import { edtInChunks, gpuSpatialDims, maskBytes, ScratchPair } from "./_gpu_common.ts";
import { conventionShift } from "./conventions.ts";
import {
  EDT_GPU_PARAMS_BYTES,
  EDT_GPU_WG,
  edtCombineWgsl,
  edtEnvelopeWgsl,
  edtLineWgsl,
  edtParams,
  type EdtPassGeometry,
  edtScanWgsl,
  lineCapacity,
} from "./edt_gpu_kernels.ts";

/**
 * `"auto"`: on a hardware adapter, passes with fewer lines than this, of at least
 * `WORKGROUP_LINES_FROM` voxels that fit workgroup memory, run a workgroup per line (a single
 * 2048² image has 2,048 lines per pass, too few threads for a GPU as one thread per line; a 256³
 * volume has 65,536). On a software adapter (llvmpipe) one invocation per line is always faster:
 * a workgroup there is one CPU thread, idle but for one lane while the envelope is built.
 */
const WORKGROUP_LINES_BELOW = 16384;
/** See {@linkcode WORKGROUP_LINES_BELOW}: short lines stay one per invocation. */
const WORKGROUP_LINES_FROM = 256;

/**
 * How the passes map lines of voxels to the GPU: `"thread"` one invocation per line (global
 * memory; many lines), `"workgroup"` one workgroup per line (the line in workgroup memory, the
 * envelope built by one invocation, evaluated by all; few long lines), `"auto"` the workgroup
 * kernel on a hardware adapter for passes with fewer than 16,384 lines of 256 voxels or more that
 * fit workgroup memory, else the thread kernel (always on a software adapter such as llvmpipe).
 *
 * @example Basic usage
 * ```ts
 * import type { EdtGpuKernel } from "./edt_gpu.ts";
 * import assert from "node:assert/strict";
 *
 * const k: EdtGpuKernel = "auto";
 * assert.equal(k, "auto");
 * ```
 */
export type EdtGpuKernel = "auto" | "thread" | "workgroup";

/**
 * Options of {@linkcode edtGpuTransform}.
 *
 * @example Basic usage
 * ```ts
 * import type { EdtGpuOptions } from "./edt_gpu.ts";
 * import assert from "node:assert/strict";
 *
 * const o: EdtGpuOptions = {};
 * assert.equal(o.device, undefined);
 * ```
 */
export interface EdtGpuOptions {
  /**
   * A GPUDevice to run `edt` and `signedDistance` on (for example tfjs-backend-webgpu's).
   * Default: the shared default device, which the `webgpu` backend uses too.
   * `signedOnDevice` always runs on the device of its request.
   */
  device?: GPUDevice;
  /** Line kernel (default `"auto"`; see {@linkcode EdtGpuKernel}). Results are the same. */
  kernel?: EdtGpuKernel;
}

/**
 * Options of {@linkcode EdtGpuTransform.signedDistance} (as for `signedDistance`, without the
 * transform).
 *
 * @example Basic usage
 * ```ts
 * import type { EdtGpuSignedOptions } from "./edt_gpu.ts";
 * import assert from "node:assert/strict";
 *
 * const o: EdtGpuSignedOptions = { numClasses: 3, convention: "signed" };
 * assert.equal(o.numClasses, 3);
 * ```
 */
export interface EdtGpuSignedOptions {
  /** C: labels must lie in `[0, C)`. */
  numClasses: number;
  /** Voxel size per spatial axis (default all 1). */
  spacing?: readonly number[];
  /** Sign convention (default `"kervadec"`). */
  convention?: SignedDistanceConvention;
}

/**
 * The exact WebGPU {@linkcode DistanceTransform}, with the on-device capability.
 *
 * @example Basic usage
 * ```ts
 * import { edtGpuTransform } from "./edt_gpu.ts";
 * import type { EdtGpuTransform } from "./edt_gpu.ts";
 * import assert from "node:assert/strict";
 *
 * const t: EdtGpuTransform = edtGpuTransform();
 * assert.equal(t.exact, true);
 * t.dispose();
 * ```
 */
export interface EdtGpuTransform extends DistanceTransform {
  /** Always `"edt-gpu"`. */
  readonly name: "edt-gpu";
  /** Always true: the same values as the CPU `edt` up to float32 rounding. */
  readonly exact: true;
  /** The device `edt` and `signedDistance` run on (requested on first use unless handed in). */
  device(): Promise<GPUDevice>;
  /**
   * Signed maps written on `request.device` (any device: the kernels are compiled per
   * device), float32 `(N, C, ...spatial)`, owned by the caller. Never `undefined`.
   */
  signedOnDevice(request: DeviceSignedRequest): Promise<GPUBuffer>;
  /** Signed maps computed on the device and read back (as `signedDistance` with this transform). */
  signedDistance(target: NdArray, options: EdtGpuSignedOptions): Promise<NdArray<Float32Array>>;
  /** Frees the scratch buffers kept on the devices this transform used (the devices stay). */
  dispose(): void;
}

/** The ping-pong and site-index scratch buffers, kept per device. */
const scratch = new ScratchPair();

/** What {@linkcode encodeEdtGpu} computes. */
export interface EdtGpuSpec {
  /** Spatial extents (1 to 3 axes). */
  spatial: readonly number[];
  /** Spacing per spatial axis. */
  spacing: readonly number[];
  /** Number of volumes (`N·C` for labels). */
  volumes: number;
  /**
   * Sites: a byte mask (4 per u32 word; zero = site) giving the unsigned EDT of every
   * volume, or i32 labels `(N, V)` giving signed maps (`volumes = N·numClasses`) with the
   * convention's shift (absent and whole-volume classes get zero maps).
   */
  init:
    | { kind: "mask"; buffer: GPUBuffer }
    | { kind: "labels"; buffer: GPUBuffer; numClasses: number; shift: number };
  /** The float32 output, `volumes · V` elements. */
  out: GPUBuffer;
  /** Line kernel: see {@linkcode EdtGpuOptions.kernel} (default `"auto"`). */
  kernel?: EdtGpuKernel;
}

/**
 * Encodes the whole transform into `pass` (one compute pass: its dispatches are ordered).
 * Returns the transient buffers to destroy after the submit (the scratch buffers are kept per
 * device and reused; submits on one queue run in order).
 */
export function encodeEdtGpu(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  spec: EdtGpuSpec,
): GPUBuffer[] {
  const dims = spec.spatial.length;
  const V = sizeOf(spec.spatial);
  const total = spec.volumes * V;
  const labels = spec.init.kind === "labels";
  const C = labels ? (spec.init as { numClasses: number }).numClasses : 1;
  // axes from the innermost outwards; the last pass writes `out`, the others alternate
  const axes: EdtPassGeometry[] = [];
  let stride = 1;
  for (let a = dims - 1; a >= 0; a--) {
    axes.push({ V, S: stride, L: spec.spatial[a]!, spacing: spec.spacing[a]! });
    stride *= spec.spatial[a]!;
  }
  const [tmp, vs] = dims > 1 ? scratch.get(device, total * 4) : [];
  const target = (i: number) => (dims - 1 - i) % 2 === 0 ? spec.out : tmp!;
  const align = Math.max(EDT_GPU_PARAMS_BYTES, device.limits.minUniformBufferOffsetAlignment);
  const slots = dims + (labels ? 1 : 0);
  const ubytes = new ArrayBuffer(slots * align);
  const maxPerDim = device.limits.maxComputeWorkgroupsPerDimension;
  const counts = axes.map((g) => spec.volumes * (V / g.L));
  const shift = spec.init.kind === "labels" ? spec.init.shift : 0;
  axes.forEach((g, i) => edtParams(new DataView(ubytes, i * align), counts[i]!, g, C, shift));
  if (labels) {
    counts.push(total / C);
    edtParams(new DataView(ubytes, dims * align), total / C, axes[0]!, C, shift);
  }
  const uniform = device.createBuffer({
    size: ubytes.byteLength,
    usage: BUFFER.UNIFORM | BUFFER.COPY_DST,
  });
  device.queue.writeBuffer(uniform, 0, ubytes);
  const ub = (i: number) => ({ buffer: uniform, offset: i * align, size: EDT_GPU_PARAMS_BYTES });
  const run = (
    p: GPUComputePipeline,
    entries: GPUBufferBinding[],
    count: number,
    perGroup = EDT_GPU_WG,
  ) => {
    pass.setPipeline(p);
    pass.setBindGroup(
      0,
      device.createBindGroup({
        layout: p.getBindGroupLayout(0),
        entries: entries.map((resource, binding) => ({ binding, resource })),
      }),
    );
    const [x, y] = dispatchSize(Math.ceil(count / perGroup), maxPerDim);
    pass.dispatchWorkgroups(x, y);
  };
  const cap = lineCapacity(device.limits.maxComputeWorkgroupStorageSize ?? 16384);
  const kernel = spec.kernel ?? "auto";
  const software = kernel === "auto" && isSoftwareDevice(device);
  axes.forEach((g, i) => {
    const final = i === dims - 1 && !labels;
    const perLine = g.L <= cap &&
      (kernel === "workgroup" ||
        (kernel === "auto" && !software && g.L >= WORKGROUP_LINES_FROM &&
          counts[i]! < WORKGROUP_LINES_BELOW));
    if (perLine) {
      const sites = i === 0 ? spec.init.kind : "distances";
      const p = cachedPipeline(
        device,
        `edt-gpu-line:${sites}:${final}:${cap}`,
        () => edtLineWgsl(sites, final, cap),
      );
      const src = i === 0 ? spec.init.buffer : target(i - 1);
      run(p, [ub(i), { buffer: src }, { buffer: target(i) }], counts[i]!, 1);
    } else if (i === 0) {
      const kind = spec.init.kind;
      const p = cachedPipeline(
        device,
        `edt-gpu-scan:${kind}:${final}`,
        () => edtScanWgsl(kind, final),
      );
      run(p, [ub(0), { buffer: spec.init.buffer }, { buffer: target(0) }], counts[0]!);
    } else {
      const p = cachedPipeline(device, `edt-gpu-envelope:${final}`, () => edtEnvelopeWgsl(final));
      run(
        p,
        [ub(i), { buffer: target(i - 1) }, { buffer: target(i) }, { buffer: vs! }],
        counts[i]!,
      );
    }
  });
  if (spec.init.kind === "labels") {
    const p = cachedPipeline(device, "edt-gpu-combine", edtCombineWgsl);
    run(p, [ub(dims), { buffer: spec.init.buffer }, { buffer: spec.out }], counts[dims]!);
  }
  return [uniform];
}

function checkSpatial(spatial: readonly number[]): void {
  if (spatial.length < 1 || spatial.length > 3) {
    throw new SeglossRangeError(
      `Expected 1 to 3 spatial axes for edt-gpu but found ${spatial.length}`,
    );
  }
}

/** Signed maps on `r.device` (the capability). */
function signedOnDevice(r: DeviceSignedRequest, kernel: EdtGpuKernel): GPUBuffer {
  const { device, numSamples: n, numClasses: C, spatial } = r;
  checkSpatial(spatial);
  const V = sizeOf(spatial);
  checkBindingSize(device, n * C * V * 4, "the signed maps");
  const labels = r.labelsBuffer ?? uploadBuffer(device, r.labels);
  const out = device.createBuffer({
    size: Math.max(4, n * C * V * 4),
    // COPY_DST too: tfjs copies a buffer into one of the same usage (createTensorFromGPUData)
    usage: BUFFER.STORAGE | BUFFER.COPY_SRC | BUFFER.COPY_DST,
  });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  const transient = encodeEdtGpu(device, pass, {
    spatial,
    spacing: r.spacing,
    volumes: n * C,
    init: {
      kind: "labels",
      buffer: labels,
      numClasses: C,
      shift: conventionShift(r.convention, r.spacing),
    },
    out,
    kernel,
  });
  pass.end();
  device.queue.submit([enc.finish()]);
  // destroying after submit is allowed: the memory is freed once the queued work completes
  for (const b of transient) b.destroy();
  if (!r.labelsBuffer) labels.destroy();
  return out;
}

async function gpuEdt(
  source: DeviceSource,
  kernel: EdtGpuKernel,
  mask: NdArray,
  options: EdtOptions,
): Promise<NdArray<Float32Array>> {
  checkNdArray(mask, "mask");
  if (typeof options !== "object" || options === null) {
    throw new SeglossTypeError(`Expected options to be an object but found ${quote(options)}`);
  }
  const shape = mask.shape;
  const spatialDims = gpuSpatialDims(options.spatialDims, shape);
  const spacing = checkSpacing(options.spacing, spatialDims, "options.spacing");
  const spatial = shape.slice(shape.length - spatialDims);
  const V = sizeOf(spatial);
  if (V === 0 || mask.data.length === 0) {
    return { data: new Float32Array(mask.data.length), shape: [...shape] };
  }
  const bytes = maskBytes(mask.data);
  const device = await source.get();
  const data = await edtInChunks(
    device,
    bytes,
    V,
    V * 4,
    "one edt-gpu volume",
    (pass, maskBuf, outBuf, volumes) =>
      encodeEdtGpu(device, pass, {
        spatial,
        spacing,
        volumes,
        init: { kind: "mask", buffer: maskBuf },
        out: outBuf,
        kernel,
      }),
  );
  return { data, shape: [...shape] };
}

/**
 * Creates the exact WebGPU distance transform. `edt(mask, { spacing, spatialDims })` has the
 * CPU `edt`'s semantics (distance of every non-zero voxel to the nearest zero voxel of its own
 * volume, zeros stay 0, a volume without zeros gets Infinity) for 1 to 3 spatial axes, every
 * volume of the batch in one submit. `signedOnDevice` writes signed maps of a label batch on
 * any device with no readback (the `webgpu` backend and `signedDistanceTfWebgpu` use it): one
 * transform per (sample, class) "distance to class c", and inside class l the smallest of the
 * other classes' distances, as the CPU `signedDistance` does.
 *
 * Accuracy (tests): equal to the CPU `edt` and `signedDistance` within float32 rounding on every
 * scipy fixture and on random masks; no wrong voxels.
 *
 * @param options `device`.
 * @returns The transform; its methods reject with an Error when no WebGPU adapter exists.
 *
 * @example Basic usage
 * ```ts
 * import { edtGpuTransform } from "./edt_gpu.ts";
 * import { isWebgpuAvailable } from "../core/gpu.ts";
 * import assert from "node:assert/strict";
 *
 * if (await isWebgpuAvailable()) {
 *   const t = edtGpuTransform();
 *   const d = await t.edt({ data: new Uint8Array([0, 1, 1, 1]), shape: [1, 4] }, {
 *     spacing: [1, 2],
 *   });
 *   assert.deepEqual(Array.from(d.data), [0, 2, 4, 6]);
 *   t.dispose();
 * }
 * ```
 */
export function edtGpuTransform(options: EdtGpuOptions = {}): EdtGpuTransform {
  if (typeof options !== "object" || options === null) {
    throw new SeglossTypeError(`Expected options to be an object but found ${quote(options)}`);
  }
  const source = new DeviceSource(options.device);
  const kernel = options.kernel ?? "auto";
  if (!["auto", "thread", "workgroup"].includes(kernel)) {
    throw new SeglossRangeError(
      `Expected options.kernel to be "auto", "thread" or "workgroup" but found ${
        JSON.stringify(kernel)
      }`,
    );
  }
  const used = new Set<GPUDevice>();
  const track = (d: GPUDevice) => (used.add(d), d);
  return {
    name: "edt-gpu",
    exact: true,
    device: () => source.get(),
    edt: async (mask, opts) => {
      track(await source.get());
      return gpuEdt(source, kernel, mask, opts ?? {});
    },
    signedOnDevice: (request) => {
      try {
        return Promise.resolve(
          signedOnDevice({ ...request, device: track(request.device) }, kernel),
        );
      } catch (e) {
        return Promise.reject(e);
      }
    },
    async signedDistance(target, opts) {
      const { n, numClasses, spatial, spacing, convention } = checkSignedArgs(target, opts, 3);
      const labels = int32Labels(target.data, numClasses);
      const device = track(await source.get());
      const buffer = signedOnDevice({
        device,
        labels,
        numSamples: n,
        numClasses,
        spatial,
        spacing,
        convention,
      }, kernel);
      try {
        const bytes = n * numClasses * sizeOf(spatial) * 4;
        const data = new Float32Array(await readBuffer(device, buffer, bytes));
        return { data, shape: [n, numClasses, ...spatial] };
      } finally {
        buffer.destroy();
      }
    },
    dispose() {
      for (const d of used) scratch.release(d);
      used.clear();
    },
  };
}

/**
 * The `edt-gpu` distance plugin: the exact Euclidean distance transform on WebGPU. Options:
 * `device` (a GPUDevice). Available when a WebGPU adapter exists.
 *
 * @example Basic usage
 * ```ts
 * import { edtGpuPlugin } from "./edt_gpu.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(edtGpuPlugin.name, "edt-gpu");
 * assert.equal(typeof (await edtGpuPlugin.isAvailable!()), "boolean");
 * ```
 */
export const edtGpuPlugin: DistancePlugin<"edt-gpu"> = {
  kind: "distance",
  name: "edt-gpu",
  description: "Exact Euclidean distance transform on WebGPU (separable passes; maps stay on the " +
    "device)",
  isAvailable: () => isWebgpuAvailable(),
  create: (options) => edtGpuTransform(options as EdtGpuOptions | undefined),
};
