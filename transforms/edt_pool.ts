/**
 * Internal Worker pool of the exact EDT and of the label-map signed distance: Workers running
 * `edt_worker.ts`, fed passes whose work units they take from a shared atomic counter. Not
 * part of the public API (see `createEdtWorkerPool` in `edt.ts`).
 *
 * @module
 */
import type { PassPlan } from "./edt_kernels.ts";
import type { InitMessage } from "./edt_worker.ts";

type WorkerReply = { ok: true } | { ok: false; error: string };

/** Whether this runtime can run the pool (module Workers and SharedArrayBuffer). */
export const poolSupported: boolean = typeof Worker !== "undefined" &&
  typeof SharedArrayBuffer !== "undefined";

/** Workers started on first use, ended by {@linkcode WorkerPool.close} or after `idleMs`. */
export class WorkerPool {
  /** The number of Workers. */
  readonly size: number;
  #idleMs: number;
  #workers: Worker[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(size: number, idleMs: number) {
    this.size = size;
    this.#idleMs = idleMs;
  }

  /** Terminates the Workers now (a later job starts them again). */
  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
  }

  /** Runs `passes` in order on every Worker after sending them `init`; jobs are queued. */
  run(
    init: Omit<InitMessage, "type" | "counter" | "maxLen" | "flags">,
    maxLen: number,
    flagsLength: number,
    passes: PassPlan[],
  ): Promise<void> {
    const job = this.#queue.then(async () => {
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
      try {
        await this.#run(init, maxLen, flagsLength, passes);
      } finally {
        if (this.#workers.length > 0) {
          if (this.#idleMs === 0) this.close();
          else this.#timer = setTimeout(() => this.close(), this.#idleMs);
        }
      }
    });
    this.#queue = job.catch(() => {});
    return job;
  }

  #all(msg: unknown): Promise<void[]> {
    return Promise.all(this.#workers.map((w) =>
      new Promise<void>((resolve, reject) => {
        w.onmessage = (e: MessageEvent<WorkerReply>) => {
          if (e.data.ok) resolve();
          else reject(new Error(`EDT worker failed: ${e.data.error}`));
        };
        w.onerror = (e: ErrorEvent) => {
          e.preventDefault?.();
          reject(new Error(`EDT worker failed: ${e.message}`));
        };
        w.postMessage(msg);
      })
    ));
  }

  async #run(
    init: Omit<InitMessage, "type" | "counter" | "maxLen" | "flags">,
    maxLen: number,
    flagsLength: number,
    passes: PassPlan[],
  ): Promise<void> {
    if (this.#workers.length === 0) {
      const url = new URL("./edt_worker.ts", import.meta.url).href;
      for (let i = 0; i < this.size; i++) this.#workers.push(new Worker(url, { type: "module" }));
    }
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const flags = [
      new Uint8Array(new SharedArrayBuffer(flagsLength)),
      new Uint8Array(new SharedArrayBuffer(flagsLength)),
    ];
    try {
      await this.#all({ ...init, type: "init", counter, maxLen, flags });
      for (let i = 0; i < passes.length; i++) {
        const plan = passes[i]!;
        Atomics.store(counter, 0, 0);
        const chunk = Math.max(1, Math.ceil(plan.units / (this.size * 16)));
        await this.#all({ type: "pass", index: i, plan, chunk });
      }
      // drop the Workers' references to this job's buffers
      await this.#all({ type: "release" });
    } catch (err) {
      this.close();
      throw err;
    }
  }
}

/** Copies `data` into a SharedArrayBuffer (same type, one memcpy), unless it already lives in one. */
export function sharedMask(data: ArrayLike<number>): ArrayLike<number> {
  const src = data as Uint8Array;
  if (src.buffer instanceof SharedArrayBuffer) return data;
  const Ctor = src.constructor as new (buffer: SharedArrayBuffer) => Uint8Array;
  const copy = new Ctor(new SharedArrayBuffer(src.byteLength));
  copy.set(src);
  return copy;
}
