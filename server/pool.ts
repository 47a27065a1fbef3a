/**
 * Where jobs run. The library's CPU work is synchronous, so a timer cannot interrupt it on the
 * thread that runs it: the `"worker"` executor runs each job on a pool of Web Workers and
 * terminates the Worker when the request's deadline passes (the work really stops; a fresh
 * Worker takes its slot). The `"inline"` executor runs jobs on the request's own thread, for
 * platforms without Workers (Cloudflare Workers, whose own CPU limit then stops runaway work).
 *
 * @module
 */
import type { Registry } from "../core/registry.ts";
import {
  siblingModuleUrl,
  spawnWorker,
  type ThreadError,
  type ThreadHandle,
  type ThreadMessage,
} from "../core/_worker.ts";
import { HttpError, type SerializedError, serializeError } from "./errors.ts";
import { type Job, JobRunner, type TimedResult, transferables } from "./compute.ts";

/** A failure inside the library, carried back as plain data (its class kept). */
export class JobError extends Error {
  /** The original error's name (`TypeError`, `RangeError`, ...). */
  readonly originalName: string;
  /** The original stack, for the server log only. */
  readonly originalStack: string | undefined;
  /** The original error as plain data, with its class (what the status is chosen by). */
  readonly info: SerializedError;
  /**
   * @param name The original error's name.
   * @param message Its message.
   * @param stack Its stack (logged, never sent).
   * @param info Its class and details (default: an unclassified error, a 500).
   */
  constructor(name: string, message: string, stack?: string, info?: SerializedError) {
    super(message);
    this.name = "JobError";
    this.originalName = name;
    this.originalStack = stack;
    this.info = info ?? { name, message, stack, errorClass: "other" };
  }
}

/** Runs jobs before a deadline. */
export interface Executor {
  /** `"worker"`, `"inline"` or `"hybrid"`. */
  readonly mode: "worker" | "inline" | "hybrid";
  /**
   * Runs a job; rejects with a 503 {@linkcode HttpError} when `deadline` (a
   * `performance.now()` time) passes first, with a {@linkcode JobError} when the library throws.
   */
  run(job: Job, deadline: number): Promise<TimedResult>;
  /** Stops every Worker and timer. */
  close(): void;
}

function timeoutError(timeoutMs: number): HttpError {
  return new HttpError(
    503,
    "timeout",
    `The computation did not finish within the server's time limit of ${timeoutMs} ms and was stopped`,
  );
}

function asJobError(e: unknown): JobError {
  if (e instanceof JobError) return e;
  const info = serializeError(e);
  return new JobError(info.name, info.message, info.stack, info);
}

/** Runs jobs on the calling thread. The deadline is checked before the work starts. */
export class InlineExecutor implements Executor {
  readonly mode = "inline" as const;
  #runner: JobRunner;
  #timeoutMs: number;
  /**
   * @param registry The plugin registry (default: the library's).
   * @param defaultBackend The backend for configs that name none.
   * @param timeoutMs The limit, for messages.
   */
  constructor(registry: Registry | undefined, defaultBackend: string, timeoutMs: number) {
    this.#runner = new JobRunner(registry, defaultBackend);
    this.#timeoutMs = timeoutMs;
  }
  async run(job: Job, deadline: number): Promise<TimedResult> {
    if (performance.now() > deadline) throw timeoutError(this.#timeoutMs);
    try {
      return { ...(await this.#runner.run(job)), where: "inline" };
    } catch (e) {
      throw asJobError(e);
    }
  }
  close(): void {
    this.#runner.dispose();
  }
}

interface Pending {
  job: Job;
  deadline: number;
  resolve(r: TimedResult): void;
  reject(e: unknown): void;
  timer?: ReturnType<typeof setTimeout>;
  /** When the job was handed to a Worker that had not started yet. */
  waitingSince?: number;
  /** Queued jobs: the pool's cold-start time so far when the job was queued. */
  coldAtQueue?: number;
}

interface Slot {
  worker: ThreadHandle | undefined;
  /** The Worker has loaded its modules and said so (its first message). */
  ready: boolean;
  busy: Pending | undefined;
  /** A job waits for this slot's Worker to load (counted in the pool's cold-start time). */
  starting?: boolean;
}

/** Worker messages: `{ ready: true }` once loaded, then one reply per job. */
type Reply =
  | { ready: true }
  | { ok: true; out: TimedResult }
  | ({ ok: false } & SerializedError);

/** How long a Worker may take to load its modules before its job is refused (a 503). */
export const WORKER_STARTUP_LIMIT_MS = 60_000;

/**
 * Runs jobs on a pool of Web Workers; a job past its deadline has its Worker terminated.
 *
 * Workers start on first use and after a termination. The time a job waits for its Worker to
 * load (a cold start: module loading, and under `deno test` type checking, can take seconds on
 * a busy machine) is the server's own cost, not the request's: the job's deadline is moved by
 * that time, and a Worker that does not load within {@linkcode WORKER_STARTUP_LIMIT_MS} fails
 * its job with a 503 `unavailable`.
 */
export class WorkerPool implements Executor {
  readonly mode = "worker" as const;
  #slots: Slot[];
  #queue: Pending[] = [];
  #timeoutMs: number;
  #maxQueue: number;
  #defaultBackend: string;
  #closed = false;
  #workerUrl: string;
  /** Counters for tests and monitoring: Workers started and terminated on a deadline. */
  readonly stats = { spawned: 0, timedOut: 0 };
  /**
   * Time during which at least one Worker was loading for a job: a queued job's clock stops
   * then too (it waits behind the cold start), so its deadline moves by the part of this time
   * that passed while it was queued.
   */
  #cold = { total: 0, since: 0, starting: 0 };

  /**
   * @param size Number of Workers.
   * @param defaultBackend The backend for configs that name none.
   * @param timeoutMs The limit, for messages.
   * @param maxQueue Jobs waiting beyond this are refused with a 503.
   */
  constructor(
    size: number,
    defaultBackend: string,
    timeoutMs: number,
    maxQueue = 1024,
    // ./worker.ts from source, ./worker.js once transpiled (JSR's npm layer) or bundled
    workerUrl: string | URL = siblingModuleUrl("worker", import.meta.url),
  ) {
    this.#workerUrl = String(workerUrl);
    this.#slots = Array.from({ length: Math.max(1, size) }, () => ({
      worker: undefined,
      ready: false,
      busy: undefined,
    }));
    this.#timeoutMs = timeoutMs;
    this.#maxQueue = maxQueue;
    this.#defaultBackend = defaultBackend;
  }

  run(job: Job, deadline: number): Promise<TimedResult> {
    if (this.#closed) {
      return Promise.reject(new HttpError(503, "overloaded", "The server is shutting down"));
    }
    if (performance.now() > deadline) return Promise.reject(timeoutError(this.#timeoutMs));
    if (this.#queue.length >= this.#maxQueue) {
      return Promise.reject(
        new HttpError(
          503,
          "overloaded",
          `Too many requests waiting (${this.#maxQueue}); retry later`,
        ),
      );
    }
    return new Promise<TimedResult>((resolve, reject) => {
      const p: Pending = { job, deadline, resolve, reject, coldAtQueue: this.#coldTime() };
      p.timer = setTimeout(() => this.#expire(p), Math.max(0, deadline - performance.now()));
      this.#queue.push(p);
      this.#pump();
    });
  }

  #spawn(): ThreadHandle {
    // a Web Worker, or a worker_threads Worker on Node
    const w = spawnWorker(this.#workerUrl);
    this.stats.spawned++;
    w.postMessage({ init: { defaultBackend: this.#defaultBackend } });
    return w;
  }

  #pump(): void {
    for (const slot of this.#slots) {
      if (slot.busy || this.#queue.length === 0) continue;
      const p = this.#queue.shift()!;
      slot.busy = p;
      // out of the queue: the cold-start time it waited through is credited, its clock re-armed
      p.deadline = this.#queuedDeadline(p);
      p.coldAtQueue = undefined;
      clearTimeout(p.timer);
      p.timer = setTimeout(() => this.#expire(p), Math.max(0, p.deadline - performance.now()));
      try {
        slot.worker ??= this.#attach(slot, this.#spawn());
        if (!slot.ready) this.#awaitStartup(slot, p);
        slot.worker.postMessage({ job: p.job }, transferables(p.job));
      } catch (e) {
        // a Worker that cannot start (a platform without them): a 500 naming SEGLOSS_COMPUTE
        const why = e instanceof Error ? e.message : String(e);
        this.#finish(
          slot,
          p,
          () =>
            p.reject(
              new JobError("Error", `Cannot run a Web Worker (${why}); set compute "inline"`),
            ),
        );
      }
    }
  }

  /** The pool's cold-start time so far (see `#cold`). */
  #coldTime(): number {
    const c = this.#cold;
    return c.total + (c.starting > 0 ? performance.now() - c.since : 0);
  }

  /** A queued job's deadline, moved by the cold-start time since it was queued. */
  #queuedDeadline(p: Pending): number {
    return p.deadline + (p.coldAtQueue === undefined ? 0 : this.#coldTime() - p.coldAtQueue);
  }

  /** The slot's Worker has loaded, failed or been stopped: its cold start is over. */
  #coldEnd(slot: Slot): void {
    if (!slot.starting) return;
    slot.starting = false;
    const c = this.#cold;
    if (--c.starting === 0) c.total += performance.now() - c.since;
  }

  /** Stops the job's clock until its Worker has loaded (or the startup limit passes). */
  #awaitStartup(slot: Slot, p: Pending): void {
    clearTimeout(p.timer);
    p.waitingSince = performance.now();
    if (!slot.starting) {
      slot.starting = true;
      if (this.#cold.starting++ === 0) this.#cold.since = performance.now();
    }
    p.timer = setTimeout(() => {
      if (slot.busy !== p) return;
      this.#coldEnd(slot);
      slot.worker?.terminate();
      slot.worker = undefined;
      slot.ready = false;
      this.#finish(slot, p, () =>
        p.reject(
          new HttpError(
            503,
            "unavailable",
            `A Worker did not start within ${WORKER_STARTUP_LIMIT_MS} ms; retry later`,
          ),
        ));
    }, WORKER_STARTUP_LIMIT_MS);
  }

  /** The Worker has loaded: the job's clock runs again, moved by the time it waited. */
  #started(slot: Slot): void {
    slot.ready = true;
    this.#coldEnd(slot);
    const p = slot.busy;
    if (!p || p.waitingSince === undefined) return;
    clearTimeout(p.timer);
    p.deadline += performance.now() - p.waitingSince;
    p.waitingSince = undefined;
    p.timer = setTimeout(() => this.#expire(p), Math.max(0, p.deadline - performance.now()));
  }

  #attach(slot: Slot, w: ThreadHandle): ThreadHandle {
    w.onmessage = (e: ThreadMessage) => {
      if (slot.worker !== w) return;
      const r = e.data as Reply;
      // a Worker that answers without saying it is ready (a custom one) is ready all the same
      if (!slot.ready) this.#started(slot);
      if ("ready" in r) return;
      const p = slot.busy;
      if (!p) return;
      this.#finish(
        slot,
        p,
        () =>
          r.ok
            ? p.resolve({ ...r.out, where: "worker" })
            : p.reject(new JobError(r.name, r.message, r.stack, r)),
      );
    };
    w.onerror = (e: ThreadError) => {
      e.preventDefault?.(); // keep the server process alive
      this.#crash(slot, w, e.message || "worker error");
    };
    w.onmessageerror = () => this.#crash(slot, w, "worker message could not be deserialized");
    return w;
  }

  #crash(slot: Slot, w: ThreadHandle, message: string): void {
    if (slot.worker !== w) return;
    this.#coldEnd(slot);
    w.terminate();
    slot.worker = undefined;
    slot.ready = false;
    const p = slot.busy;
    if (p) {
      this.#finish(slot, p, () => p.reject(new JobError("Error", `Worker crashed: ${message}`)));
    }
  }

  #finish(slot: Slot, p: Pending, settle: () => void): void {
    clearTimeout(p.timer);
    slot.busy = undefined;
    settle();
    this.#pump();
  }

  #expire(p: Pending): void {
    const q = this.#queue.indexOf(p);
    if (q >= 0) {
      // still queued: not expired while cold starts it waited through move its deadline
      const left = this.#queuedDeadline(p) - performance.now();
      if (left > 0) {
        // while a Worker loads, `left` stays put: look again in 10 ms at the soonest
        p.timer = setTimeout(() => this.#expire(p), Math.max(left, this.#cold.starting ? 10 : 0));
        return;
      }
      this.#queue.splice(q, 1);
      p.reject(timeoutError(this.#timeoutMs));
      return;
    }
    const slot = this.#slots.find((s) => s.busy === p);
    if (!slot) return;
    // the work is synchronous inside the Worker: terminating it is what stops it
    slot.worker?.terminate();
    this.stats.timedOut++;
    slot.worker = undefined;
    slot.ready = false;
    this.#finish(slot, p, () => p.reject(timeoutError(this.#timeoutMs)));
  }

  close(): void {
    this.#closed = true;
    for (const p of this.#queue) {
      clearTimeout(p.timer);
      p.reject(new HttpError(503, "overloaded", "The server is shutting down"));
    }
    this.#queue = [];
    for (const slot of this.#slots) {
      this.#coldEnd(slot);
      slot.worker?.terminate();
      slot.worker = undefined;
      slot.ready = false;
      if (slot.busy) {
        clearTimeout(slot.busy.timer);
        slot.busy.reject(new HttpError(503, "overloaded", "The server is shutting down"));
        slot.busy = undefined;
      }
    }
  }
}

/** The number of elements a job reads and writes (its cost, roughly). */
export function jobElements(job: Job): number {
  if (job.kind === "loss") {
    // a config with many losses costs more per element: never inline (the pool's limit holds)
    const losses = (job.config as { losses?: unknown }).losses;
    if (!Array.isArray(losses) || losses.length > 8) return Infinity;
    return job.input.data.length + job.target.data.length + (job.distance?.data.length ?? 0);
  }
  if (job.kind === "metrics") {
    // surface distances take EDTs per class and sample: the route's estimate counts classes
    return job.cost ?? 4 * (job.prediction.data.length + job.target.data.length);
  }
  return job.array.data.length * (job.mode === "signed" ? 1 + (job.numClasses ?? 1) : 2);
}

/**
 * Small jobs inline (no Worker hand-off: their cost is milliseconds, far below any time limit
 * of a second or more), large ones on the Worker pool, where the time limit stops them.
 */
export class HybridExecutor implements Executor {
  readonly mode = "hybrid" as const;
  #inline: InlineExecutor;
  #pool: WorkerPool;
  #inlineMaxElements: number;
  /**
   * @param inline The inline executor.
   * @param pool The Worker pool.
   * @param inlineMaxElements Jobs with at most this many elements run inline.
   */
  constructor(inline: InlineExecutor, pool: WorkerPool, inlineMaxElements: number) {
    this.#inline = inline;
    this.#pool = pool;
    this.#inlineMaxElements = inlineMaxElements;
  }
  run(job: Job, deadline: number): Promise<TimedResult> {
    return jobElements(job) <= this.#inlineMaxElements
      ? this.#inline.run(job, deadline)
      : this.#pool.run(job, deadline);
  }
  close(): void {
    this.#inline.close();
    this.#pool.close();
  }
}
