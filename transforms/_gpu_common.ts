/**
 * What the WebGPU transforms (edt-gpu, the jump flood) share: the check of their 1 to 3
 * spatial axes, the chunked upload / transform / read-back of their `edt`, and scratch storage
 * kept per GPU device (edt-gpu's ping-pong and site-index buffers, the jump flood's two seed
 * buffers). Private to transforms/.
 *
 * @module
 */
import { quote, SeglossRangeError } from "../core/errors.ts";
import type { TypedArray } from "../core/ndarray.ts";
import { BUFFER, checkBindingSize, readBuffer, uploadBuffer } from "../core/gpu.ts";

/**
 * `options.spatialDims` of a WebGPU transform's `edt` (default: every axis of `shape`),
 * checked: an integer in `[1, min(3, shape.length)]`.
 */
export function gpuSpatialDims(spatialDims: unknown, shape: readonly number[]): number {
  const dims = spatialDims ?? shape.length;
  const max = Math.min(3, shape.length);
  if (typeof dims !== "number" || !Number.isInteger(dims) || dims < 1 || dims > max) {
    throw new SeglossRangeError(
      `Expected options.spatialDims to be an integer in [1, ${max}] but found ${quote(dims)}`,
    );
  }
  return dims;
}

/** A mask as the WebGPU transforms upload it: 1 for every non-zero element, else 0. */
export function maskBytes(src: TypedArray): Uint8Array {
  const bytes = new Uint8Array(src.length);
  for (let i = 0; i < bytes.length; i++) {
    // deno-lint-ignore eqeqeq
    bytes[i] = src[i] != 0 ? 1 : 0;
  }
  return bytes;
}

/**
 * Encodes a transform of some volumes of a byte mask into `pass`, reading `mask` and writing
 * float32 distances to `out`; returns the transient buffers to destroy after the submit.
 */
export type EncodeVolumes = (
  pass: GPUComputePassEncoder,
  mask: GPUBuffer,
  out: GPUBuffer,
  volumes: number,
) => GPUBuffer[];

/**
 * A WebGPU transform's `edt` over every volume (`V` voxels each) of `bytes`: as many volumes per
 * submit as fit one storage binding at `bytesPerVolume` each (checked for one volume first, as
 * `what`), each chunk uploaded, encoded, submitted and read back in turn.
 */
export async function edtInChunks(
  device: GPUDevice,
  bytes: Uint8Array,
  V: number,
  bytesPerVolume: number,
  what: string,
  encode: EncodeVolumes,
): Promise<Float32Array> {
  checkBindingSize(device, bytesPerVolume, what);
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const perChunk = Math.max(1, Math.floor(limit / bytesPerVolume));
  const count = bytes.length / V;
  const out = new Float32Array(bytes.length);
  for (let first = 0; first < count; first += perChunk) {
    const vols = Math.min(perChunk, count - first);
    const n = vols * V;
    const maskBuf = uploadBuffer(device, bytes.subarray(first * V, first * V + n));
    const outBuf = device.createBuffer({ size: n * 4, usage: BUFFER.STORAGE | BUFFER.COPY_SRC });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    const transient = encode(pass, maskBuf, outBuf, vols);
    pass.end();
    device.queue.submit([enc.finish()]);
    try {
      out.set(new Float32Array(await readBuffer(device, outBuf, n * 4)), first * V);
    } finally {
      for (const b of [maskBuf, outBuf, ...transient]) b.destroy();
    }
  }
  return out;
}

/**
 * Two storage buffers per device, reused from call to call: grown (never shrunk) to the
 * largest size asked for, kept until {@linkcode ScratchPair.release}.
 */
export class ScratchPair {
  #of = new WeakMap<GPUDevice, [GPUBuffer, GPUBuffer]>();

  /** The two buffers of `device`, each of at least `bytes` (and 4) bytes. */
  get(device: GPUDevice, bytes: number): [GPUBuffer, GPUBuffer] {
    let s = this.#of.get(device);
    if (!s || s[0].size < bytes) {
      s?.[0].destroy();
      s?.[1].destroy();
      const size = Math.max(4, bytes, s?.[0].size ?? 0);
      s = [
        device.createBuffer({ size, usage: BUFFER.STORAGE }),
        device.createBuffer({ size, usage: BUFFER.STORAGE }),
      ];
      this.#of.set(device, s);
    }
    return s;
  }

  /** Frees the buffers kept for `device` (the next `get` allocates them again). */
  release(device: GPUDevice): void {
    const s = this.#of.get(device);
    if (!s) return;
    this.#of.delete(device);
    s[0].destroy();
    s[1].destroy();
  }
}
