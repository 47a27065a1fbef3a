/**
 * The generalized Dice loss (Sudre et al. 2017) over sufficient statistics: the official
 * boundary-loss code's `GeneralizedDice` by default, MONAI's `GeneralizedDiceLoss` variants
 * on request.
 *
 * @module
 */
import { SeglossRangeError } from "../core/errors.ts";
import type { GradientCoefficients, RegionLoss, Statistics } from "../core/types.ts";
import type { LossPlugin } from "../core/registry.ts";
import {
  boolOption,
  checkOptions,
  classesOption,
  enumOption,
  foregroundByDefault,
  need,
  numberOption,
  type Reduction,
  reductionOption,
  regionLoss,
  selectClasses,
} from "./_options.ts";

/**
 * Options of the generalized Dice loss. Per sample (or once over the batch with `batch`):
 * `f = 1 − (2·Σ_c w_c·Σp·t + smoothNr) / (Σ_c w_c·(Σp + Σt) + smoothDr)` over the selected
 * classes, with class weights computed from the target (constants for the gradient):
 * - `"official"` (default): `w_c = 1 / (Σt_c + eps)²`, `eps = 1e-10`, `smoothNr = 2·eps`,
 *   `smoothDr = eps` — exactly the official code's `1 − 2(Σ w·I + eps)/(Σ w·U + eps)`. An
 *   absent class gets the weight `1/eps² = 1e20`, so its predicted volume dominates the
 *   denominator (the official behaviour: predicting an absent class is punished hard).
 * - `"square"`, `"simple"`, `"uniform"` (MONAI `w_type`): `1/(Σt)²`, `1/Σt`, `1`; an absent
 *   class's infinite weight is replaced by the largest finite weight of its sample (MONAI's
 *   rule); `smoothNr = smoothDr = 1e-5` by default.
 *
 * @example Basic usage
 * ```ts
 * import type { GeneralizedDiceOptions } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const monai: GeneralizedDiceOptions = { weightType: "square" };
 * assert.equal(monai.weightType, "square");
 * ```
 */
export interface GeneralizedDiceOptions {
  /** Class indices to score (default: all classes, or all but 0 without background). */
  classes?: readonly number[];
  /** Whether class 0 is scored when `classes` is not given (default true). */
  includeBackground?: boolean;
  /** `"official"` (default), `"square"`, `"simple"` or `"uniform"`. */
  weightType?: "official" | "square" | "simple" | "uniform";
  /** `eps` of the official weights (default 1e-10). */
  eps?: number;
  /** Sum over the batch before the ratio (one term for the whole batch; default false). */
  batch?: boolean;
  /** Added to the numerator (default `2·eps` official, 1e-5 otherwise). */
  smoothNr?: number;
  /** Added to the denominator (default `eps` official, 1e-5 otherwise). */
  smoothDr?: number;
  /** `"mean"` (default) or `"sum"` over samples. */
  reduction?: "mean" | "sum";
}

/** The option keys of the `generalized-dice` loss. */
export const GENERALIZED_DICE_KEYS: readonly string[] = [
  "classes",
  "includeBackground",
  "weightType",
  "eps",
  "batch",
  "smoothNr",
  "smoothDr",
  "reduction",
];

/** The parsed options of the `generalized-dice` loss (defaults filled in). */
export interface ParsedGeneralizedDiceOptions {
  classes: number[] | undefined;
  includeBackground: boolean;
  weightType: "official" | "square" | "simple" | "uniform";
  /** Whether `weightType` is `"official"`. */
  official: boolean;
  eps: number;
  batch: boolean;
  smoothNr: number;
  smoothDr: number;
  reduction: Reduction;
}

/** Reads the `generalized-dice` options (keys already checked), errors in option order. */
export function parseGeneralizedDiceOptions(
  o: Record<string, unknown>,
  name: string,
): ParsedGeneralizedDiceOptions {
  const classes = classesOption(o, name);
  const includeBackground = boolOption(o, "includeBackground", name, true);
  const weightType = enumOption(
    o,
    "weightType",
    name,
    ["official", "square", "simple", "uniform"] as const,
    "official",
  );
  const eps = numberOption(o, "eps", name, 1e-10);
  if (weightType === "official" && eps === 0) {
    throw new SeglossRangeError(`Expected ${name}.eps to be > 0 for official weights but found 0`);
  }
  const official = weightType === "official";
  return {
    classes,
    includeBackground,
    weightType,
    official,
    eps,
    batch: boolOption(o, "batch", name, false),
    smoothNr: numberOption(o, "smoothNr", name, official ? 2 * eps : 1e-5),
    smoothDr: numberOption(o, "smoothDr", name, official ? eps : 1e-5),
    reduction: reductionOption(o, name),
  };
}

function createGeneralizedDice(
  options: GeneralizedDiceOptions | Record<string, unknown> = {},
): RegionLoss {
  const name = "generalized-dice options";
  const o = checkOptions(options, GENERALIZED_DICE_KEYS, name);
  const opt = parseGeneralizedDiceOptions(o, name);
  const { classes, includeBackground, batch, reduction } = opt;
  const { weightType, official, eps, smoothNr, smoothDr } = opt;

  function weightsOf(tsum: Float64Array): Float64Array {
    const w = new Float64Array(tsum.length);
    let max = 0;
    for (let i = 0; i < tsum.length; i++) {
      const t = tsum[i]!;
      const x = official
        ? 1 / ((t + eps) * (t + eps))
        : weightType === "square"
        ? 1 / (t * t)
        : weightType === "simple"
        ? 1 / t
        : 1;
      w[i] = x;
      if (Number.isFinite(x) && x > max) max = x;
    }
    for (let i = 0; i < w.length; i++) if (!Number.isFinite(w[i]!)) w[i] = max;
    return w;
  }

  function run(s: Statistics, grad: boolean): { value: number; g?: GradientCoefficients } {
    const N = s.numSamples, C = s.numClasses;
    const K = selectClasses(classes, includeBackground, C, name);
    const pt = need(s.sums, "pt", "generalized-dice");
    const p = need(s.sums, "p", "generalized-dice");
    const t = need(s.sums, "t", "generalized-dice");
    const groups = batch ? 1 : N;
    const scale = reduction === "mean" ? 1 / groups : 1;
    const gt = grad ? new Float64Array(N * C) : undefined;
    const g1 = grad ? new Float64Array(N * C) : undefined;
    const I = new Float64Array(K.length), U = new Float64Array(K.length);
    const T = new Float64Array(K.length);
    let total = 0;
    for (let gi = 0; gi < groups; gi++) {
      const n0 = batch ? 0 : gi, n1 = batch ? N : gi + 1;
      I.fill(0);
      U.fill(0);
      T.fill(0);
      K.forEach((c, j) => {
        for (let n = n0; n < n1; n++) {
          I[j]! += pt[n * C + c]!;
          U[j]! += p[n * C + c]! + t[n * C + c]!;
          T[j]! += t[n * C + c]!;
        }
      });
      const w = weightsOf(T);
      let wi = 0, wu = 0;
      for (let j = 0; j < K.length; j++) {
        wi += w[j]! * I[j]!;
        wu += w[j]! * U[j]!;
      }
      const num = 2 * wi + smoothNr, den = wu + smoothDr;
      total += 1 - num / den;
      if (grad) {
        K.forEach((c, j) => {
          const ct = -scale * 2 * w[j]! / den;
          const c1 = scale * w[j]! * num / (den * den);
          for (let n = n0; n < n1; n++) {
            gt![n * C + c] = ct;
            g1![n * C + c] = c1;
          }
        });
      }
    }
    const value = total * scale;
    return grad ? { value, g: { t: gt, one: g1 } } : { value };
  }

  return regionLoss("generalized-dice", ["pt", "p", "t"], run);
}

/**
 * The `generalized-dice` loss plugin: `create(options: GeneralizedDiceOptions)`.
 *
 * @example Basic usage
 * ```ts
 * import { generalizedDicePlugin } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * assert.equal(generalizedDicePlugin.create({ weightType: "simple" }).kind, "region");
 * ```
 */
export const generalizedDicePlugin: LossPlugin<"generalized-dice"> = {
  kind: "loss",
  name: "generalized-dice",
  description: "Generalized Dice loss (official boundary-loss GeneralizedDice; MONAI w_type)",
  create: (options) => createGeneralizedDice(options),
  binaryDefault: foregroundByDefault,
};
