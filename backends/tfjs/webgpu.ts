/**
 * tfjs-backend-webgpu on a GPUDevice segloss shares: the jump flood (`jfa`) writes signed
 * distance maps into a GPUBuffer of the tfjs backend's own device, and that buffer becomes a
 * tensor without a readback to the CPU.
 *
 * @module
 */
import { quote, SeglossRangeError, SeglossTypeError } from "../../core/errors.ts";
import * as tf from "@tensorflow/tfjs-core";
import { formatShape, type NdArray } from "../../core/ndarray.ts";
import type { DistanceTransform, SignedDistanceConvention } from "../../core/types.ts";
import { BUFFER, type DeviceAdapterInfo, rememberAdapter, uploadBuffer } from "../../core/gpu.ts";
import type { JfaRefinement } from "../../transforms/jfa_gpu.ts";
import { jfaTransform } from "../../transforms/jfa.ts";
import { signedDistance } from "../../transforms/signed_distance.ts";
import { isSignConvention, SIGN_CONVENTIONS } from "../../transforms/conventions.ts";
import { isTensor, type Layout } from "./_tensors.ts";

/**
 * Options of {@linkcode registerTfjsWebgpu}.
 *
 * @example Basic usage
 * ```ts
 * import type { TfjsWebgpuOptions } from "@segloss/segloss/tfjs";
 * import assert from "node:assert/strict";
 *
 * const o: TfjsWebgpuOptions = { name: "my-webgpu" };
 * assert.equal(o.name, "my-webgpu");
 * ```
 */
export interface TfjsWebgpuOptions {
  /** A GPUDevice to run tfjs on (default: one requested here from `navigator.gpu`). */
  device?: GPUDevice;
  /** The tfjs backend name to register (default `"segloss-webgpu"`). */
  name?: string;
  /** tfjs backend priority (default 0: below tfjs's `cpu`, so `tf.ready()` never picks it). */
  priority?: number;
}

/**
 * A tfjs WebGPU backend registered by {@linkcode registerTfjsWebgpu}.
 *
 * @example Basic usage
 * ```ts
 * import type { TfjsWebgpu } from "@segloss/segloss/tfjs";
 *
 * function nameOf(w: TfjsWebgpu): string {
 *   return w.name;
 * }
 * void nameOf;
 * ```
 */
export interface TfjsWebgpu {
  /** The registered tfjs backend name (pass it to `tf.setBackend`). */
  readonly name: string;
  /** The GPUDevice tfjs runs on (hand it to `jfaTransform({ device })` and the webgpu backend). */
  readonly device: GPUDevice;
  /**
   * Unregisters the backend (`tf.removeBackend`, which disposes it) and its kernels, and
   * destroys the device if it was requested here (a device you handed in is left alive).
   */
  dispose(): void;
}

interface GpuNavigator {
  gpu?: {
    requestAdapter(o?: Record<string, unknown>): Promise<GPUAdapter | null>;
  };
}

/**
 * Requests a GPUDevice the way tfjs-backend-webgpu 4.22 does, minus its two problems under
 * Deno: the adapter's info is read before `requestDevice` (tensorflow/tfjs#8518: a consumed
 * adapter's `info` is not readable), and `requiredFeatures` is a flat list (4.22 pushes the
 * nested `["bgra8unorm-storage"]`).
 */
async function requestTfjsDevice(): Promise<{ device: GPUDevice; info: unknown }> {
  const gpu = (globalThis.navigator as GpuNavigator | undefined)?.gpu;
  if (!gpu) {
    const bun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
    throw new Error(
      `WebGPU is not available: navigator.gpu is undefined (${
        bun ? "Bun has no WebGPU; use Deno or a browser" : "this runtime has no WebGPU"
      })`,
    );
  }
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) {
    throw new Error(
      "WebGPU is not available: navigator.gpu.requestAdapter() returned null (no GPU driver; " +
        "on Linux install mesa-vulkan-drivers for a software adapter, and set XDG_RUNTIME_DIR " +
        "for Deno)",
    );
  }
  const a = adapter as GPUAdapter & { info?: GPUAdapterInfo };
  let info: unknown;
  try {
    const i = a.info;
    info = i ? { vendor: i.vendor, architecture: i.architecture } : undefined;
  } catch {
    info = undefined;
  }
  const requiredFeatures: GPUFeatureName[] = [];
  for (const f of ["timestamp-query", "bgra8unorm-storage"] as GPUFeatureName[]) {
    if (adapter.features.has(f)) requiredFeatures.push(f);
  }
  const l = adapter.limits;
  const device: GPUDevice = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    },
  });
  // keeps the adapter alive with the device (Deno frees a collected adapter; see core/gpu.ts)
  rememberAdapter(device, adapter, info as DeviceAdapterInfo | undefined);
  return { device, info };
}

/**
 * Registers a tfjs-backend-webgpu backend under a name segloss owns (default
 * `"segloss-webgpu"`), on a GPUDevice you hand in or one requested here in a way that works on
 * Deno's WebGPU (see the README: tfjs 4.22's own factory reads `adapter.info` after
 * `requestDevice`, tensorflow/tfjs#8518). Loading `@tensorflow/tfjs-backend-webgpu` registers
 * tfjs's own `"webgpu"` factory as a side effect; if it was not registered before this call,
 * it is removed again, so tfjs's registry gains only the backend you asked for. Activate it
 * with `await tf.setBackend(w.name)`.
 *
 * @param options See {@linkcode TfjsWebgpuOptions}.
 * @returns The registered backend and its device.
 * @throws Error when there is no WebGPU adapter (Bun, or no driver), naming the reason.
 *
 * @example Basic usage
 * ```ts
 * import { registerTfjsWebgpu } from "@segloss/segloss/tfjs";
 * import * as tf from "@tensorflow/tfjs-core";
 * import assert from "node:assert/strict";
 *
 * const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
 * if (gpu && await gpu.requestAdapter()) {
 *   const w = await registerTfjsWebgpu();
 *   assert.ok(await tf.setBackend(w.name));
 *   const x = tf.tensor1d([1, 2, 3]);
 *   assert.deepEqual(Array.from(await tf.mul(x, x).data()), [1, 4, 9]);
 *   w.dispose();
 * }
 * ```
 */
export async function registerTfjsWebgpu(options: TfjsWebgpuOptions = {}): Promise<TfjsWebgpu> {
  if (typeof options !== "object" || options === null) {
    throw new SeglossTypeError(`Expected options to be an object but found ${quote(options)}`);
  }
  const name = options.name ?? "segloss-webgpu";
  if (typeof name !== "string" || name.length === 0) {
    throw new SeglossTypeError(
      `Expected options.name to be a non-empty string but found ${quote(name)}`,
    );
  }
  if (tf.findBackendFactory(name) != null) {
    throw new SeglossRangeError(
      `Expected options.name to name no registered tfjs backend but ${
        JSON.stringify(name)
      } is registered`,
    );
  }
  const { device, info } = options.device
    ? { device: options.device, info: undefined }
    : await requestTfjsDevice();
  const hadWebgpu = tf.findBackendFactory("webgpu") != null;
  const mod = await import("@tensorflow/tfjs-backend-webgpu");
  if (!hadWebgpu && tf.findBackendFactory("webgpu") != null) tf.removeBackend("webgpu");
  const backend = new mod.WebGPUBackend(device, info as GPUAdapterInfo | undefined);
  // tfjs registers kernels per backend name: give ours the webgpu kernels
  const kernels = tf.getKernelsForBackend("webgpu");
  for (const k of kernels) tf.registerKernel({ ...k, backendName: name });
  tf.registerBackend(name, () => backend, options.priority ?? 0);
  let disposed = false;
  return {
    name,
    device,
    dispose() {
      if (disposed) return;
      disposed = true;
      if (tf.findBackendFactory(name) != null) tf.removeBackend(name);
      for (const k of kernels) tf.unregisterKernel(k.kernelName, name);
      if (!options.device) device.destroy(); // ours; a device handed in stays the caller's
    },
  };
}

/**
 * Options of {@linkcode signedDistanceTfWebgpu}.
 *
 * @example Basic usage
 * ```ts
 * import type { SignedDistanceTfWebgpuOptions } from "@segloss/segloss/tfjs";
 * import assert from "node:assert/strict";
 *
 * const o: SignedDistanceTfWebgpuOptions = { numClasses: 2, refinement: "1+jfa+2" };
 * assert.equal(o.numClasses, 2);
 * ```
 */
export interface SignedDistanceTfWebgpuOptions {
  /** C: labels lie in `[0, C)`. */
  numClasses: number;
  /** Voxel size per spatial axis (default all 1). */
  spacing?: readonly number[];
  /** Sign convention (default `"kervadec"`). */
  convention?: SignedDistanceConvention;
  /** The jump flood's refinement passes (default `"1+jfa+2"`) when no `transform` is given. */
  refinement?: JfaRefinement;
  /**
   * The distance transform (default: the jump flood on tfjs's device). One that implements
   * `signedOnDevice` (`jfa`, `edtGpuTransform()` for exact maps, a third party's) writes the
   * maps on tfjs's device with no readback; any other runs `signedDistance` on the CPU and the
   * maps are uploaded once.
   */
  transform?: DistanceTransform;
  /** Layout of the returned maps (default `"channels-first"`). */
  layout?: Layout;
}

interface GpuBackendLike {
  device: GPUDevice;
  createTensorFromGPUData?: unknown;
}

/**
 * Whether the active tfjs backend is tfjs-backend-webgpu (internal).
 *
 * @returns True when tfjs's active backend exposes a `GPUDevice`.
 *
 * @example Basic usage
 * ```ts
 * // internal: the tfjs scorer backend uses it to run a transform on tfjs's own device
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { isWebgpuTfBackend } from "./webgpu.ts";
 * import assert from "node:assert/strict";
 *
 * await tf.setBackend("cpu");
 * assert.equal(isWebgpuTfBackend(), false);
 * ```
 */
export function isWebgpuTfBackend(): boolean {
  const be = tf.engine().backendName ? (tf.backend() as unknown as GpuBackendLike) : undefined;
  return !!be && typeof be.createTensorFromGPUData === "function" && !!be.device;
}

/**
 * Signed distance maps (per sample and class) computed on the active tfjs backend's own
 * GPUDevice, returned as a float32 tensor `(N, C, ...spatial)` (or `(N, ...spatial, C)`) that
 * never visits the CPU: the transform's `signedOnDevice` writes a GPUBuffer that becomes the
 * tensor (`tf.tensor({ buffer }, shape)`, tfjs copies it GPU-side). The default transform is
 * the jump flood (approximate, see `jfa`); pass `transform: edtGpuTransform()` for exact maps.
 * The labels are small integers that usually come from the CPU: a label tensor is read back
 * once to find which classes are present. The active backend must be tfjs-backend-webgpu (see
 * {@linkcode registerTfjsWebgpu}).
 *
 * @param labels Labels `(N, ...spatial)`, 1 to 3 spatial axes.
 * @param options See {@linkcode SignedDistanceTfWebgpuOptions}.
 * @returns The maps, a constant tensor on the WebGPU backend.
 *
 * @example Basic usage
 * ```ts
 * import { registerTfjsWebgpu, signedDistanceTfWebgpu } from "@segloss/segloss/tfjs";
 * import * as tf from "@tensorflow/tfjs-core";
 * import assert from "node:assert/strict";
 *
 * const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
 * if (gpu && await gpu.requestAdapter()) {
 *   const w = await registerTfjsWebgpu({ name: "doc-webgpu" });
 *   await tf.setBackend(w.name);
 *   const labels = { data: new Int32Array([0, 1, 1, 0]), shape: [1, 4] };
 *   const phi = await signedDistanceTfWebgpu(labels, { numClasses: 2 });
 *   assert.deepEqual(Array.from(await phi.data(), (v) => v + 0).slice(4), [1, 0, 0, 1]);
 *   w.dispose();
 * }
 * ```
 */
export async function signedDistanceTfWebgpu(
  labels: tf.Tensor | NdArray,
  options: SignedDistanceTfWebgpuOptions,
): Promise<tf.Tensor> {
  if (typeof options !== "object" || options === null) {
    throw new SeglossTypeError(
      `Expected options to be an object { numClasses, ... } but found ${quote(options)}`,
    );
  }
  const C = options.numClasses;
  if (!Number.isInteger(C) || C < 1) {
    throw new SeglossRangeError(
      `Expected options.numClasses to be an integer >= 1 but found ${quote(C)}`,
    );
  }
  const be = tf.backend() as unknown as GpuBackendLike;
  if (!be || typeof be.createTensorFromGPUData !== "function" || !be.device) {
    throw new SeglossTypeError(
      `Expected the active tfjs backend to be tfjs-backend-webgpu but found ${
        quote(tf.getBackend())
      } (see registerTfjsWebgpu)`,
    );
  }
  const device = be.device;
  let data: Int32Array;
  let shape: number[];
  if (isTensor(labels)) {
    shape = [...labels.shape];
    const d = await labels.data();
    data = d instanceof Int32Array ? d : Int32Array.from(d as ArrayLike<number>);
  } else {
    shape = [...labels.shape];
    data = labels.data instanceof Int32Array
      ? labels.data
      : Int32Array.from(labels.data as ArrayLike<number>);
  }
  if (shape.length < 2 || shape.length > 4) {
    throw new SeglossTypeError(
      `Expected labels to have shape (N, ...spatial) with 1 to 3 spatial axes but found ${
        formatShape(shape)
      }`,
    );
  }
  const n = shape[0]!;
  const spatial = shape.slice(1);
  const V = spatial.reduce((a, b) => a * b, 1);
  if (n * V !== data.length || V === 0) {
    throw new SeglossTypeError(
      `Expected labels.data to have ${n * V} elements (shape ${
        formatShape(shape)
      }) but found ${data.length}`,
    );
  }
  const spacing = options.spacing ?? spatial.map(() => 1);
  if (spacing.length !== spatial.length || spacing.some((s) => !(s > 0) || !isFinite(s))) {
    throw new SeglossRangeError(
      `Expected options.spacing to be ${spatial.length} finite numbers > 0 but found ${
        quote(spacing)
      }`,
    );
  }
  const convention = options.convention ?? "kervadec";
  if (!isSignConvention(convention)) {
    throw new SeglossRangeError(
      `Expected options.convention to be one of ${
        SIGN_CONVENTIONS.map((c) => JSON.stringify(c)).join(", ")
      } but found ${quote(convention)}`,
    );
  }
  for (let i = 0; i < data.length; i++) {
    const l = data[i]!;
    if (!(l >= 0 && l < C)) {
      throw new SeglossRangeError(`Expected labels in [0, ${C}) but found ${l} at flat index ${i}`);
    }
  }
  const transform = options.transform ??
    jfaTransform({ device, refinement: options.refinement ?? "1+jfa+2" });
  const request = {
    device,
    labels: data,
    numSamples: n,
    numClasses: C,
    spatial,
    spacing,
    convention,
  };
  let out = typeof transform.signedOnDevice === "function"
    ? await transform.signedOnDevice(request)
    : undefined;
  if (out === undefined) {
    // a transform without the capability (or not for this device): maps on the CPU, uploaded
    const d = await signedDistance({ data, shape }, {
      numClasses: C,
      spacing,
      convention,
      transform,
    });
    out = uploadBuffer(device, d.data, BUFFER.STORAGE | BUFFER.COPY_SRC);
  }
  if ((out.usage & BUFFER.COPY_DST) === 0) {
    // tfjs copies the buffer into a new one of the SAME usage: without COPY_DST that copy is
    // invalid (the tensor reads zeros), so a third party's buffer is copied here first
    const copy = device.createBuffer({
      size: out.size,
      usage: BUFFER.STORAGE | BUFFER.COPY_SRC | BUFFER.COPY_DST,
    });
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(out, 0, copy, 0, out.size);
    device.queue.submit([enc.finish()]);
    out.destroy();
    out = copy;
  }
  // tfjs copies the buffer on its own queue (after our submit), then we may destroy ours
  const t = tf.tensor({ buffer: out }, [n, C, ...spatial], "float32");
  out.destroy();
  if (options.layout === "channels-last") {
    const perm = [0, ...spatial.map((_, i) => i + 2), 1];
    const tr = tf.transpose(t, perm);
    t.dispose();
    return tr;
  }
  return t;
}
