/**
 * The GPU device layer (below transforms and backends): one lazily requested default WebGPU
 * device per process, shared by the `webgpu` backend and the GPU distance transforms (`jfa`,
 * `edt-gpu`) so maps stay in GPU memory between them; devices handed in by the caller; device
 * loss; readbacks that can never hang on a lost device; pipeline caching and buffer helpers.
 *
 * Nothing here touches `navigator.gpu` at import time.
 *
 * @module
 */
import { SeglossRangeError, SeglossTypeError } from "./errors.ts";

/** GPUBufferUsage flags (numeric, so this module needs no global at import time). */
export const BUFFER = {
  MAP_READ: 0x0001,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
  QUERY_RESOLVE: 0x0200,
} as const;

/** GPUMapMode.READ. */
const MAP_READ = 0x0001;

interface GpuLike {
  requestAdapter(options?: Record<string, unknown>): Promise<GPUAdapter | null>;
}

function gpu(): GpuLike | undefined {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  return nav?.gpu;
}

let adapterProbe: Promise<GPUAdapter | null> | undefined;

function probeAdapter(): Promise<GPUAdapter | null> {
  const g = gpu();
  if (!g) return Promise.resolve(null);
  adapterProbe ??= g.requestAdapter({ powerPreference: "high-performance" }).then((a) => {
    if (a) {
      const info = (a as { info?: { isFallbackAdapter?: boolean; description?: string } }).info;
      fallbackSeen = Boolean(
        info?.isFallbackAdapter ?? (a as { isFallbackAdapter?: boolean }).isFallbackAdapter,
      ) || /llvmpipe|lavapipe|swiftshader|software/i.test(info?.description ?? "");
    }
    return a;
  }, () => null);
  return adapterProbe;
}

/**
 * Whether a WebGPU adapter can be obtained here (`navigator.gpu` exists and yields an
 * adapter). The answer is cached; it never throws.
 *
 * @returns true when WebGPU work can run.
 *
 * @example Basic usage
 * ```ts
 * import { isWebgpuAvailable } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * assert.equal(typeof (await isWebgpuAvailable()), "boolean");
 * ```
 */
export async function isWebgpuAvailable(): Promise<boolean> {
  return (await probeAdapter()) !== null;
}

let fallbackSeen: boolean | undefined;

/**
 * Whether the adapter is a software fallback (llvmpipe, SwiftShader, WARP), as far as known:
 * undefined until {@linkcode isWebgpuAvailable} has resolved.
 */
export function isFallbackAdapter(): boolean | undefined {
  return fallbackSeen;
}

/** Why no adapter is available, for error messages. */
export function noAdapterReason(): string {
  if (!gpu()) {
    const bun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
    return bun
      ? "navigator.gpu is undefined (Bun has no WebGPU; use Deno or a browser)"
      : "navigator.gpu is undefined (this runtime has no WebGPU)";
  }
  return "navigator.gpu.requestAdapter() returned null (no GPU driver; on Linux install " +
    "mesa-vulkan-drivers for a software adapter, and set XDG_RUNTIME_DIR for Deno)";
}

/**
 * Requests a new GPUDevice with the adapter's largest buffer limits (the jump flood and the
 * loss kernels bind whole batches as storage buffers) and `timestamp-query` when offered.
 *
 * @returns A fresh device.
 * @throws Error when there is no adapter, naming the reason.
 *
 * @example Basic usage
 * ```ts
 * import { isWebgpuAvailable, requestWebgpuDevice } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * if (await isWebgpuAvailable()) {
 *   const device = await requestWebgpuDevice();
 *   assert.ok(device.limits.maxStorageBufferBindingSize >= 128 * 1024 * 1024);
 *   device.destroy();
 * }
 * ```
 */
export async function requestWebgpuDevice(): Promise<GPUDevice> {
  const g = gpu();
  if (!g) throw new Error(`WebGPU is not available: ${noAdapterReason()}`);
  const adapter = await g.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) throw new Error(`WebGPU is not available: ${noAdapterReason()}`);
  const l = adapter.limits;
  const requiredFeatures: GPUFeatureName[] = [];
  if (adapter.features.has("timestamp-query")) requiredFeatures.push("timestamp-query");
  const info = readInfo(adapter); // before requestDevice: a consumed adapter's info may throw
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxStorageBuffersPerShaderStage: Math.min(l.maxStorageBuffersPerShaderStage, 8),
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      // the exact GPU EDT keeps a line of up to 4096 voxels in workgroup memory (48 KiB)
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    },
  });
  rememberAdapter(device, adapter, info);
  return device;
}

/** What is known of the adapter behind a device. */
export type DeviceAdapterInfo =
  & Partial<Pick<GPUAdapterInfo, "vendor" | "architecture" | "device" | "description">>
  & {
    isFallbackAdapter?: boolean;
  };

const adapters = new WeakMap<GPUDevice, { adapter: GPUAdapter; info?: DeviceAdapterInfo }>();

function readInfo(adapter: GPUAdapter): DeviceAdapterInfo | undefined {
  try {
    const i = (adapter as { info?: GPUAdapterInfo & { isFallbackAdapter?: boolean } }).info;
    if (!i) return undefined;
    return {
      vendor: i.vendor,
      architecture: i.architecture,
      device: i.device,
      description: i.description,
      isFallbackAdapter: i.isFallbackAdapter ??
        (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter,
    };
  } catch {
    return undefined;
  }
}

/**
 * Keeps `adapter` alive as long as `device` and records its info (read before `requestDevice`).
 * Deno 2.9 frees an adapter when its GPUAdapter object is garbage-collected, and reading
 * `device.adapterInfo` afterwards panics the whole process (`Adapter[Id(..)] does not exist`):
 * every device segloss requests goes through here.
 *
 * @param device The device requested from `adapter`.
 * @param adapter Its adapter.
 * @param info The adapter's info, read before `requestDevice`.
 *
 * @example Basic usage
 * ```ts
 * import { deviceAdapterInfo, rememberAdapter } from "./gpu.ts";
 * import assert from "node:assert/strict";
 *
 * const adapter = await navigator.gpu?.requestAdapter();
 * if (adapter) {
 *   const info = { description: adapter.info.description };
 *   const device = await adapter.requestDevice();
 *   rememberAdapter(device, adapter, info);
 *   assert.equal(deviceAdapterInfo(device)?.description, info.description);
 *   device.destroy();
 * }
 * ```
 */
export function rememberAdapter(
  device: GPUDevice,
  adapter: GPUAdapter,
  info: DeviceAdapterInfo | undefined = undefined,
): void {
  adapters.set(device, { adapter, info });
}

/**
 * Whether `device` runs on a software adapter (llvmpipe, lavapipe, SwiftShader, WARP), as far as
 * known: its recorded adapter info, else the probed default adapter's.
 *
 * @param device A device.
 * @returns True for a known software adapter.
 *
 * @example Basic usage
 * ```ts
 * import { getDefaultWebgpuDevice, isSoftwareDevice, isWebgpuAvailable } from "./gpu.ts";
 * import assert from "node:assert/strict";
 *
 * if (await isWebgpuAvailable()) {
 *   assert.equal(typeof isSoftwareDevice(await getDefaultWebgpuDevice()), "boolean");
 * }
 * ```
 */
export function isSoftwareDevice(device: GPUDevice): boolean {
  const i = deviceAdapterInfo(device);
  if (i?.isFallbackAdapter) return true;
  const name = [i?.description, i?.vendor, i?.architecture, i?.device].filter(Boolean).join(" ");
  if (name) return /llvmpipe|lavapipe|swiftshader|software|warp/i.test(name);
  return isFallbackAdapter() ?? false;
}

/**
 * The adapter info of `device`: recorded when segloss requested the device; otherwise
 * `device.adapterInfo` except on Deno, where reading it after the adapter object was collected
 * crashes the process (then undefined).
 *
 * @param device A device.
 * @returns What is known, or undefined.
 *
 * @example Basic usage
 * ```ts
 * import { deviceAdapterInfo, getDefaultWebgpuDevice, isWebgpuAvailable } from "./gpu.ts";
 * import assert from "node:assert/strict";
 *
 * if (await isWebgpuAvailable()) {
 *   const info = deviceAdapterInfo(await getDefaultWebgpuDevice());
 *   assert.equal(typeof info?.description, "string");
 * }
 * ```
 */
export function deviceAdapterInfo(device: GPUDevice): DeviceAdapterInfo | undefined {
  const known = adapters.get(device);
  if (known) return known.info;
  if (typeof (globalThis as { Deno?: unknown }).Deno !== "undefined") return undefined;
  try {
    return (device as { adapterInfo?: DeviceAdapterInfo }).adapterInfo;
  } catch {
    return undefined;
  }
}

let defaultDevice: Promise<GPUDevice> | undefined;

/**
 * The process-wide default device that the `webgpu` backend and the `jfa` transform share
 * when no device is handed in (so signed distance maps stay on the GPU between the two).
 * Requested on first use; after a device loss the next call requests a fresh one.
 *
 * @returns The shared device.
 * @throws Error when there is no adapter.
 *
 * @example Basic usage
 * ```ts
 * import { getDefaultWebgpuDevice, isWebgpuAvailable } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * if (await isWebgpuAvailable()) {
 *   assert.equal(await getDefaultWebgpuDevice(), await getDefaultWebgpuDevice());
 * }
 * ```
 */
export function getDefaultWebgpuDevice(): Promise<GPUDevice> {
  if (!defaultDevice) {
    const p = requestWebgpuDevice();
    defaultDevice = p;
    p.then((d) => {
      watchLoss(d);
      d.lost.then(() => {
        if (defaultDevice === p) defaultDevice = undefined;
      });
    }, () => {
      if (defaultDevice === p) defaultDevice = undefined;
    });
  }
  return defaultDevice;
}

const lostInfo = new WeakMap<GPUDevice, string>();
const watched = new WeakSet<GPUDevice>();

/** Starts tracking `device.lost` so {@linkcode deviceLostReason} can answer synchronously. */
export function watchLoss(device: GPUDevice): void {
  if (watched.has(device)) return;
  watched.add(device);
  device.lost.then((info) => {
    lostInfo.set(device, `${info.reason ?? "unknown"}: ${info.message || "(no message)"}`);
  });
}

/** The loss reason of a watched device, or undefined while it is alive. */
export function deviceLostReason(device: GPUDevice): string | undefined {
  return lostInfo.get(device);
}

/**
 * Where a component gets its device: the caller's own (never replaced; a loss is an error) or
 * the shared default (replaced after a loss).
 */
export class DeviceSource {
  readonly #own: GPUDevice | undefined;
  /**
   * @param device A caller's device, or undefined for the shared default.
   */
  constructor(device?: GPUDevice) {
    if (device !== undefined) {
      if (typeof device !== "object" || device === null || !("createBuffer" in device)) {
        throw new SeglossTypeError(
          `Expected options.device to be a GPUDevice but found ${
            device === null ? "null" : typeof device
          }`,
        );
      }
      watchLoss(device);
    }
    this.#own = device;
  }

  /** The device in use if one was handed in or the default was already requested. */
  async peek(): Promise<GPUDevice | undefined> {
    if (this.#own) return this.#own;
    if (!defaultDevice) return undefined;
    try {
      return await defaultDevice;
    } catch {
      return undefined;
    }
  }

  /** Whether the device was handed in by the caller. */
  get external(): boolean {
    return this.#own !== undefined;
  }

  /** The device to use now (a fresh default after a loss; an Error for a lost own device). */
  async get(): Promise<GPUDevice> {
    if (this.#own) {
      const lost = deviceLostReason(this.#own) ?? await lostNow(this.#own);
      if (lost !== undefined) {
        throw new Error(
          `The GPUDevice handed in was lost (${lost}); create a new backend/transform with a ` +
            "live device",
        );
      }
      return this.#own;
    }
    for (let attempt = 0; attempt < 2; attempt++) {
      const d = await getDefaultWebgpuDevice();
      if (deviceLostReason(d) === undefined) return d;
      // the loss callback may not have run yet: drop it and ask again
      defaultDevice = undefined;
    }
    throw new Error("Could not obtain a live WebGPU device (lost twice in a row)");
  }
}

/** The loss reason if `device.lost` has already settled (checked without waiting). */
async function lostNow(device: GPUDevice): Promise<string | undefined> {
  const info = await Promise.race([device.lost, Promise.resolve(undefined)]);
  return info ? `${info.reason ?? "unknown"}: ${info.message || "(no message)"}` : undefined;
}

/** Rejects with a clear Error when `device` is lost before `p` settles (no hang). */
export function raceLoss<T>(device: GPUDevice, p: Promise<T>, what: string): Promise<T> {
  const lost = device.lost.then((info) => {
    throw new Error(
      `WebGPU device lost during ${what} (${info.reason ?? "unknown"}: ${info.message})`,
    );
  });
  lost.catch(() => {}); // if the device is lost after `p` settled, nobody is waiting
  const guarded = p.catch(async (e) => {
    // a failed operation on a device that is being lost: report the loss, not the symptom
    const timer = new Promise<undefined>((r) => setTimeout(() => r(undefined), 100));
    const info = await Promise.race([device.lost, timer]);
    if (info) {
      throw new Error(
        `WebGPU device lost during ${what} (${info.reason ?? "unknown"}: ${info.message})`,
      );
    }
    throw e;
  });
  return Promise.race([guarded, lost]);
}

/**
 * Copies `size` bytes of `src` (from `offset`) into a fresh ArrayBuffer, waiting for the
 * queue; rejects (instead of hanging) if the device is lost meanwhile.
 */
export async function readBuffer(
  device: GPUDevice,
  src: GPUBuffer,
  size: number,
  offset = 0,
): Promise<ArrayBuffer> {
  const staging = device.createBuffer({ size, usage: BUFFER.MAP_READ | BUFFER.COPY_DST });
  try {
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(src, offset, staging, 0, size);
    device.queue.submit([enc.finish()]);
    await raceLoss(device, staging.mapAsync(MAP_READ), "a readback");
    const out = staging.getMappedRange().slice(0);
    staging.unmap();
    return out;
  } finally {
    staging.destroy();
  }
}

/** Creates a storage buffer holding `data` (padded to 4 bytes). */
export function uploadBuffer(
  device: GPUDevice,
  data: ArrayBufferView,
  usage: number = BUFFER.STORAGE,
): GPUBuffer {
  const size = Math.max(4, Math.ceil(data.byteLength / 4) * 4);
  const buf = device.createBuffer({ size, usage: usage | BUFFER.COPY_DST });
  if (data.byteLength % 4 === 0) {
    device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
  } else {
    const padded = new Uint8Array(size);
    padded.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    device.queue.writeBuffer(buf, 0, padded);
  }
  return buf;
}

/** Pipelines compiled once per (device, key). */
const pipelineCache = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

/** A compute pipeline for `code` (entry `main`), compiled once per device and key. */
export function cachedPipeline(
  device: GPUDevice,
  key: string,
  code: () => string,
  layout?: GPUBindGroupLayout,
): GPUComputePipeline {
  let m = pipelineCache.get(device);
  if (!m) pipelineCache.set(device, m = new Map());
  let p = m.get(key);
  if (!p) {
    const module = device.createShaderModule({ code: code() });
    p = device.createComputePipeline({
      layout: layout ? device.createPipelineLayout({ bindGroupLayouts: [layout] }) : "auto",
      compute: { module, entryPoint: "main" },
    });
    m.set(key, p);
  }
  return p;
}

/**
 * Splits `groups` workgroups into a 2-D dispatch within `maxPerDim`; kernels rebuild the linear
 * workgroup index as `wid.y * num_workgroups.x + wid.x`.
 */
export function dispatchSize(groups: number, maxPerDim = 65535): [number, number] {
  if (groups <= maxPerDim) return [Math.max(1, groups), 1];
  const y = Math.ceil(groups / maxPerDim);
  return [Math.ceil(groups / y), y];
}

/** Throws a RangeError when a buffer of `bytes` exceeds the device's binding limit. */
export function checkBindingSize(device: GPUDevice, bytes: number, what: string): void {
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  if (bytes > limit) {
    throw new SeglossRangeError(
      `Expected ${what} to fit one WebGPU storage binding (${limit} bytes on this device) but ` +
        `it needs ${bytes} bytes; split the batch`,
    );
  }
}
