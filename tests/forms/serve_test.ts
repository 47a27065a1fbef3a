// The service from source as Deno and Bun users run it: `deno serve` and `bun run` on
// server/main.ts (the `./serve` entry), settings from the environment, each answering a
// request that runs on its Worker pool (SEGLOSS_COMPUTE=worker) with numpy's value
// (tests/fixtures/server_cases.json); the token is enforced; an open server without a token
// warns loudly. (Node and Bun on the transpiled package: npm_test.ts; workerd:
// workerd_env_test.ts.)
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { assertScoredOnPool, binary, isCI, postLoss, runsUnderDenoOnly, serve } from "./_util.ts";

describe("the service from source", () => {
  test("deno serve server/main.ts: token from the env, request on the Worker pool", {
    timeout: 120_000,
  }, async (t) => {
    if (runsUnderDenoOnly) return t.skip(runsUnderDenoOnly);
    const deno = binary("deno");
    if (!deno) return isCI ? assert.fail("deno is not installed") : t.skip("no deno");
    const s = await serve(
      deno,
      ["serve", "-A", "--host", "127.0.0.1", "--port", "{PORT}", "server/main.ts"],
      { env: { SEGLOSS_COMPUTE: "worker", SEGLOSS_TOKEN: "d3no" } },
    );
    try {
      const denied = await postLoss(s.url);
      assert.equal(denied.status, 401);
      await denied.body?.cancel();
      await assertScoredOnPool(await postLoss(s.url, "d3no"));
      const h = await (await fetch(`${s.url}/healthz`)).json();
      assert.equal(h.compute, "worker");
      assert.equal(h.capabilities.runtime.name, "deno");
      assert.equal(h.capabilities.threads.kind, "web-worker");
      assert.doesNotMatch(s.log(), /WITHOUT A TOKEN/);
    } finally {
      await s.stop();
    }
  });

  test("deno serve without --host and without a token warns loudly", {
    timeout: 120_000,
  }, async (t) => {
    if (runsUnderDenoOnly) return t.skip(runsUnderDenoOnly);
    const deno = binary("deno");
    if (!deno) return isCI ? assert.fail("deno is not installed") : t.skip("no deno");
    const s = await serve(deno, ["serve", "-A", "--port", "{PORT}", "server/main.ts"], {
      env: { SEGLOSS_TOKEN: "" },
    });
    try {
      assert.match(s.log(), /WITHOUT A TOKEN/);
    } finally {
      await s.stop();
    }
  });

  test("bun run server/main.ts: listens on 127.0.0.1 by default, request on the Worker pool", {
    timeout: 120_000,
  }, async (t) => {
    if (runsUnderDenoOnly) return t.skip(runsUnderDenoOnly);
    const bun = binary("bun");
    if (!bun) return isCI ? assert.fail("bun is not installed") : t.skip("no bun");
    const s = await serve(bun, ["run", "server/main.ts"], {
      env: { SEGLOSS_COMPUTE: "worker", SEGLOSS_TOKEN: "", HOST: "" },
    });
    try {
      await assertScoredOnPool(await postLoss(s.url));
      const h = await (await fetch(`${s.url}/healthz`)).json();
      assert.equal(h.capabilities.runtime.name, "bun");
      // loopback only: no warning although there is no token
      assert.doesNotMatch(s.log(), /WITHOUT A TOKEN/);
    } finally {
      await s.stop();
    }
  });
});
