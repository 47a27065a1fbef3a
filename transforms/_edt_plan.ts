/**
 * The plan of a transform ({@linkcode planPasses}, {@linkcode signedPlan}) and the runner of its
 * passes ({@linkcode runPass}), shared by the synchronous `edt` / `signedDistance` and the Worker
 * module (`edt_worker.ts`), which runs ranges of each pass's work units.
 *
 * Not part of the public API (not exported from `mod.ts`).
 *
 * @module
 */
import { DIRECT_MAX } from "./_edt_envelope.ts";
import {
  axis0Pass,
  axis0Units,
  columnPass,
  columnUnits,
  lastAxisPass,
  makeScratch,
  type NumberMask,
  rowPass,
  type Scratch,
} from "./_edt_passes.ts";
import {
  classAxis0Pass,
  classRowPass,
  combinePass,
  combineUnits,
  type LabelJob,
} from "./_edt_labels.ts";

/** One pass of a transform, as the sync path and the Workers run it. */
export interface PassPlan {
  /**
   * `row`/`classRow`: the only pass of a 1-D transform; `axis0`/`classAxis0`: the first pass
   * of a 2-D or higher one; `last`: the innermost axis; `column`: an axis in between;
   * `combine`: the last step of a signed distance map.
   */
  kind: "row" | "classRow" | "axis0" | "classAxis0" | "last" | "column" | "combine";
  n: number;
  stride: number;
  spacing: number;
  units: number;
  final: boolean;
  /** `last`: the length of axis 0 and the rows per plane of axis 0. */
  n0?: number;
  perPlane?: number;
  /** `combine`: the inside shift of the convention. */
  shift?: number;
}

/**
 * The passes of a transform over `total` elements of volumes with extents `spatial`. Either
 * the two-sweep pass along the innermost axis, then the envelope along every other axis
 * (blocks of columns gathered into scratch); or, for 2-D volumes with long columns, the
 * two-sweep pass along axis 0 (plane after plane, contiguous) and then the envelope along the
 * innermost axis (contiguous rows; the general form would add the axes in between).
 * `classes`: the class transforms of a label job.
 */
export function planPasses(
  total: number,
  spatial: readonly number[],
  spacing: readonly number[],
  classes: boolean,
): PassPlan[] {
  const d = spatial.length;
  const nLast = spatial[d - 1]!;
  if (d === 1) {
    return [{
      kind: classes ? "classRow" : "row",
      n: nLast,
      stride: 1,
      spacing: spacing[0]!,
      units: total / nLast,
      final: true,
    }];
  }
  const n0 = spatial[0]!;
  if (d > 2 || n0 <= DIRECT_MAX) {
    // rows first, then every other axis as gathered blocks of columns (measured faster for
    // 3-D and for short 2-D columns)
    const plan: PassPlan[] = [{
      kind: classes ? "classRow" : "row",
      n: nLast,
      stride: 1,
      spacing: spacing[d - 1]!,
      units: total / nLast,
      final: false,
    }];
    let stride = nLast;
    for (let ax = d - 2; ax >= 0; ax--) {
      const n = spatial[ax]!;
      plan.push({
        kind: "column",
        n,
        stride,
        spacing: spacing[ax]!,
        units: columnUnits(total, n, stride),
        final: ax === 0,
      });
      stride *= n;
    }
    return plan;
  }
  // long 2-D columns: the two-sweep pass along axis 0 (contiguous rows), then the envelope
  // along the rows, with no gathering at all
  const vol = spatial.reduce((a, b) => a * b, 1);
  const rest = vol / n0;
  const plan: PassPlan[] = [
    {
      kind: classes ? "classAxis0" : "axis0",
      n: n0,
      stride: rest,
      spacing: spacing[0]!,
      units: axis0Units(total / vol, rest),
      final: false,
    },
    {
      kind: "last",
      n: nLast,
      stride: 1,
      spacing: spacing[d - 1]!,
      units: total / nLast,
      final: true,
      n0,
      perPlane: rest / nLast,
    },
  ];
  return plan;
}

/**
 * The axis length the scratch of {@linkcode planPasses}'s passes must hold: the longest axis
 * whose pass gathers lines into scratch (every axis but the innermost, or the innermost alone
 * after the axis-0 pass of a long 2-D column). The innermost axis's two-sweep pass needs none,
 * so a long thin volume such as `[1, 100000]` gets small scratch (`Math.max(...spatial)` made
 * ~23 MiB of it, per call, for 100000 voxels).
 */
export function scratchLength(spatial: readonly number[]): number {
  const d = spatial.length;
  if (d === 1) return 0;
  if (d > 2 || spatial[0]! <= DIRECT_MAX) return Math.max(...spatial.slice(0, d - 1));
  return spatial[d - 1]!;
}

/** The length of each of the two flag buffers the passes of {@linkcode planPasses} use. */
export function flagsLength(total: number, spatial: readonly number[]): number {
  const d = spatial.length;
  return d === 1 ? total / spatial[0]! : total / Math.min(spatial[0]!, spatial[d - 1]!);
}

/** What a pass works on. */
export interface PassContext {
  mask?: NumberMask;
  job?: LabelJob;
  out: Float32Array;
  /** Pass i writes `flags[i % 2]` and reads `flags[(i + 1) % 2]`. */
  flags: Uint8Array[];
  scratch: Scratch;
}

/** Runs work units `[u0, u1)` of pass number `i` of a plan. */
export function runPass(p: PassPlan, i: number, ctx: PassContext, u0: number, u1: number): void {
  const fout = ctx.flags[i % 2]!;
  const fin = ctx.flags[(i + 1) % 2]!;
  const { out, scratch } = ctx;
  switch (p.kind) {
    case "row":
      rowPass(ctx.mask!, out, p.n, p.spacing, u0, u1, p.final, fout);
      break;
    case "classRow":
      classRowPass(ctx.job!, p.n, p.spacing, u0, u1, p.final, fout);
      break;
    case "axis0":
      axis0Pass(
        ctx.mask!,
        out,
        p.n,
        p.stride,
        p.spacing,
        u0,
        u1,
        fout,
        scratch.nextInt,
      );
      break;
    case "classAxis0":
      classAxis0Pass(ctx.job!, p.n, p.stride, p.spacing, u0, u1, fout, scratch.next);
      break;
    case "last":
      lastAxisPass(
        out,
        p.n,
        p.n0!,
        p.perPlane!,
        p.spacing * p.spacing,
        u0,
        u1,
        p.final,
        scratch,
        fin,
        fout,
      );
      break;
    case "column":
      columnPass(out, p.n, p.stride, p.spacing * p.spacing, u0, u1, p.final, scratch, fin, fout);
      break;
    case "combine":
      combinePass(ctx.job!, p.shift!, u0, u1);
      break;
  }
}

/** The longest axis whose scratch is kept between calls (a few hundred KiB at most). */
const KEEP_SCRATCH_MAX = 8192;
let kept: Scratch | undefined;
let keptLen = 0;

/**
 * Scratch for axes up to `maxLen` long, for the synchronous transforms of this thread: kept
 * between calls (they never interleave: each runs to its end without yielding), so a small
 * transform does not pay for ~200 KiB of fresh buffers each call. Axes longer than
 * {@linkcode KEEP_SCRATCH_MAX} get scratch of their own.
 */
function threadScratch(maxLen: number): Scratch {
  if (maxLen > KEEP_SCRATCH_MAX) return makeScratch(maxLen);
  if (kept === undefined || keptLen < maxLen) {
    // grown in steps, so a series of growing shapes reallocates a few times only
    keptLen = Math.min(KEEP_SCRATCH_MAX, Math.max(maxLen, 2 * keptLen, 256));
    kept = makeScratch(keptLen);
  }
  return kept;
}

/**
 * Runs every pass of the EDT of `total` elements whose trailing spatial extents are `spatial`
 * (leading indices are independent volumes) into `out`, single-threaded.
 */
export function edtInto(
  mask: NumberMask,
  out: Float32Array,
  spatial: readonly number[],
  spacing: readonly number[],
): void {
  const plan = planPasses(out.length, spatial, spacing, false);
  const n = flagsLength(out.length, spatial);
  const ctx: PassContext = {
    mask,
    out,
    flags: [new Uint8Array(n), new Uint8Array(n)],
    scratch: threadScratch(scratchLength(spatial)),
  };
  for (let i = 0; i < plan.length; i++) runPass(plan[i]!, i, ctx, 0, plan[i]!.units);
}

/**
 * Signed distance maps of a label job (see {@linkcode LabelJob}), single-threaded: the class
 * transforms over all `(N·C)` planes, then {@linkcode combinePass}.
 */
export function signedInto(
  job: LabelJob,
  spatial: readonly number[],
  spacing: readonly number[],
  shift: number,
): void {
  const plan = signedPlan(job.out.length, job.vol, job.numClasses, spatial, spacing, shift);
  const n = flagsLength(job.out.length, spatial);
  const ctx: PassContext = {
    job,
    out: job.out,
    flags: [new Uint8Array(n), new Uint8Array(n)],
    scratch: threadScratch(scratchLength(spatial)),
  };
  for (let i = 0; i < plan.length; i++) runPass(plan[i]!, i, ctx, 0, plan[i]!.units);
}

/** The passes of a label job: the class transforms, then the combination. */
export function signedPlan(
  total: number,
  vol: number,
  numClasses: number,
  spatial: readonly number[],
  spacing: readonly number[],
  shift: number,
): PassPlan[] {
  return [
    ...planPasses(total, spatial, spacing, true),
    {
      kind: "combine",
      n: 0,
      stride: 0,
      spacing: 0,
      units: combineUnits(total / (vol * numClasses), vol),
      final: true,
      shift,
    },
  ];
}
