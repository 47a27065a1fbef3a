/**
 * The service's entry: a default export with `fetch` (and `port` for Bun), built from the
 * environment on the first request, so one file runs under `deno serve`, `bun run`,
 * Cloudflare Workers (whose `env` bindings are read too) and Deno Deploy.
 *
 * ```sh
 * deno serve -A --port 8787 server/main.ts
 * PORT=8787 bun run server/main.ts
 * ```
 *
 * @module
 */
import { createApp, type SeglossApp } from "./app.ts";
import { appOptionsFromEnv } from "./env.ts";

function processEnv(): Record<string, string | undefined> {
  const g = globalThis as {
    Deno?: { env: { toObject(): Record<string, string> } };
    process?: { env: Record<string, string | undefined> };
  };
  try {
    if (g.Deno) return g.Deno.env.toObject();
  } catch {
    // no --allow-env: defaults
  }
  return g.process?.env ?? {};
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

const port = Number(processEnv().PORT ?? 8787);

/**
 * The server: `fetch(request, env?, ctx?)` and, for Bun, `port` (from `PORT`, default 8787) and
 * `development: false` (production error pages; ours are JSON anyway).
 */
const server: {
  port: number;
  development: boolean;
  fetch(request: Request, env?: unknown, ctx?: unknown): Response | Promise<Response>;
} = {
  port: Number.isFinite(port) ? port : 8787,
  development: false,
  fetch: (request, env, ctx) =>
    appFor(env).fetch(request, env as Record<string, unknown>, ctx as never),
};

export default server;
