/**
 * The loss-weight schedules of the boundary-loss paper and the official `scheduler.py`.
 *
 * @module
 */
import { checkKeys, quote, SeglossRangeError, SeglossTypeError } from "../core/errors.ts";

/**
 * A schedule of the region-loss weight and the boundary-loss weight alpha over epochs:
 * - `"rebalance"` (the paper's; official `StealWeight`): region `max(floor, 1 − step·epoch)`,
 *   alpha `start + step·epoch`;
 * - `"increase"`: region 1, alpha `start + step·epoch`;
 * - `"constant"`: region 1, alpha `start`.
 * Alpha is capped at `max` when given. Defaults: `start` 0.01, `step` 0.01, `floor` 0.1 (the
 * paper's). Plain JSON, so configs can carry it.
 *
 * @example Basic usage
 * ```ts
 * import type { Schedule } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const s: Schedule = { kind: "rebalance" };
 * assert.equal(s.kind, "rebalance");
 * ```
 */
export interface Schedule {
  /** `"rebalance"`, `"increase"` or `"constant"`. */
  kind: "rebalance" | "increase" | "constant";
  /** Alpha at epoch 0 (default 0.01). */
  start?: number;
  /** Per-epoch change (default 0.01). */
  step?: number;
  /** Lowest region weight of `"rebalance"` (default 0.1). */
  floor?: number;
  /** Highest alpha (default: none). */
  max?: number;
}

/**
 * The weights a schedule gives at one epoch.
 *
 * @example Basic usage
 * ```ts
 * import type { ScheduleWeights } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const w: ScheduleWeights = { region: 1, boundary: 0.01 };
 * assert.equal(w.region, 1);
 * ```
 */
export interface ScheduleWeights {
  /** Multiplies every region loss (dice, generalized dice, cross entropy). */
  region: number;
  /** Alpha: multiplies every boundary (distance) loss. */
  boundary: number;
}

const KINDS = ["rebalance", "increase", "constant"] as const;
const KEYS = ["kind", "start", "step", "floor", "max"];

/**
 * Validates a schedule and fills in its defaults; throws a TypeError or RangeError naming the
 * offending field.
 *
 * @param schedule The schedule to check.
 * @param name The argument name used in error messages.
 * @returns A complete schedule.
 *
 * @example Basic usage
 * ```ts
 * import { checkSchedule } from "./schedule.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(checkSchedule({ kind: "increase" }).step, 0.01);
 * assert.throws(() => checkSchedule({ kind: "warmup" } as never), RangeError);
 * ```
 */
export function checkSchedule(
  schedule: Schedule,
  name = "schedule",
): Required<Omit<Schedule, "max">> & { max?: number } {
  if (typeof schedule !== "object" || schedule === null || Array.isArray(schedule)) {
    throw new SeglossTypeError(
      `Expected ${name} to be an object { kind, ... } but found ${
        schedule === null ? "null" : Array.isArray(schedule) ? "array" : typeof schedule
      }`,
    );
  }
  checkKeys(schedule, KEYS, name);
  if (!KINDS.includes(schedule.kind)) {
    throw new SeglossRangeError(
      `Expected ${name}.kind to be one of ${
        KINDS.map((k) => JSON.stringify(k)).join(", ")
      } but found ${quote(schedule.kind)}`,
    );
  }
  const num = (key: "start" | "step" | "floor" | "max", def: number | undefined) => {
    const v = schedule[key];
    if (v === undefined) return def;
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new SeglossTypeError(
        `Expected ${name}.${key} to be a finite number but found ${quote(v)}`,
      );
    }
    return v;
  };
  const start = num("start", 0.01)!, step = num("step", 0.01)!, floor = num("floor", 0.1)!;
  const max = num("max", undefined);
  if (start < 0) {
    throw new SeglossRangeError(`Expected ${name}.start to be >= 0 but found ${start}`);
  }
  if (step < 0) throw new SeglossRangeError(`Expected ${name}.step to be >= 0 but found ${step}`);
  if (floor < 0 || floor > 1) {
    throw new SeglossRangeError(`Expected ${name}.floor to be in [0, 1] but found ${floor}`);
  }
  if (max !== undefined && max < start) {
    throw new SeglossRangeError(`Expected ${name}.max to be >= start (${start}) but found ${max}`);
  }
  return { kind: schedule.kind, start, step, floor, ...(max !== undefined ? { max } : {}) };
}

/**
 * The region weight and alpha of a schedule at an epoch (see {@linkcode Schedule}).
 *
 * @param schedule The schedule.
 * @param epoch The epoch, a finite number >= 0 (0 is the first epoch).
 * @returns `{ region, boundary }`.
 *
 * @example Basic usage
 * ```ts
 * import { scheduleWeights } from "@segloss/segloss";
 * import assert from "node:assert/strict";
 *
 * const w = scheduleWeights({ kind: "rebalance" }, 10);
 * assert.ok(Math.abs(w.region - 0.9) < 1e-12 && Math.abs(w.boundary - 0.11) < 1e-12);
 * assert.equal(scheduleWeights({ kind: "rebalance" }, 200).region, 0.1);
 * ```
 */
export function scheduleWeights(schedule: Schedule, epoch: number): ScheduleWeights {
  const s = checkSchedule(schedule);
  if (typeof epoch !== "number" || !Number.isFinite(epoch) || epoch < 0) {
    throw new SeglossRangeError(
      `Expected epoch to be a finite number >= 0 but found ${String(epoch)}`,
    );
  }
  let alpha = s.kind === "constant" ? s.start : s.start + s.step * epoch;
  if (s.max !== undefined) alpha = Math.min(alpha, s.max);
  const region = s.kind === "rebalance" ? Math.max(s.floor, 1 - s.step * epoch) : 1;
  return { region, boundary: alpha };
}
