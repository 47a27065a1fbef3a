// The package as JSR's npm layer serves it to Node and Bun users: scripts/build_npm.ts
// transpiles every published file to .js (import specifiers rewritten, string literals not),
// then tests/forms/npm_check.mjs runs inside that tree under Node 20 and Bun (parallel EDT and
// signed distance on Workers, the SIMD kernel, WebGPU detection, errors, the service's Worker
// pool), and the service runs from the tree: `node server/node.js` and `bun run
// server/main.js`. Values are checked against tests/fixtures/server_cases.json (numpy/scipy,
// tests/fixtures/make_server_fixtures.py).
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildNpm, publishedFiles, rewriteSpecifiers } from "../../scripts/build_npm.ts";
import {
  assertScoredOnPool,
  binary,
  isCI,
  postLoss,
  run,
  runsUnderDenoOnly,
  serve,
  SERVER_CASES,
} from "./_util.ts";

const cases = JSON.parse(readFileSync(SERVER_CASES, "utf8"));
const small = cases.small2d;

describe("scripts/build_npm.ts rewrites specifiers as JSR does", () => {
  test("relative .ts import/export specifiers become .js; string literals stay", () => {
    const src = [
      'import { a } from "./a.ts";',
      'export * from "../b/c.ts";',
      'import "./side.ts";',
      'const m = await import("./lazy.ts");',
      'const u = new URL("./edt_worker.ts", import.meta.url);',
      'import x from "hono";',
    ].join("\n");
    assert.equal(
      rewriteSpecifiers(src),
      [
        'import { a } from "./a.js";',
        'export * from "../b/c.js";',
        'import "./side.js";',
        'const m = await import("./lazy.js");',
        'const u = new URL("./edt_worker.ts", import.meta.url);',
        'import x from "hono";',
      ].join("\n"),
    );
  });
});

describe("transpiled to JavaScript file by file (JSR's npm layer)", () => {
  let dir = "";
  let tree = "";

  // bun's hooks time out after 5 s whatever their options say: the tree is built once, by the
  // first test that needs it (tests honour { timeout })
  let built: Promise<void> | undefined;
  const ready = () => (built ??= build());

  async function build(): Promise<void> {
    dir = mkdtempSync(join(tmpdir(), "segloss-npm-"));
    tree = join(dir, "pkg");
    await buildNpm(tree);
    const { stop } = await import("esbuild");
    await stop();
    const script = readFileSync(new URL("./npm_check.mjs", import.meta.url), "utf8");
    writeFileSync(join(tree, "check.mjs"), script);
  }

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("every published .ts file has its .js, and no .ts import specifier is left", {
    timeout: 120_000,
  }, async () => {
    await ready();
    const ts = publishedFiles().filter((f) => f.endsWith(".ts"));
    assert.ok(ts.length > 40, `${ts.length} published .ts files`);
    for (const f of ts) {
      const js = readFileSync(join(tree, f.replace(/\.ts$/, ".js")), "utf8");
      assert.doesNotMatch(js, /\bfrom\s*["']\.\.?\/[^"']+\.ts["']/, f);
    }
  });

  for (const name of ["node", "bun"] as const) {
    test(`${name}: Workers, SIMD kernel, WebGPU detection, errors and the Worker pool work`, {
      timeout: 120_000,
    }, async (t) => {
      if (runsUnderDenoOnly) return t.skip(runsUnderDenoOnly);
      await ready();
      const bin = binary(name);
      if (!bin) {
        if (isCI) assert.fail(`${name} is not installed`);
        return t.skip(`${name} is not installed`);
      }
      const out = JSON.parse(
        (await run(bin, ["check.mjs", SERVER_CASES], { cwd: tree })).trim().split("\n").pop()!,
      );
      assert.equal(out.capabilities.runtime.name, name);
      // threads: worker_threads on Node (no global Worker), Web Workers on Bun
      assert.equal(
        out.capabilities.threads.kind,
        name === "node" ? "worker_threads" : "web-worker",
      );
      assert.equal(out.capabilities.threads.available, true);
      assert.equal(out.edt.threaded, true);
      assert.ok(out.edt.maxErr < 1e-5, `edtParallel vs scipy: ${out.edt.maxErr}`);
      assert.ok(
        out.signed.maxErr < 1e-5,
        `signedDistance on Workers vs scipy: ${out.signed.maxErr}`,
      );
      assert.deepEqual(out.signed.shape, cases.distance.expectedShape);
      // the WebAssembly SIMD kernel ran, and gave numpy's values
      assert.equal(out.capabilities.simd.available, true);
      assert.equal(out.scorer.info.kernel, "wasm-simd");
      assert.ok(Math.abs(out.scorer.total - small.total) < 1e-5, `${out.scorer.total}`);
      assert.ok(Math.abs(out.scorer.terms.boundary - small.terms.boundary) < 1e-5);
      assert.ok(out.scorer.gradMaxErr < 1e-5, `gradient: ${out.scorer.gradMaxErr}`);
      // no WebGPU on Node or Bun: detected without a throw, "auto" runs on the cpu
      assert.equal(out.webgpu.available, false);
      assert.equal(out.capabilities.webgpu.available, false);
      assert.match(out.capabilities.webgpu.reason, /navigator\.gpu is undefined/);
      assert.equal(out.webgpu.auto, "cpu");
      assert.match(out.error, /^RangeError: Expected options\.spacing\[1\] .* but found -1$/);
      // the service's Worker pool: 200 with numpy's value, computed in a Worker; bad labels 422
      assert.equal(out.service.status, 200);
      assert.ok(Math.abs(out.service.total - small.total) < 1e-5);
      assert.match(out.service.timing, /compute;desc="worker"/);
      assert.equal(out.service.badStatus, 422);
      assert.equal(out.service.health.compute, "worker");
      assert.equal(out.service.defaultCompute, "hybrid");
      assert.equal(out.service.health.capabilities.runtime.name, name);
    });
  }

  test("node server/node.js (@hono/node-server): token enforced, request on the Worker pool", {
    timeout: 120_000,
  }, async (t) => {
    if (runsUnderDenoOnly) return t.skip(runsUnderDenoOnly);
    await ready();
    const bin = binary("node");
    if (!bin) return isCI ? assert.fail("node is not installed") : t.skip("no node");
    const s = await serve(bin, ["server/node.js"], {
      cwd: tree,
      env: { SEGLOSS_COMPUTE: "worker", SEGLOSS_TOKEN: "s3cret", SEGLOSS_WORKERS: "2" },
    });
    try {
      const denied = await postLoss(s.url);
      assert.equal(denied.status, 401);
      await denied.body?.cancel();
      await assertScoredOnPool(await postLoss(s.url, "s3cret"), s.log());
      const health = await (await fetch(`${s.url}/healthz`)).json();
      assert.equal(health.capabilities.threads.kind, "worker_threads");
      assert.doesNotMatch(s.log(), /WITHOUT A TOKEN/);
    } finally {
      await s.stop();
    }
  });

  test("bun run server/main.js: request on the Worker pool; open without a token warns loudly", {
    timeout: 120_000,
  }, async (t) => {
    if (runsUnderDenoOnly) return t.skip(runsUnderDenoOnly);
    await ready();
    const bin = binary("bun");
    if (!bin) return isCI ? assert.fail("bun is not installed") : t.skip("no bun");
    const s = await serve(bin, ["run", "server/main.js"], {
      cwd: tree,
      env: { SEGLOSS_COMPUTE: "worker", HOST: "0.0.0.0", SEGLOSS_TOKEN: "" },
    });
    try {
      await assertScoredOnPool(await postLoss(s.url), s.log());
      assert.match(s.log(), /listening on 0\.0\.0\.0 WITHOUT A TOKEN/);
    } finally {
      await s.stop();
    }
  });
});
