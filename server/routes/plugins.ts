/**
 * `GET /v1/plugins`: the registered losses, distance transforms and backends, and whether each
 * is available on this machine.
 *
 * @module
 */
import { Hono } from "hono";
import type { Plugin, PluginKind } from "../../core/registry.ts";
import type { AppEnv, RouteContext } from "../context.ts";

/** One plugin in the listing. */
export interface PluginInfo {
  /** The name configs use. */
  name: string;
  /** One line, when the plugin has one. */
  description: string | null;
  /** Whether it can run here (its `isAvailable()`; true when it has none). */
  available: boolean;
}

async function availability(p: Plugin): Promise<boolean> {
  if (!p.isAvailable) return true;
  try {
    return (await p.isAvailable()) === true;
  } catch {
    return false;
  }
}

/**
 * The plugins route as a sub-app.
 *
 * @param ctx Shared settings.
 * @returns A Hono app with `GET /`.
 */
export function pluginRoutes(ctx: RouteContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  let cached: Promise<Record<string, PluginInfo[]>> | undefined;
  app.get("/", async (c) => {
    cached ??= (async () => {
      const registry = await ctx.registry();
      const out: Record<string, PluginInfo[]> = {};
      const kinds: [string, PluginKind][] = [["losses", "loss"], ["distances", "distance"], [
        "backends",
        "backend",
      ]];
      for (const [key, kind] of kinds) {
        out[key] = await Promise.all(
          registry.list(kind).map(async (p: Plugin) => ({
            name: p.name,
            description: p.description ?? null,
            available: await availability(p),
          })),
        );
      }
      return out;
    })();
    cached.catch(() => (cached = undefined));
    return c.json(await cached);
  });
  return app;
}
