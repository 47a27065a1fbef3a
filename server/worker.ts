/**
 * The Web Worker entry of the service's worker pool: runs one job at a time with the library
 * and posts back the result (buffers transferred) or the error's name and message.
 *
 * @module
 */
import { parentPort } from "../core/_worker.ts";
import { type Job, JobRunner, transferables } from "./compute.ts";
import { serializeError } from "./errors.ts";

// `self` in a Web Worker, worker_threads' parentPort on Node
const scope = parentPort();
let runner: JobRunner | undefined;

scope.onMessage(async (data: unknown) => {
  const msg = data as { init?: { defaultBackend: string }; job?: Job };
  if (msg.init) {
    runner = new JobRunner(undefined, msg.init.defaultBackend);
    return;
  }
  if (!msg.job) return;
  runner ??= new JobRunner(undefined, "cpu");
  try {
    const out = await runner.run(msg.job);
    scope.postMessage({ ok: true, out }, transferables(out.result));
  } catch (err) {
    // plain data that keeps the error's class (the status is chosen by class)
    scope.postMessage({ ok: false, ...serializeError(err) });
  }
});
// loaded: the pool starts the job's clock now (a cold start is not the request's time)
scope.postMessage({ ready: true });
