// A stand-in for server/worker.ts used by tests/server_test.ts: a job whose `transform` is
// "spin" loops forever (synchronous work no timer can interrupt); any other job is answered
// at once with a one-element result.
const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};
scope.onmessage = (e: MessageEvent) => {
  const job = (e.data as { job?: { transform?: string } }).job;
  if (!job) return;
  if (job.transform === "spin") {
    let x = 0;
    for (;;) x = (x + 1) % 7;
  }
  scope.postMessage({
    ok: true,
    out: {
      result: { kind: "distance", result: { data: new Float32Array([42]), shape: [1] } },
      computeMs: 0,
    },
  });
};
