/**
 * `createScorer`: a configured, weighted, scheduled combination of losses evaluated on a
 * backend, with the gradient of the total.
 *
 * @module
 */
import { checkKeys, quote, SeglossRangeError, SeglossTypeError } from "../core/errors.ts";
import {
  checkFinite,
  checkNdArray,
  checkSpacing,
  type FloatArray,
  formatShape,
  type NdArray,
} from "../core/ndarray.ts";
import type {
  Backend,
  BackendBatch,
  BackendInfo,
  DistanceTransform,
  GradientCoefficients,
  SignedDistanceConvention,
  StatTerm,
} from "../core/types.ts";
import type { Registry } from "../core/registry.ts";
import { isSignConvention, SIGN_CONVENTIONS } from "../transforms/conventions.ts";
import { defaultRegistry } from "../plugins/builtin.ts";
import { inputKindField, type LossSpec, objectField, parseLosses } from "../loss/spec.ts";
import { checkScores, checkTarget, expandBinary } from "../loss/_common.ts";
import { checkSchedule, type Schedule, scheduleWeights } from "../loss/schedule.ts";

/**
 * The configuration of a scorer; plain JSON, so a server or a file can carry it.
 *
 * @example Basic usage
 * ```ts
 * import type { ScorerConfig } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const config: ScorerConfig = {
 *   backend: "cpu",
 *   distance: "edt",
 *   input: "logits",
 *   losses: [{ name: "generalized-dice" }, { name: "boundary" }],
 *   schedule: { kind: "rebalance" },
 * };
 * assert.equal(config.losses.length, 2);
 * ```
 */
export interface ScorerConfig {
  /** A backend name, or `"auto"` for the highest-priority available one (default `"cpu"`). */
  backend?: string;
  /** The distance transform for signed distance maps (default `"edt"`). */
  distance?: string;
  /** Whether `evaluate` receives logits (softmax applied) or probabilities (default logits). */
  input?: "logits" | "probs";
  /** The losses, at least one. */
  losses: LossSpec[];
  /** The region/boundary weight schedule (default: none, both factors 1). */
  schedule?: Schedule;
  /** Signed distance convention (default `"kervadec"`). */
  convention?: SignedDistanceConvention;
  /** Passed to the backend plugin's `create`. */
  backendOptions?: Record<string, unknown>;
  /** Passed to the distance plugin's `create`. */
  distanceOptions?: Record<string, unknown>;
}

/**
 * Options of {@linkcode createScorer} that are not configuration (not JSON).
 *
 * @example Basic usage
 * ```ts
 * import { defaultRegistry } from "@segloss/segloss";
 * import type { ScorerOptions } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const o: ScorerOptions = { registry: defaultRegistry };
 * assert.ok(o.registry);
 * ```
 */
export interface ScorerOptions {
  /** Where names are looked up (default: the built-in plugins). */
  registry?: Registry;
}

/**
 * One call of {@linkcode Scorer.evaluate}.
 *
 * @example Basic usage
 * ```ts
 * import type { EvaluateRequest } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const req: EvaluateRequest = {
 *   input: { data: new Float32Array(8), shape: [1, 2, 2, 2] },
 *   target: { data: new Uint8Array(4), shape: [1, 2, 2] },
 *   epoch: 3,
 *   gradient: true,
 * };
 * assert.equal(req.epoch, 3);
 * ```
 */
export interface EvaluateRequest {
  /**
   * Scores `(N, C, ...spatial)`, 1 to 3 spatial axes, float32 or float64, finite. `C = 1` is
   * a single sigmoid channel (see {@linkcode createScorer}).
   */
  input: NdArray;
  /** Labels `(N, ...spatial)` (any integer values in `[0, C)`) or a one-hot `(N, C, ...)`. */
  target: NdArray;
  /** Voxel size per spatial axis for the distance maps (default all 1). */
  spacing?: readonly number[];
  /** The epoch for the schedule (default 0). */
  epoch?: number;
  /** Whether to return dTotal/dinput (default false). */
  gradient?: boolean;
  /** Precomputed signed distance maps `(N, C, ...spatial)`; skips the distance transform. */
  distance?: NdArray;
}

/**
 * What {@linkcode Scorer.evaluate} returns.
 *
 * @example Basic usage
 * ```ts
 * import type { EvaluateResult } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const r: EvaluateResult = { total: 0.5, terms: { dice: 0.5 }, weights: { dice: 1 } };
 * assert.equal(r.terms.dice, r.total);
 * ```
 */
export interface EvaluateResult {
  /** `Σ_i weights[name_i] · terms[name_i]`. */
  total: number;
  /** Each configured loss's unweighted value, by term name (`dice`, `dice#2`, ...). */
  terms: Record<string, number>;
  /** Each term's effective weight: its configured weight times the schedule's factor. */
  weights: Record<string, number>;
  /** dTotal/dinput, the shape of the input; float64 for float64 input, else float32. */
  gradient?: NdArray<FloatArray>;
}

/**
 * A configured loss combination on a backend.
 *
 * @example Basic usage
 * ```ts
 * import { createScorer } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const scorer = await createScorer({ losses: [{ name: "dice" }] });
 * assert.equal(scorer.backend, "cpu");
 * assert.deepEqual(scorer.termNames, ["dice"]);
 * scorer.dispose();
 * ```
 */
export interface Scorer {
  /** The name of the backend in use (what `"auto"` picked). */
  readonly backend: string;
  /** The name of the distance transform configured. */
  readonly distance: string;
  /** The term names, in configuration order (duplicates get `#2`, `#3`, ...). */
  readonly termNames: readonly string[];
  /** The validated configuration. */
  readonly config: Readonly<ScorerConfig>;
  /** Scores one batch. */
  evaluate(request: EvaluateRequest): Promise<EvaluateResult>;
  /**
   * What runs: the backend, its kernel in the last `evaluate` (`"wasm-simd"` or `"js"` on
   * cpu) and why a faster one is not used, its GPU adapter, and the distance transform.
   */
  info(): ScorerInfo;
  /** Releases the backend and the distance transform. */
  dispose(): void;
}

/**
 * What {@linkcode Scorer.info} returns: the backend and distance transform in use, plus what
 * the backend reports ({@linkcode BackendInfo}).
 *
 * @example Basic usage
 * ```ts
 * import { createScorer } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const scorer = await createScorer({ losses: [{ name: "dice" }] });
 * await scorer.evaluate({
 *   input: { data: new Float32Array([1, 0, 0, 1, 0, 1, 1, 0]), shape: [1, 2, 4] },
 *   target: { data: new Uint8Array([0, 1, 1, 0]), shape: [1, 4] },
 * });
 * const info = scorer.info();
 * assert.equal(info.backend, "cpu");
 * assert.ok(info.kernel === "wasm-simd" || info.kernel === "js");
 * scorer.dispose();
 * ```
 */
export interface ScorerInfo extends BackendInfo {
  /** The backend's registry name. */
  backend: string;
  /** The distance transform's registry name. */
  distance: string;
}

const CONFIG_KEYS = [
  "backend",
  "distance",
  "input",
  "losses",
  "schedule",
  "convention",
  "backendOptions",
  "distanceOptions",
];
const REQUEST_KEYS = ["input", "target", "spacing", "epoch", "gradient", "distance"];

function checkName(v: unknown, name: string, def: string): string {
  if (v === undefined) return def;
  if (typeof v !== "string" || v.length === 0) {
    throw new SeglossTypeError(
      `Expected ${name} to be a non-empty string but found ${quote(v)}`,
    );
  }
  return v;
}

/**
 * A plugin's "Expected options..." error re-worded for the config field that carried the
 * options (`config.distanceOptions`), same class; other errors unchanged.
 */
function renameOptions(e: unknown, field: string): unknown {
  if (!(e instanceof SeglossTypeError || e instanceof SeglossRangeError)) return e;
  if (!e.message.startsWith("Expected options")) return e;
  const E = e instanceof SeglossRangeError ? SeglossRangeError : SeglossTypeError;
  return new E(`Expected ${field}${e.message.slice("Expected options".length)}`, {
    argument: `${field}${(e.argument ?? "options").slice("options".length)}`,
    cause: e,
  });
}

async function pickBackend(registry: Registry, name: string): Promise<string> {
  if (name !== "auto") {
    const plugin = registry.get("backend", name);
    if (plugin.isAvailable && !(await plugin.isAvailable())) {
      throw new SeglossRangeError(
        `Backend ${quote(name)} is not available on this machine (use backend "auto" to fall back)`,
      );
    }
    return name;
  }
  let best: string | undefined, bestPriority = -Infinity;
  for (const p of registry.list("backend")) {
    let ok = true;
    try {
      ok = p.isAvailable ? await p.isAvailable() : true;
    } catch {
      ok = false;
    }
    const pr = p.priority ?? 0;
    if (ok && pr > bestPriority) {
      best = p.name;
      bestPriority = pr;
    }
  }
  if (best === undefined) {
    throw new SeglossRangeError("Expected an available backend but found none");
  }
  return best;
}

/**
 * Creates a scorer from a JSON configuration (validated precisely: unknown keys, unknown
 * plugin names, bad weights or options throw a TypeError/RangeError naming the field).
 *
 * `evaluate` computes `total = Σ_i weight_i · f_i · L_i` where `f_i` is the schedule's region
 * weight for region losses and its alpha for boundary losses (both 1 without a schedule).
 * Terms are named after their loss; a repeated name gets `#2`, `#3`, ... (`dice`, `dice#2`).
 * Signed distance maps are computed from the target with the configured distance transform
 * (per sample and class, `spacing` honoured) only when a configured loss needs them and no
 * `distance` was passed. The backend computes all statistics in one fused pass and, when
 * `gradient` is set, dTotal/dinput in one more (through the softmax for logits).
 *
 * Binary segmentation: an input with a single channel (`C = 1`) is a sigmoid output. It is
 * expanded to two classes, `[1 − p, p]` for probabilities or `[0, z]` for logits (whose
 * softmax is `[1 − σ(z), σ(z)]`); labels are then 0/1, a one-hot target may have 1 or 2
 * channels. Dice and generalized dice score only the foreground class 1 unless their
 * options set `classes` or `includeBackground`; the boundary loss defaults to class 1
 * anyway; cross entropy over both classes is the binary cross entropy. The gradient is
 * returned for the single channel: `dL/dz = σ(z)(1 − σ(z))(g₁ − g₀)` for logits and
 * `dL/dp = g₁ − g₀` for probabilities, where `g_c = dL/dp_c` of the expanded classes.
 *
 * @param config The configuration (see {@linkcode ScorerConfig}).
 * @param options `registry`: where names are looked up (default: the built-ins).
 * @returns The scorer.
 *
 * @example Basic usage
 * ```ts
 * import { createScorer } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const scorer = await createScorer({
 *   input: "probs",
 *   losses: [{ name: "dice", options: { smoothNr: 0, smoothDr: 0 } }, { name: "boundary" }],
 *   schedule: { kind: "rebalance" },
 * });
 * const r = await scorer.evaluate({
 *   input: { data: new Float32Array([0.5, 0.5, 0.5, 0.5]), shape: [1, 2, 2] },
 *   target: { data: new Uint8Array([0, 1]), shape: [1, 2] },
 *   epoch: 10,
 * });
 * assert.ok(Math.abs(r.terms.dice! - 0.5) < 1e-12);
 * assert.ok(Math.abs(r.weights.dice! - 0.9) < 1e-12); // region weight 1 − 0.01·10
 * assert.ok(Math.abs(r.total - (0.9 * r.terms.dice! + 0.11 * r.terms.boundary!)) < 1e-12);
 * scorer.dispose();
 * ```
 */
export async function createScorer(
  config: ScorerConfig,
  options: ScorerOptions = {},
): Promise<Scorer> {
  const c = objectField(config, "config");
  if (!c) throw new SeglossTypeError("Expected config to be an object but found undefined");
  checkKeys(c, CONFIG_KEYS, "config");
  const opts = objectField(options, "options") ?? {};
  const registry = (opts.registry ?? defaultRegistry) as Registry;
  if (typeof registry !== "object" || typeof registry.get !== "function") {
    throw new SeglossTypeError("Expected options.registry to be a Registry (see createRegistry)");
  }
  const backendName = checkName(c.backend, "config.backend", "cpu");
  const distanceName = checkName(c.distance, "config.distance", "edt");
  const inputKind = inputKindField(c.input, "config.input");
  const conventionIn: unknown = c.convention ?? "kervadec";
  if (!isSignConvention(conventionIn)) {
    throw new SeglossRangeError(
      `Expected config.convention to be one of ${
        SIGN_CONVENTIONS.map((x) => quote(x)).join(", ")
      } but found ${quote(conventionIn)}`,
    );
  }
  const convention: SignedDistanceConvention = conventionIn;
  const schedule = c.schedule === undefined
    ? undefined
    : checkSchedule(c.schedule as Schedule, "config.schedule");
  const backendOptions = objectField(c.backendOptions, "config.backendOptions");
  const distanceOptions = objectField(c.distanceOptions, "config.distanceOptions");
  const { terms, ignoreIndex } = parseLosses(c.losses, (name, where) => {
    try {
      return registry.get("loss", name);
    } catch (e) {
      throw new SeglossRangeError(`${where}.name: ${(e as Error).message}`, {
        argument: `${where}.name`,
        cause: e,
      });
    }
  });
  const needsDistance = terms.some((t) => t.loss.needsDistance);
  // backend and distance transform
  const pickedName = await pickBackend(registry, backendName);
  const backend: Backend = await registry.get("backend", pickedName).create(backendOptions);
  let transform: DistanceTransform | undefined;
  if (needsDistance) {
    try {
      transform = await registry.get("distance", distanceName).create(distanceOptions);
    } catch (e) {
      backend.dispose();
      throw renameOptions(e, "config.distanceOptions");
    }
  } else if (!registry.has("distance", distanceName)) {
    registry.get("distance", distanceName); // throws the RangeError listing the names
  }
  const validated: ScorerConfig = {
    backend: backendName,
    distance: distanceName,
    input: inputKind,
    losses: (c.losses as LossSpec[]).map((s) => ({ ...s })),
    ...(schedule ? { schedule } : {}),
    convention,
  };
  let disposed = false;

  async function evaluate(request: EvaluateRequest): Promise<EvaluateResult> {
    if (disposed) throw new SeglossTypeError("Expected a live scorer but it was disposed");
    const r = objectField(request, "request");
    if (!r) throw new SeglossTypeError("Expected request to be an object but found undefined");
    checkKeys(r, REQUEST_KEYS, "request");
    const s = checkScores(request.input, "input", inputKind === "probs");
    const binary = s.c === 1;
    const C = binary ? 2 : s.c;
    if (C < 2) {
      throw new SeglossRangeError(`Expected input.shape[1] (classes) to be >= 1 but found ${s.c}`);
    }
    const logits = inputKind === "logits";
    const target = checkTarget(
      request.target,
      s.shape,
      C,
      ignoreIndex,
      "target",
      s.data instanceof Float64Array,
    );
    // with distance maps to compute, the distances must be representable in float32
    const spacing = checkSpacing(
      request.spacing,
      s.spatial.length,
      "spacing",
      transform && request.distance === undefined ? s.spatial : undefined,
    );
    const epoch = request.epoch ?? 0;
    if (typeof epoch !== "number" || !Number.isFinite(epoch) || epoch < 0) {
      throw new SeglossRangeError(
        `Expected epoch to be a finite number >= 0 but found ${String(epoch)}`,
      );
    }
    const wantGradient = request.gradient ?? false;
    if (typeof wantGradient !== "boolean") {
      throw new SeglossTypeError(
        `Expected gradient to be a boolean but found ${quote(wantGradient)}`,
      );
    }
    let distance: NdArray<Float32Array> | undefined;
    if (request.distance !== undefined) {
      const d = checkNdArray(request.distance, "distance");
      const want = [s.n, C, ...s.spatial];
      const ok = d.shape.length === want.length &&
        d.shape.every((x, i) => x === want[i] || (i === 1 && binary && x === 1));
      if (!ok) {
        throw new SeglossTypeError(
          `Expected distance to have shape ${formatShape(want)} but found ${formatShape(d.shape)}`,
        );
      }
      checkFinite(d.data as ArrayLike<number>, "distance");
      let f = d.data instanceof Float32Array
        ? d.data
        : Float32Array.from(d.data as ArrayLike<number>);
      if (binary && d.shape[1] === 1) {
        // the foreground's map; the background's is left at 0 (unused by the default classes)
        const full = new Float32Array(2 * s.n * s.vol);
        for (let n = 0; n < s.n; n++) {
          full.set(f.subarray(n * s.vol, (n + 1) * s.vol), (2 * n + 1) * s.vol);
        }
        f = full;
      }
      distance = { data: f, shape: want };
    }
    const input = binary ? expandBinary(s.data, s.n, s.vol, logits) : s.data;
    const batch: BackendBatch = {
      input: { data: input, shape: [s.n, C, ...s.spatial] },
      inputKind,
      numClasses: C,
      ...(target.labels ? { labels: target.labels } : {}),
      ...(target.onehot ? { onehot: target.onehot } : {}),
      ...(ignoreIndex !== undefined ? { ignoreIndex } : {}),
      ...(distance ? { distance } : {}),
      ...(transform && !distance ? { distanceRequest: { transform, spacing, convention } } : {}),
    };
    const prepared = await backend.prepare(batch);
    try {
      const statTerms = new Set<StatTerm>();
      for (const t of terms) for (const x of t.loss.terms) statTerms.add(x);
      const stats = await prepared.statistics(statTerms);
      const factors = schedule ? scheduleWeights(schedule, epoch) : { region: 1, boundary: 1 };
      const result: EvaluateResult = { total: 0, terms: {}, weights: {} };
      for (const t of terms) {
        const loss = binary ? t.binaryLoss : t.loss;
        const value = loss.value(stats);
        const w = t.weight * (loss.kind === "boundary" ? factors.boundary : factors.region);
        result.terms[t.name] = value;
        result.weights[t.name] = w;
        result.total += w * value;
      }
      if (!Number.isFinite(result.total)) {
        // the math cannot honour it (a schedule weight or a term overflowed, log 0 in cross
        // entropy on probabilities): a precise error, not a NaN/Infinity answer
        const parts = terms.map((t) =>
          `${t.name} = ${quote(result.terms[t.name])} × weight ${quote(result.weights[t.name])}`
        );
        throw new SeglossRangeError(
          `Expected a finite total but found ${quote(result.total)} (${parts.join(", ")}); ` +
            "check the schedule (epoch, step), the weights, the spacing and probabilities of 0",
          { argument: "total" },
        );
      }
      if (wantGradient) {
        const NC = s.n * C;
        const sum: GradientCoefficients = {};
        for (const t of terms) {
          const w = result.weights[t.name]!;
          if (w === 0) continue;
          const loss = binary ? t.binaryLoss : t.loss;
          const g = loss.gradient(stats);
          for (const key of ["t", "one", "p", "phi", "tOverP"] as const) {
            const a = g[key];
            if (!a) continue;
            if (a.length !== NC) {
              throw new SeglossTypeError(
                `Expected ${t.name} gradient.${key} to have ${NC} entries (N·C) but found ${a.length}`,
              );
            }
            const acc = sum[key] ?? (sum[key] = new Float64Array(NC));
            for (let i = 0; i < NC; i++) acc[i]! += w * a[i]!;
          }
        }
        const g = await prepared.gradient(sum);
        if (binary) {
          const out = g instanceof Float64Array
            ? new Float64Array(s.n * s.vol)
            : new Float32Array(s.n * s.vol);
          for (let n = 0; n < s.n; n++) {
            const b0 = 2 * n * s.vol, b1 = b0 + s.vol, o = n * s.vol;
            for (let v = 0; v < s.vol; v++) {
              // logits: the gradient of the constant 0 logit is dropped; probs: chain 1 − p
              out[o + v] = logits ? g[b1 + v]! : g[b1 + v]! - g[b0 + v]!;
            }
          }
          result.gradient = { data: out, shape: [...s.shape] };
        } else {
          result.gradient = { data: g, shape: [...s.shape] };
        }
      }
      return result;
    } finally {
      prepared.dispose();
    }
  }

  return {
    backend: pickedName,
    distance: distanceName,
    termNames: terms.map((t) => t.name),
    config: validated,
    evaluate,
    info: () => ({ ...backend.info?.(), backend: pickedName, distance: distanceName }),
    dispose() {
      if (disposed) return;
      disposed = true;
      backend.dispose();
      transform?.dispose?.();
    },
  };
}
