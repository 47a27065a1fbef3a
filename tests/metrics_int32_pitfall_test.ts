/**
 * The official boundary-loss pipeline truncates its maps to int32
 * (tests/fixtures/make_metrics_int32_pitfall.py re-derives `one_hot2dist` on an int32 and a
 * float one-hot, and `SurfaceLoss(idc=[1])`): segloss's maps and loss are the formula's (the
 * float re-derivation), not the truncated ones.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { signedDistance } from "../transforms/signed_distance.ts";
import { boundaryLoss } from "../backends/cpu/functional.ts";

interface PitfallCase {
  name: string;
  shape: number[];
  spacing: number[];
  target: number[];
  probs: number[];
  mapFloat: number[];
  mapInt32: number[];
  maxMapDifference: number;
  surfaceLossFloat: number;
  surfaceLossInt32: number;
  relativeDifference: number;
}

const cases: PitfallCase[] = JSON.parse(
  readFileSync(new URL("./fixtures/metrics_int32_pitfall.json", import.meta.url), "utf8"),
).cases;

describe("the official code's int32 maps vs the formula", () => {
  for (const c of cases) {
    test(`signedDistance() and boundaryLoss() follow the float formula on ${c.name}`, async () => {
      const target = { data: Uint8Array.from(c.target), shape: [1, ...c.shape] };
      const maps = await signedDistance(target, { numClasses: 2, spacing: c.spacing });
      const vol = c.target.length;
      const ours = maps.data.subarray(vol, 2 * vol); // class 1
      let worstFloat = 0;
      let worstInt = 0;
      for (let i = 0; i < vol; i++) {
        worstFloat = Math.max(worstFloat, Math.abs(ours[i]! - c.mapFloat[i]!));
        worstInt = Math.max(worstInt, Math.abs(ours[i]! - c.mapInt32[i]!));
      }
      assert.ok(worstFloat < 1e-5, `map vs float formula: ${worstFloat}`);
      assert.ok(Math.abs(worstInt - c.maxMapDifference) < 1e-5, `map vs int32: ${worstInt}`);
      assert.ok(worstInt > 0.9, "the int32 maps are off by almost 1 somewhere");
      const probs = { data: Float32Array.from(c.probs), shape: [1, 2, ...c.shape] };
      const loss = boundaryLoss(probs, maps, { classes: [1] });
      const tol = 1e-6 * Math.max(1e-3, Math.abs(c.surfaceLossFloat));
      assert.ok(
        Math.abs(loss - c.surfaceLossFloat) <= tol,
        `loss ${loss} vs formula ${c.surfaceLossFloat}`,
      );
      assert.ok(Math.abs(loss - c.surfaceLossInt32) > 100 * tol, "differs from the int32 value");
    });
  }
});
