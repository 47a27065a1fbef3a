// The scoring service on a real listening socket: Deno.serve under Deno, Bun.serve under Bun
// (same file), the worker pool, the server/main.ts entry started as its own process, and the
// Python client (examples/client.py) against it. Expected values: tests/fixtures/server_cases.json
// (numpy + scipy, tests/fixtures/make_server_fixtures.py).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createApp, decodeNpy, encodeNpy } from "../server/mod.ts";
import type { SeglossApp } from "../server/mod.ts";
import cases from "./fixtures/server_cases.json" with { type: "json" };
import { freePort, waitForHealthz } from "./util.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
const small = cases.small2d;

interface Listening {
  url: string;
  close(): Promise<void>;
}

/** Serves the app on 127.0.0.1, port 0, with the runtime's own server. */
function listen(app: SeglossApp): Promise<Listening> {
  const g = globalThis as unknown as {
    Bun?: {
      serve(o: unknown): { port: number; stop(force?: boolean): void | Promise<void> };
    };
    Deno?: {
      serve(
        o: { port: number; hostname: string; onListen(a: { port: number }): void },
        h: (r: Request) => Response | Promise<Response>,
      ): { shutdown(): Promise<void> };
    };
  };
  if (g.Bun) {
    const s = g.Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (r: Request) => app.fetch(r) });
    return Promise.resolve({
      url: `http://127.0.0.1:${s.port}`,
      close: async () => {
        await s.stop(true);
      },
    });
  }
  return new Promise((resolve) => {
    const s = g.Deno!.serve({
      port: 0,
      hostname: "127.0.0.1",
      onListen: ({ port }) =>
        resolve({ url: `http://127.0.0.1:${port}`, close: () => s.shutdown() }),
    }, (r) => app.fetch(r));
  });
}

export { freePort };

/**
 * Serves `createApp(options)` with {@linkcode listen} for the tests of the enclosing
 * `describe`: started before them, closed after them. Its `url` is read inside a test.
 */
function serveForSuite(options: Parameters<typeof createApp>[0]): { readonly url: string } {
  let app: SeglossApp | undefined;
  let server: Listening | undefined;
  before(async () => {
    app = createApp(options);
    server = await listen(app);
  });
  after(async () => {
    await server?.close();
    app?.close();
  });
  return {
    get url() {
      return server!.url;
    },
  };
}

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      timeout: 60_000,
    }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(" ")} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

async function hasNumpy(): Promise<boolean> {
  try {
    await run("python3", ["-c", "import numpy"]);
    return true;
  } catch {
    return false;
  }
}

describe("a real listening server (worker pool)", () => {
  const server = serveForSuite({ compute: "worker", workers: 2 });

  test("GET /healthz over HTTP", async () => {
    const res = await fetch(`${server.url}/healthz`);
    assert.equal(res.status, 200);
    assert.equal((await res.json()).compute, "worker");
  });

  test("POST /v1/loss with a FormData body (fetch's own multipart) matches scipy", async () => {
    const form = new FormData();
    form.set("config", JSON.stringify(small.config));
    form.set("gradient", "true");
    const npy = (a: Parameters<typeof encodeNpy>[0]) =>
      new Blob([encodeNpy(a) as Uint8Array<ArrayBuffer>], { type: "application/x-npy" });
    form.set(
      "input",
      npy({ data: new Float32Array(small.input.data), shape: small.input.shape }),
      "input.npy",
    );
    form.set(
      "target",
      npy({ data: new Uint8Array(small.target.data), shape: small.target.shape }),
      "target.npy",
    );
    const res = await fetch(`${server.url}/v1/loss`, {
      method: "POST",
      body: form,
      headers: { Accept: "application/x-npy" },
    });
    assert.equal(res.status, 200);
    const summary = JSON.parse(res.headers.get("x-segloss-result")!);
    assert.ok(Math.abs(summary.total - small.total) < 1e-5);
    const grad = decodeNpy(new Uint8Array(await res.arrayBuffer()), "gradient");
    small.gradient.forEach((g: number, i: number) =>
      assert.ok(Math.abs((grad.data[i] as number) - g) < 1e-5)
    );
  });

  test("16 concurrent requests all get the right value", async () => {
    const body = JSON.stringify({ config: small.config, input: small.input, target: small.target });
    const all = await Promise.all(
      Array.from({ length: 16 }, () =>
        fetch(`${server.url}/v1/loss`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body,
        }).then((r) => r.json())),
    );
    for (const r of all) assert.ok(Math.abs(r.total - small.total) < 1e-5);
  });

  test("the Python client (numpy + urllib, .npy multipart) gets scipy's value", {
    timeout: 120_000,
  }, async (t) => {
    if (!(await hasNumpy())) {
      t.skip("python3 with numpy not found: the Python client test is skipped");
      return;
    }
    const ref = cases.client64;
    for (const mode of [[], ["--json"]]) {
      const out = JSON.parse(
        await run("python3", ["examples/client.py", "--url", server.url, ...mode]),
      );
      const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));
      assert.ok(rel(out.total, ref.total) < 1e-5, `${mode} total ${out.total} vs ${ref.total}`);
      assert.ok(rel(out.terms.dice, ref.terms.dice) < 1e-5);
      assert.ok(rel(out.terms.boundary, ref.terms.boundary) < 1e-5);
      if (mode.length === 0) {
        assert.deepEqual(out.gradient_shape, ref.gradient_shape);
        assert.equal(out.gradient_dtype, "float32");
        assert.ok(rel(out.gradient_sum_abs, ref.gradient_sum_abs) < 1e-4);
      }
    }
  });
});

describe("limits over a real connection (Content-Length checked before reading)", () => {
  const server = serveForSuite({ compute: "inline", maxBodyBytes: 1000 });

  test("a 64 KiB body against a 1000-byte limit is a 413, and the server keeps serving", async () => {
    const res = await fetch(`${server.url}/v1/loss`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ pad: "x".repeat(65536) }),
    });
    assert.equal(res.status, 413);
    assert.equal((await res.json()).error.code, "payload_too_large");
    const ok = await fetch(`${server.url}/v1/distance`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ mask: { shape: [3], data: [0, 1, 1] } }),
    });
    assert.deepEqual((await ok.json()).data, [0, 1, 2]);
  });
});

describe("server/main.ts started as its own process", () => {
  let child: ChildProcess | undefined;
  let url = "";
  before(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const env = { ...process.env, PORT: String(port), SEGLOSS_TOKEN: "live-token" };
    child = isBun
      ? spawn(process.execPath, ["run", "server/main.ts"], { cwd: ROOT, env, stdio: "ignore" })
      : spawn(
        process.execPath,
        ["serve", "-A", "--host", "127.0.0.1", "--port", String(port), "server/main.ts"],
        { cwd: ROOT, env, stdio: "ignore" },
      );
    if (await waitForHealthz(url)) return;
    throw new Error("server/main.ts did not start listening within 30 s");
  });
  after(() => {
    child?.kill("SIGTERM");
  });

  test("reads SEGLOSS_TOKEN from the environment and scores with the token", async () => {
    const body = JSON.stringify({ config: small.config, input: small.input, target: small.target });
    const headers = { "Content-Type": "application/json" };
    const denied = await fetch(`${url}/v1/loss`, { method: "POST", headers, body });
    assert.equal(denied.status, 401);
    await denied.body?.cancel();
    const res = await fetch(`${url}/v1/loss`, {
      method: "POST",
      headers: { ...headers, Authorization: "Bearer live-token" },
      body,
    });
    assert.equal(res.status, 200);
    assert.ok(Math.abs((await res.json()).total - small.total) < 1e-5);
  });
});
