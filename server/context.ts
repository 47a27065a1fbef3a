/**
 * What every route shares: the Hono environment type, resolved settings, and the body readers
 * that turn a JSON or multipart request into named fields and arrays.
 *
 * @module
 */
import type { Context } from "hono";
import type { NdArray } from "../core/ndarray.ts";
import type { Registry } from "../core/registry.ts";
import { badRequest, HttpError, unprocessable } from "./errors.ts";
import { decodeJsonArray, ElementBudget, type JsonDtype, typeName } from "./arrays.ts";
import { decodeNpy } from "../io/npy.ts";
import { type MultipartValue, readMultipart } from "./multipart.ts";
import type { Executor } from "./pool.ts";

/** Per-request variables set by the app's first middleware. */
export interface AppVariables {
  /** A random id, sent back in `X-Request-Id` and quoted in the server log. */
  requestId: string;
  /** `performance.now()` when the request arrived. */
  start: number;
  /** `performance.now()` past which the work is stopped. */
  deadline: number;
}

/** The Hono environment of the service's app. */
export interface AppEnv {
  /** Per-request variables. */
  Variables: AppVariables;
}

/** Resolved settings and shared objects the routes use. */
export interface RouteContext {
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
  let fields: Fields;
  if (type === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(type)) {
    const bytes = new Uint8Array(await c.req.arrayBuffer());
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
      throw badRequest(`Malformed JSON body: ${why}`.slice(0, 300));
    }
    checkDepth(obj, "JSON body");
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
      throw unprocessable(`Expected the JSON body to be an object but found ${typeName(obj)}`);
    }
    fields = { kind: "json", obj: obj as Record<string, unknown> };
  } else if (type === "multipart/form-data") {
    fields = { kind: "multipart", parts: await readMultipart(c.req.raw) };
  } else {
    throw new HttpError(
      415,
      "unsupported_media_type",
      `Expected Content-Type application/json or multipart/form-data but found ${
        type === "" ? "none" : JSON.stringify(type)
      }`,
    );
  }
  const names = fields.kind === "json" ? Object.keys(fields.obj) : [...fields.parts.keys()];
  for (const n of names) {
    if (!allowed.includes(n)) {
      throw unprocessable(
        `Unexpected field ${JSON.stringify(n).slice(0, 80)}: expected only ${allowed.join(", ")}`,
      );
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
    throw badRequest(
      `Malformed JSON in the multipart field ${name}: ${e instanceof Error ? e.message : e}`.slice(
        0,
        300,
      ),
    );
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

/** Whether the client prefers a `.npy` response (its Accept header names application/x-npy). */
export function wantsNpy(c: Context<AppEnv>): boolean {
  const accept = c.req.header("accept") ?? "";
  return accept.split(",").some((part) => {
    const [type, ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    if (type !== "application/x-npy") return false;
    const q = params.find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

export { ElementBudget };
