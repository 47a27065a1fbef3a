// The Workers recipe as a user deploys it: server/main.ts (the `./serve` entry) bundled into
// one ES module and run by workerd (Cloudflare's runtime, npm package `workerd`) with its
// settings given as env bindings only (SEGLOSS_TOKEN, SEGLOSS_MAX_ELEMENTS): the token is
// enforced, the limit holds, a scored request gives numpy's value, and /healthz shows what
// runs there (runtime workerd, no threads, the SIMD kernel's fallback and its reason).
// Skipped with a message only when the workerd binary cannot run here (and not on CI).
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startWorkerd, type Workerd, workerdBinary } from "../_workerd.ts";
import { isCI, postLoss, SMALL as small } from "./_util.ts";

const TOKEN = "w0rkerd-t0ken";

const CONFIG = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "segloss", worker = .w)],
  sockets = [(name = "http", address = "127.0.0.1:8789", http = (), service = "segloss")],
);
const w :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2025-09-01",
  bindings = [
    (name = "SEGLOSS_TOKEN", text = "${TOKEN}"),
    (name = "SEGLOSS_MAX_ELEMENTS", text = "4096"),
  ],
);
`;

describe("server/main.ts on workerd, configured by env bindings", () => {
  let served: Workerd | undefined;
  let url = "";
  const log = () => served?.log() ?? "";
  let skip: string | undefined;
  let started: Promise<void> | undefined;
  // bun's hooks time out after 5 s: started once, by the first test
  const ready = () => (started ??= start());

  async function start(): Promise<void> {
    const bin = await workerdBinary();
    if (!bin) {
      if (isCI) throw new Error("the workerd binary from the npm package cannot run here");
      skip = "the workerd binary from the npm package cannot run on this machine";
      return;
    }
    served = await startWorkerd(bin, CONFIG);
    url = served.url;
  }

  after(() => served?.stop());

  const post = (token?: string, body?: string) => postLoss(url, token, body);

  test("SEGLOSS_TOKEN from the env bindings is enforced", { timeout: 120_000 }, async (t) => {
    await ready();
    if (skip) return t.skip(skip);
    const none = await post();
    assert.equal(none.status, 401, log());
    assert.equal((await none.json()).error.code, "unauthorized");
    const wrong = await post("not-the-token");
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();
    const ok = await post(TOKEN);
    assert.equal(ok.status, 200, log());
    const body = await ok.json();
    assert.ok(Math.abs(body.total - small.total) < 1e-5, `${body.total} vs ${small.total}`);
  });

  test(
    "SEGLOSS_MAX_ELEMENTS from the env bindings holds (413)",
    { timeout: 120_000 },
    async (t) => {
      await ready();
      if (skip) return t.skip(skip);
      const big = JSON.stringify({
        config: small.config,
        input: { shape: [1, 2, 64, 64], data: new Array(2 * 64 * 64).fill(0) },
        target: { shape: [1, 64, 64], data: new Array(64 * 64).fill(0) },
      });
      const res = await post(TOKEN, big);
      assert.equal(res.status, 413, log());
      await res.body?.cancel();
    },
  );

  test("/healthz shows the runtime, no threads and the SIMD kernel's fallback", {
    timeout: 120_000,
  }, async (t) => {
    await ready();
    if (skip) return t.skip(skip);
    const h = await (await fetch(`${url}/healthz`)).json();
    assert.equal(h.compute, "inline");
    assert.equal(h.capabilities.runtime.name, "workerd");
    assert.equal(h.capabilities.threads.available, false);
    assert.equal(h.capabilities.threads.kind, "none");
    assert.equal(h.capabilities.webgpu.available, false);
    // workerd refuses to compile WebAssembly from bytes at run time: the JS kernels run, and
    // /healthz says why
    assert.equal(h.capabilities.simd.available, false);
    assert.match(h.capabilities.simd.reason, /code generation disallowed/);
  });
});
