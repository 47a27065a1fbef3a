// Plugins: a third-party loss (Tversky) and a third-party distance transform (chessboard
// distance) plugged in through createRegistry, without touching segloss's files; built-in
// names and lookups. Runs under `deno test` and `bun test`.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { builtinPlugins, createRegistry, createScorer, defaultRegistry } from "../mod.ts";
import { sizeOf } from "../core/ndarray.ts";
import type { DistancePlugin, LossPlugin, NdArray, Statistics } from "../mod.ts";

// ---- a third party's Tversky loss, written against the public interfaces only
const tversky: LossPlugin<"tversky"> = {
  kind: "loss",
  name: "tversky",
  description: "Tversky loss (alpha weighs false positives, beta false negatives)",
  create(options = {}) {
    const alpha = (options.alpha as number | undefined) ?? 0.3;
    const beta = (options.beta as number | undefined) ?? 0.7;
    const s = 1e-6;
    // per (n, c ≥ 1): 1 − (A + s) / ((1 − α − β)A + αP + βT + s), A = Σpt, P = Σp, T = Σt
    const each = (st: Statistics, f: (k: number, A: number, D: number) => void) => {
      const { pt, p, t } = st.sums;
      for (let n = 0; n < st.numSamples; n++) {
        for (let c = 1; c < st.numClasses; c++) {
          const k = n * st.numClasses + c;
          const A = pt![k]!;
          f(k, A, (1 - alpha - beta) * A + alpha * p![k]! + beta * t![k]! + s);
        }
      }
    };
    return {
      name: "tversky",
      kind: "region",
      terms: ["pt", "p", "t"],
      needsDistance: false,
      value(st) {
        let sum = 0;
        each(st, (_k, A, D) => sum += 1 - (A + s) / D);
        return sum / (st.numSamples * (st.numClasses - 1));
      },
      gradient(st) {
        const m = 1 / (st.numSamples * (st.numClasses - 1));
        const gt = new Float64Array(st.numSamples * st.numClasses);
        const g1 = new Float64Array(gt.length);
        each(st, (k, A, D) => {
          gt[k] = m * (-1 / D + (A + s) * (1 - alpha - beta) / (D * D));
          g1[k] = m * (A + s) * alpha / (D * D);
        });
        return { t: gt, one: g1 };
      },
    };
  },
};

// ---- a third party's distance transform: chessboard (L∞) distance, brute force
function chessboard(mask: NdArray, spatialDims: number, spacing: readonly number[]): Float32Array {
  const spatial = mask.shape.slice(mask.shape.length - spatialDims);
  const vol = sizeOf(spatial);
  const out = new Float32Array(mask.data.length);
  const coords = (i: number) => {
    const c: number[] = [];
    for (let a = spatialDims - 1; a >= 0; a--) {
      c[a] = i % spatial[a]!;
      i = Math.floor(i / spatial[a]!);
    }
    return c;
  };
  for (let b = 0; b < mask.data.length / vol; b++) {
    for (let i = 0; i < vol; i++) {
      if (Number(mask.data[b * vol + i]) === 0) continue;
      let best = Infinity;
      const ci = coords(i);
      for (let j = 0; j < vol; j++) {
        if (Number(mask.data[b * vol + j]) !== 0) continue;
        const cj = coords(j);
        let d = 0;
        for (let a = 0; a < spatialDims; a++) {
          d = Math.max(d, Math.abs(ci[a]! - cj[a]!) * spacing[a]!);
        }
        best = Math.min(best, d);
      }
      out[b * vol + i] = best;
    }
  }
  return out;
}

const chessboardPlugin: DistancePlugin<"chessboard"> = {
  kind: "distance",
  name: "chessboard",
  create: () => ({
    name: "chessboard",
    exact: true,
    edt: (mask, o = {}) => {
      const dims = o.spatialDims ?? mask.shape.length;
      const spacing = o.spacing ?? new Array(dims).fill(1);
      return Promise.resolve({ data: chessboard(mask, dims, spacing), shape: [...mask.shape] });
    },
  }),
};

describe("third-party plugins", () => {
  // one sample, 2 classes, 5x5, a 2x3 object; probabilities p1 given, p0 = 1 − p1
  const H = 5, W = 5;
  const labels = new Uint8Array(H * W);
  for (let y = 1; y < 3; y++) for (let x = 1; x < 4; x++) labels[y * W + x] = 1;
  const p1 = Float64Array.from({ length: H * W }, (_, i) => 0.1 + 0.8 * ((i * 7) % 11) / 10);
  const probs = new Float64Array(2 * H * W);
  p1.forEach((p, i) => {
    probs[i] = 1 - p;
    probs[H * W + i] = p;
  });
  const input = { data: probs, shape: [1, 2, H, W] };
  const target = { data: labels, shape: [1, H, W] };
  const registry = createRegistry([...builtinPlugins, tversky, chessboardPlugin]);

  test("a third-party loss is scored by name and matches a direct computation", async () => {
    const scorer = await createScorer({
      input: "probs",
      losses: [{ name: "tversky", options: { alpha: 0.4, beta: 0.6 } }, { name: "dice" }],
    }, { registry });
    const r = await scorer.evaluate({ input, target });
    let tp = 0, fp = 0, fn = 0;
    labels.forEach((l, i) => {
      tp += p1[i]! * l;
      fp += p1[i]! * (1 - l);
      fn += (1 - p1[i]!) * l;
    });
    const expected = 1 - (tp + 1e-6) / (tp + 0.4 * fp + 0.6 * fn + 1e-6);
    assert.ok(Math.abs(r.terms.tversky! - expected) < 1e-12, `${r.terms.tversky} vs ${expected}`);
    assert.ok(Math.abs(r.total - (r.terms.tversky! + r.terms.dice!)) < 1e-12);
    scorer.dispose();
  });

  test("a third-party loss gets correct gradients through the CPU backend (finite differences)", async () => {
    const scorer = await createScorer({ input: "logits", losses: [{ name: "tversky" }] }, {
      registry,
    });
    const z = Float64Array.from(probs, (p) => Math.log(p));
    const r = await scorer.evaluate({ input: { ...input, data: z }, target, gradient: true });
    const h = 1e-5;
    for (let i = 0; i < z.length; i += 3) {
      const z0 = z[i]!;
      z[i] = z0 + h;
      const fp = (await scorer.evaluate({ input: { ...input, data: z }, target })).total;
      z[i] = z0 - h;
      const fm = (await scorer.evaluate({ input: { ...input, data: z }, target })).total;
      z[i] = z0;
      const fd = (fp - fm) / (2 * h);
      assert.ok(
        Math.abs(r.gradient!.data[i]! - fd) < 1e-7,
        `element ${i}: ${r.gradient!.data[i]} vs ${fd}`,
      );
    }
    scorer.dispose();
  });

  test("a third-party distance transform feeds the boundary loss", async () => {
    const spacing = [2, 1];
    const scorer = await createScorer({
      input: "probs",
      distance: "chessboard",
      losses: [{ name: "boundary" }],
    }, { registry });
    assert.equal(scorer.distance, "chessboard");
    const r = await scorer.evaluate({ input, target, spacing });
    // kervadec convention by hand: outside, L∞ distance to the object; inside, −(distance
    // to the background − 1)
    let sum = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const inside = labels[y * W + x] === 1;
        let best = Infinity;
        for (let v = 0; v < H; v++) {
          for (let u = 0; u < W; u++) {
            if ((labels[v * W + u] === 1) === inside) continue;
            best = Math.min(best, Math.max(Math.abs(v - y) * spacing[0]!, Math.abs(u - x)));
          }
        }
        const phi = inside ? -(best - 1) : best;
        sum += p1[y * W + x]! * phi;
      }
    }
    const expected = sum / (H * W);
    assert.ok(Math.abs(r.terms.boundary! - expected) < 1e-6, `${r.terms.boundary} vs ${expected}`);
    // and it differs from the Euclidean default (so the plugin really was used)
    const euclid = await createScorer({ input: "probs", losses: [{ name: "boundary" }] });
    const e = await euclid.evaluate({ input, target, spacing });
    assert.ok(Math.abs(e.terms.boundary! - expected) > 1e-3);
    scorer.dispose();
    euclid.dispose();
  });

  test("a plugin registered later under a built-in name replaces it", () => {
    const mine: LossPlugin<"dice"> = { ...tversky, name: "dice" } as unknown as LossPlugin<"dice">;
    const r = createRegistry([...builtinPlugins, mine]);
    assert.equal(r.get("loss", "dice"), mine);
    assert.notEqual(defaultRegistry.get("loss", "dice"), mine);
  });
});

describe("built-in plugins", () => {
  test("the built-ins are registered under their documented names", () => {
    for (const name of ["dice", "generalized-dice", "cross-entropy", "boundary"]) {
      assert.equal(defaultRegistry.get("loss", name).name, name);
    }
    assert.equal(defaultRegistry.get("distance", "edt").name, "edt");
    assert.equal(defaultRegistry.get("backend", "cpu").priority, 0);
  });
  test("an unknown name throws a RangeError listing the known ones", () => {
    assert.throws(
      () => defaultRegistry.get("loss", "focal"),
      (e: Error) =>
        e instanceof RangeError && /"focal"/.test(e.message) && /"boundary"/.test(e.message),
    );
  });
});
