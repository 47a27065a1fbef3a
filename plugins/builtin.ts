/**
 * The built-in plugin set and the default registry.
 *
 * @module
 */
import { createRegistry, type Registry } from "../core/registry.ts";
import { edtPlugin } from "../transforms/signed_distance.ts";
import { dicePlugin } from "../loss/dice.ts";
import { generalizedDicePlugin } from "../loss/generalized_dice.ts";
import { crossEntropyPlugin } from "../loss/cross_entropy.ts";
import { boundaryPlugin } from "../loss/boundary.ts";
import { cpuPlugin } from "../backends/cpu/backend.ts";
import { webgpuPlugin } from "../backends/webgpu/backend.ts";
import { jfaPlugin } from "../transforms/jfa.ts";
import { edtGpuPlugin } from "../transforms/edt_gpu.ts";

/**
 * Every built-in plugin: distance transforms `edt`, `jfa` and `edt-gpu` (WebGPU), losses `dice`,
 * `generalized-dice`, `cross-entropy`, `boundary`, backends `cpu` and `webgpu`.
 *
 * @example Basic usage
 * ```ts
 * import { builtinPlugins } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * assert.ok(builtinPlugins.some((p) => p.kind === "loss" && p.name === "boundary"));
 * ```
 */
export const builtinPlugins: readonly [
  typeof edtPlugin,
  typeof dicePlugin,
  typeof generalizedDicePlugin,
  typeof crossEntropyPlugin,
  typeof boundaryPlugin,
  typeof cpuPlugin,
  typeof jfaPlugin,
  typeof webgpuPlugin,
  typeof edtGpuPlugin,
] = [
  edtPlugin,
  dicePlugin,
  generalizedDicePlugin,
  crossEntropyPlugin,
  boundaryPlugin,
  cpuPlugin,
  jfaPlugin,
  webgpuPlugin,
  edtGpuPlugin,
] as const;

/**
 * A registry of {@linkcode builtinPlugins}; `createScorer` uses it unless given another.
 *
 * @example Basic usage
 * ```ts
 * import { defaultRegistry } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * assert.equal(defaultRegistry.get("backend", "cpu").name, "cpu");
 * ```
 */
export const defaultRegistry: Registry<typeof builtinPlugins> = createRegistry(builtinPlugins);
