/**
 * HTTP errors of the scoring service and the mapping of library errors to statuses, by class
 * (never by message): {@linkcode NpyFormatError} → 400, `SeglossTypeError` /
 * `SeglossRangeError` → 422, `LimitError` → 413, `UnavailableError` → 503, anything else → 500
 * (logged with its stack). Errors thrown inside a Worker cross back as plain data
 * ({@linkcode SerializedError}) that keeps the class.
 *
 * @module
 */
import {
  LimitError,
  SeglossRangeError,
  SeglossTypeError,
  UnavailableError,
} from "../core/errors.ts";
import { NpyFormatError } from "../io/npy.ts";

/** The machine-readable error codes the service answers with, by status. */
export type ErrorCode =
  | "bad_request"
  | "unauthorized"
  | "not_found"
  | "method_not_allowed"
  | "request_timeout"
  | "payload_too_large"
  | "unsupported_media_type"
  | "unprocessable"
  | "timeout"
  | "overloaded"
  | "unavailable"
  | "internal";

/** The limit a 413 names: what is limited, the amount asked for, the largest allowed. */
export interface LimitInfo {
  /** The setting (e.g. `"maxElements"`, `"maxClasses"`, `"maxJsonBytes"`). */
  resource: string;
  /** What the request asked for (a number; `"Infinity"` when it overflows). */
  requested: number | string;
  /** The largest amount allowed. */
  limit: number;
}

/** An error that becomes an HTTP response with `status` and a JSON error body. */
export class HttpError extends Error {
  /** The HTTP status. */
  readonly status: number;
  /** The machine-readable code. */
  readonly code: ErrorCode;
  /** For 413s: the limit. */
  readonly limit: LimitInfo | undefined;
  /** Whether the fault is the client's (aborted upload, slow client, a bad request). */
  readonly clientFault: boolean;
  /**
   * Whether and how the service logs it (never with a stack): `"warn"` for 5xx by default,
   * `"info"` for client faults worth knowing about (aborted or slow uploads), else not logged.
   */
  readonly logAs: "info" | "warn" | undefined;
  /**
   * @param status The HTTP status (4xx or 5xx).
   * @param code The machine-readable code.
   * @param message A precise, client-facing message (never a stack trace).
   * @param extra The limit of a 413; whose fault it is; how it is logged.
   */
  constructor(
    status: number,
    code: ErrorCode,
    message: string,
    extra: { limit?: LimitInfo; clientFault?: boolean; logAs?: "info" | "warn" | null } = {},
  ) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.code = code;
    this.limit = extra.limit;
    this.clientFault = extra.clientFault ?? status < 500;
    this.logAs = extra.logAs === null
      ? undefined
      : extra.logAs ?? (status >= 500 && !this.clientFault ? "warn" : undefined);
  }
}

/** 400: the body cannot be parsed (bad JSON, broken .npy, truncated data, bad multipart). */
export function badRequest(message: string): HttpError {
  return new HttpError(400, "bad_request", message);
}

/**
 * 413: the body, an array or the work a request asks for is larger than a configured limit.
 *
 * @param message Names the limit and its setting.
 * @param limit The limit, sent back in `error.limit`.
 */
export function tooLarge(message: string, limit?: LimitInfo): HttpError {
  return new HttpError(413, "payload_too_large", message, { limit });
}

/** 422: well-formed, but wrong shapes, dtypes, labels or config. */
export function unprocessable(message: string): HttpError {
  return new HttpError(422, "unprocessable", message);
}

/** Which class a library error had, as plain data (crosses `postMessage`). */
export type ErrorClass = "npy" | "type" | "range" | "limit" | "unavailable" | "other";

/** A library error as plain data: what a Worker posts back and {@linkcode JobError} keeps. */
export interface SerializedError {
  /** The error's `name`. */
  name: string;
  /** Its message. */
  message: string;
  /** Its stack (logged for 500s, never sent). */
  stack?: string;
  /** Its class. */
  errorClass: ErrorClass;
  /** For a `LimitError`. */
  limit?: LimitInfo;
  /** For an `UnavailableError`: the missing capability. */
  capability?: string;
}

function finiteOrString(x: number): number | string {
  return Number.isFinite(x) ? x : String(x);
}

/**
 * A thrown value as plain data, keeping its class.
 *
 * @param err Anything thrown.
 * @returns The serialized error.
 */
export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) {
    return { name: "Error", message: String(err), errorClass: "other" };
  }
  const base = { name: err.name, message: err.message, stack: err.stack };
  if (err instanceof NpyFormatError) return { ...base, errorClass: "npy" };
  if (err instanceof LimitError) {
    return {
      ...base,
      errorClass: "limit",
      limit: { resource: err.resource, requested: finiteOrString(err.requested), limit: err.limit },
    };
  }
  if (err instanceof UnavailableError) {
    return { ...base, errorClass: "unavailable", capability: err.capability };
  }
  if (err instanceof SeglossTypeError) return { ...base, errorClass: "type" };
  if (err instanceof SeglossRangeError) return { ...base, errorClass: "range" };
  return { ...base, errorClass: "other" };
}

/** Longest message an error response carries (the rest is cut, with a note). */
export const MAX_MESSAGE = 1000;

/**
 * Caps a client-facing message at {@linkcode MAX_MESSAGE} characters.
 *
 * @param message The message.
 * @returns It, or its start and the number of characters cut.
 */
export function capMessage(message: string): string {
  return message.length <= MAX_MESSAGE
    ? message
    : `${message.slice(0, MAX_MESSAGE)}… (${message.length - MAX_MESSAGE} more characters)`;
}

/**
 * The HTTP answer to a library error, by class: `undefined` for a server fault (500).
 *
 * @param e The serialized error.
 * @returns The {@linkcode HttpError} to send, or `undefined`.
 */
export function httpErrorOf(e: SerializedError): HttpError | undefined {
  switch (e.errorClass) {
    case "npy":
      return new HttpError(400, "bad_request", e.message);
    case "limit":
      return new HttpError(413, "payload_too_large", e.message, { limit: e.limit });
    case "unavailable":
      return new HttpError(503, "unavailable", e.message, { clientFault: true });
    case "type":
    case "range":
      return new HttpError(422, "unprocessable", e.message);
    default:
      return undefined;
  }
}

/** The JSON body of every error response. */
export interface ErrorBody {
  /** Details. */
  error: {
    /** The HTTP status, repeated. */
    status: number;
    /** Machine-readable code. */
    code: ErrorCode;
    /** Human-readable, precise message (at most {@linkcode MAX_MESSAGE} characters). */
    message: string;
    /** The request id, also in the `X-Request-Id` header; quoted in the server log. */
    requestId: string;
    /** For 413s: the limit that refused the request. */
    limit?: LimitInfo;
  };
}

/** Builds an {@linkcode ErrorBody}. */
export function errorBody(
  status: number,
  code: ErrorCode,
  message: string,
  requestId: string,
  limit?: LimitInfo,
): ErrorBody {
  const error: ErrorBody["error"] = { status, code, message: capMessage(message), requestId };
  if (limit) error.limit = limit;
  return { error };
}
