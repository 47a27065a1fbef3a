// QA of the session's reuse changes: `out` on edt / pool.edt / edtParallel / signedDistance,
// the EDT Worker pool's shared scratch and its job queue, the synchronous passes' kept scratch,
// the cpu backend's reused signed-distance buffer, and the service pool's cold-start handling.
// Distances are checked against scipy.ndimage.distance_transform_edt and the official
// one_hot2dist (tests/fixtures/qa_session.json, from tests/fixtures/make_qa_session.py).
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import fixtures from "./fixtures/qa_session.json" with { type: "json" };
import {
  createEdtWorkerPool,
  createScorer,
  edt,
  edtParallel,
  edtTransform,
  type NdArray,
  signedDistance,
} from "../mod.ts";
import { WorkerPool } from "../server/pool.ts";
import { mulberry32 } from "./util.ts";

type EvaluateResult = Awaited<ReturnType<Awaited<ReturnType<typeof createScorer>>["evaluate"]>>;

interface LongCase {
  shape: number[];
  spatialDims?: number;
  numClasses?: number;
  spacing: number[];
  sum: number;
  every97: number[];
}
interface SmallCase {
  shape: number[];
  spatialDims: number;
  spacing: number[];
  mask: number[];
  expected: number[];
}

/** The fixture script's mask rule: 0 where i % 9973 == 17 or i % 31337 == 5. */
function ruleMask(shape: number[]): NdArray<Uint8Array> {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = i % 9973 === 17 || i % 31337 === 5 ? 0 : 1;
  return { data, shape };
}

/** The fixture script's label rule: (i // 777 + (i % 5 == 0)) % 3. */
function ruleLabels(shape: number[]): NdArray<Uint8Array> {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = (Math.floor(i / 777) + (i % 5 === 0 ? 1 : 0)) % 3;
  return { data, shape };
}

function close(a: number, e: number, tol = 1e-5): boolean {
  return Math.abs(a - e) <= tol * Math.max(1, Math.abs(e));
}

/** Every 97th value and the sum against scipy's. */
function assertSummary(d: ArrayLike<number>, c: LongCase, label: string): void {
  let sum = 0;
  for (let i = 0; i < d.length; i++) sum += d[i]!;
  assert.ok(close(sum, c.sum), `${label}: sum ${sum}, scipy ${c.sum}`);
  for (let k = 0; k < c.every97.length; k++) {
    const a = d[k * 97]!;
    if (!close(a, c.every97[k]!)) {
      assert.fail(`${label}: element ${k * 97} is ${a}, scipy ${c.every97[k]}`);
    }
  }
}

function assertValues(a: ArrayLike<number>, e: ArrayLike<number>, label: string): void {
  assert.equal(a.length, e.length, `${label}: length`);
  for (let i = 0; i < e.length; i++) {
    if (!close(a[i]!, e[i]!)) assert.fail(`${label}: element ${i} is ${a[i]}, scipy ${e[i]}`);
  }
}

const small = fixtures.small as SmallCase[];
const smallMask = (c: SmallCase) => ({ data: Uint8Array.from(c.mask), shape: c.shape });
const smallOptions = (c: SmallCase) => ({ spacing: c.spacing, spatialDims: c.spatialDims });

/** Rejects after `ms`: a job that never settles fails the test instead of hanging it. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

// one pool for the whole file (under `deno test` every Worker start type checks its module)
const pool = createEdtWorkerPool({ workers: 2, idleMs: 60_000 });
// signed distance on Workers (the transform keeps its pool between the tests, 1 s idle)
const workers = edtTransform({ workers: 2, parallelThreshold: 1 });
after(() => {
  pool.close();
  workers.dispose?.();
});

describe("EDT Worker pool: the queue and the shared scratch", () => {
  test("pool.edt reads the mask at the call, also when the job waits in the queue", async () => {
    // Before: the mask was copied into the pool's scratch in the job's turn, after the call had
    // returned, so a caller refilling its mask buffer for the next sample changed the result
    const c = small[0]!;
    const data = Uint8Array.from(c.mask);
    const mask = { data, shape: c.shape };
    const first = pool.edt(mask, smallOptions(c));
    data.fill(1);
    data[data.length - 1] = 0;
    assertValues((await first).data, c.expected, "idle pool");
    data.set(c.mask);
    const big = { data: new Uint8Array(512 * 512).fill(1), shape: [512, 512] };
    big.data[1000] = 0;
    const busy = pool.edt(big);
    const queued = pool.edt(mask, smallOptions(c));
    const f32 = { data: Float32Array.from(c.mask), shape: c.shape };
    const queuedFloat = pool.edt(f32, smallOptions(c));
    data.fill(1);
    data[0] = 0;
    f32.data.fill(0);
    await busy;
    assertValues((await queued).data, c.expected, "queued job");
    assertValues((await queuedFloat).data, c.expected, "queued float32 mask");
  });

  test("concurrent calls with other shapes, spacings, spatialDims and outs all match scipy", async () => {
    const outs = small.map((c, i) => {
      const n = c.mask.length;
      if (i % 3 === 1) return new Float32Array(n).fill(NaN);
      if (i % 3 === 2) return new Float32Array(new SharedArrayBuffer(4 * n)).fill(NaN);
      return undefined;
    });
    for (let round = 0; round < 2; round++) {
      const jobs = small.map((c, i) => {
        const out = outs[i];
        return pool.edt(smallMask(c), { ...smallOptions(c), ...(out ? { out } : {}) });
      });
      const results = await Promise.all(jobs);
      results.forEach((r, i) => {
        const c = small[i]!;
        assertValues(r.data, c.expected, `round ${round}, case ${i} ${JSON.stringify(c.shape)}`);
        assert.deepEqual(r.shape, c.shape);
        if (outs[i]) assert.equal(r.data, outs[i], `case ${i}: the result is out`);
      });
    }
  });

  test("an error in a queued job leaves the next job's result right", async () => {
    const c = small[1]!;
    const big = { data: new Uint8Array(512 * 512).fill(1), shape: [512, 512] };
    big.data[7] = 0;
    const out = new Float32Array(c.mask.length);
    const busy = pool.edt(big);
    const failing = pool.edt(smallMask(c), { ...smallOptions(c), out });
    const next = pool.edt(smallMask(c), smallOptions(c));
    // the caller gives its out away before the job's turn
    structuredClone(out.buffer, { transfer: [out.buffer] });
    await busy;
    await assert.rejects(failing, (e: Error) => {
      assert.ok(e instanceof TypeError, `a TypeError: ${e}`);
      assert.match(e.message, /options\.out/);
      return true;
    });
    assertValues((await next).data, c.expected, "the job after the failure");
  });

  test("signedDistance on Workers: an out given away or resized while queued is a typed error", async () => {
    // Before: the job's copy into (or out of) the caller's out threw the runtime's own
    // TypeError/RangeError ("detached ArrayBuffer", "Invalid typed array length")
    const target = { data: new Uint8Array([0, 1, 1, 0, 0, 1, 1, 0]), shape: [1, 8] };
    // official one_hot2dist of the two classes (hand-derived: distances to the other class)
    const want = [0, 1, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 0, 1];
    const busy = {
      data: new Uint8Array(3 * 256 * 256).map((_, i) => i % 3),
      shape: [3, 256, 256],
    };
    const detached = new Float32Array(16);
    // deno-lint-ignore no-explicit-any
    const rab = new (ArrayBuffer as any)(64, { maxByteLength: 256 }) as ArrayBuffer & {
      resize(n: number): void;
    };
    const grown = new Float32Array(rab);
    const first = signedDistance(busy, { numClasses: 3, transform: workers });
    const a = signedDistance(target, { numClasses: 2, transform: workers, out: detached });
    const b = signedDistance(target, { numClasses: 2, transform: workers, out: grown });
    const c = signedDistance(target, { numClasses: 2, transform: workers });
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    rab.resize(128);
    await first;
    for (const p of [a, b]) {
      await assert.rejects(p, (e: Error) => {
        assert.ok(e instanceof TypeError, String(e));
        assert.match(e.message, /options\.out to keep its 16 elements/);
        return true;
      });
    }
    assert.deepEqual(Array.from((await c).data), want);
  });

  test("close() during a running job rejects it; queued and later jobs still run", async () => {
    // Before: terminated Workers never answered, so the running job and every job queued
    // behind it (the pool's queue) waited forever
    const own = createEdtWorkerPool({ workers: 2, idleMs: 60_000 });
    try {
      const big = { data: new Uint8Array(1024 * 1024).fill(1), shape: [1024, 1024] };
      big.data[0] = 0;
      const c = small[4]!;
      const running = own.edt(big);
      const queued = own.edt(smallMask(c), smallOptions(c));
      setTimeout(() => own.close(), 1);
      await within(
        assert.rejects(running, /closed while a job was running/),
        20_000,
        "the running job",
      );
      assertValues((await within(queued, 20_000, "the queued job")).data, c.expected, "queued");
      const later = await within(own.edt(smallMask(c), smallOptions(c)), 20_000, "later job");
      assertValues(later.data, c.expected, "after close");
    } finally {
      own.close();
    }
  });

  test("an idled-out pool and edtParallel give scipy's values with out", async () => {
    const own = createEdtWorkerPool({ workers: 2, idleMs: 0 });
    const c = small[5]!;
    for (let i = 0; i < 2; i++) {
      const out = new Float32Array(c.mask.length);
      const r = await own.edt(smallMask(c), { ...smallOptions(c), out });
      assert.equal(r.data, out);
      assertValues(out, c.expected, `idle pool, call ${i}`);
    }
    own.close();
    const out = new Float32Array(c.mask.length);
    const r = await edtParallel(smallMask(c), { ...smallOptions(c), out, workers: 2 });
    assert.equal(r.data, out);
    assertValues(out, c.expected, "edtParallel");
  });
});

describe("out: aliasing and bad outs", () => {
  test("an out overlapping the mask is refused in every layout; a disjoint view is fine", async () => {
    const c = small[0]!;
    const n = c.mask.length;
    for (const Buffer of [ArrayBuffer, SharedArrayBuffer]) {
      const buf = new Buffer(8 * n + 64);
      // uint8 mask at byte 3 and float32 outs at every 4-byte offset touching it
      const u8 = new Uint8Array(buf, 3, n);
      u8.set(c.mask);
      const mask = { data: u8, shape: c.shape };
      for (const byte of [0, 4, Math.floor(n / 4) * 4]) {
        const out = new Float32Array(buf, byte, n);
        assert.throws(() => edt(mask, { ...smallOptions(c), out }), RangeError, `${byte}`);
        await assert.rejects(pool.edt(mask, { ...smallOptions(c), out }), RangeError);
      }
      // float32 mask, out the same array or shifted by one element
      const f32 = new Float32Array(buf, 0, 2 * n);
      f32.set(c.mask);
      const fmask = { data: f32.subarray(0, n), shape: c.shape };
      for (const out of [f32.subarray(0, n), f32.subarray(1, n + 1)]) {
        assert.throws(() => edt(fmask, { ...smallOptions(c), out }), RangeError);
        await assert.rejects(pool.edt(fmask, { ...smallOptions(c), out }), RangeError);
      }
      // right after the mask in the same buffer: accepted, written in place
      const disjoint = f32.subarray(n, 2 * n);
      assertValues(edt(fmask, { ...smallOptions(c), out: disjoint }).data, c.expected, "sync");
      disjoint.fill(NaN);
      const r = await pool.edt(fmask, { ...smallOptions(c), out: disjoint });
      assert.equal(r.data, disjoint);
      assertValues(disjoint, c.expected, `pool, ${Buffer.name}`);
    }
  });

  test("an out over a clone of the mask's SharedArrayBuffer (the same memory) is refused", async () => {
    // Before: only the same buffer object was compared, so a view over another
    // SharedArrayBuffer object of the same memory (what postMessage hands a Worker) passed, and
    // edt wrote its output over the mask it was reading: all zeros instead of 0, 1, 2, ...
    const sab = new SharedArrayBuffer(128);
    const clone = structuredClone(sab);
    assert.notEqual(clone, sab);
    const mask = { data: new Uint8Array(sab, 0, 16).fill(1), shape: [16] };
    mask.data[0] = 0;
    const out = new Float32Array(clone, 0, 16);
    assert.throws(() => edt(mask, { out }), RangeError);
    await assert.rejects(pool.edt(mask, { out }), RangeError);
    assert.equal(mask.data[0], 0, "the probe restored the byte");
    // a clone's range after the mask's is fine (hand-derived: distance to index 0)
    const after = new Float32Array(clone, 64, 16);
    const r = await pool.edt(mask, { out: after });
    assert.deepEqual(Array.from(r.data), Array.from({ length: 16 }, (_, i) => i));
    // two unrelated shared buffers of one size are not taken for one
    const other = new Float32Array(new SharedArrayBuffer(128), 0, 16);
    assert.deepEqual(Array.from(edt(mask, { out: other }).data), Array.from(r.data));
  });

  test("signedDistance refuses an out over its target; wrong outs are typed errors", async () => {
    const buf = new ArrayBuffer(64);
    const target = { data: new Uint8Array(buf, 0, 4), shape: [1, 4] };
    target.data.set([0, 1, 1, 0]);
    await assert.rejects(
      signedDistance(target, { numClasses: 2, out: new Float32Array(buf, 0, 8) }),
      RangeError,
    );
    const mask = { data: new Uint8Array([0, 1, 1]), shape: [3] };
    const target13 = { data: new Uint8Array([0, 1, 1]), shape: [1, 3] };
    const detached = new Float32Array(3);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    for (const out of [new Float64Array(3), [0, 0, 0], new Float32Array(2), detached, null]) {
      for (
        const run of [
          () => Promise.resolve().then(() => edt(mask, { out: out as Float32Array })),
          () => pool.edt(mask, { out: out as Float32Array }),
          () => signedDistance(target13, { numClasses: 2, out: out as Float32Array }),
        ]
      ) {
        await assert.rejects(run(), (e: Error) => {
          assert.ok(e instanceof TypeError || e instanceof RangeError, String(e));
          assert.match(e.message, /options\.out/);
          return true;
        });
      }
    }
  });
});

describe("long thin volumes against scipy", () => {
  test("edt, pool.edt and pool.edt into out on [1, 100000], [100000, 3], [3, 100000], ...", async () => {
    for (const c of fixtures.long as LongCase[]) {
      const mask = ruleMask(c.shape);
      const o = { spacing: c.spacing, spatialDims: c.spatialDims };
      const label = JSON.stringify(c.shape);
      assertSummary(edt(mask, o).data, c, `${label} edt`);
      assertSummary((await pool.edt(mask, o)).data, c, `${label} pool`);
      const out = new Float32Array(mask.data.length).fill(NaN);
      await pool.edt(mask, { ...o, out });
      assertSummary(out, c, `${label} pool into out`);
    }
  });

  test("a long innermost axis gets no scratch of its own length (no 23 MiB per call)", () => {
    // Before: scratch for Math.max(...spatial), so [1, 100000] allocated ~16·100000 float64
    // (and as much again in float32) on every call, 30x the time of the same 100000 voxels as
    // [100000]; the innermost axis's pass needs no scratch at all
    const Native = globalThis.Float64Array;
    for (const shape of [[1, 100000], [3, 100000], [100000, 3], [1, 1, 300000]]) {
      const mask = ruleMask(shape);
      const out = new Float32Array(mask.data.length);
      edt(mask, { out }); // grows the kept scratch if it must
      let allocated = 0;
      class Spy extends Native {
        constructor(length: number) {
          super(length);
          allocated += this.length;
        }
      }
      globalThis.Float64Array = Spy as unknown as Float64ArrayConstructor;
      try {
        edt(mask, { out });
      } finally {
        globalThis.Float64Array = Native;
      }
      assert.ok(
        allocated < mask.data.length,
        `${
          JSON.stringify(shape)
        }: ${allocated} float64 elements allocated for ${mask.data.length} voxels`,
      );
    }
  });

  test("signedDistance on [1, 100000, 3], [1, 1, 100000], [2, 50000]: sync, Workers, into out", async () => {
    for (const c of fixtures.signed as LongCase[]) {
      const target = ruleLabels(c.shape);
      const o = { numClasses: c.numClasses!, spacing: c.spacing };
      const label = JSON.stringify(c.shape);
      assertSummary((await signedDistance(target, o)).data, c, `${label} sync`);
      assertSummary(
        (await signedDistance(target, { ...o, transform: workers })).data,
        c,
        `${label} Workers`,
      );
      const out = new Float32Array(3 * target.data.length).fill(NaN);
      const r = await signedDistance(target, { ...o, transform: workers, out });
      assert.equal(r.data, out);
      assertSummary(out, c, `${label} Workers into out`);
      out.fill(NaN);
      await signedDistance(target, { ...o, out });
      assertSummary(out, c, `${label} sync into out`);
    }
  });
});

describe("cpu backend: the reused signed-distance buffer", () => {
  test("alternating shapes, and many evaluate calls in flight, match a fresh scorer per batch", async () => {
    // the oracle is the same computation without any reuse: a new scorer for every batch
    const rng = mulberry32(20261201);
    const batch = (n: number, h: number, w: number) => {
      const input = new Float32Array(n * 3 * h * w).map(() => rng() * 4 - 2);
      const target = new Uint8Array(n * h * w).map(() => Math.floor(rng() * rng() * 3));
      return {
        input: { data: input, shape: [n, 3, h, w] },
        target: { data: target, shape: [n, h, w] },
      };
    };
    // [2, 32, 8] has [2, 16, 16]'s size: the same reused maps buffer, another geometry
    const batches = [
      batch(2, 16, 16),
      batch(1, 8, 40),
      batch(2, 32, 8),
      batch(2, 16, 16),
      batch(3, 5, 7),
    ];
    const config = {
      backend: "cpu",
      input: "logits" as const,
      losses: [{ name: "dice" }, { name: "boundary", weight: 0.5 }],
    };
    const want: EvaluateResult[] = [];
    for (const b of batches) {
      const fresh = await createScorer(config);
      want.push(await fresh.evaluate({ ...b, gradient: true }));
      fresh.dispose();
    }
    const check = (r: EvaluateResult, i: number, label: string) => {
      assert.equal(r.terms.boundary, want[i]!.terms.boundary, `${label}: boundary`);
      assert.equal(r.total, want[i]!.total, `${label}: total`);
      assert.deepEqual(r.gradient!.data, want[i]!.gradient!.data, `${label}: gradient`);
    };
    for (const distanceOptions of [{}, { workers: 2, parallelThreshold: 1 }]) {
      const scorer = await createScorer({ ...config, distanceOptions });
      try {
        for (let rep = 0; rep < 2; rep++) {
          for (let i = 0; i < batches.length; i++) {
            check(await scorer.evaluate({ ...batches[i]!, gradient: true }), i, `seq ${rep}/${i}`);
          }
        }
        const all = [...batches, ...batches, ...batches];
        const rs = await Promise.all(all.map((b) => scorer.evaluate({ ...b, gradient: true })));
        rs.forEach((r, j) => check(r, j % batches.length, `in flight ${j}`));
      } finally {
        scorer.dispose();
      }
    }
  });
});

describe("service Worker pool: cold starts", () => {
  const tinyJob = () => ({
    kind: "distance" as const,
    mode: "edt" as const,
    array: { data: new Uint8Array(1), shape: [1] },
    transform: "quick",
  });

  test("jobs queued behind a cold Worker are not timed out by its load time", async () => {
    // Before: only the job handed to the loading Worker had its clock stopped; the ones queued
    // behind it (three requests at once on one Worker) got a 503 "time limit" while it loaded
    const pool = new WorkerPool(
      1,
      "cpu",
      300,
      16,
      new URL("./server_slow_start_worker.ts", import.meta.url),
    );
    try {
      const t0 = performance.now();
      const runs = [0, 1, 2].map(() => pool.run(tinyJob(), performance.now() + 300));
      const settled = await Promise.allSettled(runs);
      assert.ok(performance.now() - t0 >= 900, "the Worker took its second to load");
      for (const s of settled) {
        assert.equal(s.status, "fulfilled", s.status === "rejected" ? String(s.reason) : "");
      }
      assert.equal(pool.stats.spawned, 1);
      assert.equal(pool.stats.timedOut, 0);
    } finally {
      pool.close();
    }
  });

  test("a queued job still times out when a running job holds the Worker", async () => {
    const pool = new WorkerPool(
      1,
      "cpu",
      300,
      16,
      new URL("./server_spin_worker.ts", import.meta.url),
    );
    try {
      await pool.run(tinyJob(), performance.now() + 30_000); // loaded
      const spin = () => ({ ...tinyJob(), transform: "spin" });
      const t0 = performance.now();
      const a = pool.run(spin(), performance.now() + 300);
      const b = pool.run(spin(), performance.now() + 300);
      for (const p of [a, b]) {
        await assert.rejects(p, (e: Error & { status?: number; code?: string }) => {
          assert.equal(e.status, 503);
          assert.equal(e.code, "timeout");
          return true;
        });
      }
      assert.ok(performance.now() - t0 < 5000, "stopped near their deadlines");
    } finally {
      pool.close();
    }
  });
});
