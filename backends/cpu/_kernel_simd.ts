/**
 * The WebAssembly SIMD path of the CPU kernels (internal module): for float32 logits with a
 * label target, the statistics pass (softmax, `Σp`, `Σp²`, `Σp·t`, `Σt`, `Σp·phi`,
 * `Σt·log p`) and the gradient pass run four voxels at a time in `backends/cpu/wasm/kernel.wat`, with
 * float32 arithmetic and float64 accumulators. Voxels past the last multiple of four go
 * through the JavaScript kernels. Anything else (float64 input, probabilities, one-hot
 * targets) uses the JavaScript kernels alone.
 *
 * @module
 */
import { SeglossTypeError } from "../../core/errors.ts";
import type { FloatArray } from "../../core/ndarray.ts";
import type { GradientCoefficients, Statistics, StatTerm } from "../../core/types.ts";
import { computeGradient, computeStatistics, type KernelBatch } from "./_kernel.ts";
import { KERNEL_WASM_BASE64 } from "./_kernel_wasm_bytes.ts";

const SIMD_TERMS: ReadonlySet<StatTerm> = new Set(["p", "p2", "pt", "t", "t2", "pphi", "tlogp"]);
/** Largest wasm memory the path will use (bytes); bigger batches use the JS kernels. */
const MAX_BYTES = 2 ** 31;

let compiled: WebAssembly.Module | null | undefined;
let unavailable: string | undefined;

function wasmModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    const bin = atob(KERNEL_WASM_BASE64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    if (typeof WebAssembly !== "object") {
      unavailable = "this runtime has no WebAssembly";
      compiled = null;
    } else if (!WebAssembly.validate(bytes)) {
      unavailable = "this runtime's WebAssembly has no SIMD (fixed-width simd128)";
      compiled = null;
    } else compiled = new WebAssembly.Module(bytes);
  } catch (e) {
    // e.g. Cloudflare Workers: "Wasm code generation disallowed by embedder"
    unavailable = `WebAssembly.Module() failed: ${e instanceof Error ? e.message : String(e)}`;
    compiled = null; // the JS kernels do everything
  }
  return compiled;
}

/** Why the SIMD kernels cannot run here (undefined when they can). */
export function simdUnavailableReason(): string | undefined {
  wasmModule();
  return unavailable;
}

/** Whether the SIMD statistics pass computes these terms. */
export function simdSupports(terms: ReadonlySet<StatTerm>): boolean {
  return [...terms].every((t) => SIMD_TERMS.has(t));
}

/** Whether this runtime runs the SIMD kernels. */
export function simdAvailable(): boolean {
  return wasmModule() !== null;
}

/** A batch resident in wasm memory. */
export interface SimdBatch {
  /** Whether `stats` can compute these terms. */
  supports(terms: ReadonlySet<StatTerm>): boolean;
  /** Whether `gradient` can apply these coefficients (no `t/p` term). */
  supportsGradient(g: GradientCoefficients): boolean;
  /** Copies the signed distance maps in (once). */
  setDistance(d: FloatArray): void;
  /** The statistics; fills the probability cache for `gradient`. */
  stats(terms: ReadonlySet<StatTerm>): Statistics;
  /** dL/dlogits, float32. */
  gradient(g: GradientCoefficients): Float32Array;
}

interface Exports {
  stats(...args: number[]): void;
  grad(...args: number[]): void;
}

/**
 * A wasm instance and its memory, reusable by one batch at a time (the memory only grows,
 * so a backend keeps one sized for its largest batch, and fresh pages are not faulted in
 * on every call).
 */
export interface SimdContext {
  /** The instance's memory. */
  memory: WebAssembly.Memory;
  /** The kernels. */
  exports: Exports;
}

/** A new context, or undefined when SIMD is unavailable. */
export function createSimdContext(): SimdContext | undefined {
  const mod = wasmModule();
  if (!mod) return undefined;
  const memory = new WebAssembly.Memory({ initial: 1 });
  const exports = new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as Exports;
  return { memory, exports };
}

/**
 * Moves an eligible batch (float32 logits, labels, C >= 2, at least 4 voxels) into wasm
 * memory; returns undefined when the batch is not eligible or SIMD is unavailable.
 *
 * @param k The batch.
 * @param ctx The wasm instance to use (grown as needed); the batch owns it until it is
 * released by the caller.
 * @returns The resident batch, or undefined.
 */
export function createSimdBatch(k: KernelBatch, ctx: SimdContext): SimdBatch | undefined {
  const { n: N, c: C, vol } = k;
  const vol4 = vol & ~3;
  if (!k.logits || !(k.input instanceof Float32Array) || !k.labels || k.onehot || C < 2) {
    return undefined;
  }
  if (vol4 === 0) return undefined;
  const NC = N * C, NCV = NC * vol, NV = N * vol;
  const align = (x: number) => (x + 15) & ~15;
  let top = 0;
  const alloc = (bytes: number) => {
    const at = top;
    top += align(bytes);
    return at;
  };
  const xP = alloc(4 * NCV), labP = alloc(4 * NV), cacheP = alloc(4 * NCV);
  const sumsP = alloc(8 * 6 * NC), coefP = alloc(4 * 5 * NC), scrP = alloc(4 * (C + 3) * 512);
  const distP = alloc(4 * NCV);
  const outP = xP; // the gradient overwrites the logits (copied in again if stats runs again)
  if (top > MAX_BYTES) return undefined;
  const { memory, exports: ex } = ctx;
  const have = memory.buffer.byteLength;
  if (have < top) {
    try {
      memory.grow(Math.ceil((top - have) / 65536));
    } catch {
      return undefined; // no room for it: the JS kernels take the batch
    }
  }
  const buf = memory.buffer;
  const input = k.input;
  let inputResident = false;
  const loadInput = () => {
    if (!inputResident) new Float32Array(buf, xP, NCV).set(input);
    inputResident = true;
  };
  const lab = new Int32Array(buf, labP, NV);
  const ig = k.ignoreIndex ?? -1;
  const src = k.labels;
  for (let i = 0; i < NV; i++) {
    const l = src[i]!;
    lab[i] = l === ig || l < 0 || l >= C ? -1 : l;
  }
  let haveDist = false;
  let cacheReady = false;
  // the voxels past vol4, for the JS kernels (no cache: they recompute their softmax)
  const tail: KernelBatch = { ...k, probs: undefined, probsReady: false };
  return {
    supports: simdSupports,
    supportsGradient: () => true,
    setDistance(d) {
      if (haveDist) return;
      new Float32Array(buf, distP, NCV).set(d);
      tail.distance = d;
      haveDist = true;
    },
    stats(terms) {
      const withDist = terms.has("pphi");
      if (withDist && !haveDist) {
        throw new SeglossTypeError(
          "Expected signed distance maps for the pphi statistic but found none",
        );
      }
      loadInput();
      const sums = new Float64Array(buf, sumsP, 6 * NC);
      sums.fill(0);
      const wantLog = terms.has("tlogp") ? 1 : 0;
      ex.stats(N, C, vol, vol4, xP, labP, withDist ? distP : 0, cacheP, sumsP, scrP, wantLog);
      cacheReady = true;
      const all: Partial<Record<StatTerm, Float64Array>> = {
        p: sums.slice(0, NC),
        p2: sums.slice(NC, 2 * NC),
        pt: sums.slice(2 * NC, 3 * NC),
        t: sums.slice(3 * NC, 4 * NC),
        pphi: sums.slice(4 * NC, 5 * NC),
        tlogp: sums.slice(5 * NC, 6 * NC),
      };
      all.t2 = all.t!.slice();
      if (vol4 < vol) {
        const rest = computeStatistics(tail, terms, vol4);
        for (const term of terms) {
          const a = all[term]!, r = rest.sums[term]!;
          for (let i = 0; i < NC; i++) a[i]! += r[i]!;
        }
      }
      const out: Partial<Record<StatTerm, Float64Array>> = {};
      for (const term of terms) out[term] = all[term]!;
      return { numSamples: N, numClasses: C, voxels: vol, sums: out };
    },
    gradient(g) {
      if (!cacheReady) this.stats(new Set(["p"]));
      const coef = new Float32Array(buf, coefP, 5 * NC);
      const parts = [g.t, g.one, g.p, g.phi, g.tOverP];
      let usePhi = false;
      parts.forEach((a, j) => {
        if (a) coef.set(a, j * NC);
        else coef.fill(0, j * NC, (j + 1) * NC);
      });
      if (g.phi) { for (let i = 0; i < NC; i++) if (g.phi[i] !== 0) usePhi = true; }
      if (usePhi && !haveDist) {
        throw new SeglossTypeError(
          "Expected signed distance maps for the phi coefficient but found none",
        );
      }
      ex.grad(N, C, vol, vol4, cacheP, labP, usePhi ? distP : 0, coefP, outP, scrP);
      inputResident = false;
      const out = new Float32Array(buf, outP, NCV).slice();
      if (vol4 < vol) computeGradient(tail, g, vol4, out);
      return out;
    },
  };
}
