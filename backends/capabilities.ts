/**
 * What this runtime offers segloss: threads for parallel EDT and the service's pool, the
 * WebAssembly SIMD kernels of the cpu backend, and a WebGPU adapter (software or not).
 *
 * @module
 */
import { hardwareConcurrency, sharedThreadsAvailable, threadKind } from "../core/_worker.ts";
import { simdUnavailableReason } from "./cpu/_kernel_simd.ts";

/**
 * The answer of {@linkcode capabilities}.
 *
 * @example Basic usage
 * ```ts
 * import type { Capabilities } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const c: Capabilities = {
 *   runtime: { name: "node", version: "20.20.2" },
 *   threads: { available: true, kind: "worker_threads", sharedMemory: true, cores: 8 },
 *   simd: { available: true },
 *   webgpu: { available: false, reason: "navigator.gpu is undefined" },
 * };
 * assert.equal(c.threads.kind, "worker_threads");
 * ```
 */
export interface Capabilities {
  /** The JavaScript runtime: `deno`, `bun`, `node`, `workerd` (Cloudflare), `browser` or `unknown`. */
  runtime: { name: string; version?: string };
  /**
   * Threads for parallel EDT and the service's Worker pool: `available` when Workers and
   * `SharedArrayBuffer` both exist (a browser page needs cross-origin isolation for the latter);
   * `kind` says how Workers start (`web-worker`, Node's `worker_threads`, or `none`).
   */
  threads: {
    available: boolean;
    kind: "web-worker" | "worker_threads" | "none";
    sharedMemory: boolean;
    cores: number;
  };
  /** The cpu backend's WebAssembly SIMD kernels; `reason` says why not when unavailable. */
  simd: { available: boolean; reason?: string };
  /** A WebGPU adapter: its name, whether it is a software one, or why there is none. */
  webgpu: { available: boolean; adapter?: string; isSoftware?: boolean; reason?: string };
}

interface Globals {
  Deno?: { version?: { deno?: string } };
  Bun?: { version?: string };
  process?: { versions?: { node?: string } };
  navigator?: {
    userAgent?: string;
    gpu?: { requestAdapter(options?: unknown): Promise<unknown> };
  };
  SharedArrayBuffer?: unknown;
  document?: unknown;
  WorkerGlobalScope?: unknown;
}

function runtime(g: Globals): Capabilities["runtime"] {
  if (g.Deno?.version?.deno) return { name: "deno", version: g.Deno.version.deno };
  if (g.Bun?.version) return { name: "bun", version: g.Bun.version };
  if (g.navigator?.userAgent === "Cloudflare-Workers") return { name: "workerd" };
  if (g.process?.versions?.node) return { name: "node", version: g.process.versions.node };
  if (g.document !== undefined || g.WorkerGlobalScope !== undefined) {
    return { name: "browser", version: g.navigator?.userAgent };
  }
  return { name: "unknown" };
}

interface AdapterLike {
  info?: { description?: string; vendor?: string; architecture?: string; device?: string };
  isFallbackAdapter?: boolean;
}

let webgpuProbe: Promise<Capabilities["webgpu"]> | undefined;

function probeWebgpu(g: Globals): Promise<Capabilities["webgpu"]> {
  const gpu = g.navigator?.gpu;
  if (!gpu) {
    return Promise.resolve({
      available: false,
      reason: g.Bun
        ? "navigator.gpu is undefined (Bun has no WebGPU)"
        : "navigator.gpu is undefined (this runtime has no WebGPU)",
    });
  }
  webgpuProbe ??= gpu.requestAdapter().then((a) => {
    if (!a) {
      return {
        available: false,
        reason: "navigator.gpu.requestAdapter() returned null (no GPU driver; on Linux " +
          "mesa-vulkan-drivers gives a software adapter)",
      };
    }
    const adapter = a as AdapterLike;
    const i = adapter.info ?? {};
    const name = i.description ||
      [i.vendor, i.architecture, i.device].filter((s) => s).join(" ") || "unknown adapter";
    const isSoftware = Boolean(
      adapter.isFallbackAdapter ?? (i as { isFallbackAdapter?: boolean })
        .isFallbackAdapter,
    ) ||
      /llvmpipe|lavapipe|swiftshader|software|warp/i.test(name);
    return { available: true, adapter: name, isSoftware };
  }, (e: unknown) => ({
    available: false,
    reason: `navigator.gpu.requestAdapter() failed: ${e instanceof Error ? e.message : String(e)}`,
  }));
  return webgpuProbe;
}

/**
 * Says what this runtime offers segloss: the runtime, threads (whether parallel EDT and the
 * service's Worker pool really run on several threads, and how Workers start), the cpu
 * backend's WebAssembly SIMD kernels (and why not, e.g. on Cloudflare Workers, which forbid
 * compiling WebAssembly at run time), and the WebGPU adapter (name, software or not). The
 * WebGPU probe runs once and is cached; nothing here throws.
 *
 * @returns The capabilities.
 *
 * @example Basic usage
 * ```ts
 * import { capabilities } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const c = await capabilities();
 * assert.equal(c.runtime.name, "deno");
 * assert.equal(c.threads.available, true);
 * assert.equal(typeof c.simd.available, "boolean");
 * ```
 */
export async function capabilities(): Promise<Capabilities> {
  const g = globalThis as unknown as Globals;
  const reason = simdUnavailableReason();
  return {
    runtime: runtime(g),
    threads: {
      available: sharedThreadsAvailable(),
      kind: threadKind(),
      sharedMemory: typeof g.SharedArrayBuffer === "function",
      cores: hardwareConcurrency(),
    },
    simd: reason === undefined ? { available: true } : { available: false, reason },
    webgpu: await probeWebgpu(g),
  };
}
