/**
 * Running a job within the request's deadline and reporting where the time went in a
 * `Server-Timing` header (decode, queue, compute, encode, total; milliseconds).
 *
 * @module
 */
import type { Context } from "hono";
import type { AppEnv } from "../context.ts";
import type { Job, TimedResult } from "../compute.ts";
import type { Executor } from "../pool.ts";

/** A job's result with the request's decode and round-trip times. */
export interface RunTimes extends TimedResult {
  /** Milliseconds from the request's arrival to the job's submission. */
  decodeMs: number;
  /** Milliseconds from submission to result (compute included). */
  runMs: number;
}

/**
 * Submits a job to the executor before the request's deadline, timing it.
 *
 * @param c The Hono context.
 * @param executor The executor.
 * @param job The job.
 * @returns The result with timings.
 */
export async function runTimed(
  c: Context<AppEnv>,
  executor: Executor,
  job: Job,
): Promise<RunTimes> {
  const t1 = performance.now();
  const out = await executor.run(job, c.get("deadline"));
  return { ...out, decodeMs: t1 - c.get("start"), runMs: performance.now() - t1 };
}

/**
 * The `Server-Timing` header value.
 *
 * @param c The Hono context.
 * @param t The times.
 * @param encodeMs Milliseconds spent encoding the response.
 * @returns The header value.
 */
export function timingHeader(c: Context<AppEnv>, t: RunTimes, encodeMs: number): string {
  const f = (x: number) => Math.max(0, x).toFixed(3);
  return [
    `decode;dur=${f(t.decodeMs)}`,
    `queue;dur=${f(t.runMs - t.computeMs)}`,
    `compute;desc="${t.where ?? "inline"}";dur=${f(t.computeMs)}`,
    `encode;dur=${f(encodeMs)}`,
    `total;dur=${f(performance.now() - c.get("start"))}`,
  ].join(", ");
}
