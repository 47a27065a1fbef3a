// Small helpers shared by the tests and the benchmarks (not part of the published package).
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

// mulberry32, the seeded PRNG of the tests and benchmarks, is the examples' own
export { mulberry32 } from "../examples/_rng.ts";

/**
 * A JSON fixture of tests/fixtures, parsed.
 *
 * @param name Its path below tests/fixtures (`"edt_cases.json"`, `"reference/reference.json"`).
 * @returns The parsed JSON.
 */
// deno-lint-ignore no-explicit-any
export function readFixture(name: string): any {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8"));
}

/**
 * A free loopback port (bound, then released).
 *
 * @returns The port number.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Polls `${url}/healthz` every 100 ms until it answers 2xx (30 s at most), or until
 * `running()` says the server's process is gone.
 *
 * @param url The server's base URL.
 * @param running Whether the server's process still runs (default: always).
 * @returns Whether /healthz answered.
 */
export async function waitForHealthz(url: string, running = () => true): Promise<boolean> {
  for (let i = 0; i < 300 && running(); i++) {
    try {
      const res = await fetch(`${url}/healthz`);
      await res.body?.cancel();
      if (res.ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/**
 * Bundles the command line (cli/main.ts) into one ES module for Node 20 with esbuild, as
 * the CLI's Node users run it.
 *
 * @param outfile Where the bundle goes (an `.mjs` path).
 */
export async function bundleCliForNode(outfile: string): Promise<void> {
  const esbuild = await import("esbuild");
  await esbuild.build({
    entryPoints: [fileURLToPath(new URL("../cli/main.ts", import.meta.url))],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile,
    logLevel: "silent",
  });
  await esbuild.stop?.();
}

/**
 * A 2-D three-class label batch shared by the WebGPU suites (jfa_test, tfjs_test): two 40×48
 * samples, each with a disk of class 1 (radius 7) and class 2 where the distance to the disk's
 * centre exceeds 15 right of column 30 (a notched half-plane); the centre moves by (8, 5) in
 * sample 1.
 *
 * @returns Labels of shape `[2, 40, 48]`.
 */
export function diskAndNotch(): { data: Int32Array; shape: number[] } {
  const H = 40, W = 48;
  const data = new Int32Array(2 * H * W);
  for (let n = 0; n < 2; n++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const r = Math.hypot(y - 12 - 8 * n, x - 20 - 5 * n);
        data[n * H * W + y * W + x] = r < 7 ? 1 : r > 15 && x > 30 ? 2 : 0;
      }
    }
  }
  return { data, shape: [2, H, W] };
}
