/**
 * `multipart/form-data` bodies: a strict parser (the same answers on Deno, Bun and workerd,
 * whose own FormData parsers differ in what they forgive; file parts are views of the body, not
 * copies), and a builder for tests, the benchmark and clients written in TypeScript.
 *
 * @module
 */
import { badRequest, unprocessable } from "./errors.ts";
import { npyDeclaredLength } from "../io/npy.ts";

/** A field of a multipart body: a text part, or a file part's bytes. */
export type MultipartValue = string | Uint8Array;

const CRLF = [13, 10];

/** The first index of `needle` in `hay` at or after `from`, or -1. */
function find(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0]!;
  const last = hay.length - needle.length;
  for (let i = hay.indexOf(first, from); i !== -1 && i <= last; i = hay.indexOf(first, i + 1)) {
    let k = 1;
    while (k < needle.length && hay[i + k] === needle[k]) k++;
    if (k === needle.length) return i;
  }
  return -1;
}

/** Whether `needle` occurs in `hay` at exactly `pos`. */
function at(hay: Uint8Array, needle: Uint8Array, pos: number): boolean {
  if (pos < 0 || pos + needle.length > hay.length) return false;
  for (let k = 0; k < needle.length; k++) if (hay[pos + k] !== needle[k]) return false;
  return true;
}

/** The boundary parameter of a multipart Content-Type; a 400 when absent or invalid. */
export function boundaryOf(contentType: string): string {
  const m = /;\s*boundary=(?:"([^"]*)"|([^\s;]*))/i.exec(contentType);
  const b = m?.[1] ?? m?.[2];
  if (!b) {
    throw badRequest("Malformed multipart/form-data Content-Type: missing boundary parameter");
  }
  if (b.length > 70) {
    // RFC 2046 §5.1.1: 1 to 70 characters (a longer one was cut to 70 and then failed to match)
    throw badRequest(
      `Malformed multipart/form-data Content-Type: the boundary has ${b.length} characters, more than the 70 RFC 2046 allows`,
    );
  }
  return b;
}

function param(header: string, key: string): string | undefined {
  const m = new RegExp(`;\\s*${key}="((?:[^"\\\\]|\\\\.)*)"|;\\s*${key}=([^\\s;]+)`, "i").exec(
    header,
  );
  return m ? (m[1] ?? m[2]) : undefined;
}

/**
 * Parses a `multipart/form-data` body strictly (RFC 7578): the delimiters of the boundary in
 * the Content-Type, a closing delimiter, a Content-Disposition with a name in every part. A
 * part with a filename is a file (its bytes, a view of `body`, no copy); any other part is
 * UTF-8 text. A field given twice is a 422; anything malformed is a 400.
 *
 * @param body The whole body.
 * @param contentType The request's Content-Type header.
 * @returns The fields by name.
 */
export function parseMultipart(body: Uint8Array, contentType: string): Map<string, MultipartValue> {
  const enc = new TextEncoder();
  const boundary = boundaryOf(contentType);
  const dash = enc.encode(`--${boundary}`);
  const delim = enc.encode(`\r\n--${boundary}`);
  const headEnd = enc.encode("\r\n\r\n");
  const malformed = (why: string) => badRequest(`Malformed multipart/form-data body: ${why}`);
  // the first delimiter: at the start, or after a preamble line
  let pos: number;
  if (find(body.subarray(0, dash.length), dash, 0) === 0) pos = dash.length;
  else {
    const at = find(body, delim, 0);
    if (at < 0) throw malformed("no delimiter with the boundary of its Content-Type");
    pos = at + delim.length;
  }
  const out = new Map<string, MultipartValue>();
  const text = new TextDecoder("utf-8", { fatal: true });
  for (;;) {
    if (body[pos] === 45 && body[pos + 1] === 45) return out; // "--": the closing delimiter
    while (body[pos] === 32 || body[pos] === 9) pos++; // transport padding
    if (body[pos] !== CRLF[0] || body[pos + 1] !== CRLF[1]) {
      throw malformed("a delimiter is not followed by a line break");
    }
    pos += 2;
    const he = find(body, headEnd, pos);
    if (he < 0) throw malformed("a part's headers do not end");
    let headers: string;
    try {
      headers = text.decode(body.subarray(pos, he));
    } catch {
      throw malformed("a part's headers are not UTF-8");
    }
    let disposition: string | undefined;
    for (const line of headers.split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon <= 0) throw malformed(`bad part header line ${JSON.stringify(line.slice(0, 60))}`);
      if (line.slice(0, colon).trim().toLowerCase() === "content-disposition") {
        disposition = line.slice(colon + 1).trim();
      }
    }
    if (!disposition || !/^form-data\s*(;|$)/i.test(disposition)) {
      throw malformed("a part without Content-Disposition: form-data");
    }
    const name = param(disposition, "name");
    if (name === undefined) throw malformed("a part without a name");
    const filename = param(disposition, "filename");
    const start = he + headEnd.length;
    // a .npy part declares its length: check the delimiter right there instead of scanning
    // the array data for it (a lying header falls back to the scan)
    const declared = filename !== undefined ? npyDeclaredLength(body.subarray(start)) : undefined;
    const end = declared !== undefined && at(body, delim, start + declared)
      ? start + declared
      : find(body, delim, start);
    if (end < 0) throw malformed(`the part ${JSON.stringify(name.slice(0, 60))} is truncated`);
    const content = body.subarray(start, end);
    if (out.has(name)) {
      throw unprocessable(
        `Expected the multipart field ${name.slice(0, 60)} once but found it twice`,
      );
    }
    if (filename !== undefined) out.set(name, content);
    else {
      try {
        out.set(name, text.decode(content));
      } catch {
        throw malformed(`the text part ${JSON.stringify(name.slice(0, 60))} is not UTF-8`);
      }
    }
    pos = end + delim.length;
  }
}

/**
 * Reads a request's multipart body with {@linkcode parseMultipart}.
 *
 * @param request The request (its body is consumed).
 * @returns The fields by name.
 */
export async function readMultipart(request: Request): Promise<Map<string, MultipartValue>> {
  const contentType = request.headers.get("content-type") ?? "";
  boundaryOf(contentType); // a 400 before reading the body
  return parseMultipart(new Uint8Array(await request.arrayBuffer()), contentType);
}
