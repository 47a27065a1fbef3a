/**
 * Internal Worker pool of the exact EDT and of the label-map signed distance: Workers running
 * `edt_worker.ts`, fed passes whose work units they take from a shared atomic counter. Not
 * part of the public API (see `createEdtWorkerPool` in `edt.ts`).
 *
 * @module
 */
import {
  sharedThreadsAvailable,
  siblingModuleUrl,
  spawnWorker,
  type ThreadError,
  type ThreadHandle,
  threadKind,
  type ThreadMessage,
} from "../core/_worker.ts";
import type { PassPlan } from "./_edt_plan.ts";
import type { InitMessage } from "./edt_worker.ts";

type WorkerReply = { ok: true } | { ok: false; error: string };

/** What a job sends its Workers besides the geometry the pool adds. */
export type JobInit = Omit<InitMessage, "type" | "counter" | "maxLen" | "flags">;

/** Scratch slots of {@linkcode WorkerPool.scratch}: the flags use 0 and 1, callers these. */
export const SCRATCH_IN = 2;
/** The output's scratch slot. */
export const SCRATCH_OUT = 3;
/** A third input's scratch slot (the presence flags of a label job). */
export const SCRATCH_EXTRA = 4;
const FLAGS_SLOT = 0;

/**
 * Whether this runtime can run the pool: threads (Web Workers, or `worker_threads` on Node)
 * and `SharedArrayBuffer` (which a browser page has only when cross-origin isolated).
 */
export const poolSupported: boolean = sharedThreadsAvailable();

let warned = false;

/**
 * Says once per process why Worker pools run on the calling thread here (no threads, or no
 * `SharedArrayBuffer` on a page that is not cross-origin isolated).
 */
export function warnSingleThreaded(): void {
  if (warned || poolSupported) return;
  warned = true;
  const why = threadKind() === "none"
    ? "this runtime has no Workers"
    : "SharedArrayBuffer is unavailable (a browser page needs cross-origin isolation: " +
      "Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)";
  console.warn(`segloss: parallel EDT runs on one thread: ${why}`);
}

/** Workers started on first use, ended by {@linkcode WorkerPool.close} or after `idleMs`. */
export class WorkerPool {
  /** The number of Workers. */
  readonly size: number;
  #idleMs: number;
  #workers: ThreadHandle[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #scratch: SharedArrayBuffer[] = [];
  /** Made on first use: a page without SharedArrayBuffer still builds a (single-threaded) pool. */
  #counter: Int32Array | undefined;
  /** Jobs queued or running. */
  #jobs = 0;
  /** Rejects the replies the running job waits for (a `close()` mid-job settles it). */
  #waiting = new Set<(e: Error) => void>();

  constructor(size: number, idleMs: number) {
    this.size = size;
    this.#idleMs = idleMs;
  }

  /**
   * Whether a job is queued or running: a job submitted now runs later, so its `init` must not
   * read the caller's input then (the caller may have changed it): take a copy now.
   */
  get busy(): boolean {
    return this.#jobs > 0;
  }

  /**
   * Terminates the Workers now (a later job starts them again) and drops the scratch; a job
   * running now rejects (terminated Workers never answer), and the queued ones run after it.
   */
  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
    this.#scratch = [];
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const reject of waiting) reject(closedError());
  }

  /**
   * Shared memory of at least `bytes` bytes, kept by the pool between jobs (slot `i` is one
   * buffer, grown when too small), valid inside the current job only. Fresh memory costs a
   * page fault per 4 KiB page on first touch — about 55 ms (4096 faults) for the 16 MiB of a 2048²
   * output on the 2-core VM of bench/README.md, more than the transform itself — so the
   * mask's copy and the output of every call after the first reuse these.
   */
  scratch(i: number, bytes: number): SharedArrayBuffer {
    const have = this.#scratch[i];
    if (have !== undefined && have.byteLength >= bytes) return have;
    const sab = new SharedArrayBuffer(bytes);
    this.#scratch[i] = sab;
    return sab;
  }

  /**
   * A copy of `data` (same type, one memcpy) in scratch slot `slot`, valid inside the current
   * job only.
   */
  copyIn<T extends Uint8Array | Int32Array | Float32Array | Float64Array>(
    slot: number,
    data: T,
  ): T {
    const Ctor = data.constructor as new (b: SharedArrayBuffer, o: number, n: number) => T;
    const copy = new Ctor(this.scratch(slot, data.byteLength), 0, data.length);
    copy.set(data as never);
    return copy;
  }

  /**
   * Runs `passes` in order on every Worker after sending them `init`; jobs are queued, one at
   * a time. `init` may be a function, called when the job's turn comes (so it may use
   * {@linkcode WorkerPool.scratch}): right away when the pool is idle (not
   * {@linkcode WorkerPool.busy}), else later, so a queued job's `init` must read copies made at
   * the call. `after` runs in the job's turn too, once the passes are done (to copy results out
   * of scratch before the next job reuses it).
   */
  run<T = void>(
    init: JobInit | (() => JobInit),
    maxLen: number,
    flagsLength: number,
    passes: PassPlan[],
    after?: () => T,
  ): Promise<T> {
    // an idle pool's job takes its input now (the scratch is free): the caller may reuse it
    let ready: JobInit | (() => JobInit) = init;
    if (this.#jobs === 0 && typeof init === "function") {
      try {
        ready = init();
      } catch (e) {
        return Promise.reject(e);
      }
    }
    this.#jobs++;
    const job = this.#queue.then(async () => {
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
      try {
        await this.#run(typeof ready === "function" ? ready() : ready, maxLen, flagsLength, passes);
        return after?.() as T;
      } finally {
        this.#jobs--;
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
    if (this.#workers.length === 0) return Promise.reject(closedError());
    return Promise.all(this.#workers.map((w) =>
      new Promise<void>((resolve, reject) => {
        this.#waiting.add(reject);
        const settle = (e?: Error) => {
          this.#waiting.delete(reject);
          if (e === undefined) resolve();
          else reject(e);
        };
        w.onmessage = (e: ThreadMessage) => {
          const reply = e.data as WorkerReply;
          settle(reply.ok ? undefined : new Error(`EDT worker failed: ${reply.error}`));
        };
        w.onerror = (e: ThreadError) => {
          e.preventDefault?.();
          settle(new Error(`EDT worker failed: ${e.message}`));
        };
        w.postMessage(msg);
      })
    ));
  }

  async #run(
    init: JobInit,
    maxLen: number,
    flagsLength: number,
    passes: PassPlan[],
  ): Promise<void> {
    if (this.#workers.length === 0) {
      // ./edt_worker.ts from source, ./edt_worker.js once transpiled or bundled
      const url = siblingModuleUrl("edt_worker", import.meta.url);
      for (let i = 0; i < this.size; i++) this.#workers.push(spawnWorker(url));
    }
    const counter = this.#counter ??= new Int32Array(new SharedArrayBuffer(4));
    const flags = [
      new Uint8Array(this.scratch(FLAGS_SLOT, flagsLength), 0, flagsLength),
      new Uint8Array(this.scratch(FLAGS_SLOT + 1, flagsLength), 0, flagsLength),
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

/** What a job that was running when its pool closed rejects with. */
function closedError(): Error {
  return new Error("EDT worker pool closed while a job was running");
}
