// Test helper: multipart/form-data bodies built byte for byte (not published).
import { concatBytes } from "../core/bytes.ts";

/** One part of {@linkcode buildMultipart}. */
export interface MultipartPart {
  /** The field name. */
  name: string;
  /** Text, or bytes (sent as a file part). */
  value: string | Uint8Array;
  /** The filename of a file part (default: `<name>.npy` for bytes). */
  filename?: string;
  /** Content-Type of the part (default: `application/octet-stream` for bytes). */
  contentType?: string;
}

/**
 * Builds a `multipart/form-data` body by hand (no FormData, so the bytes are exact).
 *
 * @param parts The parts, in order.
 * @param boundary The boundary (default: a fixed random-looking string).
 * @returns The body and its Content-Type header value.
 */
export function buildMultipart(
  parts: readonly MultipartPart[],
  boundary = "segloss-boundary-7c2f9a1e4b",
): { body: Uint8Array; contentType: string } {
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [];
  for (const p of parts) {
    const isFile = typeof p.value !== "string";
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (isFile) head += `; filename="${p.filename ?? `${p.name}.npy`}"`;
    head += "\r\n";
    const ct = p.contentType ?? (isFile ? "application/octet-stream" : undefined);
    if (ct) head += `Content-Type: ${ct}\r\n`;
    head += "\r\n";
    chunks.push(enc.encode(head));
    chunks.push(typeof p.value === "string" ? enc.encode(p.value) : p.value);
    chunks.push(enc.encode("\r\n"));
  }
  chunks.push(enc.encode(`--${boundary}--\r\n`));
  const body = concatBytes(chunks);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}
