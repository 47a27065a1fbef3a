/**
 * The readers shared by the loss options (private to `loss/`): each loss declares and parses
 * its own options beside its formula with these, so every backend (cpu, webgpu, tfjs) gets
 * the same validation and the same defaults.
 *
 * @module
 */
import { checkKeys, quote, SeglossRangeError, SeglossTypeError } from "../core/errors.ts";
import type { GradientCoefficients, RegionLoss, Statistics, StatTerm } from "../core/types.ts";

/** How per-group losses are combined: their mean or their sum. */
export type Reduction = "mean" | "sum";

/** Throws a TypeError when `options` is not a plain object or has keys outside `allowed`. */
export function checkOptions(
  options: unknown,
  allowed: readonly string[],
  name: string,
): Record<string, unknown> {
  return checkKeys(options, allowed, name);
}

/** Reads an optional boolean option. */
export function boolOption(o: Record<string, unknown>, key: string, name: string, def: boolean) {
  const v = o[key];
  if (v === undefined) return def;
  if (typeof v !== "boolean") {
    throw new SeglossTypeError(
      `Expected ${name}.${key} to be a boolean but found ${quote(v)}`,
    );
  }
  return v;
}

/** Reads an optional finite number option with a lower bound. */
export function numberOption(
  o: Record<string, unknown>,
  key: string,
  name: string,
  def: number,
  min = 0,
): number {
  const v = o[key];
  if (v === undefined) return def;
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new SeglossTypeError(
      `Expected ${name}.${key} to be a finite number but found ${quote(v)}`,
    );
  }
  if (v < min) {
    throw new SeglossRangeError(`Expected ${name}.${key} to be >= ${min} but found ${v}`);
  }
  return v;
}

/** Reads an optional string option among `values`. */
export function enumOption<T extends string>(
  o: Record<string, unknown>,
  key: string,
  name: string,
  values: readonly T[],
  def: T,
): T {
  const v = o[key];
  if (v === undefined) return def;
  if (typeof v !== "string" || !values.includes(v as T)) {
    throw new SeglossRangeError(
      `Expected ${name}.${key} to be one of ${
        values.map((x) => JSON.stringify(x)).join(", ")
      } but found ${quote(v)}`,
    );
  }
  return v as T;
}

/** Reads the `reduction` option every loss takes: `"mean"` (default) or `"sum"`. */
export function reductionOption(o: Record<string, unknown>, name: string): Reduction {
  return enumOption(o, "reduction", name, ["mean", "sum"] as const, "mean");
}

/** Reads an optional array of class ids (distinct non-negative integers, non-empty). */
export function classesOption(o: Record<string, unknown>, name: string): number[] | undefined {
  const v = o.classes;
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length === 0) {
    throw new SeglossTypeError(
      `Expected ${name}.classes to be a non-empty array of class indices but found ${quote(v)}`,
    );
  }
  const seen = new Set<number>();
  v.forEach((c, i) => {
    if (typeof c !== "number" || !Number.isInteger(c) || c < 0) {
      throw new SeglossRangeError(
        `Expected ${name}.classes[${i}] to be an integer >= 0 but found ${quote(c)}`,
      );
    }
    if (seen.has(c)) {
      throw new SeglossRangeError(`Expected ${name}.classes to be distinct but found ${c} twice`);
    }
    seen.add(c);
  });
  return [...v] as number[];
}

/** Reads an optional array of per-class weights (finite, >= 0). */
export function weightsOption(o: Record<string, unknown>, name: string): number[] | undefined {
  const v = o.weights;
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length === 0) {
    throw new SeglossTypeError(
      `Expected ${name}.weights to be a non-empty array of numbers (one per class) but found ${
        quote(v)
      }`,
    );
  }
  v.forEach((w, i) => {
    if (typeof w !== "number" || !Number.isFinite(w) || w < 0) {
      throw new SeglossRangeError(
        `Expected ${name}.weights[${i}] to be a finite number >= 0 but found ${quote(w)}`,
      );
    }
  });
  return [...v] as number[];
}

/** Checks class ids against C at evaluation time. */
export function checkClassesFor(classes: readonly number[], C: number, name: string): void {
  for (const c of classes) {
    if (c >= C) {
      throw new SeglossRangeError(
        `Expected ${name}.classes entries in [0, ${C}) (the number of classes) but found ${c}`,
      );
    }
  }
}

/** Checks per-class weights against C at evaluation time. */
export function checkWeightsFor(weights: readonly number[], C: number, name: string): void {
  if (weights.length !== C) {
    throw new SeglossRangeError(
      `Expected ${name}.weights to have ${C} entries (one per class) but found ${weights.length}`,
    );
  }
}

/** The selected classes: `classes` if given, else all (or all but 0 without background). */
export function selectClasses(
  classes: readonly number[] | undefined,
  includeBackground: boolean,
  C: number,
  name: string,
): number[] {
  if (classes) {
    checkClassesFor(classes, C, name);
    return [...classes];
  }
  const out: number[] = [];
  for (let c = includeBackground ? 0 : 1; c < C; c++) out.push(c);
  if (out.length === 0) {
    throw new SeglossRangeError(
      `Expected at least one class for ${name} but found none (C = ${C}, background excluded)`,
    );
  }
  return out;
}

/**
 * The single-sigmoid-channel default of the region losses that score classes (`dice`,
 * `generalized-dice`): on an input with one channel (expanded to the classes `[1 − p, p]`)
 * only the foreground class 1 is scored unless `classes` or `includeBackground` is given.
 * Those losses' plugins expose it as `LossPlugin.binaryDefault`, so the scorer,
 * the functional losses and the tfjs losses all apply it from there.
 *
 * @param o The loss options as the caller gave them (not yet validated).
 * @returns The options to build the loss with on a single-channel input.
 */
export function foregroundByDefault(o: Record<string, unknown>): Record<string, unknown> {
  // not an object: left as it is for the loss's own option check to reject
  if (typeof o !== "object" || o === null || Array.isArray(o)) return o;
  return o.classes === undefined && o.includeBackground === undefined ? { ...o, classes: [1] } : o;
}

/** Reads a required sum array from statistics. */
export function need(
  sums: Partial<Record<StatTerm, Float64Array>>,
  term: StatTerm,
  loss: string,
): Float64Array {
  const a = sums[term];
  if (!a) {
    throw new SeglossTypeError(
      `Expected statistics to hold the ${term} term for ${loss} but found none`,
    );
  }
  return a;
}

/**
 * A region loss whose value and gradient come from one `run(stats, gradient)` (which computes
 * the coefficients only when asked).
 *
 * @param name The loss's registry name.
 * @param terms The statistic terms `run` reads.
 * @param run The formula: the value, and with `gradient` the coefficients `g`.
 * @returns The loss.
 */
export function regionLoss(
  name: string,
  terms: readonly StatTerm[],
  run: (s: Statistics, gradient: boolean) => { value: number; g?: GradientCoefficients },
): RegionLoss {
  return {
    name,
    kind: "region",
    terms,
    needsDistance: false,
    value: (s) => run(s, false).value,
    gradient: (s) => run(s, true).g!,
  };
}
