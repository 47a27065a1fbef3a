/**
 * The service's entry (`@segloss/segloss/serve`): a default export with `fetch` (and `port`,
 * `hostname` for Bun), built from the environment on the first request, so one file runs
 * under `deno serve`, `bun run`, Cloudflare Workers and Deno Deploy. Settings
 * (`SEGLOSS_TOKEN`, limits, compute mode; see `appOptionsFromEnv`) come from the process
 * environment and, on Cloudflare Workers, from the `env` bindings passed to `fetch` (which
 * take precedence). Node runs it through `@segloss/segloss/node` (`server/node.ts`).
 *
 * It listens on loopback (127.0.0.1) unless `HOST` (Bun) or `--host` (deno serve) says
 * otherwise, and warns loudly on start when it may be reachable from other machines without a
 * `SEGLOSS_TOKEN`.
 *
 * ```sh
 * deno serve -A --host 127.0.0.1 --port 8787 jsr:@segloss/segloss/serve
 * SEGLOSS_TOKEN=secret PORT=8787 bun run node_modules/@segloss/segloss/server/main.js
 * ```
 *
 * @module
 */
import { warnIfOpen } from "./_open.ts";
import { createApp, type SeglossApp } from "./app.ts";
import { appOptionsFromEnv } from "./env.ts";

function processEnv(): Record<string, string | undefined> {
  const g = globalThis as {
    Deno?: { env: { toObject(): Record<string, string> } };
    process?: { env: Record<string, string | undefined> };
  };
  if (g.Deno) {
    try {
      return g.Deno.env.toObject();
    } catch {
      return {}; // no --allow-env: defaults (Deno's process.env would throw too)
    }
  }
  return g.process?.env ? { ...g.process.env } : {};
}

let app: SeglossApp | undefined;

function appFor(bindings: unknown): SeglossApp {
  if (!app) {
    const env: Record<string, string | undefined> = { ...processEnv() };
    if (typeof bindings === "object" && bindings !== null) {
      for (const [k, v] of Object.entries(bindings)) if (typeof v === "string") env[k] = v;
    }
    app = createApp(appOptionsFromEnv(env));
  }
  return app;
}

// `deno serve` shuts down gracefully on SIGTERM/SIGINT, but live Worker threads would keep the
// process up: stop them on those signals (Bun and edge platforms need nothing).
try {
  const d = (globalThis as {
    Deno?: { addSignalListener?(signal: "SIGTERM" | "SIGINT", handler: () => void): void };
  }).Deno;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    d?.addSignalListener?.(signal, () => app?.close());
  }
} catch {
  // no signals here (Deno Deploy, or SIGTERM on Windows)
}

const startEnv = processEnv();
const port = Number(startEnv.PORT ?? 8787);

/**
 * Bun's own limits, set from the service's settings so the documented ones hold: Bun refuses
 * bodies over its `maxRequestBodySize` (default 128 MiB) with a bare 413 before the app sees
 * them, so it is lifted and the app's own check (a JSON 413 with a request id, against
 * `SEGLOSS_MAX_BODY_BYTES` / `SEGLOSS_MAX_JSON_BYTES`) decides; Bun closes connections idle
 * for `idleTimeout` seconds (default 10), including while a request computes, so it is set
 * above the time limits (`SEGLOSS_TIMEOUT_MS`, `SEGLOSS_BODY_TIMEOUT_MS`; Bun's maximum 255).
 */
function bunLimits(): { maxRequestBodySize: number; idleTimeout: number } {
  let o: { timeoutMs?: number; bodyTimeoutMs?: number } = {};
  try {
    o = appOptionsFromEnv(startEnv);
  } catch {
    // a bad setting is reported by createApp on the first request
  }
  const longest = Math.max(o.timeoutMs ?? 30_000, o.bodyTimeoutMs ?? 60_000);
  return {
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    idleTimeout: Math.min(255, Math.ceil(longest / 1000) + 5),
  };
}
const bun = bunLimits();
const hostname = startEnv.HOST?.trim() || "127.0.0.1";

// Under Bun the default export's hostname is the bind address; `deno serve` binds to
// 0.0.0.0 unless given --host, which this module cannot see: warn there too when no token
// and no loopback HOST is set.
if ((globalThis as { Bun?: unknown }).Bun !== undefined || startEnv.HOST !== undefined) {
  warnIfOpen(startEnv, hostname);
} else if (
  (globalThis as { Deno?: { version?: unknown } }).Deno?.version !== undefined &&
  !startEnv.SEGLOSS_TOKEN &&
  (import.meta as { main?: boolean }).main
) {
  warnIfOpen(startEnv, "0.0.0.0 (deno serve's default; pass --host 127.0.0.1)");
}

/**
 * The server: `fetch(request, env?, ctx?)` and, for Bun, `port` (from `PORT`, default 8787),
 * `hostname` (from `HOST`, default 127.0.0.1), `development: false` (production error
 * pages; ours are JSON anyway), `maxRequestBodySize` (lifted: the app's own body limits answer
 * with a JSON 413) and `idleTimeout` (seconds, above the time limits).
 *
 * @example Answer a request without a socket
 * ```ts
 * import server from "@segloss/segloss/serve";
 * import assert from "node:assert/strict";
 *
 * const res = await server.fetch(new Request("http://localhost/healthz"));
 * assert.equal(res.status, 200);
 * assert.equal((await res.json()).status, "ok");
 * ```
 */
const server: {
  port: number;
  hostname: string;
  development: boolean;
  maxRequestBodySize: number;
  idleTimeout: number;
  fetch(request: Request, env?: unknown, ctx?: unknown): Response | Promise<Response>;
  close(): void;
} = {
  port: Number.isFinite(port) ? port : 8787,
  hostname,
  development: false,
  maxRequestBodySize: bun.maxRequestBodySize,
  idleTimeout: bun.idleTimeout,
  fetch: (request, env, ctx) =>
    appFor(env).fetch(request, env as Record<string, unknown>, ctx as never),
  /** Stops the app's Worker pool (a later request starts a new app). */
  close: () => {
    app?.close();
    app = undefined;
  },
};

export default server;
