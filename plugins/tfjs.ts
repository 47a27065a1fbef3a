/**
 * The built-in plugin set plus the tfjs backend (the `./tfjs` subpath re-exports it; the
 * root module does not, so importing it stays free of npm packages).
 *
 * @module
 */
import { createRegistry, type Registry } from "../core/registry.ts";
import { tfjsPlugin } from "../backends/tfjs/backend.ts";
import { builtinPlugins } from "./builtin.ts";

/**
 * A registry of the built-in plugins plus `tfjsPlugin`, for
 * `createScorer(config, { registry: tfjsRegistry })`.
 *
 * @example Basic usage
 * ```ts
 * import { tfjsRegistry } from "@segloss/segloss/tfjs";
 * import assert from "node:assert/strict";
 *
 * assert.equal(tfjsRegistry.get("backend", "tfjs").name, "tfjs");
 * assert.equal(tfjsRegistry.get("backend", "cpu").name, "cpu");
 * ```
 */
export const tfjsRegistry: Registry = createRegistry([...builtinPlugins, tfjsPlugin] as const);
