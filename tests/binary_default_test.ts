// Capabilities as interface members: a loss plugin's `binaryDefault` (the options it takes on a
// single sigmoid channel) is what the scorer applies, for built-ins and third parties alike.
// Expected values are hand derivations written beside each assertion.
import { test } from "node:test";
import assert from "node:assert/strict";
import { builtinPlugins, createRegistry, createScorer, diceLoss, dicePlugin } from "../mod.ts";
import type { LossPlugin, Statistics } from "../mod.ts";

/**
 * A third-party region loss: the mean predicted probability of the classes it scores
 * (`classes`, default all), over samples, classes and voxels. With `binary` it declares the
 * capability: on a single sigmoid channel it scores the foreground class 1 only.
 */
function volumePlugin(binary: boolean): LossPlugin<"volume"> {
  return {
    kind: "loss",
    name: "volume",
    create(options = {}) {
      const classes = options.classes as number[] | undefined;
      const pick = (s: Statistics) => classes ?? Array.from({ length: s.numClasses }, (_, c) => c);
      return {
        name: "volume",
        kind: "region",
        terms: ["p"],
        needsDistance: false,
        value(s) {
          const K = pick(s);
          let v = 0;
          for (let n = 0; n < s.numSamples; n++) {
            for (const c of K) v += s.sums.p![n * s.numClasses + c]!;
          }
          return v / (s.numSamples * K.length * s.voxels);
        },
        gradient(s) {
          const K = pick(s);
          const one = new Float64Array(s.numSamples * s.numClasses);
          for (let n = 0; n < s.numSamples; n++) {
            for (const c of K) one[n * s.numClasses + c] = 1 / (s.numSamples * K.length * s.voxels);
          }
          return { one };
        },
      };
    },
    ...(binary ? { binaryDefault: (o: Record<string, unknown>) => ({ ...o, classes: [1] }) } : {}),
  };
}

// one sample, one sigmoid channel, three voxels: expanded to [1 − p, p]
const input = { data: new Float64Array([0.2, 0.9, 0.6]), shape: [1, 1, 3] };
const target = { data: new Uint8Array([0, 1, 1]), shape: [1, 3] };

test("a third-party loss with binaryDefault scores the foreground on a sigmoid channel", async () => {
  const registry = createRegistry([...builtinPlugins, volumePlugin(true)]);
  const scorer = await createScorer({ input: "probs", losses: [{ name: "volume" }] }, {
    registry,
  });
  const r = await scorer.evaluate({ input, target, gradient: true });
  // class 1 only: (0.2 + 0.9 + 0.6) / 3
  assert.ok(Math.abs(r.terms.volume! - 1.7 / 3) < 1e-15, `${r.terms.volume}`);
  // dL/dp of the single channel = g1 − g0 = 1/3 − 0
  for (const g of r.gradient!.data) assert.ok(Math.abs(g - 1 / 3) < 1e-15, `${g}`);
  scorer.dispose();
});

test("without binaryDefault the same loss gets its options as given (both classes)", async () => {
  const registry = createRegistry([...builtinPlugins, volumePlugin(false)]);
  const scorer = await createScorer({ input: "probs", losses: [{ name: "volume" }] }, {
    registry,
  });
  const r = await scorer.evaluate({ input, target, gradient: true });
  // both classes: ((0.8 + 0.1 + 0.4) + (0.2 + 0.9 + 0.6)) / 6 = 0.5
  assert.ok(Math.abs(r.terms.volume! - 0.5) < 1e-15, `${r.terms.volume}`);
  // g1 − g0 = 1/6 − 1/6
  for (const g of r.gradient!.data) assert.ok(Math.abs(g) < 1e-15, `${g}`);
  scorer.dispose();
});

test("a plugin wrapping dice keeps its binary default: no identity check on the built-in", async () => {
  const myDice: LossPlugin<"my-dice"> = { ...dicePlugin, name: "my-dice" };
  const registry = createRegistry([...builtinPlugins, myDice]);
  const options = { smoothNr: 0, smoothDr: 0 };
  const scorer = await createScorer({
    input: "probs",
    losses: [{ name: "my-dice", options }, { name: "dice", options }],
  }, { registry });
  const r = await scorer.evaluate({ input, target });
  // class 1 only: 1 − 2·(0.9 + 0.6) / ((0.2 + 0.9 + 0.6) + 2) = 1 − 3/3.7
  const want = 1 - 3 / 3.7;
  assert.ok(Math.abs(r.terms["my-dice"]! - want) < 1e-15, `${r.terms["my-dice"]}`);
  assert.ok(Math.abs(r.terms.dice! - want) < 1e-15, `${r.terms.dice}`);
  assert.ok(Math.abs(diceLoss(input, target, options) - want) < 1e-15);
  scorer.dispose();
});
