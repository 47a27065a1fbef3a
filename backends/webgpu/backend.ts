/**
 * The `webgpu` backend: raw WGSL kernels on `navigator.gpu` (or a device the caller hands in).
 * One fused pass for the statistics, one for the gradient; signed distance maps are computed on
 * the device by the `jfa` transform when it shares the backend's device, so they never leave
 * GPU memory.
 *
 * @module
 */
import { quote, SeglossRangeError, SeglossTypeError } from "../../core/errors.ts";
import type { FloatArray } from "../../core/ndarray.ts";
import { STAT_TERMS } from "../../core/types.ts";
import type {
  Backend,
  BackendBatch,
  BackendInfo,
  GradientCoefficients,
  PreparedBatch,
  Statistics,
  StatTerm,
} from "../../core/types.ts";
import type { BackendPlugin } from "../../core/registry.ts";
import { signedDistance } from "../../transforms/signed_distance.ts";
import { checkBackendBatch, distanceLabels, missingDistanceError } from "../common.ts";
import { releaseScratch } from "../../transforms/jfa_gpu.ts";
import {
  BUFFER,
  cachedPipeline,
  checkBindingSize,
  deviceAdapterInfo,
  DeviceSource,
  dispatchSize,
  isFallbackAdapter,
  isWebgpuAvailable,
  readBuffer,
  uploadBuffer,
} from "../../core/gpu.ts";
import {
  GRAD_WG,
  gradientWgsl,
  STATS_CB,
  STATS_WG,
  statsWgsl,
  type TargetKind,
} from "./kernels.ts";

/**
 * Options of {@linkcode createWebgpuBackend}.
 *
 * @example Basic usage
 * ```ts
 * import type { WebgpuBackendOptions } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const o: WebgpuBackendOptions = {};
 * assert.equal(o.device, undefined);
 * ```
 */
export interface WebgpuBackendOptions {
  /**
   * A GPUDevice to run on (for example tfjs-backend-webgpu's). Default: the shared default
   * device (the one `jfaTransform()` uses too). A lost device handed in is an error; the
   * default device is replaced after a loss.
   */
  device?: GPUDevice;
}

/**
 * The WebGPU backend, with the device it runs on.
 *
 * @example Basic usage
 * ```ts
 * import { createWebgpuBackend, isWebgpuAvailable } from "@segloss/segloss";
 * import type { WebgpuBackend } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * if (await isWebgpuAvailable()) {
 *   const b: WebgpuBackend = createWebgpuBackend();
 *   assert.equal(b.name, "webgpu");
 *   b.dispose();
 * }
 * ```
 */
export interface WebgpuBackend extends Backend {
  /** Always `"webgpu"`. */
  readonly name: "webgpu";
  /** The device in use now (requested on first use unless handed in). */
  device(): Promise<GPUDevice>;
}

interface Shape {
  n: number;
  c: number;
  v: number;
  spatial: number[];
}

function checkBatch(batch: BackendBatch): Shape {
  const { n, c, vol: v, spatial } = checkBackendBatch(batch, false);
  return { n, c, v, spatial };
}

/**
 * The adapter behind `device`, as far as known (see `deviceAdapterInfo`: never
 * `device.adapterInfo` on Deno, where it can crash the process once the adapter was collected).
 */
function describeAdapter(device: GPUDevice): BackendInfo["adapter"] {
  const i = deviceAdapterInfo(device);
  const name = i?.description ||
    [i?.vendor, i?.architecture, i?.device].filter((x) => x).join(" ") || "unknown adapter";
  const isSoftware = i?.isFallbackAdapter ??
    (/llvmpipe|lavapipe|swiftshader|software|warp/i.test(name) ? true : undefined);
  return { name, isSoftware };
}

function sameValues(a: Int32Array, b: Int32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function toF32(a: FloatArray): Float32Array {
  return a instanceof Float32Array ? a : Float32Array.from(a);
}

function paramsBuffer(device: GPUDevice, s: Shape, g: number, batch: BackendBatch): GPUBuffer {
  const u = new Uint32Array(8);
  const i = new Int32Array(u.buffer);
  u[0] = s.n;
  u[1] = s.v;
  u[2] = g;
  i[3] = batch.ignoreIndex ?? 0;
  u[4] = batch.ignoreIndex !== undefined ? 1 : 0;
  u[5] = s.n * s.v;
  return uploadBuffer(device, u, BUFFER.UNIFORM);
}

/**
 * Creates the WebGPU backend. `prepare` uploads the batch (scores as float32, labels as
 * int32); `statistics` runs one fused pass (softmax on the fly, every requested sum,
 * workgroup reductions to float32 partials summed on the CPU in float64); `gradient` runs one
 * pass (through the softmax for logits) and reads dL/dinput back (float64 for float64 input).
 * When `pphi` is needed and no maps were given, the maps come from
 * `batch.distanceRequest.transform`: on the device itself when the transform implements
 * `signedOnDevice` (`jfa`, `edt-gpu`, or a third party's transform; no
 * round trip), otherwise `signedDistance` on the CPU, uploaded once. Methods
 * reject with an Error when no WebGPU adapter exists or the device is lost mid-call; after a
 * loss of the default device the next `prepare` gets a fresh one.
 *
 * @param options `device`.
 * @returns The backend.
 *
 * @example Basic usage
 * ```ts
 * import { createWebgpuBackend, isWebgpuAvailable } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * if (await isWebgpuAvailable()) {
 *   const backend = createWebgpuBackend();
 *   const prepared = await backend.prepare({
 *     input: { data: new Float32Array([0, 0]), shape: [1, 2, 1] },
 *     inputKind: "logits",
 *     numClasses: 2,
 *     labels: new Int32Array([1]),
 *   });
 *   const stats = await prepared.statistics(new Set(["pt"]));
 *   assert.ok(Math.abs(stats.sums.pt![1]! - 0.5) < 1e-6);
 *   const g = await prepared.gradient({ tOverP: new Float64Array([1, 1]) });
 *   assert.deepEqual(Array.from(g), [-0.5, 0.5]);
 *   prepared.dispose();
 *   backend.dispose();
 * }
 * ```
 */
export function createWebgpuBackend(options: WebgpuBackendOptions = {}): WebgpuBackend {
  if (typeof options !== "object" || options === null) {
    throw new SeglossTypeError(`Expected options to be an object but found ${quote(options)}`);
  }
  const source = new DeviceSource(options.device);
  const live = new Set<PreparedBatch>();
  let adapter: BackendInfo["adapter"];
  return {
    name: "webgpu",
    device: () => source.get(),
    info: () => ({ kernel: adapter ? "wgsl" : undefined, adapter }),
    async prepare(batch: BackendBatch): Promise<PreparedBatch> {
      const s = checkBatch(batch);
      const device = await source.get();
      adapter ??= describeAdapter(device);
      const { n, c: C, v: V } = s;
      const bytes = n * C * V * 4;
      checkBindingSize(device, bytes, "batch.input as float32");
      const logits = batch.inputKind === "logits";
      const target: TargetKind = batch.labels ? "labels" : batch.onehot ? "onehot" : "none";
      const owned: GPUBuffer[] = [];
      let disposed = false;
      const own = (b: GPUBuffer) => {
        // a buffer that arrives after dispose() (maps still in flight) is freed at once
        if (disposed) b.destroy();
        else owned.push(b);
        return b;
      };
      const input = own(uploadBuffer(device, toF32(batch.input.data)));
      const targetBuf = batch.labels
        ? own(uploadBuffer(device, batch.labels))
        : batch.onehot
        ? own(uploadBuffer(device, toF32(batch.onehot)))
        : undefined;
      let phi: GPUBuffer | undefined = batch.distance
        ? own(uploadBuffer(device, toF32(batch.distance.data)))
        : undefined;
      let phiReady: Promise<GPUBuffer> | undefined;

      const ensurePhi = (): Promise<GPUBuffer> => {
        if (phi) return Promise.resolve(phi);
        phiReady ??= (async () => {
          const missing = missingDistanceError(batch);
          if (missing) throw missing;
          const req = batch.distanceRequest!;
          const labels = distanceLabels(batch, n, C, V);
          // capability, not identity: any transform that can write the maps on this device
          // (jfa, edt-gpu, a third party's) keeps them here; the others run on the CPU
          const onDevice = typeof req.transform.signedOnDevice === "function"
            ? await req.transform.signedOnDevice({
              device,
              labels,
              // the labels already uploaded serve when distanceLabels changed nothing
              labelsBuffer: batch.labels && sameValues(batch.labels, labels)
                ? targetBuf
                : undefined,
              numSamples: n,
              numClasses: C,
              spatial: s.spatial,
              spacing: req.spacing,
              convention: req.convention,
            })
            : undefined;
          if (onDevice !== undefined) {
            phi = own(onDevice);
          } else {
            const d = await signedDistance({ data: labels, shape: [n, ...s.spatial] }, {
              numClasses: C,
              spacing: req.spacing,
              convention: req.convention,
              transform: req.transform,
            });
            phi = own(uploadBuffer(device, d.data));
          }
          return phi;
        })();
        return phiReady;
      };

      const G = Math.max(1, Math.min(4096, Math.ceil(V / (STATS_WG * 16))));
      const statsParams = own(paramsBuffer(device, s, G, batch));
      const check = () => {
        if (disposed) throw new Error("This prepared batch was disposed");
      };
      /**
       * One pass of `pipeline` over the batch: params, input, target and maps (when present)
       * at bindings 0 to 3, then `extra` from binding 4 on; submitted, not awaited.
       */
      const dispatch = (
        pipeline: GPUComputePipeline,
        phiBuf: GPUBuffer | undefined,
        extra: readonly GPUBuffer[],
        x: number,
        y: number,
      ): void => {
        const entries: GPUBindGroupEntry[] = [
          { binding: 0, resource: { buffer: statsParams } },
          { binding: 1, resource: { buffer: input } },
          ...(targetBuf ? [{ binding: 2, resource: { buffer: targetBuf } }] : []),
          ...(phiBuf ? [{ binding: 3, resource: { buffer: phiBuf } }] : []),
          ...extra.map((buffer, i) => ({ binding: 4 + i, resource: { buffer } })),
        ];
        const bg = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bg);
        pass.dispatchWorkgroups(x, y);
        pass.end();
        device.queue.submit([enc.finish()]);
      };

      const prepared: PreparedBatch = {
        async statistics(terms: ReadonlySet<StatTerm>): Promise<Statistics> {
          check();
          for (const term of terms) {
            if (!STAT_TERMS.includes(term)) {
              throw new SeglossRangeError(
                `Expected statistic terms among ${STAT_TERMS.join(", ")} but found ${quote(term)}`,
              );
            }
          }
          const list = STAT_TERMS.filter((t) => terms.has(t));
          const sums: Partial<Record<StatTerm, Float64Array>> = {};
          if (list.length === 0) return { numSamples: n, numClasses: C, voxels: V, sums };
          const wantPhi = terms.has("pphi");
          const phiBuf = wantPhi ? await ensurePhi() : undefined;
          const T = list.length;
          const pipeline = cachedPipeline(
            device,
            `stats:${C}:${list.join(",")}:${logits}:${target}:${wantPhi}`,
            () => statsWgsl(C, list, logits, target, wantPhi),
          );
          const partialBytes = n * G * C * T * 4;
          const partials = device.createBuffer({
            size: partialBytes,
            usage: BUFFER.STORAGE | BUFFER.COPY_SRC,
          });
          try {
            dispatch(pipeline, phiBuf, [partials], G, n * Math.ceil(C / STATS_CB));
            const part = new Float32Array(await readBuffer(device, partials, partialBytes));
            const acc = new Float64Array(n * C * T);
            for (let k = 0; k < n; k++) {
              for (let g = 0; g < G; g++) {
                const base = (k * G + g) * C * T;
                for (let i = 0; i < C * T; i++) {
                  acc[k * C * T + i] = acc[k * C * T + i]! + part[base + i]!;
                }
              }
            }
            list.forEach((term, j) => {
              const out = new Float64Array(n * C);
              for (let k = 0; k < n * C; k++) out[k] = acc[k * T + j]!;
              sums[term] = out;
            });
          } finally {
            partials.destroy();
          }
          return { numSamples: n, numClasses: C, voxels: V, sums };
        },

        async gradient(coefficients: GradientCoefficients): Promise<FloatArray> {
          check();
          const NC = n * C;
          const keys = ["t", "one", "p", "phi", "tOverP"] as const;
          const cf = new Float32Array(NC * 5);
          for (let j = 0; j < 5; j++) {
            const arr = coefficients[keys[j]!];
            if (arr === undefined) continue;
            if (!(arr instanceof Float64Array) || arr.length !== NC) {
              throw new SeglossTypeError(
                `Expected gradient coefficient ${
                  keys[j]
                } to be a Float64Array of length ${NC} but found ${
                  (arr as { constructor?: { name?: string } })?.constructor?.name
                } of length ${(arr as { length?: number })?.length}`,
              );
            }
            for (let k = 0; k < NC; k++) cf[k * 5 + j] = arr[k]!;
          }
          const usePhi = coefficients.phi?.some((x) => x !== 0) ?? false;
          const phiBuf = usePhi ? await ensurePhi() : undefined;
          const pipeline = cachedPipeline(
            device,
            `grad:${C}:${logits}:${target}:${usePhi}`,
            () => gradientWgsl(C, logits, target, usePhi),
          );
          const cfBuf = uploadBuffer(device, cf);
          const out = device.createBuffer({ size: bytes, usage: BUFFER.STORAGE | BUFFER.COPY_SRC });
          try {
            const [gx, gy] = dispatchSize(
              Math.ceil((n * V) / GRAD_WG),
              device.limits.maxComputeWorkgroupsPerDimension,
            );
            dispatch(pipeline, phiBuf, [cfBuf, out], gx, gy);
            const res = new Float32Array(await readBuffer(device, out, bytes));
            return batch.input.data instanceof Float64Array ? Float64Array.from(res) : res;
          } finally {
            cfBuf.destroy();
            out.destroy();
          }
        },

        dispose() {
          if (disposed) return;
          disposed = true;
          live.delete(prepared);
          for (const b of owned) b.destroy();
          owned.length = 0;
        },
      };
      live.add(prepared);
      return prepared;
    },
    dispose() {
      for (const p of [...live]) p.dispose();
      source.peek().then((d) => d && releaseScratch(d), () => {});
    },
  };
}

/**
 * The `webgpu` backend plugin, available when a WebGPU adapter exists. Its priority is 10
 * (above `cpu`'s 0) on a hardware adapter, so `backend: "auto"` picks it there; on a software
 * fallback adapter (llvmpipe and the like, several times slower than `cpu`) it is −1, so
 * `"auto"` stays on `cpu` (`backend: "webgpu"` still runs there). Options: `device`.
 *
 * @example Basic usage
 * ```ts
 * import { webgpuPlugin } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * assert.equal(webgpuPlugin.name, "webgpu");
 * assert.equal(typeof webgpuPlugin.priority, "number");
 * ```
 */
export const webgpuPlugin: BackendPlugin<"webgpu"> = {
  kind: "backend",
  name: "webgpu",
  description: "WebGPU (WGSL) fused statistics and gradient passes; jfa maps stay on the device",
  get priority(): number {
    return isFallbackAdapter() ? -1 : 10;
  },
  isAvailable: () => isWebgpuAvailable(),
  create: (options) => createWebgpuBackend((options ?? {}) as WebgpuBackendOptions),
};
