/**
 * The library's error classes. Every error segloss throws for a caller's mistake is one of
 * these: a {@linkcode SeglossTypeError} (wrong type, shape, key), a
 * {@linkcode SeglossRangeError} (value out of range), a {@linkcode LimitError} (a request
 * that would exceed a resource limit, thrown before any large allocation) or an
 * {@linkcode UnavailableError} (a capability this runtime or machine lacks). They extend the
 * built-in `TypeError` / `RangeError`, so `assert.throws(f, TypeError)` keeps working, and
 * carry the name of the argument at fault, so a service can map them to statuses by class.
 *
 * @module
 */

/** Longest excerpt of a caller-supplied string that an error message quotes. */
export const MAX_QUOTE = 80;

/**
 * Quotes a caller-supplied value for an error message, shortened to {@linkcode MAX_QUOTE}
 * characters (a 50 MiB option name must not come back in a 50 MiB message).
 *
 * @param value Any value.
 * @returns Its JSON text (or `String(value)`), at most about 100 characters.
 *
 * @example Basic usage
 * ```ts
 * import { quote } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(quote("spacing"), '"spacing"');
 * assert.ok(quote("x".repeat(1e6)).length < 120);
 * ```
 */
export function quote(value: unknown): string {
  let s: string;
  if (typeof value === "string") {
    s = JSON.stringify(value.length > MAX_QUOTE ? value.slice(0, MAX_QUOTE) : value);
    if (value.length > MAX_QUOTE) s += `… (${value.length} characters)`;
    return s;
  }
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") {
    return String(value);
  }
  if (value === undefined) return "undefined";
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = Object.prototype.toString.call(value);
  }
  return s.length > MAX_QUOTE ? `${s.slice(0, MAX_QUOTE)}… (${s.length} characters)` : s;
}

function argumentOf(message: string): string | undefined {
  const m = /^Expected ([A-Za-z_$][\w$]*(?:(?:\.[A-Za-z_$][\w$]*)|(?:\[\d+\]))*)/.exec(message);
  return m?.[1];
}

/** Options of the segloss error classes. */
export interface SeglossErrorOptions {
  /** The argument (or option path) at fault, e.g. `"options.spacing"`. */
  argument?: string;
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * A wrong type, shape or key in an argument. Extends `TypeError`.
 *
 * @example Basic usage
 * ```ts
 * import { SeglossTypeError } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const e = new SeglossTypeError("Expected mask.shape to be an array but found string");
 * assert.ok(e instanceof TypeError);
 * assert.equal(e.argument, "mask.shape");
 * ```
 */
export class SeglossTypeError extends TypeError {
  /** The argument at fault (taken from an "Expected NAME ..." message when not given). */
  readonly argument: string | undefined;
  /**
   * Creates the error; the argument's name is read from an "Expected NAME ..." message when
   * `options.argument` is not given.
   *
   * @param message A precise message: the argument, what was expected, what was found.
   * @param options The argument's name and a cause.
   */
  constructor(message: string, options: SeglossErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TypeError";
    this.argument = options.argument ?? argumentOf(message);
  }
}

/**
 * A value out of its valid range. Extends `RangeError`.
 *
 * @example Basic usage
 * ```ts
 * import { SeglossRangeError } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const e = new SeglossRangeError("Expected spacing[0] to be greater than 0 but found -1");
 * assert.ok(e instanceof RangeError);
 * assert.equal(e.argument, "spacing[0]");
 * ```
 */
export class SeglossRangeError extends RangeError {
  /** The argument at fault (taken from an "Expected NAME ..." message when not given). */
  readonly argument: string | undefined;
  /**
   * Creates the error; the argument's name is read from an "Expected NAME ..." message when
   * `options.argument` is not given.
   *
   * @param message A precise message: the argument, what was expected, what was found.
   * @param options The argument's name and a cause.
   */
  constructor(message: string, options: SeglossErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RangeError";
    this.argument = options.argument ?? argumentOf(message);
  }
}

/**
 * A request that would exceed a resource limit (elements, bytes, classes, threads), thrown
 * before the work or the allocation starts. Extends `RangeError`; the service answers 413.
 *
 * @example Basic usage
 * ```ts
 * import { LimitError } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const e = new LimitError("numClasses", 1e8, 65536, "Expected numClasses to be at most 65536");
 * assert.ok(e instanceof RangeError);
 * assert.equal(e.limit, 65536);
 * ```
 */
export class LimitError extends SeglossRangeError {
  /** What is limited (e.g. `"elements"`, `"numClasses"`, `"maxElements"`). */
  readonly resource: string;
  /** The amount the call asked for. */
  readonly requested: number;
  /** The largest amount allowed. */
  readonly limit: number;
  /**
   * Creates the error.
   *
   * @param resource What is limited.
   * @param requested The amount asked for.
   * @param limit The largest amount allowed.
   * @param message A precise message naming the limit and how to raise it.
   */
  constructor(resource: string, requested: number, limit: number, message: string) {
    super(message, { argument: resource });
    this.resource = resource;
    this.requested = requested;
    this.limit = limit;
  }
}

/**
 * A capability this runtime or machine lacks (no WebGPU adapter, no threads). The service
 * answers 503 (or 422 when the client asked for it explicitly).
 *
 * @example Basic usage
 * ```ts
 * import { UnavailableError } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const e = new UnavailableError("webgpu", "WebGPU is not available in this runtime");
 * assert.equal(e.capability, "webgpu");
 * ```
 */
export class UnavailableError extends Error {
  /** The missing capability (e.g. `"webgpu"`, `"jfa"`). */
  readonly capability: string;
  /**
   * Creates the error.
   *
   * @param capability The missing capability.
   * @param message What is missing and what to do instead.
   * @param options A cause.
   */
  constructor(capability: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "UnavailableError";
    this.capability = capability;
  }
}

function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++) {
      cur[j] = Math.min(
        prev[j]! + 1,
        cur[j - 1]! + 1,
        prev[j - 1]! + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[n]!;
}

/**
 * The valid name nearest to `name` (case-insensitive edit distance), or `undefined` when
 * none is close (more than a third of the name would have to change).
 *
 * @param name The name given.
 * @param valid The valid names.
 * @returns The suggestion, if any.
 *
 * @example Basic usage
 * ```ts
 * import { nearest } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(nearest("spacin", ["spacing", "classes"]), "spacing");
 * assert.equal(nearest("zzzz", ["spacing"]), undefined);
 * ```
 */
export function nearest(name: string, valid: readonly string[]): string | undefined {
  if (name.length > 64) return undefined;
  let best: string | undefined;
  let bestD = Infinity;
  for (const v of valid) {
    const d = editDistance(name, v);
    if (d < bestD) {
      bestD = d;
      best = v;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(Math.max(name.length, 3) / 3))
    ? best
    : undefined;
}

/**
 * Checks that `options` is undefined or a plain object whose keys are all in `allowed`;
 * throws a {@linkcode SeglossTypeError} naming the unknown key, the valid ones and the
 * nearest (`did you mean "spacing"?`).
 *
 * @param options The caller's options.
 * @param allowed The valid keys.
 * @param name The argument name used in messages (e.g. `"options"`).
 * @returns The options as a record (`{}` when undefined).
 *
 * @example Basic usage
 * ```ts
 * import { checkKeys } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(checkKeys({ spacing: [1, 1] }, ["spacing"], "options"), { spacing: [1, 1] });
 * assert.throws(() => checkKeys({ spacin: [2, 2] }, ["spacing"], "options"), /did you mean "spacing"/);
 * ```
 */
export function checkKeys(
  options: unknown,
  allowed: readonly string[],
  name: string,
): Record<string, unknown> {
  if (options === undefined || options === null) return {};
  if (typeof options !== "object" || Array.isArray(options)) {
    throw new SeglossTypeError(
      `Expected ${name} to be an object but found ${
        Array.isArray(options) ? "array" : typeof options
      }`,
      { argument: name },
    );
  }
  const o = options as Record<string, unknown>;
  for (const k in o) {
    if (!Object.hasOwn(o, k)) continue;
    if (!allowed.includes(k)) {
      const near = nearest(k, allowed);
      throw new SeglossTypeError(
        `Expected ${name} keys among ${allowed.join(", ")} but found ${quote(k)}${
          near === undefined ? "" : ` (did you mean ${JSON.stringify(near)}?)`
        }`,
        { argument: `${name}.${k.length > MAX_QUOTE ? k.slice(0, MAX_QUOTE) : k}` },
      );
    }
  }
  return o;
}
