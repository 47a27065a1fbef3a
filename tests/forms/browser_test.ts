// The browser form: mod.ts bundled by esbuild (--bundle --format=esm --platform=browser, with
// transforms/edt_worker.ts emitted beside it as edt_worker.js), loaded in headless Chromium
// (Debian's /usr/bin/chromium driven by playwright-core) from a page served by this test with
// and without cross-origin isolation (COOP/COEP). On both pages: edt, signedDistance and the
// cpu scorer; parallel EDT on real Workers on the isolated page, and a warned single-thread
// fallback on the plain one; the webgpu backend with jfa where Chromium offers an adapter.
// Each value equals this runtime's own result (Deno or Bun, in process) and the numpy/scipy
// fixture (tests/fixtures/server_cases.json). Skipped with a message when Chromium is missing,
// outside CI only.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { capabilities, createScorer, edt, signedDistance } from "../../mod.ts";
import { isCI, ROOT, runsUnderDenoOnly, SERVER_CASES } from "./_util.ts";

const CHROMIUM = "/usr/bin/chromium";
const cases = JSON.parse(readFileSync(SERVER_CASES, "utf8"));
const small = cases.small2d;

interface Scored {
  total: number;
  terms: Record<string, number>;
  gradient: number[];
  info: { kernel?: string; backend: string; adapter?: unknown };
  error?: string;
}
interface PageResult {
  crossOriginIsolated: boolean;
  capabilities: {
    runtime: { name: string };
    threads: { available: boolean; kind: string; sharedMemory: boolean };
    simd: { available: boolean };
    webgpu: { available: boolean; adapter?: string; isSoftware?: boolean; reason?: string };
  };
  edt: number[];
  signed: number[];
  cpu: Scored;
  parallel: { threaded?: boolean; data?: number[]; oneShot?: number[]; error?: string };
  error: string;
  webgpu?: Scored;
}

const maxErr = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

async function scoreHere(extra: Record<string, unknown>) {
  const scorer = await createScorer({ ...small.config, ...extra });
  try {
    const r = await scorer.evaluate({
      input: { data: new Float32Array(small.input.data), shape: small.input.shape },
      target: { data: new Uint8Array(small.target.data), shape: small.target.shape },
      gradient: true,
    });
    return { total: r.total, gradient: Array.from(r.gradient!.data) };
  } finally {
    scorer.dispose();
  }
}

const TYPES: Record<string, string> = {
  ".js": "text/javascript",
  ".html": "text/html",
  ".json": "application/json",
};

describe("bundled for the browser (esbuild) in headless Chromium", () => {
  let dir = "";
  let server: Server | undefined;
  let base = "";
  // deno-lint-ignore no-explicit-any
  let browser: any;
  const pages: Record<string, { result: PageResult; console: string[] }> = {};
  let skip: string | undefined;

  // bun's hooks time out after 5 s whatever their options say: the setup runs once, from the
  // first test that needs it (tests honour { timeout })
  let setup: Promise<void> | undefined;
  const ready = () => (setup ??= load());

  async function load(): Promise<void> {
    if (runsUnderDenoOnly) {
      // the page's values are compared with Deno's own
      skip = runsUnderDenoOnly;
      return;
    }
    if (!existsSync(CHROMIUM)) {
      if (isCI) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
      skip = `${CHROMIUM} is missing (apt-get install -y chromium)`;
      return;
    }
    dir = mkdtempSync(join(tmpdir(), "segloss-browser-"));
    const esbuild = await import("esbuild");
    try {
      await esbuild.build({
        absWorkingDir: ROOT,
        entryPoints: { mod: "mod.ts", edt_worker: "transforms/edt_worker.ts" },
        bundle: true,
        format: "esm",
        platform: "browser",
        target: "es2022",
        outdir: dir,
        logLevel: "error",
      });
    } finally {
      await esbuild.stop();
    }
    writeFileSync(
      join(dir, "page.js"),
      readFileSync(new URL("./browser_page.js", import.meta.url), "utf8"),
    );
    writeFileSync(
      join(dir, "index.html"),
      '<!doctype html><meta charset="utf-8"><title>segloss</title>' +
        '<script type="module">import { runAll } from "./page.js"; globalThis.runAll = runAll;' +
        "</script>",
    );
    server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      const m = /^\/(iso|plain)\/([\w.]+)$/.exec(url.pathname);
      const file = m ? join(dir, m[2]!) : "";
      if (!m || !existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      const headers: Record<string, string> = {
        "Content-Type": TYPES[file.slice(file.lastIndexOf("."))] ?? "application/octet-stream",
        "Cache-Control": "no-store",
      };
      if (m[1] === "iso") {
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Cross-Origin-Embedder-Policy"] = "require-corp";
      }
      res.writeHead(200, headers).end(readFileSync(file));
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", () => r()));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--enable-unsafe-webgpu",
        "--enable-features=Vulkan",
        "--use-angle=swiftshader",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    for (const kind of ["iso", "plain"]) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const logs: string[] = [];
      page.on("console", (m: { type(): string; text(): string }) => logs.push(m.text()));
      page.on("pageerror", (e: Error) => logs.push(`pageerror: ${e.message}`));
      await page.goto(`${base}/${kind}/index.html`);
      await page.waitForFunction(() =>
        typeof (globalThis as { runAll?: unknown }).runAll === "function"
      );
      const result = await page.evaluate(
        // deno-lint-ignore no-explicit-any
        (c: unknown) => (globalThis as any).runAll(c),
        cases,
      ) as PageResult;
      pages[kind] = { result, console: logs };
      await context.close();
    }
  }

  after(async () => {
    await browser?.close();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const kind of ["iso", "plain"] as const) {
    test(`${kind} page: edt, signedDistance and the cpu scorer equal this runtime's and scipy's`, {
      timeout: 180_000,
    }, async (t) => {
      await ready();
      if (skip) return t.skip(skip);
      const r = pages[kind]!.result;
      assert.equal(r.crossOriginIsolated, kind === "iso");
      assert.equal(r.capabilities.runtime.name, "browser");
      const e = cases.edt;
      const here = edt({ data: new Uint8Array(e.mask.data), shape: e.mask.shape }, {
        spacing: e.spacing,
      });
      assert.deepEqual(r.edt, Array.from(here.data));
      assert.ok(maxErr(r.edt, e.expected) < 1e-5);
      const s = cases.distance;
      const sd = await signedDistance(
        { data: new Uint8Array(s.labels.data), shape: s.labels.shape },
        { numClasses: s.numClasses, spacing: s.spacing },
      );
      assert.deepEqual(r.signed, Array.from(sd.data));
      assert.ok(maxErr(r.signed, s.expected) < 1e-5);
      const cpu = await scoreHere({ backend: "cpu" });
      assert.ok(Math.abs(r.cpu.total - cpu.total) < 1e-9, `${r.cpu.total} vs ${cpu.total}`);
      assert.ok(Math.abs(r.cpu.total - small.total) < 1e-5);
      assert.ok(maxErr(r.cpu.gradient, cpu.gradient) < 1e-9);
      assert.ok(maxErr(r.cpu.gradient, small.gradient) < 1e-5);
      // Chromium has WebAssembly SIMD: the kernel that ran says so
      assert.equal(r.capabilities.simd.available, true);
      assert.equal(r.cpu.info.kernel, "wasm-simd");
      // bad input keeps its precise error in the bundle
      assert.match(r.error, /^RangeError: Expected options\.spacing\[1\] .* but found -1$/);
    });
  }

  test("isolated page: parallel EDT runs on Workers from the bundle (edt_worker.js)", {
    timeout: 180_000,
  }, async (t) => {
    await ready();
    if (skip) return t.skip(skip);
    const { result: r, console: logs } = pages.iso!;
    assert.equal(r.parallel.error, undefined, r.parallel.error);
    assert.equal(r.capabilities.threads.available, true);
    assert.equal(r.capabilities.threads.kind, "web-worker");
    assert.equal(r.parallel.threaded, true);
    assert.deepEqual(r.parallel.data, r.edt);
    assert.deepEqual(r.parallel.oneShot, r.edt);
    assert.ok(!logs.some((l) => /one thread/.test(l)), logs.join("\n"));
  });

  test("plain page (no SharedArrayBuffer): parallel EDT says so once and runs on the page", {
    timeout: 180_000,
  }, async (t) => {
    await ready();
    if (skip) return t.skip(skip);
    const { result: r, console: logs } = pages.plain!;
    assert.equal(r.parallel.error, undefined, r.parallel.error);
    assert.equal(r.capabilities.threads.sharedMemory, false);
    assert.equal(r.capabilities.threads.available, false);
    assert.equal(r.parallel.threaded, false);
    assert.deepEqual(r.parallel.data, r.edt);
    assert.deepEqual(r.parallel.oneShot, r.edt);
    const warnings = logs.filter((l) => /parallel EDT runs on one thread/.test(l));
    assert.equal(warnings.length, 1, logs.join("\n"));
    assert.match(warnings[0]!, /cross-origin isolation/);
  });

  test(
    "webgpu backend with jfa where Chromium offers an adapter",
    { timeout: 180_000 },
    async (t) => {
      await ready();
      if (skip) return t.skip(skip);
      const r = pages.iso!.result;
      if (!r.capabilities.webgpu.available) {
        return t.skip(`Chromium offers no WebGPU adapter here: ${r.capabilities.webgpu.reason}`);
      }
      assert.equal(r.webgpu?.error, undefined, r.webgpu?.error);
      // what ran is visible: the WGSL kernels on the adapter capabilities() reported
      assert.equal(r.webgpu!.info.kernel, "wgsl");
      const adapter = r.webgpu!.info.adapter as { name: string; isSoftware?: boolean };
      assert.equal(adapter.name, r.capabilities.webgpu.adapter);
      assert.ok(Math.abs(r.webgpu!.total - small.total) < 1e-4, `${r.webgpu!.total}`);
      assert.ok(maxErr(r.webgpu!.gradient, small.gradient) < 1e-4);
      if ((await capabilities()).webgpu.available) {
        const here = await scoreHere({ backend: "webgpu", distance: "jfa" });
        assert.ok(
          Math.abs(r.webgpu!.total - here.total) < 1e-5,
          `${r.webgpu!.total} vs ${here.total}`,
        );
      }
    },
  );
});
