/**
 * The service on Node (`@segloss/segloss/node`): serves the entry of `@segloss/segloss/serve`
 * with `@hono/node-server` on `HOST` (default 127.0.0.1) and `PORT` (default 8787). Settings
 * come from the environment (`SEGLOSS_TOKEN`, limits, `SEGLOSS_COMPUTE`, ...); the Worker pool
 * runs on Node's `worker_threads`. It warns loudly when it listens beyond loopback without a
 * `SEGLOSS_TOKEN`.
 *
 * ```sh
 * npx jsr add @segloss/segloss && npm i @hono/node-server
 * SEGLOSS_TOKEN=secret node node_modules/@segloss/segloss/server/node.js
 * ```
 *
 * @module
 */
import { serve } from "@hono/node-server";
import server from "./main.ts";
import { warnIfOpen } from "./_open.ts";

const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process
  ?.env ?? {};

/**
 * Starts the service on Node (what running this module does).
 *
 * @param options `hostname` and `port` (default: `HOST`/`PORT`, else 127.0.0.1:8787).
 * @returns A promise of the address it listens on and a `close()` that stops it.
 *
 * @example Start on a free port and ask /healthz
 * ```ts
 * import { startNodeServer } from "@segloss/segloss/node";
 * import assert from "node:assert/strict";
 *
 * const s = await startNodeServer({ port: 0 });
 * const res = await fetch(`http://127.0.0.1:${s.port}/healthz`);
 * assert.equal((await res.json()).status, "ok");
 * await s.close();
 * ```
 */
export function startNodeServer(
  options: { hostname?: string; port?: number } = {},
): Promise<{ hostname: string; port: number; close(): Promise<void> }> {
  const hostname = options.hostname ?? server.hostname;
  const port = options.port ?? server.port;
  warnIfOpen(env, hostname);
  return new Promise((resolve) => {
    const s = serve({ fetch: server.fetch, hostname, port }, (info) => {
      resolve({
        hostname,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            server.close();
            s.close(() => done());
          }),
      });
    });
  });
}

if ((import.meta as { main?: boolean }).main ?? isNodeMain()) {
  const s = await startNodeServer();
  console.log(`segloss listening on http://${s.hostname}:${s.port}`);
}

function isNodeMain(): boolean {
  const argv1 = (globalThis as { process?: { argv?: string[] } }).process?.argv?.[1];
  if (!argv1) return false;
  return decodeURIComponent(new URL(import.meta.url).pathname) === argv1;
}
