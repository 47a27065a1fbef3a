// Capabilities as interface members, transform side (CPU): a distance transform that declares
// `labelMaps` (its edt is exact) gets signedDistance's one-pass label path, built-in or not;
// one that does not is called per class. Expected maps are hand derivations.
import { test } from "node:test";
import assert from "node:assert/strict";
import { builtinPlugins, createRegistry, createScorer, edt, signedDistance } from "../mod.ts";
import type { DistancePlugin, DistanceTransform } from "../mod.ts";

/** A third party's exact transform (segloss's edt inside), counting its calls. */
function counting(declare: boolean): DistanceTransform & { calls: number } {
  const t = {
    name: "mine",
    exact: true,
    calls: 0,
    edt(mask: Parameters<DistanceTransform["edt"]>[0], o?: Parameters<typeof edt>[1]) {
      t.calls++;
      return Promise.resolve(edt(mask, o));
    },
    // a pool handle segloss did not make is ignored: the label path runs on this thread
    ...(declare ? { labelMaps: { pool: () => ({}) } } : {}),
  };
  return t;
}

// labels 0 1 1 0: class 1 (kervadec) is 1 outside at distance 1, 0 on its innermost layer;
// class 0 likewise mirrored
const labels = { data: new Uint8Array([0, 1, 1, 0]), shape: [1, 4] };
const expected = [0, 1, 1, 0, 1, 0, 0, 1];

test("a transform declaring labelMaps takes the one-pass label path (edt never called)", async () => {
  const t = counting(true);
  const d = await signedDistance(labels, { numClasses: 2, transform: t });
  assert.deepEqual(Array.from(d.data), expected);
  assert.equal(t.calls, 0);
});

test("without labelMaps the transform's edt is called (class and complement, per class)", async () => {
  const t = counting(false);
  const d = await signedDistance(labels, { numClasses: 2, transform: t });
  assert.deepEqual(Array.from(d.data), expected);
  assert.ok(t.calls > 0, "edt was called");
});

test("through the scorer: a registered transform with labelMaps feeds the boundary loss", async () => {
  const t = counting(true);
  const plugin: DistancePlugin<"mine"> = { kind: "distance", name: "mine", create: () => t };
  const registry = createRegistry([...builtinPlugins, plugin]);
  const scorer = await createScorer({
    input: "probs",
    distance: "mine",
    losses: [{ name: "boundary" }],
  }, { registry });
  // class 1 probabilities 0.5 0.25 1 0: mean of p·phi = (0.5·1 + 0 + 0 + 0·1) / 4
  const r = await scorer.evaluate({
    input: { data: new Float64Array([0.5, 0.75, 0, 1, 0.5, 0.25, 1, 0]), shape: [1, 2, 4] },
    target: labels,
  });
  assert.equal(r.terms.boundary, 0.125);
  assert.equal(t.calls, 0);
  scorer.dispose();
});
