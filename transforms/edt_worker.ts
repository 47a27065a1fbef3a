/**
 * Worker module of the EDT Worker pool (`edt_pool.ts`): runs slabs of the EDT passes, and of
 * the label-map signed distance, on shared memory. Work is handed out in chunks through an
 * atomic counter, so the threads balance themselves. Not part of the public API.
 *
 * @module
 */
import {
  type BigMask,
  classRowPass,
  columnPass,
  combinePass,
  type LabelJob,
  makeScratch,
  type NumberMask,
  rowPass,
  rowPassBig,
  type Scratch,
} from "./edt_kernels.ts";

/** The first message of a job: shared buffers and geometry. */
export interface InitMessage {
  type: "init";
  /** EDT jobs: the mask. */
  mask?: NumberMask | BigMask;
  /** Signed-distance jobs: labels, presence flags, geometry. */
  job?: LabelJob;
  out: Float32Array;
  /** Two flag buffers (one per row, shared): which lines hold finite values. */
  flags: [Uint8Array, Uint8Array];
  counter: Int32Array;
  maxLen: number;
}

/** One pass: `units` work units handed out `chunk` at a time. */
export interface PassMessage {
  type: "pass";
  /**
   * `row`: innermost axis of an EDT; `classRow`: innermost axis of the class transforms;
   * `column`: a strided axis; `combine`: the last signed-distance step.
   */
  kind: "row" | "classRow" | "column" | "combine";
  n: number;
  stride: number;
  spacing: number;
  units: number;
  chunk: number;
  final: boolean;
  /** `combine`: the inside shift of the convention. */
  shift?: number;
  /** Row passes write `flags[fout]`; column passes read `flags[fin]`, write `flags[fout]`. */
  fin: number;
  fout: number;
}

interface Scope {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
}
const scope = globalThis as unknown as Scope;

let init: InitMessage | undefined;
let big = false;
let scratch: Scratch | undefined;
let scratchLen = 0;

scope.onmessage = (e: MessageEvent) => {
  const msg = e.data as InitMessage | PassMessage | { type: "release" };
  try {
    if (msg.type === "release") {
      init = undefined;
    } else if (msg.type === "init") {
      init = msg;
      big = msg.mask !== undefined && typeof msg.mask[0] === "bigint";
      if (scratch === undefined || scratchLen < msg.maxLen) {
        scratch = makeScratch(msg.maxLen);
        scratchLen = msg.maxLen;
      }
    } else {
      const st = init!;
      for (;;) {
        const c = Atomics.add(st.counter, 0, 1);
        const u0 = c * msg.chunk;
        if (u0 >= msg.units) break;
        const u1 = Math.min(msg.units, u0 + msg.chunk);
        if (msg.kind === "row") {
          const fl = st.flags[msg.fout]!;
          if (big) {
            rowPassBig(st.mask as BigMask, st.out, msg.n, msg.spacing, u0, u1, msg.final, fl);
          } else {
            rowPass(st.mask as NumberMask, st.out, msg.n, msg.spacing, u0, u1, msg.final, fl);
          }
        } else if (msg.kind === "classRow") {
          classRowPass(st.job!, msg.n, msg.spacing, u0, u1, msg.final, st.flags[msg.fout]!);
        } else if (msg.kind === "column") {
          const s2 = msg.spacing * msg.spacing;
          const fin = st.flags[msg.fin]!;
          const fout = st.flags[msg.fout]!;
          columnPass(st.out, msg.n, msg.stride, s2, u0, u1, msg.final, scratch!, fin, fout);
        } else {
          combinePass(st.job!, msg.shift!, u0, u1);
        }
      }
    }
    scope.postMessage({ ok: true });
  } catch (err) {
    scope.postMessage({ ok: false, error: String((err as Error)?.stack ?? err) });
  }
};
