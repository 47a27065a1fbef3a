// The project's own suites for Workers, WebAssembly and the service, run against the package
// as JSR's npm layer serves it: the published files transpiled by scripts/build_npm.ts, and the
// suites themselves transpiled the same way next to them (tests/*.js importing ../mod.js ...),
// then run by Node's test runner (`node --test`, under `deno test`) and by Bun (`bun test`,
// under `bun test`), so each CI pass runs each suite once. One harness adaptation: the
// server suite addresses its stand-in Workers by literal URLs ("./server_spin_worker.ts"),
// which become ".js" here (JSR does not publish tests).
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildNpm, rewriteSpecifiers } from "../../scripts/build_npm.ts";
import { binary, isCI, ROOT, run } from "./_util.ts";

const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
/** Suites that start Workers, run the SIMD kernel, or serve requests. */
const SUITES = ["signed_distance_test", "scorer_test", "server_test"];
const HELPERS = [
  "util",
  "_multipart",
  "server_spin_worker",
  "server_slow_start_worker",
  "_busy_second",
];

describe("the project's suites on the transpiled package", () => {
  let dir = "";
  let built: Promise<string> | undefined;
  const ready = () => (built ??= build());

  async function build(): Promise<string> {
    dir = mkdtempSync(join(tmpdir(), "segloss-suites-"));
    const tree = join(dir, "pkg");
    await buildNpm(tree);
    const { transform, stop } = await import("esbuild");
    try {
      mkdirSync(join(tree, "tests"), { recursive: true });
      for (const name of [...SUITES, ...HELPERS]) {
        const src = readFileSync(join(ROOT, "tests", `${name}.ts`), "utf8");
        const { code } = await transform(src, {
          loader: "ts",
          format: "esm",
          target: "es2022",
          supported: { "import-attributes": true },
        });
        let js = rewriteSpecifiers(code);
        for (const h of HELPERS) js = js.replaceAll(`"./${h}.ts"`, `"./${h}.js"`);
        writeFileSync(join(tree, "tests", `${name}.js`), js);
      }
    } finally {
      await stop();
    }
    cpSync(join(ROOT, "tests/fixtures"), join(tree, "tests/fixtures"), { recursive: true });
    return tree;
  }

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const suite of SUITES) {
    const runtime = isBun ? "bun" : "node";
    test(`${runtime}: tests/${suite} passes on the transpiled package`, {
      timeout: 180_000,
    }, async (t) => {
      const bin = binary(runtime);
      if (!bin) return isCI ? assert.fail(`${runtime} is not installed`) : t.skip(`no ${runtime}`);
      const tree = await ready();
      const file = `./tests/${suite}.js`;
      let out: string;
      try {
        out = runtime === "node"
          ? await run(bin, ["--test", "--test-reporter=tap", file], { cwd: tree, timeout: 170_000 })
          : await run(bin, ["test", file], { cwd: tree, timeout: 170_000 });
      } catch (e) {
        assert.fail((e as Error).message.slice(-4000));
      }
      if (runtime === "node") {
        const pass = Number(/^# pass (\d+)/m.exec(out)?.[1] ?? 0);
        const fail = Number(/^# fail (\d+)/m.exec(out)?.[1] ?? -1);
        assert.equal(fail, 0, out.slice(-4000));
        assert.ok(pass > 5, `${pass} passed`);
      }
    });
  }
});
