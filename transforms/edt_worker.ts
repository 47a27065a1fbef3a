/**
 * Worker module of {@linkcode edtParallel}: runs slabs of the EDT passes on shared memory.
 * Work is handed out in chunks through an atomic counter, so the threads balance themselves.
 * Not part of the public API.
 *
 * @module
 */
import {
  type BigMask,
  columnPass,
  makeScratch,
  type NumberMask,
  rowPass,
  rowPassBig,
  type Scratch,
} from "./edt_kernels.ts";

/** The first message: shared buffers and geometry. */
export interface InitMessage {
  type: "init";
  mask: NumberMask | BigMask;
  out: Float32Array;
  counter: Int32Array;
  maxLen: number;
}

/** One pass: `units` work units handed out `chunk` at a time. */
export interface PassMessage {
  type: "pass";
  /** Row pass (innermost axis) or strided column pass. */
  kind: "row" | "column";
  n: number;
  stride: number;
  spacing: number;
  units: number;
  chunk: number;
  final: boolean;
}

interface Scope {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
}
const scope = globalThis as unknown as Scope;

let state:
  | { mask: NumberMask | BigMask; big: boolean; out: Float32Array; counter: Int32Array }
  | undefined;
let scratch: Scratch | undefined;

scope.onmessage = (e: MessageEvent) => {
  const msg = e.data as InitMessage | PassMessage;
  try {
    if (msg.type === "init") {
      state = {
        mask: msg.mask,
        big: typeof msg.mask[0] === "bigint",
        out: msg.out,
        counter: msg.counter,
      };
      scratch = makeScratch(msg.maxLen);
      scope.postMessage({ ok: true });
      return;
    }
    const st = state!;
    for (;;) {
      const c = Atomics.add(st.counter, 0, 1);
      const u0 = c * msg.chunk;
      if (u0 >= msg.units) break;
      const u1 = Math.min(msg.units, u0 + msg.chunk);
      if (msg.kind === "row") {
        if (st.big) {
          rowPassBig(st.mask as BigMask, st.out, msg.n, msg.spacing, u0, u1, msg.final);
        } else {
          rowPass(st.mask as NumberMask, st.out, msg.n, msg.spacing, u0, u1, msg.final);
        }
      } else {
        columnPass(
          st.out,
          msg.n,
          msg.stride,
          msg.spacing * msg.spacing,
          u0,
          u1,
          msg.final,
          scratch!,
        );
      }
    }
    scope.postMessage({ ok: true });
  } catch (err) {
    scope.postMessage({ ok: false, error: String((err as Error)?.stack ?? err) });
  }
};
