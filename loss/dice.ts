/**
 * The soft Dice loss over sufficient statistics (MONAI `DiceLoss` semantics and the official
 * boundary-loss code's `DiceLoss`).
 *
 * @module
 */
import type { GradientCoefficients, RegionLoss, Statistics } from "../core/types.ts";
import type { LossPlugin } from "../core/registry.ts";
import {
  boolOption,
  checkOptions,
  checkWeightsFor,
  classesOption,
  foregroundByDefault,
  need,
  numberOption,
  type Reduction,
  reductionOption,
  regionLoss,
  selectClasses,
  weightsOption,
} from "./_options.ts";

/**
 * Options of the Dice loss. Per (sample, class) — or per class over the whole batch with
 * `batch` — `f = 1 − (2·Σp·t + smoothNr) / (Σp + Σt + smoothDr)` (`Σp² + Σt²` with
 * `squared`), multiplied by the class weight, then averaged (`reduction: "mean"`) or summed.
 * With `smoothNr = smoothDr = 1e-10` and `classes` it is the official boundary-loss code's
 * `DiceLoss(idc=classes)`; with the defaults it is MONAI's `DiceLoss`.
 *
 * @example Basic usage
 * ```ts
 * import type { DiceOptions } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const official: DiceOptions = { classes: [1], smoothNr: 1e-10, smoothDr: 1e-10 };
 * assert.deepEqual(official.classes, [1]);
 * ```
 */
export interface DiceOptions {
  /** Class indices to score (default: all classes, or all but 0 without background). */
  classes?: readonly number[];
  /** Whether class 0 is scored when `classes` is not given (default true, like MONAI). */
  includeBackground?: boolean;
  /** Sum over the batch before the ratio, one term per class (default false). */
  batch?: boolean;
  /** Squared denominators `Σp² + Σt²` (default false). */
  squared?: boolean;
  /** Added to the numerator (default 1e-5, MONAI; the official code uses 1e-10). */
  smoothNr?: number;
  /** Added to the denominator (default 1e-5, MONAI; the official code uses 1e-10). */
  smoothDr?: number;
  /** Per-class weights indexed by class id (length C); each term is multiplied by its weight. */
  weights?: readonly number[];
  /** `"mean"` (default) or `"sum"` of the weighted terms. */
  reduction?: "mean" | "sum";
}

/** The option keys of the `dice` loss. */
export const DICE_KEYS: readonly string[] = [
  "classes",
  "includeBackground",
  "batch",
  "squared",
  "smoothNr",
  "smoothDr",
  "weights",
  "reduction",
];

/** The parsed options of the `dice` loss (the defaults of `DiceOptions` filled in). */
export interface ParsedDiceOptions {
  classes: number[] | undefined;
  includeBackground: boolean;
  batch: boolean;
  squared: boolean;
  smoothNr: number;
  smoothDr: number;
  weights: number[] | undefined;
  reduction: Reduction;
}

/** Reads the `dice` options (keys already checked) in the order their errors are raised. */
export function parseDiceOptions(o: Record<string, unknown>, name: string): ParsedDiceOptions {
  return {
    classes: classesOption(o, name),
    includeBackground: boolOption(o, "includeBackground", name, true),
    batch: boolOption(o, "batch", name, false),
    squared: boolOption(o, "squared", name, false),
    smoothNr: numberOption(o, "smoothNr", name, 1e-5),
    smoothDr: numberOption(o, "smoothDr", name, 1e-5),
    weights: weightsOption(o, name),
    reduction: reductionOption(o, name),
  };
}

function createDice(options: DiceOptions | Record<string, unknown> = {}): RegionLoss {
  const name = "dice options";
  const o = checkOptions(options, DICE_KEYS, name);
  const { classes, includeBackground, batch, squared, smoothNr, smoothDr, weights, reduction } =
    parseDiceOptions(o, name);

  /** Evaluates value and (optionally) gradient coefficients together. */
  function run(s: Statistics, grad: boolean): { value: number; g?: GradientCoefficients } {
    const N = s.numSamples, C = s.numClasses;
    const K = selectClasses(classes, includeBackground, C, name);
    if (weights) checkWeightsFor(weights, C, name);
    const pt = need(s.sums, "pt", "dice");
    const den1 = need(s.sums, squared ? "p2" : "p", "dice");
    const den2 = need(s.sums, squared ? "t2" : "t", "dice");
    const groups = batch ? K.length : N * K.length;
    const scale = reduction === "mean" ? 1 / groups : 1;
    const gt = grad ? new Float64Array(N * C) : undefined;
    const gd = grad ? new Float64Array(N * C) : undefined;
    let total = 0;
    for (const c of K) {
      const w = weights ? weights[c]! : 1;
      for (let n = 0; n < (batch ? 1 : N); n++) {
        let I = 0, D = 0;
        if (batch) {
          for (let m = 0; m < N; m++) {
            I += pt[m * C + c]!;
            D += den1[m * C + c]! + den2[m * C + c]!;
          }
        } else {
          I = pt[n * C + c]!;
          D = den1[n * C + c]! + den2[n * C + c]!;
        }
        const num = 2 * I + smoothNr;
        const den = D + smoothDr;
        total += w * (1 - num / den);
        if (grad) {
          // d/dp of 1 − num/den: −2t/den + num/den² · dD/dp (dD/dp = 1 or 2p)
          const ct = -scale * w * 2 / den;
          const cd = scale * w * num / (den * den) * (squared ? 2 : 1);
          for (let m = batch ? 0 : n; m < (batch ? N : n + 1); m++) {
            gt![m * C + c]! += ct;
            gd![m * C + c]! += cd;
          }
        }
      }
    }
    const value = total * scale;
    if (!grad) return { value };
    return { value, g: squared ? { t: gt, p: gd } : { t: gt, one: gd } };
  }

  return regionLoss("dice", squared ? ["pt", "p2", "t2"] : ["pt", "p", "t"], run);
}

/**
 * The `dice` loss plugin: `create(options: DiceOptions)` builds the loss.
 *
 * @example Basic usage
 * ```ts
 * import { dicePlugin } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const loss = dicePlugin.create({ includeBackground: false });
 * assert.deepEqual([...loss.terms], ["pt", "p", "t"]);
 * ```
 */
export const dicePlugin: LossPlugin<"dice"> = {
  kind: "loss",
  name: "dice",
  description: "Soft Dice loss (MONAI DiceLoss options; official boundary-loss DiceLoss)",
  create: (options) => createDice(options),
  binaryDefault: foregroundByDefault,
};
