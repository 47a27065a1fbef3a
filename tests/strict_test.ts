// Strictness of the library (issue 9 items 1 and 10, issue 12 item 5): values the math cannot
// honour are rejected with a precise error instead of returned, sizes are bounded before any
// allocation, caller values are echoed with quote(), unknown option keys get a did-you-mean.
// Expected values are hand derivations written beside each assertion; the rules are in
// docs/errors.md.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  boundaryLoss,
  createEdtWorkerPool,
  createScorer,
  crossEntropyLoss,
  diceLoss,
  edt,
  edtParallel,
  edtTransform,
  generalizedDiceLoss,
  jfaTransform,
  LimitError,
  MAX_CLASSES,
  MAX_ELEMENTS,
  type NdArray,
  SeglossRangeError,
  SeglossTypeError,
  signedDistance,
} from "../mod.ts";

/** Asserts that `f` throws (or rejects with) an instance of `cls` matching `re`; returns it. */
async function rejects<E extends Error>(
  f: () => unknown,
  cls: new (...args: never[]) => E,
  re: RegExp,
): Promise<E> {
  let err: unknown;
  try {
    await f();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
  assert.match((err as Error).message, re);
  return err as E;
}

const p2 = (data: number[]): NdArray => ({ data: new Float32Array(data), shape: [1, 2, 2] });
const labels12 = { data: new Uint8Array([0, 1]), shape: [1, 2] };

describe("probabilities must lie in [0, 1]", () => {
  test("diceLoss(probs) with 5 and -3 is a RangeError naming probs and the first bad index", async () => {
    const e = await rejects(
      () => diceLoss(p2([0.5, 5, 0.5, -3]), labels12),
      SeglossRangeError,
      /Expected probs to hold probabilities in \[0, 1\] but found 5 at flat index 1/,
    );
    assert.equal(e.argument, "probs");
  });

  test("createScorer({ input: 'probs' }) rejects -3 at its flat index, naming input", async () => {
    const scorer = await createScorer({ input: "probs", losses: [{ name: "dice" }] });
    try {
      const e = await rejects(
        () => scorer.evaluate({ input: p2([0.5, 0.5, -3, 0.5]), target: labels12 }),
        SeglossRangeError,
        /found -3 at flat index 2/,
      );
      assert.equal(e.argument, "input");
    } finally {
      scorer.dispose();
    }
  });

  test("float32 rounding just outside [0, 1] is accepted (1 + 2^-23, -2^-24)", () => {
    // p0 = 1 + 2^-23 rounds from a float32 softmax; dice (no smoothing) of [1, 0] vs labels [0, 1]
    // with p = [[1, 0], [0, 1]] is 0 up to that rounding
    const v = diceLoss(p2([1 + 2 ** -23, -(2 ** -24), -(2 ** -24), 1]), labels12, {
      smoothNr: 0,
      smoothDr: 0,
    });
    assert.ok(Math.abs(v) < 1e-6, `dice ${v}`);
  });

  test("per-voxel sums over C are not checked (multi-label sigmoid outputs are allowed)", () => {
    // p = 0.5 everywhere, target [0, 1]: per class Σpt = 0.5, Σp = 1, Σt = 1 → dice 1 − 1/2
    const v = diceLoss(p2([0.5, 0.5, 0.5, 0.5]), labels12, { smoothNr: 0, smoothDr: 0 });
    assert.equal(v, 0.5);
  });

  test("logits stay unbounded (only finite)", async () => {
    const scorer = await createScorer({ input: "logits", losses: [{ name: "dice" }] });
    try {
      const r = await scorer.evaluate({ input: p2([5, -3, -3, 5]), target: labels12 });
      assert.ok(Number.isFinite(r.total));
    } finally {
      scorer.dispose();
    }
  });
});

describe("one-hot targets must hold values in [0, 1]", () => {
  for (const [bad, index] of [[2, 0], [-1, 3], [NaN, 1]] as const) {
    test(`a one-hot target holding ${bad} is a RangeError at flat index ${index}`, async () => {
      const t = [1, 0, 0, 1];
      t[index] = bad;
      const e = await rejects(
        () => diceLoss(p2([0.5, 0.5, 0.5, 0.5]), p2(t)),
        SeglossRangeError,
        new RegExp(`target.*in \\[0, 1\\] but found ${bad} at flat index ${index}`),
      );
      assert.equal(e.argument, "target");
    });
  }

  test("integer one-hot targets are checked too (Int32Array holding 2)", async () => {
    await rejects(
      () =>
        diceLoss(p2([0.5, 0.5, 0.5, 0.5]), {
          data: new Int32Array([2, 0, 0, 1]),
          shape: [1, 2, 2],
        }),
      SeglossRangeError,
      /found 2 at flat index 0/,
    );
  });

  test("soft targets (values in [0, 1], any channel sums) are accepted", () => {
    // p = [[1, 0], [0, 1]] (class 0 at voxel 0, class 1 at voxel 1), t = 0.5 everywhere:
    // per class Σpt = 0.5, Σp = 1, Σt = 1 → dice 1 − 2·0.5/2 = 0.5
    const v = diceLoss(p2([1, 0, 0, 1]), p2([0.5, 0.5, 0.5, 0.5]), { smoothNr: 0, smoothDr: 0 });
    assert.equal(v, 0.5);
  });

  test("the scorer rejects a one-hot 2 as well", async () => {
    const scorer = await createScorer({ losses: [{ name: "dice" }] });
    try {
      await rejects(
        () => scorer.evaluate({ input: p2([0, 0, 0, 0]), target: p2([0, 2, 1, 0]) }),
        SeglossRangeError,
        /found 2 at flat index 1/,
      );
    } finally {
      scorer.dispose();
    }
  });
});

describe("edt masks", () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    test(`${bad} in an edt mask is a RangeError naming mask and the index`, async () => {
      const e = await rejects(
        () => edt({ data: new Float32Array([0, 1, bad, 1]), shape: [4] }),
        SeglossRangeError,
        new RegExp(`Expected mask to hold finite numbers but found ${bad} at flat index 2`),
      );
      assert.equal(e.argument, "mask");
    });
  }

  test("the Worker pool checks the mask the same way", async () => {
    const pool = createEdtWorkerPool({ workers: 1 });
    try {
      await rejects(
        () => pool.edt({ data: new Float64Array([0, NaN]), shape: [2] }),
        SeglossRangeError,
        /found NaN at flat index 1/,
      );
    } finally {
      pool.close();
    }
  });
});

describe("the jump flood checks its arguments before it asks for a GPU", () => {
  // every check below runs before the device is requested, so these hold without WebGPU too
  test("NaN mask, extreme spacing, unknown keys in jfa's edt", async () => {
    const jfa = jfaTransform();
    try {
      await rejects(
        () => jfa.edt({ data: new Float32Array([0, NaN, 1, 1]), shape: [2, 2] }),
        SeglossRangeError,
        /found NaN at flat index 1/,
      );
      await rejects(
        () =>
          jfa.edt({ data: new Uint8Array([0, 1, 1, 1]), shape: [2, 2] }, { spacing: [1, 1e300] }),
        SeglossRangeError,
        /options\.spacing to keep every squared distance finite/,
      );
      await rejects(
        () => jfa.edt({ data: new Uint8Array(4), shape: [2, 2] }, { spatialDim: 2 } as never),
        SeglossTypeError,
        /"spatialDim" \(did you mean "spatialDims"\?\)/,
      );
    } finally {
      jfa.dispose?.();
    }
  });

  test("jfa's signedDistance: numClasses 2^31 is a LimitError, a missing one is named", async () => {
    const jfa = jfaTransform();
    const target = { data: new Uint8Array([0, 1, 1, 0]), shape: [1, 2, 2] };
    try {
      await rejects(() => jfa.signedDistance(target, { numClasses: 2 ** 31 }), LimitError, /65536/);
      await rejects(
        () => jfa.signedDistance(target, {} as never),
        SeglossTypeError,
        /options\.numClasses/,
      );
    } finally {
      jfa.dispose?.();
    }
  });
});

describe("extreme spacing: refused before a result could be non-finite or rounded to 0", () => {
  const target = { data: new Uint8Array([0, 1, 1, 0]), shape: [1, 2, 2] };

  test("signedDistance with spacing [1e-300, 1e300] names options.spacing[0]", async () => {
    const e = await rejects(
      () => signedDistance(target, { numClasses: 2, spacing: [1e-300, 1e300] }),
      SeglossRangeError,
      /options\.spacing\[0\] to be at least 1\.09e-19.*found 1e-300/,
    );
    assert.equal(e.argument, "options.spacing[0]");
  });

  test("signedDistance with spacing [1, 1e300] names options.spacing (float32 range)", async () => {
    const e = await rejects(
      () => signedDistance(target, { numClasses: 2, spacing: [1, 1e300] }),
      SeglossRangeError,
      /options\.spacing to keep every squared distance finite in float32/,
    );
    assert.equal(e.argument, "options.spacing");
  });

  test("edt with spacing [1e20] over 4 elements is refused (distance² 1.6e41 > float32 max)", async () => {
    await rejects(
      () => edt({ data: new Uint8Array([0, 1, 1, 1]), shape: [4] }, { spacing: [1e20] }),
      SeglossRangeError,
      /options\.spacing/,
    );
  });

  test("large but representable spacing still gives exact values", () => {
    // 1-D: distances 0, 1, 2, 3 voxels times 1e9
    const d = edt({ data: new Uint8Array([0, 1, 1, 1]), shape: [4] }, { spacing: [1e9] });
    assert.deepEqual(Array.from(d.data), [0, 1e9, 2e9, 3e9]);
    // 2-D: (0,0) is the only zero; (1,1) is at sqrt(1e18 + 4e18) with spacing [1e9, 2e9]
    const d2 = edt({ data: new Uint8Array([0, 1, 1, 1]), shape: [2, 2] }, { spacing: [1e9, 2e9] });
    assert.ok(Math.abs(d2.data[3]! / Math.sqrt(5e18) - 1) < 1e-6);
  });

  test("the scorer's boundary loss refuses spacing [1e-300, 1e300] instead of total null", async () => {
    const scorer = await createScorer({ losses: [{ name: "boundary" }] });
    try {
      const e = await rejects(
        () =>
          scorer.evaluate({
            input: { data: new Float32Array(8), shape: [1, 2, 2, 2] },
            target,
            spacing: [1e-300, 1e300],
          }),
        SeglossRangeError,
        /spacing\[0\]/,
      );
      assert.equal(e.argument, "spacing[0]");
    } finally {
      scorer.dispose();
    }
  });
});

describe("sizes are bounded before allocation", () => {
  const target = { data: new Uint8Array([0, 1, 1, 0]), shape: [1, 4] };

  test("signedDistance with numClasses 2^31 is a LimitError in milliseconds", async () => {
    const t0 = performance.now();
    const e = await rejects(
      () => signedDistance(target, { numClasses: 2 ** 31 }),
      LimitError,
      /options\.numClasses to be at most 65536 \(MAX_CLASSES\) but found 2147483648/,
    );
    const ms = performance.now() - t0;
    assert.equal(e.limit, MAX_CLASSES);
    assert.equal(e.requested, 2 ** 31);
    // allocating the 2^31·4 maps would take seconds (or fail): the check runs first
    assert.ok(ms < 1000, `took ${ms} ms`);
  });

  test("N·C·voxels over MAX_ELEMENTS is a LimitError (65536 classes × 32768 voxels)", async () => {
    const big = { data: new Uint8Array(32768), shape: [1, 32768] };
    const e = await rejects(
      () => signedDistance(big, { numClasses: 65536 }),
      LimitError,
      /signed distance maps to have at most 2147483647 elements.*2147483648.*N·C·voxels = 1·65536·32768/,
    );
    assert.equal(e.resource, "elements");
    assert.equal(e.limit, MAX_ELEMENTS);
  });

  test("signedDistance(labels) without numClasses names the missing numClasses", async () => {
    for (const options of [undefined, {}]) {
      const e = await rejects(
        () => signedDistance(target, options as never),
        SeglossTypeError,
        /options\.numClasses .*to be given/,
      );
      assert.equal(e.argument, "options.numClasses");
    }
  });

  test("a label >= numClasses is reported with its value and index", async () => {
    await rejects(
      () =>
        signedDistance({ data: new Int32Array([0, 1, 7, 0]), shape: [1, 4] }, { numClasses: 2 }),
      SeglossRangeError,
      /found 7 at flat index 2/,
    );
  });
});

describe("channels-last input is reported as such", () => {
  test("diceLoss with (N, H, W, C) scores and (N, H, W) labels says channels-last", async () => {
    const probs = { data: new Float32Array(1 * 4 * 5 * 3).fill(1 / 3), shape: [1, 4, 5, 3] };
    await rejects(
      () => diceLoss(probs, { data: new Uint8Array(20), shape: [1, 4, 5] }),
      SeglossTypeError,
      /look channels-last \(N, \.\.\.spatial, C\).*transpose/,
    );
  });

  test("the scorer says it for a channels-first one-hot beside channels-last scores", async () => {
    const scorer = await createScorer({ losses: [{ name: "dice" }] });
    try {
      await rejects(
        () =>
          scorer.evaluate({
            input: { data: new Float32Array(1 * 4 * 5 * 3), shape: [1, 4, 5, 3] },
            target: { data: new Float32Array(1 * 3 * 4 * 5), shape: [1, 3, 4, 5] },
          }),
        Error,
        /look channels-last/,
      );
    } finally {
      scorer.dispose();
    }
  });

  test("an ordinary shape mismatch gets no channels-last hint", async () => {
    const probs = { data: new Float32Array(2 * 4 * 5), shape: [1, 2, 4, 5] };
    const e = await rejects(
      () => diceLoss(probs, { data: new Uint8Array(24), shape: [1, 4, 6] }),
      SeglossTypeError,
      /label target to be 5 but found 6/,
    );
    assert.doesNotMatch(e.message, /channels-last/);
  });
});

describe("caller values are echoed with quote()", () => {
  test("a NaN weight is reported as NaN, not null", async () => {
    await rejects(
      () => createScorer({ losses: [{ name: "dice", weight: NaN }] }),
      SeglossRangeError,
      /config\.losses\[0\]\.weight to be a finite number >= 0 but found NaN/,
    );
  });

  test("epoch 1e400 (Infinity) is reported as Infinity", async () => {
    const scorer = await createScorer({ losses: [{ name: "dice" }] });
    try {
      await rejects(
        () => scorer.evaluate({ input: p2([0, 0, 0, 0]), target: labels12, epoch: 1e400 }),
        SeglossRangeError,
        /epoch to be a finite number >= 0 but found Infinity/,
      );
    } finally {
      scorer.dispose();
    }
  });

  test("a 1 MB loss name comes back shortened", async () => {
    const e = await rejects(
      () => createScorer({ losses: [{ name: "x".repeat(1 << 20) }] }),
      RangeError,
      /config\.losses\[0\]\.name/,
    );
    assert.match(e.message, /1048576 characters/);
    assert.ok(e.message.length < 1000, `message of ${e.message.length} characters`);
  });

  test("a 1 MB unknown option key comes back shortened", async () => {
    const e = await rejects(
      () => signedDistance(labels12, { numClasses: 2, ["k".repeat(1 << 20)]: 1 } as never),
      SeglossTypeError,
      /1048576 characters/,
    );
    assert.ok(e.message.length < 1000);
  });

  test("a 1 MB convention string comes back shortened", async () => {
    const e = await rejects(
      () => signedDistance(labels12, { numClasses: 2, convention: "c".repeat(1 << 20) } as never),
      SeglossRangeError,
      /options\.convention/,
    );
    assert.ok(e.message.length < 1000);
  });
});

describe("unknown option keys: TypeError naming the key, the valid ones and the nearest", () => {
  const probs = p2([0.5, 0.5, 0.5, 0.5]);
  const mask = { data: new Uint8Array([0, 1]), shape: [2] };
  const cases: [string, () => unknown, RegExp][] = [
    ["edt", () => edt(mask, { spacin: [1] } as never), /"spacin" \(did you mean "spacing"\?\)/],
    [
      "edtParallel",
      () => edtParallel(mask, { worker: 2 } as never),
      /"worker" \(did you mean "workers"\?\)/,
    ],
    [
      "createEdtWorkerPool",
      () => createEdtWorkerPool({ idleMS: 5 } as never),
      /"idleMS" \(did you mean "idleMs"\?\)/,
    ],
    [
      "edtTransform",
      () => edtTransform({ parallelThreshhold: 5 } as never),
      /"parallelThreshhold" \(did you mean "parallelThreshold"\?\)/,
    ],
    [
      "jfaTransform",
      () => jfaTransform({ refinment: "jfa+2" } as never),
      /"refinment" \(did you mean "refinement"\?\)/,
    ],
    [
      "signedDistance",
      () => signedDistance(labels12, { numClasses: 2, conventon: "signed" } as never),
      /"conventon" \(did you mean "convention"\?\)/,
    ],
    [
      "createScorer config",
      () => createScorer({ losses: [{ name: "dice" }], backnd: "cpu" } as never),
      /config keys among .* but found "backnd" \(did you mean "backend"\?\)/,
    ],
    [
      "createScorer config.losses[i]",
      () => createScorer({ losses: [{ name: "dice", weigt: 1 }] } as never),
      /config\.losses\[0\] keys .* "weigt" \(did you mean "weight"\?\)/,
    ],
    [
      "createScorer config.schedule",
      () =>
        createScorer(
          { losses: [{ name: "dice" }], schedule: { kind: "rebalance", stp: 1 } } as never,
        ),
      /config\.schedule keys .* "stp" \(did you mean "step"\?\)/,
    ],
    [
      "createScorer config.distanceOptions",
      () => createScorer({ losses: [{ name: "boundary" }], distanceOptions: { worker: 2 } }),
      /config\.distanceOptions keys .* "worker" \(did you mean "workers"\?\)/,
    ],
    [
      "createScorer config.losses[i].options",
      () => createScorer({ losses: [{ name: "dice", options: { smoothNR: 0 } }] }),
      /config\.losses\[0\]\.options: .*"smoothNR" \(did you mean "smoothNr"\?\)/,
    ],
    [
      "diceLoss",
      () => diceLoss(probs, labels12, { squard: true } as never),
      /"squard" \(did you mean "squared"\?\)/,
    ],
    [
      "generalizedDiceLoss",
      () => generalizedDiceLoss(probs, labels12, { weightTyp: "simple" } as never),
      /"weightTyp" \(did you mean "weightType"\?\)/,
    ],
    [
      "crossEntropyLoss",
      () => crossEntropyLoss(probs, labels12, { ignoreIdx: 3 } as never),
      /"ignoreIdx"/,
    ],
    [
      "boundaryLoss",
      () => boundaryLoss(probs, probs, { reducton: "sum" } as never),
      /"reducton" \(did you mean "reduction"\?\)/,
    ],
  ];
  for (const [name, f, re] of cases) {
    test(`${name}`, async () => {
      await rejects(f, SeglossTypeError, re);
    });
  }

  test("an unknown loss name gets the nearest plugin name", async () => {
    await rejects(
      () => createScorer({ losses: [{ name: "dise" }] }),
      SeglossRangeError,
      /config\.losses\[0\]\.name: .*"dise".*\(did you mean "dice"\?\)/,
    );
  });

  test("the scorer's request keys too", async () => {
    const scorer = await createScorer({ losses: [{ name: "dice" }] });
    try {
      await rejects(
        () => scorer.evaluate({ input: probs, target: labels12, spacin: [1] } as never),
        SeglossTypeError,
        /request keys .* "spacin" \(did you mean "spacing"\?\)/,
      );
    } finally {
      scorer.dispose();
    }
  });
});

describe("non-finite totals are refused, not returned", () => {
  test("a schedule whose alpha overflows: RangeError naming the total and the terms", async () => {
    const scorer = await createScorer({
      input: "logits",
      losses: [{ name: "dice" }, { name: "boundary" }],
      schedule: { kind: "increase", start: 0.01, step: 1e308 },
    });
    const input = { data: new Float32Array([2, -1, 0.5, 1, -2, 1, 0, 0]), shape: [1, 2, 2, 2] };
    const target = { data: new Uint8Array([0, 1, 1, 0]), shape: [1, 2, 2] };
    // epoch 0: alpha = 0.01, finite (the boundary term of this batch is nonzero)
    const ok = await scorer.evaluate({ input, target, epoch: 0 });
    assert.ok(Number.isFinite(ok.total));
    // epoch 1e300: alpha = 0.01 + 1e308 · 1e300 = Infinity
    await assert.rejects(
      scorer.evaluate({ input, target, epoch: 1e300 }),
      (e: unknown) =>
        e instanceof RangeError && /Expected a finite total/.test(e.message) &&
        /boundary = /.test(e.message),
    );
    scorer.dispose();
  });
});
