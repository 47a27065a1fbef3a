/**
 * Gate for the WebGPU suites (not a test file): runs a test when a WebGPU adapter exists;
 * otherwise fails it when `CI` is set (Deno only: CI installs mesa-vulkan-drivers), or skips it
 * with the reason in its name (Bun has no WebGPU; a local machine may lack a driver).
 * Also the deterministic masks these suites share (`rng`, `balls`, `coords`).
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { isWebgpuAvailable, noAdapterReason } from "../core/gpu.ts";

/** Whether the tests run under Bun. */
export const isBun: boolean = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";

/** Whether a WebGPU adapter was found. */
export const gpuReady: boolean = await isWebgpuAvailable();

const reason = isBun
  ? "Bun has no WebGPU (navigator.gpu is undefined); these tests run under Deno"
  : `no WebGPU adapter: ${noAdapterReason()}`;

const mustFail = !gpuReady && !isBun && Boolean(process.env.CI);

if (!gpuReady) {
  console.warn(
    mustFail ? `WebGPU tests FAIL: CI is set but ${reason}` : `WebGPU tests skipped: ${reason}`,
  );
}

/** `test(name, fn)` when WebGPU is available; a failing or skipped test otherwise. */
export function gpuTest(name: string, fn: () => Promise<void> | void): void {
  if (gpuReady) {
    test(name, fn);
  } else if (mustFail) {
    test(name, () => assert.fail(`CI is set, so a WebGPU adapter is required: ${reason}`));
  } else {
    test(`${name} [skipped: ${reason}]`, { skip: reason }, fn);
  }
}

/** A deterministic PRNG in [0, 1) (LCG), so masks are the same on every runtime. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Writes the coordinates of flat (row-major) index `i` of `shape` into `out`. */
export function coords(shape: readonly number[], i: number, out: number[]): void {
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
}

/**
 * A mask of `count` balls with random centres and radii in `[1, 1 + rmax)`: members inside
 * (or outside when `invert`: balls of zeros).
 */
export function balls(
  shape: number[],
  count: number,
  rmax: number,
  seed: number,
  invert = false,
): Uint8Array {
  const r = rng(seed);
  const c = Array.from({ length: count }, () => ({
    at: shape.map((s) => r() * s),
    rad: 1 + r() * rmax,
  }));
  const n = shape.reduce((a, b) => a * b, 1);
  const m = new Uint8Array(n);
  const x: number[] = [];
  for (let i = 0; i < n; i++) {
    coords(shape, i, x);
    let inside = false;
    for (const b of c) {
      let s = 0;
      for (let d = 0; d < shape.length; d++) s += (x[d]! - b.at[d]!) ** 2;
      if (s < b.rad * b.rad) {
        inside = true;
        break;
      }
    }
    m[i] = inside !== invert ? 1 : 0;
  }
  return m;
}
