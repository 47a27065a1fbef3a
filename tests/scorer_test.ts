// createScorer: totals against independent numpy numbers (make_loss_fixtures.py), distance
// handling, "auto" backends, config and request validation, the CPU backend directly.
// Runs under `deno test` and `bun test`.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  builtinPlugins,
  createCpuBackend,
  createRegistry,
  createScorer,
  edt,
  type NdArray,
  signedDistance,
} from "../mod.ts";
import type {
  BackendPlugin,
  DistancePlugin,
  EvaluateResult,
  FloatArray,
  ScorerConfig,
  Statistics,
} from "../mod.ts";
import fixtures from "./fixtures/loss_cases.json" with { type: "json" };

function close(actual: number, expected: number, tol: number, what: string) {
  const err = Math.abs(actual - expected);
  assert.ok(
    err <= tol * Math.max(1, Math.abs(expected)),
    `${what}: expected ${expected}, got ${actual} (error ${err})`,
  );
}

const allCases = [...fixtures.cases, ...fixtures.binary_cases];

describe("scorer totals match numpy (make_loss_fixtures.py)", () => {
  for (const s of fixtures.scorer) {
    const c = allCases.find((x) => x.name === s.case)!;
    for (const kind of ["float32", "float64"] as const) {
      test(`${s.case}, ${s.config.losses.map((l) => l.name).join(" + ")}, epoch ${s.epoch} (${kind})`, async () => {
        const scorer = await createScorer(s.config as ScorerConfig);
        const data = kind === "float32" ? Float32Array.from(c.logits) : Float64Array.from(c.logits);
        const r = await scorer.evaluate({
          input: { data, shape: c.shape },
          target: { data: Int32Array.from(c.labels), shape: [c.shape[0]!, ...c.shape.slice(2)] },
          epoch: s.epoch,
          gradient: true,
          ...(c.spacing ? { spacing: c.spacing } : {}),
        });
        // float32 maps (square roots) limit both kinds to ~1e-8 (measured 1.05e-8)
        const tol = 1e-7;
        close(r.total, s.total, tol, "total");
        assert.deepEqual(Object.keys(r.terms), Object.keys(s.terms));
        for (const [k, v] of Object.entries(s.terms as unknown as Record<string, number>)) {
          close(r.terms[k]!, v, tol, k);
        }
        for (const [k, v] of Object.entries(s.weights as unknown as Record<string, number>)) {
          close(r.weights[k]!, v, 1e-12, `weight ${k}`);
        }
        assert.deepEqual(r.gradient!.shape, c.shape);
        assert.ok(
          r.gradient!.data instanceof (kind === "float32" ? Float32Array : Float64Array),
        );
        scorer.dispose();
      });
    }
  }
});

describe("distance maps", () => {
  const c = fixtures.cases[3]!; // 3-D with spacing
  const input = { data: Float32Array.from(c.logits), shape: c.shape };
  const target = { data: Int32Array.from(c.labels), shape: [c.shape[0]!, ...c.shape.slice(2)] };

  test("precomputed maps give the same result as computed ones, and skip the transform", async () => {
    let calls = 0;
    const counting: DistancePlugin<"counting"> = {
      kind: "distance",
      name: "counting",
      create: () => ({
        name: "counting",
        exact: true,
        edt: (m, o) => {
          calls++;
          return Promise.resolve(edt(m, o));
        },
      }),
    };
    const registry = createRegistry([...builtinPlugins, counting]);
    const config: ScorerConfig = {
      distance: "counting",
      losses: [{ name: "dice" }, { name: "boundary" }],
    };
    const scorer = await createScorer(config, { registry });
    const a = await scorer.evaluate({ input, target, spacing: c.spacing!, gradient: true });
    assert.equal(calls, 1);
    const distance = { data: Float32Array.from(c.signed_distance), shape: c.shape };
    const b = await scorer.evaluate({ input, target, distance, gradient: true });
    assert.equal(calls, 1, "no transform call with precomputed maps");
    close(a.total, b.total, 1e-7, "total"); // our maps vs scipy's, both float32: 0 measured
    a.gradient!.data.forEach((x, i) => close(x, b.gradient!.data[i]!, 1e-7, `g[${i}]`));
    // without a distance loss the transform is never called
    const dice = await createScorer({ distance: "counting", losses: [{ name: "dice" }] }, {
      registry,
    });
    await dice.evaluate({ input, target, gradient: true });
    assert.equal(calls, 1);
    scorer.dispose();
    dice.dispose();
  });

  test("spacing changes the boundary term as the fixture says", async () => {
    const scorer = await createScorer({ losses: [{ name: "boundary" }] });
    const withSpacing = await scorer.evaluate({ input, target, spacing: c.spacing! });
    const without = await scorer.evaluate({ input, target });
    const expected = c.expected.find((e) =>
      e.loss === "boundary" && Object.keys(e.options).length === 0
    )!;
    // float32 maps with spacing against numpy's float64 (measured 8.7e-10)
    close(withSpacing.terms.boundary!, expected.value, 1e-8, "boundary with spacing");
    assert.ok(Math.abs(without.terms.boundary! - expected.value) > 1e-3);
    scorer.dispose();
  });

  test("signed distance convention is configurable", async () => {
    const scorer = await createScorer({ convention: "signed", losses: [{ name: "boundary" }] });
    const r = await scorer.evaluate({ input, target });
    const phi = await signedDistance(target, { numClasses: 3, convention: "signed" });
    const ref = await createScorer({ losses: [{ name: "boundary" }] });
    const q = await ref.evaluate({ input, target, distance: phi });
    close(r.terms.boundary!, q.terms.boundary!, 1e-9, "signed");
    scorer.dispose();
    ref.dispose();
  });
});

describe("backends", () => {
  // only the cpu backend of the built-ins, so the test does not depend on the machine's GPU
  const base = builtinPlugins.filter((p) => p.kind !== "backend" || p.name === "cpu");
  const fake = (name: string, priority: number, available: boolean): BackendPlugin => ({
    kind: "backend",
    name,
    priority,
    isAvailable: () => available,
    create: () => ({ ...createCpuBackend(), name }),
  });

  test('"auto" picks the highest-priority available backend and reports it', async () => {
    const registry = createRegistry([
      ...base,
      fake("fast-but-absent", 10, false),
      fake("second", 5, true),
    ]);
    const s = await createScorer({ backend: "auto", losses: [{ name: "dice" }] }, { registry });
    assert.equal(s.backend, "second");
    s.dispose();
    const plain = await createScorer({ backend: "auto", losses: [{ name: "dice" }] }, {
      registry: createRegistry([...base, fake("fast-but-absent", 10, false)]),
    });
    assert.equal(plain.backend, "cpu");
    plain.dispose();
    await assert.rejects(
      createScorer({ backend: "fast-but-absent", losses: [{ name: "dice" }] }, {
        registry: createRegistry([...base, fake("fast-but-absent", 10, false)]),
      }),
      (e: Error) => e instanceof RangeError && /not available/.test(e.message),
    );
  });

  test("the CPU backend computes sums from a one-hot target and honours the ignore label", async () => {
    const backend = createCpuBackend();
    const input = { data: new Float64Array([0.2, 0.4, 0.6, 0.8, 0.6, 0.4]), shape: [1, 2, 3] };
    const oh = await backend.prepare({
      input,
      inputKind: "probs",
      numClasses: 2,
      onehot: new Float64Array([1, 0, 0.5, 0, 1, 0.5]),
    });
    const s = await oh.statistics(new Set(["pt", "p", "p2", "t", "t2", "tlogp"]));
    close(s.sums.pt![0]!, 0.2 + 0.3, 1e-12, "pt0");
    close(s.sums.t2![1]!, 1.25, 1e-12, "t2");
    close(s.sums.tlogp![1]!, Math.log(0.6) + 0.5 * Math.log(0.4), 1e-12, "tlogp");
    close(s.sums.p2![0]!, 0.04 + 0.16 + 0.36, 1e-12, "p2");
    const lab = await backend.prepare({
      input,
      inputKind: "probs",
      numClasses: 2,
      labels: new Int32Array([0, 7, 1]),
      ignoreIndex: 7,
    });
    const t = await lab.statistics(new Set(["t", "pt"]));
    assert.deepEqual(Array.from(t.sums.t!), [1, 1]);
    close(t.sums.pt![1]!, 0.4, 1e-12, "pt1");
    await assert.rejects(lab.statistics(new Set(["pphi"])), TypeError);
    await assert.rejects(lab.statistics(new Set(["bogus" as never])), RangeError);
  });
});

describe("config validation", () => {
  const bad: [string, unknown, typeof TypeError | typeof RangeError, RegExp][] = [
    ["unknown loss", { losses: [{ name: "focal" }] }, RangeError, /"focal".*"dice"/],
    ["empty losses", { losses: [] }, TypeError, /config\.losses/],
    ["unknown key", { losses: [{ name: "dice" }], lossses: 1 }, TypeError, /"lossses"/],
    ["negative weight", { losses: [{ name: "dice", weight: -1 }] }, RangeError, /weight/],
    ["bad input kind", { input: "logit", losses: [{ name: "dice" }] }, RangeError, /config\.input/],
    [
      "bad loss option",
      { losses: [{ name: "dice", options: { squared: 1 } }] },
      TypeError,
      /squared/,
    ],
    [
      "unknown loss option",
      { losses: [{ name: "boundary", options: { idc: [1] } }] },
      TypeError,
      /"idc"/,
    ],
    [
      "bad schedule",
      { losses: [{ name: "dice" }], schedule: { kind: "cosine" } },
      RangeError,
      /schedule\.kind/,
    ],
    [
      "bad floor",
      { losses: [{ name: "dice" }], schedule: { kind: "rebalance", floor: 2 } },
      RangeError,
      /floor/,
    ],
    [
      "unknown backend",
      { backend: "cuda", losses: [{ name: "dice" }] },
      RangeError,
      /"cuda".*"cpu"/,
    ],
    [
      "unknown distance",
      { distance: "fmm", losses: [{ name: "boundary" }] },
      RangeError,
      /"fmm".*"edt"/,
    ],
    ["bad convention", { convention: "sdf", losses: [{ name: "dice" }] }, RangeError, /convention/],
    [
      "two ignore labels",
      {
        losses: [{ name: "cross-entropy", options: { ignoreIndex: 1 } }, {
          name: "cross-entropy",
          options: { ignoreIndex: 2 },
        }],
      },
      RangeError,
      /ignoreIndex/,
    ],
    ["not an object", "dice", TypeError, /config/],
  ];
  for (const [what, config, E, re] of bad) {
    test(`createScorer() rejects ${what}`, async () => {
      await assert.rejects(
        createScorer(config as ScorerConfig),
        (e: Error) => e instanceof E && re.test(e.message),
      );
    });
  }
});

describe("evaluate() validation", () => {
  const input = { data: new Float32Array(16), shape: [2, 2, 2, 2] };
  const target = { data: new Uint8Array([0, 1, 1, 0, 1, 1, 0, 0]), shape: [2, 2, 2] };
  const cases: [string, Record<string, unknown>, typeof TypeError | typeof RangeError, RegExp][] = [
    [
      "NaN input",
      { input: { data: new Float32Array(16).fill(NaN), shape: [2, 2, 2, 2] } },
      RangeError,
      /input.*NaN/,
    ],
    [
      "shape/data mismatch",
      { input: { data: new Float32Array(15), shape: [2, 2, 2, 2] } },
      TypeError,
      /input\.data.*16/,
    ],
    [
      "integer input",
      { input: { data: new Int32Array(16), shape: [2, 2, 2, 2] } },
      TypeError,
      /Float32Array/,
    ],
    [
      "4 spatial axes",
      { input: { data: new Float32Array(64), shape: [2, 2, 2, 2, 2, 2] } },
      TypeError,
      /rank/,
    ],
    [
      "empty input",
      { input: { data: new Float32Array(0), shape: [2, 2, 0, 2] } },
      RangeError,
      /input\.shape\[2\]/,
    ],
    [
      "labels out of range",
      { target: { data: new Uint8Array([0, 1, 2, 0, 0, 0, 0, 0]), shape: [2, 2, 2] } },
      RangeError,
      /\[0, 2\).*found 2/,
    ],
    [
      "batch mismatch",
      { target: { data: new Uint8Array(4), shape: [1, 2, 2] } },
      TypeError,
      /batch size.*2.*1/,
    ],
    [
      "class mismatch",
      { target: { data: new Float32Array(24), shape: [2, 3, 2, 2] } },
      RangeError,
      /classes/,
    ],
    ["zero spacing", { spacing: [1, 0] }, RangeError, /spacing\[1\]/],
    ["negative spacing", { spacing: [-1, 1] }, RangeError, /spacing\[0\]/],
    ["wrong spacing length", { spacing: [1, 1, 1] }, TypeError, /spacing.*2/],
    ["negative epoch", { epoch: -1 }, RangeError, /epoch/],
    ["unknown key", { gradients: true }, TypeError, /"gradients"/],
    [
      "bad distance",
      { distance: { data: new Float32Array(8), shape: [2, 1, 2, 2] } },
      TypeError,
      /distance/,
    ],
    [
      "NaN distance",
      { distance: { data: new Float32Array(16).fill(NaN), shape: [2, 2, 2, 2] } },
      RangeError,
      /distance/,
    ],
  ];
  for (const [what, patch, E, re] of cases) {
    test(`evaluate() rejects ${what}`, async () => {
      const scorer = await createScorer({ losses: [{ name: "dice" }, { name: "boundary" }] });
      await assert.rejects(
        scorer.evaluate({ input, target, ...patch } as never),
        (e: Error) => e instanceof E && re.test(e.message),
      );
      scorer.dispose();
    });
  }
  test("evaluate() after dispose() throws", async () => {
    const scorer = await createScorer({ losses: [{ name: "dice" }] });
    scorer.dispose();
    await assert.rejects(scorer.evaluate({ input, target }), TypeError);
  });
  test("1-D spatial input and any integer label type work", async () => {
    const scorer = await createScorer({
      input: "probs",
      losses: [{ name: "dice", options: { smoothNr: 0, smoothDr: 0 } }],
    });
    for (const L of [Uint8Array, Int16Array, Uint32Array, Float64Array]) {
      const r = await scorer.evaluate({
        input: { data: new Float64Array([1, 0, 0, 1]), shape: [1, 2, 2] } as NdArray,
        target: { data: new L([0, 1]), shape: [1, 2] },
      });
      close(r.total, 0, 1e-12, L.name);
    }
    const big = await scorer.evaluate({
      input: { data: new Float64Array([1, 0, 0, 1]), shape: [1, 2, 2] },
      target: { data: new BigInt64Array([0n, 1n]), shape: [1, 2] },
    });
    close(big.total, 0, 1e-12, "bigint labels");
    scorer.dispose();
  });
});

test("single sigmoid channel: labels, 1-channel and 2-channel one-hot targets agree", async () => {
  const c = fixtures.binary_cases[0]!;
  const n = c.shape[0]!, vol = c.labels.length / n;
  const input = { data: Float64Array.from(c.logits), shape: c.shape };
  const labels = { data: Uint8Array.from(c.labels), shape: [n, ...c.shape.slice(2)] };
  const one = { data: Float64Array.from(c.labels), shape: c.shape };
  const two = new Float64Array(2 * n * vol);
  c.labels.forEach((l, i) => {
    const s = Math.floor(i / vol), v = i % vol;
    two[(2 * s + l) * vol + v] = 1;
  });
  const scorer = await createScorer({
    losses: [{ name: "dice" }, { name: "cross-entropy" }, { name: "boundary" }],
  });
  const results: EvaluateResult[] = [];
  for (const target of [labels, one, { data: two, shape: [n, 2, ...c.shape.slice(2)] }]) {
    results.push(await scorer.evaluate({ input, target, gradient: true }));
  }
  for (const r of results.slice(1)) {
    close(r.total, results[0]!.total, 1e-12, "total");
    r.gradient!.data.forEach((x, i) => close(x, results[0]!.gradient!.data[i]!, 1e-12, `g${i}`));
  }
  const expected = c.expected.reduce((a, e) => a + e.value, 0) - c.expected[1]!.value; // no GDL
  close(results[0]!.total, expected, 1e-9, "numpy total");
  scorer.dispose();
});

test("cpu backendOptions: without the probability cache the gradient is the same", async () => {
  const c = fixtures.cases[0]!;
  const input = { data: Float64Array.from(c.logits), shape: c.shape };
  const target = { data: Int32Array.from(c.labels), shape: [c.shape[0]!, ...c.shape.slice(2)] };
  const losses = [{ name: "dice" }, { name: "cross-entropy" }, { name: "boundary" }];
  const a = await createScorer({ losses });
  const b = await createScorer({ losses, backendOptions: { cacheProbabilities: false } });
  const ra = await a.evaluate({ input, target, gradient: true });
  const rb = await b.evaluate({ input, target, gradient: true });
  assert.equal(ra.total, rb.total);
  ra.gradient!.data.forEach((x, i) => close(x, rb.gradient!.data[i]!, 1e-14, `g${i}`));
  await assert.rejects(
    createScorer({ losses, backendOptions: { threads: 2 } }),
    (e: Error) => e instanceof TypeError && /"threads"/.test(e.message),
  );
  a.dispose();
  b.dispose();
});

describe("the WebAssembly SIMD path of the cpu backend agrees with the float64 JS path", () => {
  test("SIMD is available on this runtime (Deno and Bun both have WebAssembly SIMD)", async () => {
    const { simdAvailable } = await import("../backends/cpu/_kernel_simd.ts");
    assert.equal(simdAvailable(), true);
  });
  const rnd = (seed: number) => () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 4294967296;
  };
  const configs: ScorerConfig[] = [
    { losses: [{ name: "dice" }, { name: "boundary", weight: 0.01 }] },
    {
      losses: [
        { name: "generalized-dice", options: { weightType: "square" } },
        { name: "dice", options: { squared: true, batch: true, includeBackground: false } },
        { name: "boundary", options: { includeBackground: true } },
      ],
      schedule: { kind: "rebalance" },
    },
  ];
  // tails (voxels past a multiple of 4), several blocks, no tail, and too few voxels for SIMD
  for (const shape of [[2, 3, 23, 37], [1, 2, 9, 10, 11], [3, 4, 16, 16], [2, 3, 3]]) {
    test(`float32 logits ${shape.join("x")}: totals and gradients match`, async () => {
      const r = rnd(shape.reduce((a, b) => a * b, 7));
      const size = shape.reduce((a, b) => a * b, 1);
      const input = { data: Float32Array.from({ length: size }, () => 6 * r() - 3), shape };
      const ls = [shape[0]!, ...shape.slice(2)];
      const nl = ls.reduce((a, b) => a * b, 1);
      const labels = Int32Array.from(
        { length: nl },
        () => r() < 0.05 ? 255 : Math.floor(r() * shape[1]!),
      );
      const plain = { data: labels.map((l) => l === 255 ? 0 : l), shape: ls };
      const C = shape[1]!;
      const ce: ScorerConfig = {
        losses: [
          {
            name: "cross-entropy",
            options: { weights: Array.from({ length: C }, (_, c) => c + 1) },
          },
          { name: "dice", weight: 0.5 },
        ],
      };
      for (const config of [...configs, ce]) {
        const simd = await createScorer(config);
        const js = await createScorer({ ...config, backendOptions: { simd: false } });
        const ra = await simd.evaluate({ input, target: plain, gradient: true, epoch: 3 });
        const rb = await js.evaluate({ input, target: plain, gradient: true, epoch: 3 });
        // SIMD: float32 arithmetic, float64 sums, against the float64 JS path (measured
        // 1.8e-9 for the terms, 5.2e-7 of the largest gradient element)
        for (const k of Object.keys(rb.terms)) close(ra.terms[k]!, rb.terms[k]!, 2e-8, k);
        let gmax = 0;
        rb.gradient!.data.forEach((x) => gmax = Math.max(gmax, Math.abs(x)));
        ra.gradient!.data.forEach((x, i) => {
          const err = Math.abs(x - rb.gradient!.data[i]!);
          assert.ok(err <= 5e-6 * gmax, `g[${i}]: ${x} vs ${rb.gradient!.data[i]} (max ${gmax})`);
        });
        simd.dispose();
        js.dispose();
      }
      // the backend directly, with an ignore label and maps
      const distance = await signedDistance(plain, { numClasses: C });
      const sums: Statistics[] = [], grads: FloatArray[] = [];
      const coef = () => Float64Array.from({ length: shape[0]! * C }, () => r() - 0.5);
      const g = { t: coef(), one: coef(), p: coef(), phi: coef(), tOverP: coef() };
      for (const simd of [true, false]) {
        const prepared = await createCpuBackend({ simd }).prepare({
          input,
          inputKind: "logits",
          numClasses: C,
          labels,
          ignoreIndex: 255,
          distance,
        });
        sums.push(
          await prepared.statistics(new Set(["p", "p2", "pt", "t", "t2", "pphi", "tlogp"])),
        );
        grads.push(await prepared.gradient(g));
        // statistics again after the gradient pass: the same sums (the JS path then reads its
        // float32 probability cache, hence not bit-identical)
        const again = await prepared.statistics(new Set(["p", "pt", "pphi"]));
        for (const term of ["p", "pt", "pphi"] as const) {
          again.sums[term]!.forEach((x, i) => close(x, sums.at(-1)!.sums[term]![i]!, 1e-7, term));
        }
        prepared.dispose();
      }
      for (const term of ["p", "p2", "pt", "t", "t2", "pphi", "tlogp"] as const) {
        // the sums directly (measured 2.2e-8) and a random gradient (1.5e-7)
        sums[0]!.sums[term]!.forEach((x, i) => close(x, sums[1]!.sums[term]![i]!, 2e-7, term));
      }
      grads[0]!.forEach((x, i) => close(x, grads[1]![i]!, 2e-6, `backend g[${i}]`));
    });
  }
});

test("one scorer, batches of changing sizes: the reused SIMD memory gives the same results", async () => {
  const simd = await createScorer({ losses: [{ name: "dice" }, { name: "boundary" }] });
  const js = await createScorer({
    losses: [{ name: "dice" }, { name: "boundary" }],
    backendOptions: { simd: false },
  });
  let seed = 3;
  const r = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 4294967296;
  for (const shape of [[1, 2, 8, 8], [2, 4, 40, 30], [1, 3, 12, 12], [2, 4, 40, 30]]) {
    const size = shape.reduce((a, b) => a * b, 1);
    const input = { data: Float32Array.from({ length: size }, () => 4 * r() - 2), shape };
    const ls = [shape[0]!, ...shape.slice(2)];
    const labels = Uint8Array.from({ length: size / shape[1]! }, () => Math.floor(r() * shape[1]!));
    const target = { data: labels, shape: ls };
    const a = await simd.evaluate({ input, target, gradient: true });
    const b = await js.evaluate({ input, target, gradient: true });
    // measured 5.6e-10 (total) and 1.2e-9 (gradient)
    close(a.total, b.total, 1e-8, `total ${shape}`);
    a.gradient!.data.forEach((x, i) => close(x, b.gradient!.data[i]!, 2e-8, `g${i} ${shape}`));
  }
  simd.dispose();
  js.dispose();
});

test("one scorer reusing its distance-map buffer: alternating and concurrent batches keep their own maps", async () => {
  // the cpu backend keeps one signed-distance buffer between batches of a size; a stale map
  // from the previous batch (or one shared by two batches in flight) would change the boundary
  // term. Each batch's value is checked against its boundary term computed by hand from
  // signedDistance: the mean over (n, c in {1, 2} (background excluded, docs/losses.md),
  // voxels) of softmax(z)_c·φ_c.
  const config = { losses: [{ name: "boundary" as const }] };
  const reused = await createScorer(config);
  const shape = [2, 3, 24, 20];
  const size = shape.reduce((a, b) => a * b, 1);
  let seed = 11;
  const r = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 4294967296;
  const batches = [0, 1, 2].map(() => ({
    input: { data: Float32Array.from({ length: size }, () => 4 * r() - 2), shape },
    target: {
      data: Uint8Array.from({ length: size / 3 }, () => Math.floor(r() * 3)),
      shape: [2, 24, 20],
    },
  }));
  const byHand = async (b: (typeof batches)[number]) => {
    const phi = (await signedDistance(b.target, { numClasses: 3 })).data;
    const vol = 24 * 20;
    let sum = 0;
    for (let n = 0; n < 2; n++) {
      for (let v = 0; v < vol; v++) {
        const z = [0, 1, 2].map((c) => b.input.data[(n * 3 + c) * vol + v]!);
        const m = Math.max(...z);
        const e = z.map((x) => Math.exp(x - m));
        const s = e[0]! + e[1]! + e[2]!;
        for (let c = 1; c < 3; c++) sum += (e[c]! / s) * phi[(n * 3 + c) * vol + v]!;
      }
    }
    return sum / (2 * 2 * vol);
  };
  const want = await Promise.all(batches.map(byHand));
  // alternating, one after another
  for (const i of [0, 1, 0, 2, 1, 2]) {
    const got = await reused.evaluate(batches[i]!);
    close(got.total, want[i]!, 1e-6, `batch ${i} (sequential)`);
  }
  // all three in flight at once
  const all = await Promise.all(batches.map((b) => reused.evaluate(b)));
  all.forEach((got, i) => close(got.total, want[i]!, 1e-6, `batch ${i} (concurrent)`));
  reused.dispose();
});
