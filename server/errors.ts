/**
 * HTTP errors of the scoring service and the mapping of library errors to status codes.
 *
 * @module
 */

/** The machine-readable error codes the service answers with, by status. */
export type ErrorCode =
  | "bad_request"
  | "unauthorized"
  | "not_found"
  | "method_not_allowed"
  | "payload_too_large"
  | "unsupported_media_type"
  | "unprocessable"
  | "timeout"
  | "overloaded"
  | "internal";

/** An error that becomes an HTTP response with `status` and a JSON error body. */
export class HttpError extends Error {
  /** The HTTP status. */
  readonly status: number;
  /** The machine-readable code. */
  readonly code: ErrorCode;
  /**
   * @param status The HTTP status (4xx or 5xx).
   * @param code The machine-readable code.
   * @param message A precise, client-facing message (never a stack trace).
   */
  constructor(status: number, code: ErrorCode, message: string) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.code = code;
  }
}

/** 400: the body cannot be parsed (bad JSON, broken .npy, truncated data, bad multipart). */
export function badRequest(message: string): HttpError {
  return new HttpError(400, "bad_request", message);
}

/** 413: the body or an array is larger than the configured limits. */
export function tooLarge(message: string): HttpError {
  return new HttpError(413, "payload_too_large", message);
}

/** 422: well-formed, but wrong shapes, dtypes, labels or config. */
export function unprocessable(message: string): HttpError {
  return new HttpError(422, "unprocessable", message);
}

/** Messages of TypeError/RangeError that are runtime faults, not client mistakes. */
const RUNTIME_FAULT =
  /Cannot read propert|Cannot set propert|is not a function|is not defined|is not iterable|Maximum call stack|Array buffer allocation failed|Invalid typed array length|Invalid array buffer length|out of memory/i;

/**
 * Classifies an error thrown by the library: `TypeError`/`RangeError` with a library message
 * are client mistakes (422); anything else (including runtime faults that happen to be
 * TypeErrors, like "x is not a function") is a server fault (500).
 *
 * @param name The error's `name`.
 * @param message The error's `message`.
 * @returns `true` when the error is the client's mistake.
 */
export function isClientError(name: string, message: string): boolean {
  return (name === "TypeError" || name === "RangeError") && !RUNTIME_FAULT.test(message);
}

/** The JSON body of every error response. */
export interface ErrorBody {
  /** Details. */
  error: {
    /** The HTTP status, repeated. */
    status: number;
    /** Machine-readable code. */
    code: ErrorCode;
    /** Human-readable, precise message. */
    message: string;
    /** The request id, also in the `X-Request-Id` header; quoted in the server log. */
    requestId: string;
  };
}

/** Builds an {@linkcode ErrorBody}. */
export function errorBody(
  status: number,
  code: ErrorCode,
  message: string,
  requestId: string,
): ErrorBody {
  return { error: { status, code, message, requestId } };
}
