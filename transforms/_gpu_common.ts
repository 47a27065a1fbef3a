/**
 * What the WebGPU transforms (edt-gpu, the jump flood) share: the check of their 1 to 3
 * spatial axes, and scratch storage kept per GPU device (edt-gpu's ping-pong and site-index
 * buffers, the jump flood's two seed buffers). Private to transforms/.
 *
 * @module
 */
import { quote, SeglossRangeError } from "../core/errors.ts";
import { BUFFER } from "../core/gpu.ts";

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
