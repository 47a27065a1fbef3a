/**
 * `edt(mask, { returnIndices: true })` against scipy's `return_indices` on the EDT fixtures
 * (tests/fixtures/make_metrics_edt_indices.py, per volume of the batch), the documented tie
 * rule against a brute-force search, and the distance to the returned element.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { edt } from "../transforms/edt.ts";

interface IndexCase {
  name: string;
  shape: number[];
  mask: number[];
  spacing: number[];
  spatialDims: number;
  /** scipy's coordinates, shape (spatialDims, ...shape), flattened. */
  scipy: number[];
  /** The lexicographically smallest nearest zero element (brute force), when stored. */
  smallest?: number[];
}

const cases: IndexCase[] = JSON.parse(
  readFileSync(new URL("./fixtures/metrics_edt_indices.json", import.meta.url), "utf8"),
).cases;

/** Distance from element i (flat) to the element at coordinates `at` in i's own volume. */
function distanceTo(c: IndexCase, i: number, at: number[]): number {
  const spatial = c.shape.slice(c.shape.length - c.spatialDims);
  let r = i;
  let d2 = 0;
  for (let a = spatial.length - 1; a >= 0; a--) {
    const x = r % spatial[a]!;
    r = (r - x) / spatial[a]!;
    d2 += ((x - at[a]!) * c.spacing[a]!) ** 2;
  }
  return Math.sqrt(d2);
}

describe("edt() returnIndices (scipy's return_indices)", () => {
  for (const c of cases) {
    test(`nearest zero indices on ${c.name}`, () => {
      const mask = { data: Uint8Array.from(c.mask), shape: c.shape };
      const options = { spacing: c.spacing, spatialDims: c.spatialDims };
      const r = edt(mask, { ...options, returnIndices: true });
      const plain = edt(mask, options);
      assert.deepEqual(r.data, plain.data, "distances unchanged by returnIndices");
      assert.deepEqual(r.indices.shape, [c.spatialDims, ...c.shape]);
      const total = c.mask.length;
      const d = c.spatialDims;
      let differ = 0; // ties decided otherwise than scipy (724 of 25,964 elements over all cases)
      for (let i = 0; i < total; i++) {
        const ours = Array.from({ length: d }, (_, a) => r.indices.data[a * total + i]!);
        const theirs = Array.from({ length: d }, (_, a) => c.scipy[a * total + i]!);
        // the returned element is a zero element of the same volume
        const vol = total / c.shape.slice(c.shape.length - d).reduce((x, y) => x * y, 1);
        const base = i - (i % (total / vol));
        let flat = 0;
        for (let a = 0; a < d; a++) flat = flat * c.shape[c.shape.length - d + a]! + ours[a]!;
        assert.equal(c.mask[base + flat], 0, `${c.name}[${i}] points at a zero`);
        // its distance is the distance (float32 rounding of the EDT)
        const dist = distanceTo(c, i, ours);
        const want = r.data[i]!;
        assert.ok(
          Math.abs(dist - want) <= 1e-6 * Math.max(1, want),
          `${c.name}[${i}]: distance to ${ours} is ${dist}, EDT ${want}`,
        );
        // where scipy chose another element, it is a tie: the same distance
        if (ours.some((v, a) => v !== theirs[a])) {
          differ++;
          const other = distanceTo(c, i, theirs);
          assert.ok(
            Math.abs(other - dist) <= 1e-6 * Math.max(1, dist),
            `${c.name}[${i}]: scipy's ${theirs} at ${other}, ours ${ours} at ${dist}`,
          );
        }
        // the documented tie rule (smallest coordinates, first axis first), exact for
        // integer spacing
        if (c.smallest !== undefined && c.spacing.every(Number.isInteger)) {
          const want0 = Array.from({ length: d }, (_, a) => c.smallest![a * total + i]!);
          assert.deepEqual(ours, want0, `${c.name}[${i}] tie rule`);
        }
      }
    });
  }

  test("a volume without zeros gets -1 (distance Infinity); its batch neighbour does not", () => {
    const mask = { data: new Uint8Array([1, 1, 1, 1, 0, 1]), shape: [2, 3] };
    const r = edt(mask, { spatialDims: 1, returnIndices: true });
    assert.deepEqual(Array.from(r.data), [Infinity, Infinity, Infinity, 1, 0, 1]);
    assert.deepEqual(Array.from(r.indices.data), [-1, -1, -1, 1, 1, 1]);
  });

  test("hand-derived ties: the centre of a square of zeros picks the smallest corner", () => {
    // 3x3, zeros at the four corners, spacing 1: the centre is sqrt(2) from each corner
    const mask = { data: new Uint8Array([0, 1, 0, 1, 1, 1, 0, 1, 0]), shape: [3, 3] };
    const r = edt(mask, { returnIndices: true });
    assert.equal(r.indices.data[4], 0); // row of the centre's nearest zero
    assert.equal(r.indices.data[9 + 4], 0); // its column
    // with spacing [1, 3] the top-middle element (0, 1) is 3 from both (0, 0) and (0, 2) and
    // sqrt(1 + 9) from the bottom corners: the smaller column wins
    const s = edt(mask, { spacing: [1, 3], returnIndices: true });
    assert.equal(s.data[1], 3);
    assert.deepEqual([s.indices.data[1], s.indices.data[9 + 1]], [0, 0]);
  });

  test("returnIndices must be a boolean; false returns the plain distances", () => {
    const mask = { data: new Uint8Array([0, 1]), shape: [2] };
    assert.throws(() => edt(mask, { returnIndices: 1 as unknown as boolean }), TypeError);
    const r = edt(mask, { returnIndices: false });
    assert.equal("indices" in r, false);
  });
});
