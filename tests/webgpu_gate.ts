/**
 * Gate for the WebGPU suites (not a test file): runs a test when a WebGPU adapter exists;
 * otherwise fails it when `CI` is set (Deno only: CI installs mesa-vulkan-drivers), or skips it
 * with the reason in its name (Bun has no WebGPU; a local machine may lack a driver).
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
