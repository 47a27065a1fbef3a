/**
 * Worker module of the EDT Worker pool (`edt_pool.ts`): runs slabs of the passes of an EDT or
 * of a label-map signed distance (`_edt_plan.ts`) on shared memory. Work is handed out in
 * chunks through an atomic counter, so the threads balance themselves. Not part of the public
 * API.
 *
 * @module
 */
import { parentPort } from "../core/_worker.ts";
import type { LabelJob } from "./_edt_labels.ts";
import { makeScratch, type NumberMask, type Scratch } from "./_edt_passes.ts";
import { type PassContext, type PassPlan, runPass } from "./_edt_plan.ts";

/** The first message of a job: shared buffers and geometry. */
export interface InitMessage {
  type: "init";
  /** EDT jobs: the mask. */
  mask?: NumberMask;
  /** Signed-distance jobs: labels, presence flags, geometry. */
  job?: LabelJob;
  out: Float32Array;
  /** Two flag buffers (shared): which lines hold finite values. */
  flags: Uint8Array[];
  counter: Int32Array;
  maxLen: number;
}

/** Pass number `index` of the job: `plan.units` work units handed out `chunk` at a time. */
export interface PassMessage {
  type: "pass";
  index: number;
  plan: PassPlan;
  chunk: number;
}

const port = parentPort();

let ctx: PassContext | undefined;
let counter: Int32Array | undefined;
let scratch: Scratch | undefined;
let scratchLen = 0;

port.onMessage((data: unknown) => {
  const msg = data as InitMessage | PassMessage | { type: "release" };
  try {
    if (msg.type === "release") {
      ctx = undefined;
      counter = undefined;
    } else if (msg.type === "init") {
      if (scratch === undefined || scratchLen < msg.maxLen) {
        scratch = makeScratch(msg.maxLen);
        scratchLen = msg.maxLen;
      }
      ctx = { mask: msg.mask, job: msg.job, out: msg.out, flags: msg.flags, scratch };
      counter = msg.counter;
    } else {
      for (;;) {
        const c = Atomics.add(counter!, 0, 1);
        const u0 = c * msg.chunk;
        if (u0 >= msg.plan.units) break;
        runPass(msg.plan, msg.index, ctx!, u0, Math.min(msg.plan.units, u0 + msg.chunk));
      }
    }
    port.postMessage({ ok: true });
  } catch (err) {
    port.postMessage({ ok: false, error: String((err as Error)?.stack ?? err) });
  }
});
