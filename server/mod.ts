/**
 * The segloss scoring service: a Hono app that serves loss scoring and distance maps over
 * HTTP, for any client that can send a request (a Python training loop, a labeling tool, a CI
 * job). Routes: `POST /v1/loss`, `POST /v1/distance`, `GET /v1/plugins`, `GET /healthz`,
 * `GET /openapi.json`. Run it with `deno serve -A server/main.ts`, `bun run server/main.ts`
 * or as a Cloudflare Worker / Deno Deploy app (see the README).
 *
 * @example Score a tiny batch with app.request()
 * ```ts
 * import { createApp } from "@segloss/segloss/server";
 * import assert from "node:assert/strict";
 *
 * const app = createApp({ compute: "inline" });
 * const res = await app.request("/v1/loss", {
 *   method: "POST",
 *   headers: { "Content-Type": "application/json" },
 *   body: JSON.stringify({
 *     config: { input: "probs", losses: [{ name: "cross-entropy" }] },
 *     input: { shape: [1, 2, 2], data: [0.5, 0.25, 0.5, 0.75] },
 *     target: { shape: [1, 2], data: [0, 1] },
 *   }),
 * });
 * const body = await res.json();
 * assert.equal(res.status, 200);
 * // mean of -log p(target): (-log 0.5 - log 0.75) / 2
 * assert.ok(Math.abs(body.total - (Math.log(2) + Math.log(4 / 3)) / 2) < 1e-6);
 * app.close();
 * ```
 *
 * @module
 */
export { createApp } from "./app.ts";
export type { CreateAppOptions, LogEntry, PluginRegistry, SeglossApp } from "./app.ts";
export { appOptionsFromEnv } from "./env.ts";
export { decodeNpy, encodeNpy } from "../io/npy.ts";
export type { DecodeNpyOptions, NpyArray, NpyDtype } from "../io/npy.ts";
export { openApiDocument } from "./openapi.ts";
export type { NdArray, TypedArray } from "../core/ndarray.ts";
