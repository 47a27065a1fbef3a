// Helpers of the tests/forms suites: the runtimes' binaries, child processes, a served app.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, waitForHealthz } from "../util.ts";

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("../..", import.meta.url));

/** The server_cases.json fixture (numpy/scipy values, tests/fixtures/make_server_fixtures.py). */
export const SERVER_CASES: string = join(ROOT, "tests/fixtures/server_cases.json");

/** The small 2-D case of server_cases.json: a `/v1/loss` request and numpy's values. */
// deno-lint-ignore no-explicit-any
export const SMALL: any = JSON.parse(readFileSync(SERVER_CASES, "utf8")).small2d;

/** The small case's `/v1/loss` request (JSON). */
export const SMALL_LOSS_BODY: string = JSON.stringify({
  config: SMALL.config,
  input: SMALL.input,
  target: SMALL.target,
});

/**
 * POSTs a JSON body (default: the small case's) to `${url}/v1/loss`, with
 * `Authorization: Bearer <token>` when a token is given.
 */
export function postLoss(url: string, token?: string, body = SMALL_LOSS_BODY): Promise<Response> {
  return fetch(`${url}/v1/loss`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body,
  });
}

/**
 * Asserts that `res` answers the small case with numpy's total, computed on the Worker pool
 * (its `Server-Timing` says `compute;desc="worker"`); `log` goes with a wrong status.
 */
export async function assertScoredOnPool(res: Response, log = ""): Promise<void> {
  assert.equal(res.status, 200, log);
  assert.ok(Math.abs((await res.json()).total - SMALL.total) < 1e-5);
  assert.match(res.headers.get("server-timing") ?? "", /compute;desc="worker"/);
}

/** Whether this is CI (a missing tool fails there instead of skipping). */
export const isCI: boolean = Boolean(
  (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.CI,
);

/**
 * Why a test that starts its runtimes itself (node, bun, deno, Chromium) is skipped under
 * `bun test`: it runs once per CI pass, under `deno test`. Undefined under Deno.
 */
export const runsUnderDenoOnly: string | undefined =
  typeof (globalThis as { Bun?: unknown }).Bun !== "undefined"
    ? "runs under deno test only (it starts its runtimes itself; one run per CI pass)"
    : undefined;

/** The path of a runtime: node from PATH or /usr/bin, deno and bun from node_modules/.bin. */
export function binary(name: "node" | "deno" | "bun"): string | undefined {
  const candidates = name === "node"
    ? ["/usr/bin/node", "/usr/local/bin/node"]
    : [join(ROOT, "node_modules/.bin", name)];
  for (const c of candidates) if (existsSync(c)) return c;
  return undefined;
}

/** Runs a command to completion; resolves with stdout, rejects with stderr on failure. */
export function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; timeout?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      {
        cwd: options.cwd ?? ROOT,
        env: { ...process.env, ...options.env },
        timeout: options.timeout ?? 60_000,
        maxBuffer: 16 << 20,
      },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} ${args.join(" ")}: ${err.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

/** A server started as a child process. */
export interface Served {
  url: string;
  /** Everything it printed so far. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts `cmd args` with `PORT` set to a free port (and `env`), waits until `/healthz`
 * answers (30 s at most).
 */
export async function serve(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; portFlag?: boolean } = {},
): Promise<Served> {
  const port = await freePort();
  const finalArgs = args.map((a) => a.replace("{PORT}", String(port)));
  let text = "";
  const child: ChildProcess = spawn(cmd, finalArgs, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, PORT: String(port), ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (d) => (text += d));
  child.stderr?.on("data", (d) => (text += d));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(t);
  };
  if (await waitForHealthz(url, () => child.exitCode === null)) {
    return { url, log: () => text, stop };
  }
  await stop();
  throw new Error(`${cmd} ${finalArgs.join(" ")} did not serve /healthz:\n${text}`);
}
