/**
 * Reading a request body within the service's limits: a byte limit checked against
 * `Content-Length` before reading and against the streamed count while reading (the read
 * stops at the limit), and a deadline for the whole body (a slow client gets a 408 and the
 * connection is closed). A body that breaks off (an aborted upload, a `Content-Length` longer
 * than what was sent) is a 400 logged as a client fault, never a 500.
 *
 * @module
 */
import { concatBytes } from "../core/bytes.ts";
import { HttpError, tooLarge } from "./errors.ts";

/** Limits of one body read. */
export interface BodyLimits {
  /** Largest body in bytes. */
  maxBytes: number;
  /** The setting that sets `maxBytes` (named in the 413). */
  setting: string;
  /** What the body is, for messages (`"a JSON body"`, `"a multipart body"`). */
  what: string;
  /** Milliseconds the whole body may take to arrive. */
  timeoutMs: number;
}

/** 408: the body did not arrive in time. The response closes the connection. */
export function bodyTimeout(timeoutMs: number): HttpError {
  return new HttpError(
    408,
    "request_timeout",
    `The request body did not arrive within the server's body time limit of ${timeoutMs} ms`,
    { clientFault: true, logAs: "info" },
  );
}

/** 400: the body broke off. */
function aborted(why: string): HttpError {
  return new HttpError(400, "bad_request", `The request body broke off before its end (${why})`, {
    clientFault: true,
    logAs: "info",
  });
}

/**
 * Checks the `Content-Length` header against `maxBytes` (a 413 before any byte is read).
 *
 * @param header The header's value.
 * @param limits The limits.
 * @returns The declared length, or `undefined` when the header is absent.
 */
export function checkContentLength(
  header: string | null | undefined,
  limits: Pick<BodyLimits, "maxBytes" | "setting" | "what">,
): number | undefined {
  if (header === null || header === undefined) return undefined;
  const t = header.trim();
  if (!/^\d{1,20}$/.test(t)) {
    throw new HttpError(400, "bad_request", "Malformed Content-Length header");
  }
  const n = Number(t);
  if (n > limits.maxBytes) {
    throw tooLarge(
      `Expected ${limits.what} of at most ${limits.maxBytes} bytes (${limits.setting}) but Content-Length is ${t}`,
      { resource: limits.setting, requested: n, limit: limits.maxBytes },
    );
  }
  return n;
}

/**
 * Reads a request's body into one buffer within `limits`.
 *
 * @param request The request (its body is consumed).
 * @param limits Byte limit and deadline.
 * @returns The body's bytes.
 */
export async function readBody(request: Request, limits: BodyLimits): Promise<Uint8Array> {
  const declared = checkContentLength(request.headers.get("content-length"), limits);
  const stream = request.body;
  if (stream === null) return new Uint8Array(0);
  let reader: ReadableStreamDefaultReader<Uint8Array>;
  try {
    reader = stream.getReader();
  } catch {
    throw new HttpError(400, "bad_request", "The request body was already read");
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), limits.timeoutMs);
  });
  const stop = (e: HttpError): never => {
    reader.cancel().catch(() => {});
    throw e;
  };
  try {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array> | "timeout";
      try {
        r = await Promise.race([reader.read(), expired]);
      } catch (e) {
        // the runtime's own message (for example "error reading a body from connection")
        const why = e instanceof Error ? e.message : String(e);
        throw aborted(why.slice(0, 120));
      }
      if (r === "timeout") return stop(bodyTimeout(limits.timeoutMs));
      if (r.done) break;
      total += r.value.length;
      if (total > limits.maxBytes) {
        stop(tooLarge(
          `Expected ${limits.what} of at most ${limits.maxBytes} bytes (${limits.setting}) but more arrived`,
          { resource: limits.setting, requested: total, limit: limits.maxBytes },
        ));
      }
      chunks.push(r.value);
    }
  } finally {
    clearTimeout(timer);
  }
  if (declared !== undefined && total !== declared) {
    throw aborted(`Content-Length ${declared}, ${total} bytes received`);
  }
  return concatBytes(chunks, total);
}
