// A stand-in for server/worker.ts used by tests/server_test.ts: a job whose `transform` is
// "spin" loops forever (synchronous work no timer can interrupt); any other job is answered
// at once with a one-element result. It talks through core/_worker.ts's parentPort(), so it
// runs as a Web Worker and as a Node worker_threads Worker (tests/forms/suites_test.ts).
import { parentPort } from "../core/_worker.ts";

const port = parentPort();
port.onMessage((data: unknown) => {
  const job = (data as { job?: { transform?: string } }).job;
  if (!job) return;
  if (job.transform === "spin") {
    let x = 0;
    for (;;) x = (x + 1) % 7;
  }
  port.postMessage({
    ok: true,
    out: {
      result: { kind: "distance", result: { data: new Float32Array([42]), shape: [1] } },
      computeMs: 0,
    },
  });
});
// loaded: the pool starts a job's clock when this arrives (server/worker.ts says the same)
port.postMessage({ ready: true });
