/**
 * Settings from environment variables.
 *
 * @module
 */
import { quote, SeglossRangeError } from "../core/errors.ts";
import type { CreateAppOptions } from "./app.ts";

function num(env: Record<string, string | undefined>, key: string): number | undefined {
  const v = env[key];
  if (v === undefined || v.trim() === "") return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    throw new SeglossRangeError(
      `Expected ${key} to be a number > 0 but found ${quote(v)}`,
    );
  }
  return n;
}

/**
 * Reads {@linkcode CreateAppOptions} from environment variables: `SEGLOSS_BACKEND` (default
 * `cpu`), `SEGLOSS_TOKEN`, `SEGLOSS_MAX_BODY_BYTES`, `SEGLOSS_MAX_JSON_BYTES`,
 * `SEGLOSS_BODY_TIMEOUT_MS`, `SEGLOSS_MAX_ELEMENTS`, `SEGLOSS_MAX_CLASSES`,
 * `SEGLOSS_MAX_WORK_ELEMENTS`, `SEGLOSS_TIMEOUT_MS`, `SEGLOSS_COMPUTE` (`worker`, `inline`,
 * `hybrid` or `auto`),
 * `SEGLOSS_WORKERS`, `SEGLOSS_INLINE_MAX_ELEMENTS`, `SEGLOSS_CORS_ORIGINS` (comma-separated).
 * Unset or empty variables keep the defaults.
 *
 * @param env The variables (for example `Deno.env.toObject()`, `process.env`, or a Cloudflare
 *   Worker's `env` bindings).
 * @returns The options.
 *
 * @example Basic usage
 * ```ts
 * import { appOptionsFromEnv } from "@segloss/segloss/server";
 * import assert from "node:assert/strict";
 *
 * const o = appOptionsFromEnv({ SEGLOSS_TOKEN: "t", SEGLOSS_TIMEOUT_MS: "5000" });
 * assert.equal(o.token, "t");
 * assert.equal(o.timeoutMs, 5000);
 * assert.equal(o.backend, "cpu");
 * ```
 */
export function appOptionsFromEnv(env: Record<string, string | undefined>): CreateAppOptions {
  const compute = env.SEGLOSS_COMPUTE?.trim() || undefined;
  if (compute !== undefined && !["worker", "inline", "hybrid", "auto"].includes(compute)) {
    throw new SeglossRangeError(
      `Expected SEGLOSS_COMPUTE to be worker, inline, hybrid or auto but found ${quote(compute)}`,
    );
  }
  return {
    backend: env.SEGLOSS_BACKEND?.trim() || "cpu",
    token: env.SEGLOSS_TOKEN || undefined,
    maxBodyBytes: num(env, "SEGLOSS_MAX_BODY_BYTES"),
    maxJsonBytes: num(env, "SEGLOSS_MAX_JSON_BYTES"),
    bodyTimeoutMs: num(env, "SEGLOSS_BODY_TIMEOUT_MS"),
    maxElements: num(env, "SEGLOSS_MAX_ELEMENTS"),
    maxClasses: num(env, "SEGLOSS_MAX_CLASSES"),
    maxWorkElements: num(env, "SEGLOSS_MAX_WORK_ELEMENTS"),
    timeoutMs: num(env, "SEGLOSS_TIMEOUT_MS"),
    workers: num(env, "SEGLOSS_WORKERS"),
    inlineMaxElements: num(env, "SEGLOSS_INLINE_MAX_ELEMENTS"),
    corsOrigins: env.SEGLOSS_CORS_ORIGINS?.split(",").map((o) => o.trim()).filter((o) => o !== ""),
    compute: compute as CreateAppOptions["compute"],
  };
}
