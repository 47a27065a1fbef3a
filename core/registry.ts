/**
 * The plugin registry: an explicit, immutable object mapping (kind, name) to factories.
 *
 * @module
 */
import { nearest, quote, SeglossRangeError, SeglossTypeError } from "./errors.ts";
import type { Backend, DistanceTransform, LossFunction } from "./types.ts";

/**
 * The three kinds of plugins.
 *
 * @example Basic usage
 * ```ts
 * import type { PluginKind } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const kind: PluginKind = "loss";
 * assert.equal(kind, "loss");
 * ```
 */
export type PluginKind = "distance" | "loss" | "backend";

/**
 * A distance transform plugin (`edt`, `jfa`, or a third party's).
 *
 * @typeParam N The plugin's name, as a string literal type.
 *
 * @example Basic usage
 * ```ts
 * import { createRegistry, edt } from "@segloss/segloss";
 * import type { DistancePlugin } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const mine: DistancePlugin<"my-edt"> = {
 *   kind: "distance",
 *   name: "my-edt",
 *   create: () => ({ name: "my-edt", exact: true, edt: (m, o) => Promise.resolve(edt(m, o)) }),
 * };
 * assert.equal(createRegistry([mine]).get("distance", "my-edt"), mine);
 * ```
 */
export interface DistancePlugin<N extends string = string> {
  /** Always `"distance"`. */
  readonly kind: "distance";
  /** The name configs refer to. */
  readonly name: N;
  /** One line for listings (`GET /v1/plugins`). */
  readonly description?: string;
  /** Whether the hardware it needs is present (default: true). */
  isAvailable?(): boolean | Promise<boolean>;
  /** Builds a transform. */
  create(options?: Record<string, unknown>): DistanceTransform | Promise<DistanceTransform>;
}

/**
 * A loss plugin (`dice`, `generalized-dice`, `cross-entropy`, `boundary`, or a third party's).
 *
 * @typeParam N The plugin's name, as a string literal type.
 *
 * @example Basic usage
 * ```ts
 * import { dicePlugin } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * assert.equal(dicePlugin.kind, "loss");
 * ```
 */
export interface LossPlugin<N extends string = string> {
  /** Always `"loss"`. */
  readonly kind: "loss";
  /** The name configs refer to. */
  readonly name: N;
  /** One line for listings. */
  readonly description?: string;
  /** Whether the hardware it needs is present (default: true). */
  isAvailable?(): boolean | Promise<boolean>;
  /** Builds the loss from its options; throws TypeError/RangeError on bad options. */
  create(options?: Record<string, unknown>): LossFunction;
  /**
   * The options to build the loss with when the input is a single sigmoid channel (`C = 1`,
   * expanded to the two classes `[1 − p, p]`); without it the loss gets the options as given.
   * The scorer, the functional losses and the tfjs losses all apply it. `dice` and
   * `generalized-dice` use it to score only the foreground class 1 unless `classes` or
   * `includeBackground` is set.
   */
  binaryDefault?(options: Record<string, unknown>): Record<string, unknown>;
}

/**
 * A backend plugin (`cpu`, `webgpu`, `tfjs`, or a third party's).
 *
 * @typeParam N The plugin's name, as a string literal type.
 *
 * @example Basic usage
 * ```ts
 * import { cpuPlugin } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * assert.equal(cpuPlugin.name, "cpu");
 * ```
 */
export interface BackendPlugin<N extends string = string> {
  /** Always `"backend"`. */
  readonly kind: "backend";
  /** The name configs refer to. */
  readonly name: N;
  /** One line for listings. */
  readonly description?: string;
  /** Higher wins when `backend: "auto"` picks among available backends (cpu: 0). */
  readonly priority?: number;
  /** Whether the hardware it needs is present (default: true). */
  isAvailable?(): boolean | Promise<boolean>;
  /** Builds a backend. */
  create(options?: Record<string, unknown>): Backend | Promise<Backend>;
}

/**
 * Any plugin.
 *
 * @example Basic usage
 * ```ts
 * import { builtinPlugins } from "@segloss/segloss";
 * import type { Plugin } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const all: readonly Plugin[] = builtinPlugins;
 * assert.ok(all.length >= 6);
 * ```
 */
export type Plugin = DistancePlugin | LossPlugin | BackendPlugin;

/**
 * The names of the plugins of kind `K` in the tuple `P`.
 *
 * @typeParam P A tuple of plugins.
 * @typeParam K A plugin kind.
 *
 * @example Basic usage
 * ```ts
 * import type { PluginNames } from "@segloss/segloss";
 * import { builtinPlugins } from "@segloss/segloss";
 *
 * const name: PluginNames<typeof builtinPlugins, "loss"> = "dice";
 * void name;
 * ```
 */
export type PluginNames<P extends readonly Plugin[], K extends PluginKind> = Extract<
  P[number],
  { kind: K }
>["name"];

/**
 * The plugin interface of one kind: {@linkcode DistancePlugin}, {@linkcode LossPlugin} or
 * {@linkcode BackendPlugin}.
 *
 * @typeParam K A plugin kind.
 *
 * @example Basic usage
 * ```ts
 * import type { PluginOfKind } from "@segloss/segloss";
 * import { dicePlugin } from "@segloss/segloss";
 *
 * const p: PluginOfKind<"loss"> = dicePlugin;
 * void p;
 * ```
 */
export type PluginOfKind<K extends PluginKind> = K extends "distance" ? DistancePlugin
  : K extends "loss" ? LossPlugin
  : BackendPlugin;

/**
 * An immutable set of plugins, looked up by kind and name.
 *
 * @typeParam P The tuple of plugins it holds (its names are typed).
 *
 * @example Basic usage
 * ```ts
 * import { defaultRegistry } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * assert.ok(defaultRegistry.list("loss").some((p) => p.name === "boundary"));
 * ```
 */
export interface Registry<P extends readonly Plugin[] = readonly Plugin[]> {
  /** The plugins, in registration order. */
  readonly plugins: P;
  /** The plugin of that kind and name; throws a RangeError listing the known names. */
  get<K extends PluginKind>(
    kind: K,
    name: PluginNames<P, K> | (string & Record<never, never>),
  ): PluginOfKind<K>;
  /** Whether a plugin of that kind and name is registered. */
  has(kind: PluginKind, name: string): boolean;
  /** The plugins of one kind. */
  list<K extends PluginKind>(kind: K): PluginOfKind<K>[];
  /** A new registry with `more` added (a plugin with the same kind and name replaces the old). */
  with<const Q extends readonly Plugin[]>(more: Q): Registry<readonly [...P, ...Q]>;
}

const KINDS: readonly PluginKind[] = ["distance", "loss", "backend"];

/**
 * Creates a registry from plugins. Later plugins with the same kind and name replace earlier
 * ones, so a third party can override a built-in without touching segloss's files.
 *
 * @typeParam P The tuple of plugins (inferred with `const`, so names are literal types).
 * @param plugins The plugins.
 * @returns The registry.
 *
 * @example Basic usage
 * ```ts
 * import { builtinPlugins, createRegistry, createScorer } from "@segloss/segloss";
 * import type { LossPlugin } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * // a third-party loss: mean predicted foreground volume, weighted
 * const volume: LossPlugin<"volume"> = {
 *   kind: "loss",
 *   name: "volume",
 *   create: () => ({
 *     name: "volume",
 *     kind: "region",
 *     terms: ["p"],
 *     needsDistance: false,
 *     value: (s) => s.sums.p![1]! / s.voxels,
 *     gradient: (s) => ({ one: new Float64Array([0, 1 / s.voxels]) }),
 *   }),
 * };
 * const registry = createRegistry([...builtinPlugins, volume]);
 * const scorer = await createScorer({ input: "probs", losses: [{ name: "volume" }] }, { registry });
 * const r = await scorer.evaluate({
 *   input: { data: new Float32Array([0.5, 0.5, 0.5, 0.5]), shape: [1, 2, 2] },
 *   target: { data: new Uint8Array([0, 1]), shape: [1, 2] },
 * });
 * assert.equal(r.terms.volume, 0.5);
 * ```
 */
export function createRegistry<const P extends readonly Plugin[]>(plugins: P): Registry<P> {
  if (!Array.isArray(plugins)) {
    throw new SeglossTypeError(`Expected plugins to be an array but found ${typeof plugins}`);
  }
  const maps = new Map<PluginKind, Map<string, Plugin>>(KINDS.map((k) => [k, new Map()]));
  plugins.forEach((p, i) => {
    if (typeof p !== "object" || p === null || !KINDS.includes(p.kind)) {
      throw new SeglossTypeError(
        `Expected plugins[${i}].kind to be one of ${KINDS.join(", ")} but found ${
          quote((p as { kind?: unknown })?.kind)
        }`,
      );
    }
    if (typeof p.name !== "string" || p.name.length === 0) {
      throw new SeglossTypeError(
        `Expected plugins[${i}].name to be a non-empty string but found ${quote(p.name)}`,
      );
    }
    if (typeof p.create !== "function") {
      throw new SeglossTypeError(`Expected plugins[${i}].create (${p.name}) to be a function`);
    }
    maps.get(p.kind)!.set(p.name, p);
  });
  const registry: Registry<P> = {
    plugins,
    get(kind, name) {
      const m = maps.get(kind);
      if (!m) {
        throw new SeglossRangeError(
          `Expected a plugin kind (${KINDS.join(", ")}) but found ${quote(kind)}`,
        );
      }
      const p = m.get(name);
      if (!p) {
        throw new SeglossRangeError(
          `Unknown ${kind} plugin ${quote(name)}: expected one of ${
            [...m.keys()].map((n) => JSON.stringify(n)).join(", ")
          }${
            typeof name === "string" && nearest(name, [...m.keys()]) !== undefined
              ? ` (did you mean ${JSON.stringify(nearest(name, [...m.keys()]))}?)`
              : ""
          }`,
        );
      }
      return p as PluginOfKind<typeof kind>;
    },
    has(kind, name) {
      return maps.get(kind)?.has(name) ?? false;
    },
    list(kind) {
      return [...(maps.get(kind)?.values() ?? [])] as PluginOfKind<typeof kind>[];
    },
    with<const Q extends readonly Plugin[]>(more: Q): Registry<readonly [...P, ...Q]> {
      const all = [...plugins, ...more] as unknown as readonly [...P, ...Q];
      return createRegistry(all);
    },
  };
  return registry;
}
