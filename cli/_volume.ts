/**
 * Private to cli/: reading a label volume from a file of any supported format, listing and
 * matching the cases of two folders, and the geometry check.
 *
 * @module
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import type { NdArray } from "../core/ndarray.ts";
import { decodeNpy } from "../io/npy.ts";
import { decodeNifti, type NiftiImage } from "../io/nifti.ts";
import { decodePngMask } from "../io/png.ts";

/** A failure the CLI reports as "file: problem" (exit code 1). */
export class CliError extends Error {
  /** @param message The message, naming the file and the problem. */
  constructor(message: string) {
    super(message);
    this.name = "CliError";
  }
}

/** A usage mistake (exit code 2). */
export class UsageError extends Error {
  /** @param message What is wrong with the command line. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The file kinds the CLI reads. */
export type VolumeKind = "nifti" | "png" | "npy";

const SUFFIXES: [string, VolumeKind][] = [
  [".nii.gz", "nifti"],
  [".nii", "nifti"],
  [".png", "png"],
  [".npy", "npy"],
];

/** The kind of a file by its name, or undefined. */
export function kindOf(path: string): VolumeKind | undefined {
  const lower = path.toLowerCase();
  for (const [s, k] of SUFFIXES) if (lower.endsWith(s)) return k;
  return undefined;
}

/** A file name without its (double) suffix: the case id. */
export function caseId(path: string): string {
  const name = basename(path);
  const lower = name.toLowerCase();
  for (const [s] of SUFFIXES) if (lower.endsWith(s)) return name.slice(0, name.length - s.length);
  return name;
}

/** A label volume read from a file. */
export interface Volume {
  /** The file. */
  path: string;
  /** Its format. */
  kind: VolumeKind;
  /** The voxels, row-major, spatial axes only (NIfTI: `[z, y, x]`). */
  array: NdArray;
  /** Spacing per axis of `array` (NIfTI: from pixdim; others: ones unless overridden). */
  spacing: number[];
  /** Whether `spacing` came from the file header. */
  spacingFromHeader: boolean;
  /** The 4×4 voxel-to-world affine (NIfTI only). */
  affine: number[][] | null;
  /** The decoded NIfTI image (for writing maps on the same grid). */
  nifti: NiftiImage | null;
}

/**
 * Spacing given on the command line is in the file's own axis order (NIfTI: x, y, z as in
 * pixdim; .npy and PNG: the array's axes); this returns it in the array's row-major order.
 */
export function spacingToArrayOrder(spacing: readonly number[], kind: VolumeKind): number[] {
  return kind === "nifti" ? [...spacing].reverse() : [...spacing];
}

/** The inverse of {@linkcode spacingToArrayOrder}. */
export function spacingToFileOrder(spacing: readonly number[], kind: VolumeKind): number[] {
  return kind === "nifti" ? [...spacing].reverse() : [...spacing];
}

/** Reads a volume; errors name the file. `spacing` (file order) overrides the header's. */
export async function readVolume(path: string, spacing?: readonly number[]): Promise<Volume> {
  const kind = kindOf(path);
  if (kind === undefined) {
    throw new CliError(
      `${path}: unsupported file type (expected .nii, .nii.gz, .png or .npy)`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new CliError(
      `${path}: ${
        code === "ENOENT"
          ? "no such file"
          : code === "EISDIR"
          ? "is a folder"
          : (e as Error).message
      }`,
    );
  }
  let array: NdArray;
  let fileSpacing: number[] | null = null;
  let affine: number[][] | null = null;
  let nifti: NiftiImage | null = null;
  try {
    if (kind === "nifti") {
      nifti = await decodeNifti(bytes, path);
      // drop trailing singleton axes beyond 2 (a 3-D mask stored as x·y·z·1)
      let dims = nifti.dims.length;
      while (dims > 2 && nifti.dims[dims - 1] === 1) dims--;
      const shape = nifti.dims.slice(0, dims).reverse();
      array = { data: nifti.data, shape };
      fileSpacing = nifti.pixdim.slice(0, dims).reverse();
      affine = nifti.affine;
    } else if (kind === "png") {
      const m = decodePngMask(bytes, path);
      array = { data: m.data, shape: m.shape };
    } else {
      const a = decodeNpy(bytes, path);
      array = { data: a.data, shape: a.shape };
    }
  } catch (e) {
    const msg = (e as Error).message;
    throw new CliError(msg.includes(path) ? msg : `${path}: ${msg}`);
  }
  let used = fileSpacing ?? array.shape.map(() => 1);
  if (spacing !== undefined) {
    if (spacing.length !== array.shape.length) {
      throw new CliError(
        `${path}: --spacing has ${spacing.length} values but the volume has ${array.shape.length} axes (${
          spacingToFileOrder(array.shape as number[], kind).join("×")
        })`,
      );
    }
    used = spacingToArrayOrder(spacing, kind);
  }
  return {
    path,
    kind,
    array,
    spacing: used,
    spacingFromHeader: spacing === undefined && fileSpacing !== null,
    affine,
    nifti,
  };
}

/** The file-order shape of a volume, e.g. "160×160×96" (NIfTI x·y·z). */
export function describeShape(v: Volume): string {
  return spacingToFileOrder(v.array.shape as number[], v.kind).join("×");
}

/** Numbers with 6 significant digits (float32 header values print cleanly). */
export function fmtList(values: readonly number[]): string {
  return values.map((v) => +v.toPrecision(6)).join(", ");
}

function close(a: number, b: number, tol: number): boolean {
  return Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));
}

/**
 * Refuses a prediction and a reference that disagree on shape, spacing or affine (beyond
 * `tolerance`, relative to max(1, |value|)); returns nothing when they agree.
 */
export function checkGeometry(
  pred: Volume,
  ref: Volume,
  tolerance: number,
  ignoreGeometry: boolean,
): void {
  const ps = pred.array.shape;
  const rs = ref.array.shape;
  if (ps.length !== rs.length || ps.some((s, i) => s !== rs[i])) {
    const reversed = ps.length === rs.length && ps.every((s, i) => s === rs[rs.length - 1 - i]);
    const hint =
      reversed && pred.kind !== ref.kind && (pred.kind === "nifti" || ref.kind === "nifti")
        ? "; the axes are reversed: a .npy saved from nibabel's get_fdata() is in x,y,z order, save it as arr.T to match NIfTI's voxel order"
        : "";
    throw new CliError(
      `${pred.path}: shape ${describeShape(pred)} (array ${
        ps.join("×")
      }) differs from the reference ${ref.path} (${describeShape(ref)}, array ${
        rs.join("×")
      })${hint}`,
    );
  }
  if (ignoreGeometry) return;
  if (pred.spacingFromHeader && ref.spacingFromHeader) {
    for (let i = 0; i < pred.spacing.length; i++) {
      if (!close(pred.spacing[i]!, ref.spacing[i]!, tolerance)) {
        throw new CliError(
          `${pred.path}: spacing ${
            fmtList(spacingToFileOrder(pred.spacing, pred.kind))
          } differs from the reference ${ref.path} (${
            fmtList(spacingToFileOrder(ref.spacing, ref.kind))
          }) beyond --geometry-tolerance ${tolerance} (use --spacing to impose one, or --ignore-geometry)`,
        );
      }
    }
  }
  if (pred.affine !== null && ref.affine !== null) {
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 4; c++) {
        if (!close(pred.affine[r]![c]!, ref.affine[r]![c]!, tolerance)) {
          const fmt = (a: number[][]) =>
            "[" + a.slice(0, 3).map((row) => row.map((v) => +v.toFixed(4)).join(" ")).join("; ") +
            "]";
          throw new CliError(
            `${pred.path}: orientation/position (affine) differs from the reference ${ref.path} at row ${r}, column ${c}: ${
              fmt(pred.affine)
            } vs ${fmt(ref.affine)} (tolerance ${tolerance}; --ignore-geometry to skip)`,
          );
        }
      }
    }
  }
}

/** A matched case: one prediction file and one reference file. */
export interface CasePair {
  /** The case id (file name without suffix). */
  id: string;
  /** Prediction file. */
  pred: string;
  /** Reference file. */
  ref: string;
}

async function listVolumes(dir: string): Promise<Map<string, string>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw new CliError(`${dir}: cannot list the folder (${(e as Error).message})`);
  }
  const out = new Map<string, string>();
  for (const name of names.sort()) {
    if (kindOf(name) === undefined || name.startsWith(".")) continue;
    const id = caseId(name);
    const prev = out.get(id);
    if (prev !== undefined) {
      throw new CliError(
        `${dir}: two files for case "${id}" (${basename(prev)} and ${name}); keep one`,
      );
    }
    out.set(id, join(dir, name));
  }
  return out;
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    throw new CliError(`${path}: no such file or folder`);
  }
}

/**
 * Matches PRED and GT: two files (one case), or two folders (cases matched by file name
 * without suffix, so `case1.nii.gz` matches `case1.nii`). Returns the pairs sorted by id and
 * the unmatched files of each side.
 */
export async function matchCases(
  pred: string,
  ref: string,
): Promise<{ pairs: CasePair[]; onlyPred: string[]; onlyRef: string[] }> {
  const [pd, rd] = await Promise.all([isDir(pred), isDir(ref)]);
  if (pd !== rd) {
    throw new UsageError(
      `PRED and GT must both be files or both be folders, but ${pd ? pred : ref} is a folder and ${
        pd ? ref : pred
      } is a file`,
    );
  }
  if (!pd) return { pairs: [{ id: caseId(pred), pred, ref }], onlyPred: [], onlyRef: [] };
  const [p, r] = await Promise.all([listVolumes(pred), listVolumes(ref)]);
  const pairs: CasePair[] = [];
  const onlyPred: string[] = [];
  for (const [id, file] of p) {
    const g = r.get(id);
    if (g === undefined) onlyPred.push(file);
    else pairs.push({ id, pred: file, ref: g });
  }
  const onlyRef = [...r].filter(([id]) => !p.has(id)).map(([, f]) => f);
  return { pairs, onlyPred, onlyRef };
}
