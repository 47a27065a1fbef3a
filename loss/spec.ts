/**
 * The configuration of a combination of losses, shared by every backend: `createScorer`
 * (cpu, webgpu, any registered backend) and the tfjs `createTfjsLoss` read it the same way.
 *
 * @module
 */
import { checkKeys, quote, SeglossRangeError, SeglossTypeError } from "../core/errors.ts";
import type { LossFunction } from "../core/types.ts";
import type { LossPlugin } from "../core/registry.ts";

/**
 * One configured loss: a registry name, a weight (default 1) and the plugin's options.
 *
 * @example Basic usage
 * ```ts
 * import type { LossSpec } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const spec: LossSpec = { name: "dice", options: { includeBackground: false } };
 * assert.equal(spec.name, "dice");
 * ```
 */
export interface LossSpec {
  /** The loss plugin's name (`dice`, `generalized-dice`, `cross-entropy`, `boundary`, ...). */
  name: string;
  /** Multiplies the loss (default 1), on top of the schedule's factor. */
  weight?: number;
  /** Passed to the plugin's `create`. */
  options?: Record<string, unknown>;
}

/** What the configuration of a loss combination says about one configured loss. */
export interface ParsedTerm {
  /** The term's name: the loss name, `#2`, `#3`, ... appended when it repeats. */
  name: string;
  /** The plugin's name. */
  lossName: string;
  /** The configured weight (default 1). */
  weight: number;
  /** The plugin the name resolved to. */
  plugin: LossPlugin;
  /** The options as configured (`{}` when absent). */
  options: Record<string, unknown>;
  /** The loss built from `options`. */
  loss: LossFunction;
  /** The loss for a single sigmoid channel (the plugin's `binaryDefault`, else `loss`). */
  binaryLoss: LossFunction;
}

/** The losses of a configuration, validated and built. */
export interface ParsedLosses {
  /** One entry per configured loss, in order. */
  terms: ParsedTerm[];
  /** The one ignore label the losses agree on, if any. */
  ignoreIndex: number | undefined;
}

/**
 * Reads an optional plain-object field (`undefined` stays `undefined`).
 *
 * @param v The value.
 * @param name Its path in the configuration, for the error message.
 * @returns The object, or `undefined`.
 */
export function objectField(v: unknown, name: string): Record<string, unknown> | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new SeglossTypeError(
      `Expected ${name} to be an object but found ${
        v === null ? "null" : Array.isArray(v) ? "array" : typeof v
      }`,
    );
  }
  return v as Record<string, unknown>;
}

/**
 * Reads the `input` field of a configuration: `"logits"` (the default) or `"probs"`.
 *
 * @param v The value.
 * @param name Its path, for the error message.
 * @returns The input kind.
 */
export function inputKindField(v: unknown, name: string): "logits" | "probs" {
  const kind = v ?? "logits";
  if (kind !== "logits" && kind !== "probs") {
    throw new SeglossRangeError(
      `Expected ${name} to be "logits" or "probs" but found ${quote(kind)}`,
    );
  }
  return kind;
}

/**
 * Validates and builds the `losses` of a configuration, for every backend (`createScorer`
 * looks names up in its registry, `createTfjsLoss` among the losses with a tfjs version):
 * each entry `{ name, weight?, options? }` with known keys, a finite weight >= 0, and options
 * the plugin accepts (its error is re-thrown under `config.losses[i].options`); repeated
 * names get `#2`, `#3`, ...; at most one `ignoreIndex` across the losses; each term's
 * single-sigmoid-channel variant from the plugin's `binaryDefault`.
 *
 * @param losses The configuration's `losses` value.
 * @param lookup The plugin of a name (`where` is the entry's path); throws when unknown.
 * @param name The path of `losses`, for error messages (default `"config.losses"`).
 * @returns The terms and the ignore label.
 */
export function parseLosses(
  losses: unknown,
  lookup: (name: string, where: string) => LossPlugin,
  name = "config.losses",
): ParsedLosses {
  if (!Array.isArray(losses) || losses.length === 0) {
    throw new SeglossTypeError(
      `Expected ${name} to be a non-empty array of { name, weight?, options? } but found ${
        quote(losses)
      }`,
    );
  }
  const terms: ParsedTerm[] = [];
  const counts = new Map<string, number>();
  losses.forEach((spec: unknown, i: number) => {
    const where = `${name}[${i}]`;
    const s = objectField(spec, where);
    if (!s) throw new SeglossTypeError(`Expected ${where} to be an object but found undefined`);
    checkKeys(s, ["name", "weight", "options"], where);
    const lossName = s.name;
    if (typeof lossName !== "string" || lossName.length === 0) {
      throw new SeglossTypeError(
        `Expected ${where}.name to be a non-empty string but found ${quote(lossName)}`,
      );
    }
    const weight = s.weight ?? 1;
    if (typeof weight !== "number" || !Number.isFinite(weight) || weight < 0) {
      throw new SeglossRangeError(
        `Expected ${where}.weight to be a finite number >= 0 but found ${quote(weight)}`,
      );
    }
    const options = objectField(s.options, `${where}.options`) ?? {};
    const plugin = lookup(lossName, where);
    const build = (o: Record<string, unknown>): LossFunction => {
      try {
        return plugin.create(o);
      } catch (e) {
        const E = e instanceof RangeError ? SeglossRangeError : SeglossTypeError;
        const inner = (e as { argument?: unknown }).argument;
        const path = typeof inner === "string" ? inner.replace(/^.*?options\./, "") : "";
        throw new E(`${where}.options: ${(e as Error).message}`, {
          argument: path !== "" && !path.includes(" ")
            ? `${where}.options.${path}`
            : `${where}.options`,
          cause: e,
        });
      }
    };
    const loss = build(options);
    const binaryLoss = plugin.binaryDefault ? build(plugin.binaryDefault(options)) : loss;
    const k = (counts.get(lossName) ?? 0) + 1;
    counts.set(lossName, k);
    terms.push({
      name: k === 1 ? lossName : `${lossName}#${k}`,
      lossName,
      weight,
      plugin,
      options,
      loss,
      binaryLoss,
    });
  });
  const ignores = new Set(
    terms.map((t) => t.loss.ignoreIndex).filter((x): x is number => x !== undefined),
  );
  if (ignores.size > 1) {
    throw new SeglossRangeError(
      `Expected at most one ignoreIndex across ${name} but found ${[...ignores].join(", ")}`,
    );
  }
  return { terms, ignoreIndex: ignores.size === 1 ? [...ignores][0] : undefined };
}
