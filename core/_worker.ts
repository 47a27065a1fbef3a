/**
 * Threads on every runtime (internal module): one Worker handle over Web Workers (Deno, Bun,
 * browsers) and Node's `worker_threads` (Node has no global `Worker`), the Worker side's
 * message port on both, and Worker module URLs that survive a transpile to JavaScript.
 *
 * Nothing here imports `node:*`: Node's module comes from `process.getBuiltinModule`
 * (Node >= 20.16), so browser bundles (esbuild, `deno bundle`, `bun build`) and JSR's publish
 * step have no `node:` import to resolve; older Node releases run on one thread and say so.
 *
 * @module
 */

/** How this runtime starts threads: Web Workers, Node's `worker_threads`, or not at all. */
export type ThreadKind = "web-worker" | "worker_threads" | "none";

/** A message from a Worker. */
export interface ThreadMessage {
  /** The posted value. */
  data: unknown;
}

/** A Worker failure (an uncaught error, a module that cannot load). */
export interface ThreadError {
  /** What went wrong. */
  message: string;
  /** Keeps the error from reaching the process (Web Workers); absent on Node. */
  preventDefault?(): void;
}

/** The part of a Web `Worker` the pools use; the same on every runtime. */
export interface ThreadHandle {
  /** Sends a message (transferring `transfer`). */
  postMessage(message: unknown, transfer?: Transferable[]): void;
  /** Receives the Worker's messages. */
  onmessage: ((e: ThreadMessage) => void) | null;
  /** Receives the Worker's failures. */
  onerror: ((e: ThreadError) => void) | null;
  /** Receives messages that could not be deserialized. */
  onmessageerror: ((e: unknown) => void) | null;
  /** Ends the Worker now. */
  terminate(): void;
}

interface NodeWorker {
  postMessage(message: unknown, transfer?: unknown[]): void;
  on(event: string, listener: (arg: unknown) => void): void;
  terminate(): unknown;
  unref?(): void;
}

interface NodeWorkerThreads {
  Worker: new (url: URL, options?: Record<string, unknown>) => NodeWorker;
  parentPort: {
    on(event: "message", listener: (data: unknown) => void): void;
    postMessage(message: unknown, transfer?: unknown[]): void;
  } | null;
  isMainThread: boolean;
}

interface Globals {
  Worker?: unknown;
  SharedArrayBuffer?: unknown;
  postMessage?: unknown;
  process?: {
    versions?: { node?: string };
    getBuiltinModule?(id: string): unknown;
  };
}

const g = globalThis as unknown as Globals;

/** Node (or a runtime that looks like it) without a global `Worker`. */
function isNodeWithoutWebWorkers(): boolean {
  // process.getBuiltinModule (Node >= 20.16) loads node:worker_threads without an import
  // statement that bundlers or JSR's publish step would have to analyze
  return typeof g.process?.versions?.node === "string" && typeof g.Worker === "undefined" &&
    typeof g.process?.getBuiltinModule === "function";
}

let nodeModule: NodeWorkerThreads | undefined;

/** `node:worker_threads`, synchronously where the runtime allows it. */
function nodeWorkerThreadsSync(): NodeWorkerThreads | undefined {
  if (nodeModule === undefined) {
    try {
      nodeModule = g.process?.getBuiltinModule?.("node:worker_threads") as
        | NodeWorkerThreads
        | undefined;
    } catch {
      nodeModule = undefined;
    }
  }
  return nodeModule;
}

/** `node:worker_threads`, or a rejection naming the Node version it needs. */
function nodeWorkerThreads(): Promise<NodeWorkerThreads> {
  const m = nodeWorkerThreadsSync();
  return m ? Promise.resolve(m) : Promise.reject(
    new Error("node:worker_threads needs Node.js >= 20.16 (process.getBuiltinModule)"),
  );
}

/**
 * How this runtime runs threads: `"web-worker"` where a global `Worker` exists (Deno, Bun,
 * browsers, Node >= 22 with the flag), `"worker_threads"` on Node, `"none"` elsewhere
 * (Cloudflare Workers, a browser Worker without nested Workers).
 */
export function threadKind(): ThreadKind {
  if (typeof g.Worker === "function") return "web-worker";
  if (isNodeWithoutWebWorkers()) return "worker_threads";
  return "none";
}

/**
 * Whether shared-memory Worker pools can run: threads and `SharedArrayBuffer` (a browser
 * page needs cross-origin isolation, COOP + COEP headers, for the latter).
 */
export function sharedThreadsAvailable(): boolean {
  return threadKind() !== "none" && typeof g.SharedArrayBuffer === "function";
}

/**
 * The number of logical cores: `navigator.hardwareConcurrency`, or on Node 20 (which has no
 * `navigator`) `os.availableParallelism()`; 1 when neither is known.
 */
export function hardwareConcurrency(): number {
  const hc = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
    ?.hardwareConcurrency;
  if (Number.isInteger(hc) && hc! > 0) return hc!;
  try {
    const os = g.process?.getBuiltinModule?.("node:os") as
      | { availableParallelism?(): number; cpus?(): unknown[] }
      | undefined;
    const n = os?.availableParallelism?.() ?? os?.cpus?.().length;
    if (Number.isInteger(n) && n! > 0) return n!;
  } catch {
    // not Node
  }
  return 1;
}

/**
 * The URL of a Worker module that sits beside the calling module, with the caller's own
 * extension: `./name.ts` from source, `./name.js` once transpiled (JSR's npm layer) or bundled
 * (the bundle must emit the Worker entry as `name.js` beside itself).
 *
 * @param stem The file name without extension (`"edt_worker"`).
 * @param base The calling module's `import.meta.url`.
 * @returns The Worker module's URL.
 */
export function siblingModuleUrl(stem: string, base: string): URL {
  const path = new URL(base).pathname;
  const ext = /\.(?:[cm]?js|jsx|[cm]?ts|tsx)$/.exec(path)?.[0] ?? ".js";
  return new URL(`./${stem}${ext === ".tsx" ? ".ts" : ext === ".jsx" ? ".js" : ext}`, base);
}

/** A `worker_threads` Worker behind the {@linkcode ThreadHandle} interface. */
class NodeThread implements ThreadHandle {
  onmessage: ((e: ThreadMessage) => void) | null = null;
  onerror: ((e: ThreadError) => void) | null = null;
  onmessageerror: ((e: unknown) => void) | null = null;
  #worker: NodeWorker | undefined;
  #pending: [unknown, Transferable[] | undefined][] = [];
  #terminated = false;

  constructor(url: URL) {
    const m = nodeWorkerThreadsSync();
    if (m) this.#start(m, url);
    else {
      nodeWorkerThreads().then(
        (mod) => {
          if (!this.#terminated) this.#start(mod, url);
        },
        (err) => this.#fail(err),
      );
    }
  }

  #start(m: NodeWorkerThreads, url: URL): void {
    const w = new m.Worker(url);
    this.#worker = w;
    w.on("message", (data) => this.onmessage?.({ data }));
    w.on("error", (err) => this.#fail(err));
    w.on("messageerror", (err) => this.onmessageerror?.(err));
    w.on("exit", (code) => {
      if (!this.#terminated && code !== 0) this.#fail(new Error(`Worker exited with code ${code}`));
    });
    for (const [msg, transfer] of this.#pending) w.postMessage(msg, transfer);
    this.#pending = [];
  }

  #fail(err: unknown): void {
    if (this.#terminated) return;
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    this.onerror?.({ message });
  }

  postMessage(message: unknown, transfer?: Transferable[]): void {
    if (this.#worker) this.#worker.postMessage(message, transfer);
    else this.#pending.push([message, transfer]);
  }

  terminate(): void {
    this.#terminated = true;
    this.#pending = [];
    this.#worker?.terminate();
  }
}

/**
 * Starts a module Worker running `url`: a Web Worker where the runtime has them, a
 * `worker_threads` Worker on Node (started as soon as Node's module is loaded; messages posted
 * before that are queued).
 *
 * @param url The Worker module (see {@linkcode siblingModuleUrl}).
 * @returns The Worker.
 * @throws Error when this runtime has no threads ({@linkcode threadKind} is `"none"`).
 */
export function spawnWorker(url: URL | string): ThreadHandle {
  const kind = threadKind();
  if (kind === "web-worker") {
    const W = g.Worker as new (url: string, options: { type: "module" }) => ThreadHandle;
    return new W(String(url), { type: "module" });
  }
  if (kind === "worker_threads") return new NodeThread(new URL(String(url)));
  throw new Error("This runtime has no Workers (no global Worker and no node:worker_threads)");
}

/** The Worker side: the messages from the thread that started it, and replies to it. */
export interface ParentPort {
  /** Registers the handler of every message. */
  onMessage(handler: (data: unknown) => void): void;
  /** Replies (transferring `transfer`). */
  postMessage(message: unknown, transfer?: Transferable[]): void;
}

/**
 * The port to the parent thread inside a Worker module: `self` in a Web Worker, `parentPort`
 * of `node:worker_threads` on Node.
 *
 * @returns The port.
 */
export function parentPort(): ParentPort {
  if (typeof g.postMessage === "function") {
    const scope = globalThis as unknown as {
      onmessage: ((e: MessageEvent) => void) | null;
      postMessage(message: unknown, transfer?: Transferable[]): void;
    };
    return {
      onMessage: (handler) => {
        scope.onmessage = (e) => handler(e.data);
      },
      postMessage: (message, transfer) => scope.postMessage(message, transfer ?? []),
    };
  }
  let handler: ((data: unknown) => void) | undefined;
  let port: NodeWorkerThreads["parentPort"] | undefined;
  const queue: [unknown, Transferable[] | undefined][] = [];
  const attach = (m: NodeWorkerThreads) => {
    port = m.parentPort;
    port?.on("message", (data) => handler?.(data));
    for (const [msg, transfer] of queue) port?.postMessage(msg, transfer);
    queue.length = 0;
  };
  const m = nodeWorkerThreadsSync();
  if (m) attach(m);
  else void nodeWorkerThreads().then(attach);
  return {
    onMessage: (h) => {
      handler = h;
    },
    postMessage: (message, transfer) => {
      if (port) port.postMessage(message, transfer);
      else queue.push([message, transfer]);
    },
  };
}
