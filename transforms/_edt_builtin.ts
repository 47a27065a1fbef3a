/**
 * The link between `edtTransform` and `signedDistance`: a transform made by `edtTransform` is
 * marked, and `signedDistance` then uses its Worker pool for the whole label job.
 *
 * Not part of the public API (not exported from `mod.ts`).
 *
 * @module
 */

/** What `signedDistance` needs to know about a transform made by `edtTransform`. */
export interface BuiltinInfo {
  /** A Worker pool to use for a job of `elements` output elements, if any. */
  poolFor(elements: number): unknown;
}

const builtin = new WeakMap<object, BuiltinInfo>();

/** Marks a transform made by `edtTransform` (signed distance maps then take a fast path). */
export function markBuiltin(transform: object, info: BuiltinInfo): void {
  builtin.set(transform, info);
}

/** The info of a transform made by `edtTransform`, or undefined for any other transform. */
export function builtinInfo(transform: object): BuiltinInfo | undefined {
  return builtin.get(transform);
}
