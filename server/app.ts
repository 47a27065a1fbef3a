/**
 * The Hono app factory of the scoring service.
 *
 * Mounting another feature (for example `POST /v1/metrics`): write `server/routes/<name>.ts`
 * exporting `function <name>Routes(ctx: RouteContext): Hono<AppEnv>` (see `routes/loss.ts`:
 * `readFields`, `arrayField`, `valueField` and `runTimed` give JSON + multipart/.npy bodies,
 * limits and errors for free), then add one import and one line below, next to the others:
 * `v1.route("/metrics", metricsRoutes(ctx));`. Add its path to `openapi.ts`.
 *
 * @module
 */
import { SeglossRangeError, SeglossTypeError } from "../core/errors.ts";
import { Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import type { Context } from "hono";
import type { Registry } from "../core/registry.ts";
import { defaultRegistry } from "../mod.ts";
import { capabilities } from "../backends/capabilities.ts";
import { threadKind } from "../core/_worker.ts";
import {
  errorBody,
  type ErrorCode,
  HttpError,
  httpErrorOf,
  type LimitInfo,
  serializeError,
} from "./errors.ts";
import type { AppEnv, RouteContext } from "./context.ts";
import { type Executor, HybridExecutor, InlineExecutor, JobError, WorkerPool } from "./pool.ts";
import { lossRoutes } from "./routes/loss.ts";
import { distanceRoutes } from "./routes/distance.ts";
import { pluginRoutes } from "./routes/plugins.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { openApiDocument } from "./openapi.ts";
import { SERVER_VERSION } from "./version.ts";

/**
 * One structured log entry, passed to the `log` option of `createApp`: 500s (`"error"`, with
 * the stack), timeouts and overload (`"warn"`), and client faults worth knowing about —
 * aborted uploads, slow bodies (`"info"`, `fault: "client"`, never a stack).
 *
 * @example Basic usage
 * ```ts
 * import type { LogEntry } from "@segloss/segloss/server";
 * import assert from "node:assert/strict";
 *
 * const entry: LogEntry = {
 *   level: "warn",
 *   requestId: "abc",
 *   request: "POST /v1/loss",
 *   status: 503,
 *   message: "time limit reached",
 * };
 * assert.equal(entry.status, 503);
 * ```
 */
export interface LogEntry {
  /** `"error"` for 500s, `"warn"` for timeouts and overload, `"info"` for client faults. */
  level: "error" | "warn" | "info";
  /** Whose fault: `"server"` (500s, timeouts) or `"client"` (aborted or slow uploads). */
  fault?: "client" | "server";
  /** The request id the response carries. */
  requestId: string;
  /** Method and path. */
  request: string;
  /** HTTP status sent. */
  status: number;
  /** What happened, with the stack for 500s. */
  message: string;
}

/**
 * Options of {@linkcode createApp}. Every limit has a default suited to 256³ volumes.
 *
 * @example Basic usage
 * ```ts
 * import type { CreateAppOptions } from "@segloss/segloss/server";
 * import assert from "node:assert/strict";
 *
 * const options: CreateAppOptions = { token: "s3cret", timeoutMs: 10_000 };
 * assert.equal(options.timeoutMs, 10_000);
 * ```
 */
export interface CreateAppOptions {
  /** Backend for configs that name none (default `"cpu"`). */
  backend?: string;
  /** When set, `/v1/*` requires `Authorization: Bearer <token>` (constant-time compare). */
  token?: string;
  /** Largest request body in bytes (default 256 MiB); more is a 413. */
  maxBodyBytes?: number;
  /**
   * Largest JSON body, and largest JSON text part of a multipart body, in bytes (default
   * 16 MiB); more is a 413 before anything is parsed. JSON is parsed on the request's thread:
   * it is for small requests; send large arrays as `.npy` parts of a multipart body.
   */
  maxJsonBytes?: number;
  /**
   * Milliseconds the whole request body may take to arrive (default 60000); a slower client
   * gets a 408 and the connection is closed.
   */
  bodyTimeoutMs?: number;
  /** Largest total number of array elements in one request (default 2^26); more is a 413. */
  maxElements?: number;
  /**
   * Largest number of classes a request may make the library loop over: `numClasses`, the
   * largest label + 1, a score array's channels, `options.classes` (default 1024); more is a
   * 413, refused before any work.
   */
  maxClasses?: number;
  /**
   * Largest number of array elements one request's work may allocate in all — inputs,
   * outputs and per-class scratch, estimated before the work starts (default 6 ×
   * `maxElements`); more is a 413.
   */
  maxWorkElements?: number;
  /** Per-request time limit in ms (default 30000); past it the work is stopped and a 503 sent. */
  timeoutMs?: number;
  /**
   * Where the library runs: `"worker"` (a pool of Web Workers, terminated on timeout),
   * `"inline"` (the request's thread; the time limit is only checked before the work starts),
   * `"hybrid"` (jobs of at most `inlineMaxElements` elements inline, larger ones on the pool;
   * small jobs go inline only when `timeoutMs` is at least 1000) or `"auto"` (default:
   * `"hybrid"` where `Worker` exists, no custom registry is given and the app is not on Deno
   * Deploy; `"inline"` otherwise).
   */
  compute?: "worker" | "inline" | "hybrid" | "auto";
  /** Hybrid compute: jobs with at most this many elements run inline (default 2^18). */
  inlineMaxElements?: number;
  /**
   * Worker pool size (default: the number of CPU cores, at most 8; at most 64). Thread counts
   * are the server's setting: a client's `config.distanceOptions.workers` is refused.
   */
  workers?: number;
  /** A plugin registry (implies inline compute: plugins cannot cross into a Worker). */
  registry?: PluginRegistry;
  /** Where 500s and timeouts are logged (default: one JSON line on stderr). */
  log?: (entry: LogEntry) => void;
  /**
   * Origins whose browser pages may call `/v1/*` (CORS; `["*"]` for any). Default: none (no
   * CORS headers). The summary header `X-Segloss-Result`, `X-Request-Id` and `Server-Timing`
   * are exposed to them.
   */
  corsOrigins?: readonly string[];
}

/**
 * A plugin registry as the service uses it: any `createRegistry(...)` result (for example
 * `defaultRegistry.with([myLossPlugin])`) fits.
 *
 * @example Basic usage
 * ```ts
 * import type { PluginRegistry } from "@segloss/segloss/server";
 * import { defaultRegistry } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const registry: PluginRegistry = defaultRegistry;
 * assert.ok(registry.has("loss", "dice"));
 * ```
 */
export interface PluginRegistry {
  /** The plugin of that kind and name; throws a RangeError listing the known names. */
  get(kind: "distance" | "loss" | "backend", name: string): unknown;
  /** Whether a plugin of that kind and name is registered. */
  has(kind: "distance" | "loss" | "backend", name: string): boolean;
  /** The plugins of one kind. */
  list(kind: "distance" | "loss" | "backend"): readonly {
    readonly name: string;
    readonly description?: string;
    isAvailable?(): boolean | Promise<boolean>;
  }[];
}

/**
 * The app {@linkcode createApp} returns: at run time a Hono app (`app instanceof Hono`, so
 * `app.route()`, `app.use()` work), typed here by what a server needs, plus `close()`, which
 * stops its Workers.
 *
 * @example Basic usage
 * ```ts
 * import { createApp, type SeglossApp } from "@segloss/segloss/server";
 * import assert from "node:assert/strict";
 *
 * const app: SeglossApp = createApp({ compute: "inline" });
 * assert.equal(app.computeMode, "inline");
 * assert.equal((await app.request("/healthz")).status, 200);
 * app.close();
 * ```
 */
export interface SeglossApp {
  /** The fetch handler (`Deno.serve(app.fetch)`, `export default app`, Workers). */
  fetch(request: Request, env?: unknown, executionCtx?: unknown): Response | Promise<Response>;
  /** Sends a request to the app without a server (tests). */
  request(
    input: RequestInfo | URL,
    init?: RequestInit,
    env?: unknown,
    executionCtx?: unknown,
  ): Response | Promise<Response>;
  /** Stops the Worker pool and its timers (a no-op for inline compute). */
  close(): void;
  /** Where the library runs. */
  readonly computeMode: "worker" | "inline" | "hybrid";
}

function defaultLog(entry: LogEntry): void {
  console.error(JSON.stringify({ time: new Date().toISOString(), ...entry }));
}

function errorResponse(
  c: Context<AppEnv>,
  status: number,
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
  limit?: LimitInfo,
): Response {
  const id = c.get("requestId") ?? "unknown";
  return new Response(JSON.stringify(errorBody(status, code, message, id, limit)), {
    status,
    headers: { "Content-Type": "application/json", "X-Request-Id": id, ...headers },
  });
}

/** Deno Deploy sets DENO_DEPLOYMENT_ID; it runs no Web Workers (or not everywhere). */
function onDenoDeploy(): boolean {
  try {
    const d = (globalThis as {
      Deno?: {
        env: { get(k: string): string | undefined };
        permissions: { querySync(p: { name: "env"; variable: string }): { state: string } };
      };
    }).Deno;
    if (!d) return false;
    // never prompt for the permission: without it, this is not Deploy
    const query = { name: "env" as const, variable: "DENO_DEPLOYMENT_ID" };
    if (d.permissions.querySync(query).state !== "granted") return false;
    return d.env.get("DENO_DEPLOYMENT_ID") !== undefined;
  } catch {
    return false; // no env permission: not Deploy
  }
}

function positiveInt(name: string, v: number | undefined, dflt: number, max: number): number {
  const n = positive(name, v, dflt);
  if (!Number.isInteger(n) || n > max) {
    throw new SeglossRangeError(
      `Expected options.${name} to be an integer in [1, ${max}] but found ${v}`,
    );
  }
  return n;
}

function positive(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) {
    throw new SeglossRangeError(
      `Expected options.${name} to be a finite number > 0 but found ${v}`,
    );
  }
  return v;
}

/**
 * Builds the scoring service: `POST /v1/loss`, `POST /v1/distance`, `GET /v1/plugins`,
 * `GET /healthz`, `GET /openapi.json`. Bodies are JSON (`{ shape, data }` arrays) or
 * `multipart/form-data` with `.npy` parts; arrays come back as `.npy` when the client prefers
 * `application/x-npy` in its Accept header (q-values count). Errors are JSON
 * `{ error: { status, code, message, requestId, limit? } }`: 400 malformed or aborted body,
 * 401 token, 408 body too slow, 413 over a limit (`limit` names it), 415 media type, 422
 * wrong shapes/dtypes/labels/config, 503 time limit, overload or a plugin unavailable here,
 * 500 (logged with the request id and stack) for server faults only. Library errors map by
 * class: `SeglossTypeError`/`SeglossRangeError` 422, `LimitError` 413, `UnavailableError` 503,
 * `NpyFormatError` 400. Non-finite numbers in JSON responses are the strings `"NaN"`,
 * `"Infinity"` and `"-Infinity"`.
 *
 * @param options Limits, token, compute mode, registry.
 * @returns The Hono app, with `close()`.
 *
 * @example Basic usage
 * ```ts
 * import { createApp } from "@segloss/segloss/server";
 * import assert from "node:assert/strict";
 *
 * const app = createApp({ compute: "inline" });
 * const res = await app.request("/v1/distance", {
 *   method: "POST",
 *   headers: { "Content-Type": "application/json" },
 *   body: JSON.stringify({ mask: { shape: [4], data: [0, 1, 1, 1] } }),
 * });
 * assert.equal(res.status, 200);
 * assert.deepEqual((await res.json()).data, [0, 1, 2, 3]);
 * app.close();
 * ```
 */
export function createApp(options: CreateAppOptions = {}): SeglossApp {
  const maxBodyBytes = positive("maxBodyBytes", options.maxBodyBytes, 256 * 1024 * 1024);
  const maxElements = positive("maxElements", options.maxElements, 2 ** 26);
  const maxJsonBytes = positive("maxJsonBytes", options.maxJsonBytes, 16 * 1024 * 1024);
  const bodyTimeoutMs = positive("bodyTimeoutMs", options.bodyTimeoutMs, 60_000);
  const maxClasses = positive("maxClasses", options.maxClasses, 1024);
  const maxWorkElements = positive("maxWorkElements", options.maxWorkElements, 6 * maxElements);
  const limits = { maxBodyBytes, maxJsonBytes, bodyTimeoutMs };
  const timeoutMs = positive("timeoutMs", options.timeoutMs, 30_000);
  const backend = options.backend ?? "cpu";
  const log = options.log ?? defaultLog;
  // Web Workers, or worker_threads on Node
  const hasWorker = threadKind() !== "none";
  const requested = options.compute ?? "auto";
  if (!["worker", "inline", "hybrid", "auto"].includes(requested)) {
    throw new SeglossRangeError(
      `Expected options.compute to be "worker", "inline", "hybrid" or "auto" but found ${
        JSON.stringify(requested)
      }`,
    );
  }
  const mode = requested === "auto"
    ? (hasWorker && !options.registry && !onDenoDeploy() ? "hybrid" : "inline")
    : requested;
  if (mode !== "inline" && options.registry) {
    throw new SeglossTypeError(
      'Expected options.compute "inline" with a custom registry: plugins cannot cross into a Worker',
    );
  }
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
    ?.hardwareConcurrency ?? 2;
  const inlineMax = positive("inlineMaxElements", options.inlineMaxElements, 2 ** 18);
  const inline = () =>
    new InlineExecutor(options.registry as Registry | undefined, backend, timeoutMs);
  const pool = () =>
    new WorkerPool(
      positiveInt("workers", options.workers, Math.max(1, Math.min(8, cores)), 64),
      backend,
      timeoutMs,
    );
  const executor: Executor = mode === "worker"
    ? pool()
    : mode === "hybrid"
    ? new HybridExecutor(inline(), pool(), timeoutMs >= 1000 ? inlineMax : 0)
    : inline();
  const ctx: RouteContext = {
    maxElements,
    maxClasses,
    maxWorkElements,
    executor,
    registry: () =>
      Promise.resolve(
        (options.registry as Registry | undefined) ?? (defaultRegistry as unknown as Registry),
      ),
  };

  const app = new Hono<AppEnv>();
  // a client's X-Request-Id is kept when it is short and plain (letters, digits, _ - =)
  app.use(requestId({ limitLength: 64 }));
  app.use(async (c, next) => {
    const start = performance.now();
    c.set("start", start);
    c.set("deadline", start + timeoutMs);
    c.set("limits", limits);
    await next();
    c.res.headers.set("X-Request-Id", c.get("requestId"));
  });
  app.use(secureHeaders());

  app.onError((err, c) => {
    const request = `${c.req.method} ${c.req.path}`.slice(0, 200);
    const requestId = c.get("requestId") ?? "unknown";
    if (err instanceof HTTPException) {
      const res = err.getResponse();
      res.headers.set("X-Request-Id", requestId);
      return res;
    }
    // by class, never by message: our HttpErrors, then the library's error classes
    const http = err instanceof HttpError
      ? err
      : httpErrorOf(err instanceof JobError ? err.info : serializeError(err));
    if (http === undefined) {
      const detail = err instanceof JobError
        ? `${err.originalName}: ${err.message}\n${err.originalStack ?? ""}`
        : `${err.name}: ${err.message}\n${err.stack ?? ""}`;
      log({ level: "error", fault: "server", requestId, request, status: 500, message: detail });
      return errorResponse(
        c,
        500,
        "internal",
        `Internal server error; quote request id ${requestId} to the operator`,
      );
    }
    if (http.logAs !== undefined) {
      // no stack: the message says what happened
      log({
        level: http.logAs,
        fault: http.clientFault ? "client" : "server",
        requestId,
        request,
        status: http.status,
        message: http.message,
      });
    }
    // a slow or broken upload: do not wait for (or read) the rest of it on this connection
    const close: Record<string, string> = http.status === 408 || http.logAs === "info"
      ? { Connection: "close" }
      : {};
    return errorResponse(c, http.status, http.code, http.message, close, http.limit);
  });
  app.notFound((c) => errorResponse(c, 404, "not_found", `No route ${c.req.method} ${c.req.path}`));

  app.get(
    "/healthz",
    async (c) =>
      c.json({
        status: "ok",
        version: SERVER_VERSION,
        compute: executor.mode,
        backend,
        // runtime, threads, SIMD kernel (and why not), WebGPU adapter
        capabilities: await capabilities(),
      }),
  );
  app.get("/openapi.json", (c) => c.json(openApiDocument()));

  const v1 = new Hono<AppEnv>();
  if (options.corsOrigins !== undefined && options.corsOrigins.length > 0) {
    // before the token check: preflight requests carry no Authorization header
    const origins = [...options.corsOrigins];
    v1.use(cors({
      origin: origins.includes("*") ? "*" : origins,
      allowMethods: ["GET", "POST", "OPTIONS"],
      allowHeaders: ["Authorization", "Content-Type", "Accept"],
      exposeHeaders: ["X-Segloss-Result", "X-Request-Id", "Server-Timing"],
      maxAge: 600,
    }));
  }
  if (options.token !== undefined) {
    // RFC 6750 b64token characters, what Hono's bearerAuth accepts in the header
    if (typeof options.token !== "string" || !/^[A-Za-z0-9._~+/-]+=*$/.test(options.token)) {
      throw new SeglossTypeError(
        "Expected options.token to be a non-empty bearer token of A-Z a-z 0-9 . _ ~ + / - (then =)",
      );
    }
    const challenge = { "WWW-Authenticate": 'Bearer realm="segloss"' };
    const deny = (message: string) => (c: Context) =>
      errorResponse(c as Context<AppEnv>, 401, "unauthorized", message, challenge);
    // RFC 6750's grammar, strictly: "Bearer" (any case), one or more spaces, the token. Hono's
    // bearerAuth alone would also take a tab after the space
    v1.use(async (c, next) => {
      const h = c.req.header("authorization");
      if (h !== undefined && !/^bearer +[A-Za-z0-9._~+/-]+=*$/i.test(h)) {
        return deny("Malformed Authorization header: expected Bearer, a space and the token")(c);
      }
      await next();
    });
    v1.use(bearerAuth({
      token: options.token,
      noAuthenticationHeader: { message: deny("Missing Authorization: Bearer <token> header") },
      invalidAuthenticationHeader: { message: deny("Malformed Authorization header") },
      invalidToken: { message: deny("Wrong bearer token") },
    }));
  }
  // body limits and the body deadline are checked where bodies are read (server/body.ts)
  v1.route("/loss", lossRoutes(ctx));
  v1.route("/distance", distanceRoutes(ctx));
  v1.route("/plugins", pluginRoutes(ctx));
  v1.route("/metrics", metricsRoutes(ctx));
  const methods: [string, string][] = [["/loss", "POST"], ["/distance", "POST"], [
    "/plugins",
    "GET",
  ]];
  methods.push(["/metrics", "POST"]);
  for (const [path, allow] of methods) {
    v1.all(path, (c) =>
      errorResponse(
        c,
        405,
        "method_not_allowed",
        `Expected ${allow} ${"/v1" + path} but found ${c.req.method}`,
        { Allow: allow },
      ));
  }
  app.route("/v1", v1);

  Object.defineProperty(app, "computeMode", { value: executor.mode, enumerable: true });
  Object.defineProperty(app, "close", { value: () => executor.close(), enumerable: false });
  return app as unknown as SeglossApp;
}
