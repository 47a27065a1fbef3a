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
import { bodyLimit } from "hono/body-limit";
import { bearerAuth } from "hono/bearer-auth";
import { secureHeaders } from "hono/secure-headers";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import type { Context } from "hono";
import type { Registry } from "../core/registry.ts";
import { defaultRegistry } from "../mod.ts";
import { errorBody, type ErrorCode, HttpError, isClientError, tooLarge } from "./errors.ts";
import type { AppEnv, RouteContext } from "./context.ts";
import { type Executor, HybridExecutor, InlineExecutor, JobError, WorkerPool } from "./pool.ts";
import { lossRoutes } from "./routes/loss.ts";
import { distanceRoutes } from "./routes/distance.ts";
import { pluginRoutes } from "./routes/plugins.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { openApiDocument } from "./openapi.ts";
import { SERVER_VERSION } from "./version.ts";

/**
 * One structured log entry (500s, timeouts), passed to the `log` option of `createApp`.
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
  /** `"error"` for 500s, `"warn"` for timeouts. */
  level: "error" | "warn";
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
  /** Largest total number of array elements in one request (default 2^26); more is a 413. */
  maxElements?: number;
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
  /** Worker pool size (default: the number of CPU cores, at most 8). */
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
): Response {
  const id = c.get("requestId") ?? "unknown";
  return new Response(JSON.stringify(errorBody(status, code, message, id)), {
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
 * `multipart/form-data` with `.npy` parts; arrays come back as `.npy` when the client sends
 * `Accept: application/x-npy`. Errors are JSON `{ error: { status, code, message, requestId } }`:
 * 400 malformed, 401 token, 413 too large, 415 media type, 422 wrong shapes/dtypes/labels/config,
 * 503 time limit or overload, 500 (logged with the request id) for server faults.
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
  const timeoutMs = positive("timeoutMs", options.timeoutMs, 30_000);
  const backend = options.backend ?? "cpu";
  const log = options.log ?? defaultLog;
  const hasWorker = typeof (globalThis as { Worker?: unknown }).Worker === "function";
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
    new WorkerPool(positive("workers", options.workers, Math.min(8, cores)), backend, timeoutMs);
  const executor: Executor = mode === "worker"
    ? pool()
    : mode === "hybrid"
    ? new HybridExecutor(inline(), pool(), timeoutMs >= 1000 ? inlineMax : 0)
    : inline();
  const ctx: RouteContext = {
    maxElements,
    executor,
    registry: () =>
      Promise.resolve(
        (options.registry as Registry | undefined) ?? (defaultRegistry as unknown as Registry),
      ),
  };

  const app = new Hono<AppEnv>();
  app.use(async (c, next) => {
    const start = performance.now();
    c.set("requestId", crypto.randomUUID());
    c.set("start", start);
    c.set("deadline", start + timeoutMs);
    await next();
    c.res.headers.set("X-Request-Id", c.get("requestId"));
  });
  app.use(secureHeaders());

  app.onError((err, c) => {
    const request = `${c.req.method} ${c.req.path}`;
    const requestId = c.get("requestId") ?? "unknown";
    if (err instanceof HttpError) {
      if (err.status >= 500) {
        log({ level: "warn", requestId, request, status: err.status, message: err.message });
      }
      return errorResponse(c, err.status, err.code, err.message);
    }
    if (err instanceof HTTPException) {
      const res = err.getResponse();
      res.headers.set("X-Request-Id", requestId);
      return res;
    }
    if (err instanceof JobError && isClientError(err.originalName, err.message)) {
      return errorResponse(c, 422, "unprocessable", `${err.originalName}: ${err.message}`);
    }
    const detail = err instanceof JobError
      ? `${err.originalName}: ${err.message}\n${err.originalStack ?? ""}`
      : `${err.name}: ${err.message}\n${err.stack ?? ""}`;
    log({ level: "error", requestId, request, status: 500, message: detail });
    return errorResponse(
      c,
      500,
      "internal",
      `Internal server error; quote request id ${requestId} to the operator`,
    );
  });
  app.notFound((c) => errorResponse(c, 404, "not_found", `No route ${c.req.method} ${c.req.path}`));

  app.get(
    "/healthz",
    (c) => c.json({ status: "ok", version: SERVER_VERSION, compute: executor.mode, backend }),
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
    v1.use(bearerAuth({
      token: options.token,
      noAuthenticationHeader: { message: deny("Missing Authorization: Bearer <token> header") },
      invalidAuthenticationHeader: { message: deny("Malformed Authorization header") },
      invalidToken: { message: deny("Wrong bearer token") },
    }));
  }
  v1.use(bodyLimit({
    maxSize: maxBodyBytes,
    onError: () => {
      throw tooLarge(`Expected a request body of at most ${maxBodyBytes} bytes`);
    },
  }));
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
