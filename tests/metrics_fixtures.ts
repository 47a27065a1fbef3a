// The reference values of tests/fixtures/metrics_fixtures.json (made by
// tests/fixtures/make_metrics_fixtures.py with numpy + scipy: MONAI 1.5's and medpy 0.5's
// formulas re-derived), typed, for the metrics tests.
import { readFileSync } from "node:fs";

/** A number as the fixtures write it (non-finite values as strings). */
export type Encoded = number | "NaN" | "Infinity" | "-Infinity";

/** The averages of one metric of one case. */
export interface Averages {
  perSample: Encoded[];
  perClass: Encoded[];
  mean: Encoded;
  count: number;
  skipped: number;
  perClassSkipped: number[];
  perSampleSkipped: number[];
}

/** The surface metrics of one case under another surface rule. */
export interface Variant {
  border: "surface" | "none";
  /** medpy's connectivity: 1 (face) .. ndim (full). */
  connectivity: number;
  values: Record<string, Encoded[][]>;
  averages: Record<string, Averages>;
}

/** One reference case: inputs and the expected table of each metric. */
export interface Case {
  name: string;
  prediction: { shape: number[]; data: number[] };
  target: { shape: number[]; data: number[] };
  spacing: number[];
  classes: number[];
  tolerance: number[];
  threshold?: number;
  values: Record<string, Encoded[][]>;
  averages: Record<string, Averages>;
  /** Other surface rules: "none", "full", "none+full", and "connectivity2" in 3-D. */
  variants: Record<string, Variant>;
}

/** The whole fixture file. */
export interface Fixtures {
  cases: Case[];
  surface: {
    shape: number[];
    mask: number[];
    rules: { border: "surface" | "none"; connectivity: number; surface: number[] }[];
  };
  percentile: { data: number[]; q: number[]; expected: number[] };
}

/** The parsed fixture file. */
export const fixtures: Fixtures = JSON.parse(
  readFileSync(new URL("./fixtures/metrics_fixtures.json", import.meta.url), "utf8"),
);

/**
 * Decodes a fixture number.
 *
 * @param v A number or `"NaN"`, `"Infinity"`, `"-Infinity"`.
 * @returns The number.
 */
export function dec(v: Encoded): number {
  return v === "NaN" ? NaN : v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : v;
}
