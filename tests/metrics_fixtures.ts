// The reference values of tests/fixtures/metrics_fixtures.json (made by
// tests/fixtures/make_metrics_fixtures.py with numpy + scipy), typed, for the metrics tests.
import { readFileSync } from "node:fs";

/** A number as the fixtures write it (non-finite values as strings). */
export type Encoded = number | "NaN" | "Infinity" | "-Infinity";

/** The averages of one metric of one case. */
export interface Averages {
  perSample: Encoded[];
  perClass: Encoded[];
  mean: Encoded;
  count: number;
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
}

/** The whole fixture file. */
export interface Fixtures {
  cases: Case[];
  surface: { shape: number[]; mask: number[]; surface: number[] };
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
