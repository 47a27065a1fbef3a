/**
 * What every route shares: the Hono environment type, resolved settings, and the body readers
 * that turn a JSON or multipart request into named fields and arrays.
 *
 * @module
 */
import type { Context } from "hono";
import { accepts } from "hono/accepts";
import { quote, UnavailableError } from "../core/errors.ts";
import type { NdArray } from "../core/ndarray.ts";
import type { Registry } from "../core/registry.ts";
import { badRequest, HttpError, tooLarge, unprocessable } from "./errors.ts";
import { decodeJsonArray, ElementBudget, type JsonDtype, typeName } from "./arrays.ts";
import { decodeNpy } from "../io/npy.ts";
import { boundaryOf, type MultipartValue, parseMultipart } from "./multipart.ts";
import type { Executor } from "./pool.ts";
import { readBody } from "./body.ts";
import type { WorkLimits } from "./budget.ts";

/** Per-request variables set by the app's first middleware. */
export interface AppVariables {
  /** A random id, sent back in `X-Request-Id` and quoted in the server log. */
  requestId: string;
  /** `performance.now()` when the request arrived. */
  start: number;
  /** `performance.now()` past which the work is stopped. */
  deadline: number;
  /** The body limits (set by the app for `/v1/*`). */
  limits: RequestLimits;
}

/** The limits of reading and decoding one request. */
export interface RequestLimits {
  /** Largest body in bytes (`maxBodyBytes`). */
  maxBodyBytes: number;
  /** Largest JSON body, or JSON text part of a multipart body, in bytes (`maxJsonBytes`). */
  maxJsonBytes: number;
  /** Milliseconds the whole body may take to arrive (`bodyTimeoutMs`). */
  bodyTimeoutMs: number;
}

/** The Hono environment of the service's app. */
export interface AppEnv {
  /** Per-request variables. */
  Variables: AppVariables;
}

/** Resolved settings and shared objects the routes use. */
export interface RouteContext extends WorkLimits {
  /** Largest total element count of one request's arrays. */
  maxElements: number;
  /** Runs the jobs. */
  executor: Executor;
  /** The registry for listings. */
  registry(): Promise<Registry>;
}

/** The request's fields: a parsed JSON object, or the parts of a multipart body. */
export type Fields =
  | { kind: "json"; obj: Record<string, unknown> }
  | { kind: "multipart"; parts: Map<string, MultipartValue> };

/** How deep a JSON body or JSON part may nest (arrays and objects). */
export const MAX_JSON_DEPTH = 64;

/** Throws a 400 when `value` nests deeper than {@linkcode MAX_JSON_DEPTH} (iteratively). */
export function checkDepth(value: unknown, where: string): void {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== "object" || v === null) continue;
    if (d > MAX_JSON_DEPTH) {
      throw badRequest(`Malformed ${where}: JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    }
    if (Array.isArray(v)) {
      // flat number arrays are the common case: only push containers
      for (const x of v) if (typeof x === "object" && x !== null) stack.push([x, d + 1]);
    } else {
      for (const x of Object.values(v)) {
        if (typeof x === "object" && x !== null) stack.push([x, d + 1]);
      }
    }
  }
}

/** The media type of a Content-Type header, lowercased, without parameters. */
export function mediaType(header: string | undefined): string {
  return (header ?? "").split(";")[0]!.trim().toLowerCase();
}

/**
 * Reads the body as JSON or multipart; anything else is a 415.
 *
 * @param c The Hono context.
 * @param allowed The field names this route takes (others are a 422).
 * @returns The fields.
 */
export async function readFields(c: Context<AppEnv>, allowed: readonly string[]): Promise<Fields> {
  const type = mediaType(c.req.header("content-type"));
  const limits = c.get("limits");
  let fields: Fields;
  if (type === "application/json" || /^application\/[a-z0-9.+-]{1,100}\+json$/.test(type)) {
    // JSON is parsed on the request's thread: small bodies only (big arrays go as .npy parts)
    const bytes = await readBody(c.req.raw, {
      maxBytes: Math.min(limits.maxJsonBytes, limits.maxBodyBytes),
      setting: limits.maxJsonBytes <= limits.maxBodyBytes ? "maxJsonBytes" : "maxBodyBytes",
      what: "a JSON body (send large arrays as .npy parts of a multipart/form-data body)",
      timeoutMs: limits.bodyTimeoutMs,
    });
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw badRequest("Malformed JSON body: it is not valid UTF-8");
    }
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      const why = e instanceof SyntaxError ? e.message : "nesting too deep";
      throw badRequest(`Malformed JSON body: ${why.slice(0, 200)}`);
    }
    checkDepth(obj, "JSON body");
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
      throw unprocessable(`Expected the JSON body to be an object but found ${typeName(obj)}`);
    }
    fields = { kind: "json", obj: obj as Record<string, unknown> };
  } else if (type === "multipart/form-data") {
    const contentType = c.req.header("content-type") ?? "";
    boundaryOf(contentType); // a 400 before reading the body
    const body = await readBody(c.req.raw, {
      maxBytes: limits.maxBodyBytes,
      setting: "maxBodyBytes",
      what: "a request body",
      timeoutMs: limits.bodyTimeoutMs,
    });
    const parts = parseMultipart(body, contentType);
    for (const [name, part] of parts) {
      if (typeof part === "string" && part.length > limits.maxJsonBytes) {
        throw tooLarge(
          `Expected the JSON text part ${
            quote(name)
          } to have at most ${limits.maxJsonBytes} characters (maxJsonBytes) but found ${part.length}`,
          { resource: "maxJsonBytes", requested: part.length, limit: limits.maxJsonBytes },
        );
      }
    }
    fields = { kind: "multipart", parts };
  } else {
    throw new HttpError(
      415,
      "unsupported_media_type",
      `Expected Content-Type application/json or multipart/form-data but found ${
        type === "" ? "none" : quote(type)
      }`,
    );
  }
  const names = fields.kind === "json" ? Object.keys(fields.obj) : [...fields.parts.keys()];
  for (const n of names) {
    if (!allowed.includes(n)) {
      throw unprocessable(`Unexpected field ${quote(n)}: expected only ${allowed.join(", ")}`);
    }
  }
  return fields;
}

/** Whether the request has the field. */
export function hasField(f: Fields, name: string): boolean {
  return f.kind === "json" ? f.obj[name] !== undefined : f.parts.has(name);
}

/**
 * A non-array field: the JSON value, or a multipart text part parsed as JSON.
 *
 * @param f The fields.
 * @param name The field name.
 * @returns The value, or `undefined` when absent.
 */
export function valueField(f: Fields, name: string): unknown {
  if (f.kind === "json") return f.obj[name];
  const part = f.parts.get(name);
  if (part === undefined) return undefined;
  if (typeof part !== "string") {
    throw unprocessable(
      `Expected the multipart field ${name} to be a JSON text part but found a file`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(part);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw badRequest(`Malformed JSON in the multipart field ${name}: ${why.slice(0, 200)}`);
  }
  checkDepth(value, `multipart field ${name}`);
  return value;
}

/**
 * An array field: `{ shape, data, dtype? }` in JSON, a `.npy` file part in multipart.
 *
 * @param f The fields.
 * @param name The field name.
 * @param defaultDtype The dtype of a JSON array without one.
 * @param budget The request's element budget.
 * @returns The array, or `undefined` when absent.
 */
export function arrayField(
  f: Fields,
  name: string,
  defaultDtype: JsonDtype,
  budget: ElementBudget,
): NdArray | undefined {
  if (f.kind === "json") {
    const v = f.obj[name];
    return v === undefined ? undefined : decodeJsonArray(v, name, defaultDtype, budget);
  }
  const part = f.parts.get(name);
  if (part === undefined) return undefined;
  if (typeof part === "string") {
    throw unprocessable(
      `Expected the multipart field ${name} to be a .npy file part (with a filename) but found text`,
    );
  }
  const arr = decodeNpy(part, name, { maxElements: budget.left });
  budget.take(arr.data.length, name);
  return { data: arr.data, shape: arr.shape };
}

/** The declared rank of a JSON array field without decoding it (for default dtypes). */
export function declaredRank(f: Fields, name: string): number | undefined {
  if (f.kind !== "json") return undefined;
  const v = f.obj[name] as { shape?: unknown } | undefined;
  return Array.isArray(v?.shape) ? v.shape.length : undefined;
}

/**
 * Whether the client prefers a `.npy` response: Hono's accepts helper, so q-values count
 * (`application/json, application/x-npy;q=0.1` is JSON; `application/x-npy` alone is `.npy`).
 */
export function wantsNpy(c: Context<AppEnv>): boolean {
  return accepts(c, {
    header: "Accept",
    supports: ["application/json", "application/x-npy"],
    default: "application/json",
  }) === "application/x-npy";
}

export { ElementBudget };

const availability = new WeakMap<object, Promise<boolean>>();

/**
 * Refuses a plugin that cannot run on this runtime or machine (`isAvailable()` false, for
 * example `jfa` or `webgpu` without a WebGPU adapter) with an `UnavailableError`, a 503 that
 * names it, before any work. Unknown names pass: the library answers those (422).
 *
 * @param ctx The route context.
 * @param kind The plugin kind.
 * @param name The plugin name the client gave.
 * @param field The request field that named it, for the message.
 */
export async function checkAvailable(
  ctx: RouteContext,
  kind: "distance" | "backend",
  name: unknown,
  field: string,
): Promise<void> {
  if (typeof name !== "string" || name === "auto") return;
  const registry = await ctx.registry();
  if (!registry.has(kind, name)) return;
  const plugin = registry.get(kind, name) as { isAvailable?(): boolean | Promise<boolean> };
  if (!plugin.isAvailable) return;
  let ok = availability.get(plugin);
  if (ok === undefined) {
    ok = Promise.resolve().then(() => plugin.isAvailable!()).then((v) => v === true, () => false);
    availability.set(plugin, ok);
  }
  if (!(await ok)) {
    throw new UnavailableError(
      name,
      `The ${kind} plugin ${quote(name)} (${field}) is not available on this server (${
        (kind === "distance" && (name === "jfa" || name === "edt-gpu")) || name === "webgpu"
          ? "it needs WebGPU, which this runtime or machine lacks"
          : "its isAvailable() is false"
      }); GET /v1/plugins lists what is`,
    );
  }
}
