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

const port = Number(processEnv().PORT ?? 8787);

/** The server: `fetch(request, env?, ctx?)` and, for Bun, `port` (from `PORT`, default 8787). */
const server: {
  port: number;
  fetch(request: Request, env?: unknown, ctx?: unknown): Response | Promise<Response>;
} = {
  port: Number.isFinite(port) ? port : 8787,
  fetch: (request, env, ctx) =>
    appFor(env).fetch(request, env as Record<string, unknown>, ctx as never),
};

export default server;
