// Shared by tests/workerd_test.ts and tests/forms/workerd_env_test.ts: finds the workerd binary
// the npm package installed, bundles server/main.ts into one ES module (deno bundle under
// Deno, bun build under Bun) and serves it with a given workerd config on a free loopback port.
import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, waitForHealthz } from "./util.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: ROOT, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(" ")}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * The workerd binary the npm package installed, if it runs on this machine.
 *
 * @returns Its path, or undefined.
 */
export async function workerdBinary(): Promise<string | undefined> {
  const candidates = [
    ...["linux-64", "linux-arm64", "darwin-64", "darwin-arm64"].map((arch) =>
      join(ROOT, `node_modules/@cloudflare/workerd-${arch}/bin/workerd`)
    ),
    join(ROOT, "node_modules/.bin/workerd"),
  ];
  for (const bin of candidates) {
    if (!existsSync(bin)) continue;
    try {
      await run(bin, ["--version"]);
      return bin;
    } catch {
      // present but cannot run on this machine
    }
  }
  return undefined;
}

/** The bundled app served by workerd. */
export interface Workerd {
  url: string;
  /** Everything workerd printed so far. */
  log(): string;
  /** Stops workerd and removes its folder. */
  stop(): void;
}

/**
 * Bundles server/main.ts to worker.js in a fresh temporary folder, writes `config` there as
 * config.capnp (it embeds "worker.js") and serves it on a free loopback port; resolves once
 * /healthz answers (30 s at most).
 *
 * @param bin The workerd binary ({@link workerdBinary}).
 * @param config The text of the workerd config.
 * @returns The running service.
 */
export async function startWorkerd(bin: string, config: string): Promise<Workerd> {
  const dir = mkdtempSync(join(tmpdir(), "segloss-workerd-"));
  let log = "";
  let proc: ChildProcess | undefined;
  const stop = () => {
    proc?.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const out = join(dir, "worker.js");
    if (isBun) {
      await run(process.execPath, [
        "build",
        "server/main.ts",
        "--target=browser",
        "--format=esm",
        "--outfile",
        out,
      ]);
    } else {
      await run(process.execPath, [
        "bundle",
        "--platform",
        "browser",
        "--format",
        "esm",
        "-o",
        out,
        "server/main.ts",
      ]);
    }
    writeFileSync(join(dir, "config.capnp"), config);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    proc = spawn(bin, [
      "serve",
      join(dir, "config.capnp"),
      "--socket-addr",
      `http=127.0.0.1:${port}`,
    ], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    proc.stdout?.on("data", (d) => (log += d));
    proc.stderr?.on("data", (d) => (log += d));
    if (await waitForHealthz(url)) return { url, log: () => log, stop };
    throw new Error(`workerd did not start within 30 s:\n${log}`);
  } catch (e) {
    stop();
    throw e;
  }
}
