/**
 * The WebGPU backend and its device helpers (raw WGSL, no dependencies). Nothing here touches
 * `navigator.gpu` until a function is called.
 *
 * @module
 */
export { getDefaultWebgpuDevice, isWebgpuAvailable, requestWebgpuDevice } from "../../core/gpu.ts";
export {
  createWebgpuBackend,
  type WebgpuBackend,
  type WebgpuBackendOptions,
  webgpuPlugin,
} from "./backend.ts";
