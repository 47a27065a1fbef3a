/**
 * `POST /v1/loss`: scores and target in, `{ total, terms, weights, gradient? }` out.
 *
 * @module
 */
import { Hono } from "hono";
import type { NdArray } from "../../core/ndarray.ts";
import { tooLarge, unprocessable } from "../errors.ts";
import { jsonArrayBody, jsonSafe, narrowBigInt, npyBody, typeName } from "../arrays.ts";
import { checkClasses, checkWork, lossWork } from "../budget.ts";
import {
  type AppEnv,
  arrayField,
  checkAvailable,
  declaredRank,
  ElementBudget,
  readFields,
  type RouteContext,
  valueField,
  wantsNpy,
} from "../context.ts";
import type { LossResult } from "../compute.ts";
import { runTimed, timingHeader } from "./timing.ts";

/** The fields `POST /v1/loss` takes. */
export const LOSS_FIELDS = [
  "config",
  "input",
  "target",
  "distance",
  "spacing",
  "epoch",
  "gradient",
] as const;

/** Option keys that would let a client choose the server's threads. */
const THREAD_KEYS = ["workers", "parallelThreshold"];

/**
 * Refuses thread settings in a client's config: `config.distanceOptions.workers` and
 * `parallelThreshold` (and the same in `backendOptions`) are the server's to choose
 * (`workers` / `SEGLOSS_WORKERS`), never a request's.
 *
 * @param config The client's scorer config.
 */
export function checkNoThreadOptions(config: Record<string, unknown>): void {
  for (const key of ["distanceOptions", "backendOptions"]) {
    const o = config[key];
    if (typeof o !== "object" || o === null) continue;
    for (const k of THREAD_KEYS) {
      if (Object.hasOwn(o, k)) {
        throw unprocessable(
          `Unexpected config.${key}.${k}: thread counts are the server's setting (workers, SEGLOSS_WORKERS), not a request's`,
        );
      }
    }
  }
}

/**
 * The most entries `config.losses` may have in a request. Every entry is a term computed and
 * answered (and listed in `X-Segloss-Result`): 10^5 copies of `{"name": "dice"}` (1.6 MB of
 * JSON) took 5-7 s and 300 MiB for an 8-element input before this cap.
 */
export const MAX_LOSSES = 64;

/**
 * Refuses a config with more than {@linkcode MAX_LOSSES} losses: a 413 before any work.
 *
 * @param config The client's scorer config.
 */
export function checkLossCount(config: Record<string, unknown>): void {
  const losses = config.losses;
  if (Array.isArray(losses) && losses.length > MAX_LOSSES) {
    throw tooLarge(
      `Expected at most ${MAX_LOSSES} entries in config.losses but found ${losses.length}`,
      { resource: "maxLosses", requested: losses.length, limit: MAX_LOSSES },
    );
  }
}

/** Checks `spacing` is a list of numbers (the library checks its length and range). */
export function spacingField(v: unknown): number[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) {
    throw unprocessable(`Expected spacing to be an array of numbers but found ${typeName(v)}`);
  }
  const bad = v.findIndex((s) => typeof s !== "number");
  if (bad >= 0) {
    throw unprocessable(
      `Expected spacing to be an array of numbers but found ${typeName(v[bad])} at spacing[${bad}]`,
    );
  }
  if (v.length > 8) {
    throw unprocessable(
      `Expected spacing to have one number per spatial axis but found ${v.length}`,
    );
  }
  v.forEach((s, i) => {
    if (!Number.isFinite(s)) {
      throw unprocessable(`Expected spacing[${i}] to be a finite number but found ${typeName(s)}`);
    }
  });
  return v as number[];
}

function requireFloat(a: NdArray, name: string): NdArray {
  const t = a.data.constructor.name;
  if (t !== "Float32Array" && t !== "Float64Array") {
    throw unprocessable(
      `Expected ${name} to be float32 or float64 scores but found ${
        t.replace("Array", "").toLowerCase()
      }`,
    );
  }
  return a;
}

/**
 * The loss route as a sub-app.
 *
 * @param ctx Shared settings.
 * @returns A Hono app with `POST /`.
 */
export function lossRoutes(ctx: RouteContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post("/", async (c) => {
    const f = await readFields(c, LOSS_FIELDS);
    const budget = new ElementBudget(ctx.maxElements);
    const config = valueField(f, "config");
    if (typeof config !== "object" || config === null || Array.isArray(config)) {
      throw unprocessable(
        `Expected config to be an object { losses, backend?, distance?, input?, schedule? } but found ${
          typeName(config)
        }`,
      );
    }
    const cfg = config as Record<string, unknown>;
    checkNoThreadOptions(cfg);
    checkLossCount(cfg);
    await checkAvailable(ctx, "backend", cfg.backend, "config.backend");
    await checkAvailable(ctx, "distance", cfg.distance, "config.distance");
    const input = arrayField(f, "input", "float32", budget);
    if (!input) throw unprocessable("Expected the field input (scores (N, C, ...spatial))");
    requireFloat(input, "input");
    const inputRank = input.shape.length;
    const targetRank = declaredRank(f, "target");
    const target = arrayField(
      f,
      "target",
      targetRank !== undefined && targetRank === inputRank - 1 ? "int32" : "float32",
      budget,
    );
    if (!target) {
      throw unprocessable(
        "Expected the field target (labels (N, ...spatial) or one-hot (N, C, ...spatial))",
      );
    }
    const distance = arrayField(f, "distance", "float32", budget);
    if (distance) requireFloat(distance, "distance");
    const spacing = spacingField(valueField(f, "spacing"));
    const epoch = valueField(f, "epoch");
    if (epoch !== undefined && (typeof epoch !== "number" || !Number.isFinite(epoch))) {
      throw unprocessable(`Expected epoch to be a finite number but found ${typeName(epoch)}`);
    }
    const gradient = valueField(f, "gradient") ?? false;
    if (typeof gradient !== "boolean") {
      throw unprocessable(`Expected gradient to be true or false but found ${typeName(gradient)}`);
    }
    // the budget, before any work: classes (the scores' channels) and every allocation
    if (input.shape.length >= 2) checkClasses(input.shape[1]!, "input's channel count", ctx);
    checkWork(
      lossWork(input.data.length, target.data.length, distance?.data.length ?? 0, gradient),
      "this loss request",
      ctx,
    );
    const timed = await runTimed(c, ctx.executor, {
      kind: "loss",
      config: config as Record<string, unknown>,
      input,
      target: narrowBigInt(target, "target"),
      distance,
      spacing,
      epoch: epoch as number | undefined,
      gradient,
    });
    const r = timed.result as LossResult;
    const t0 = performance.now();
    const summary = jsonSafe({ total: r.total, terms: r.terms, weights: r.weights });
    if (r.gradient && wantsNpy(c)) {
      const body = npyBody(r.gradient);
      return c.body(body as Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>, 200, {
        "Content-Type": "application/x-npy",
        "X-Segloss-Result": JSON.stringify(summary),
        "Server-Timing": timingHeader(c, timed, performance.now() - t0),
      });
    }
    const json = r.gradient
      ? jsonArrayBody(r.gradient, summary as Record<string, unknown>, "gradient")
      : JSON.stringify(summary);
    return c.body(json, 200, {
      "Content-Type": "application/json",
      "Server-Timing": timingHeader(c, timed, performance.now() - t0),
    });
  });
  return app;
}
