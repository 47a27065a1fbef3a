// tfjs-layers training with segloss's losses (issue 11 item 6): packTargetsTf (one-hot +
// signed distance maps in yTrue, values derived by hand below), createTfjsKerasLoss (equal
// to segloss's functional CPU losses in float64 and to the CPU scorer's gradient), training
// with model.fitDataset (examples/fit_demo.ts) under Deno and Bun, and the same example
// bundled by esbuild and run under Node 20.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import * as tfl from "@tensorflow/tfjs-layers";
import { createTfjsKerasLoss, fitDatasetTf, packTargetsTf } from "../backends/tfjs/mod.ts";
import {
  boundaryLoss,
  createScorer,
  diceLoss,
  LimitError,
  SeglossRangeError,
  SeglossTypeError,
  signedDistance,
  softmax,
} from "../mod.ts";
import { runFitDemo } from "../examples/fit_demo.ts";
import { mulberry32 } from "./util.ts";

await tf.setBackend("cpu");

describe("packTargetsTf: one-hot and signed distance maps side by side", () => {
  // labels [0, 1, 1, 0]; kervadec maps (EDT(neg)·neg − (EDT(pos) − 1)·pos):
  // class 0 (voxels 0, 3): inside 1 − 1 = 0, outside 1 → [0, 1, 1, 0]; class 1: [1, 0, 0, 1]
  const labels = tf.tensor2d([[0, 1, 1, 0]], undefined, "int32");

  test("channels-last (default): (N, ...spatial, 2C), per voxel [t0, t1, φ0, φ1]", async () => {
    const y = await packTargetsTf(labels, { numClasses: 2 });
    assert.deepEqual(y.shape, [1, 4, 4]);
    assert.deepEqual(
      Array.from(y.dataSync()),
      [1, 0, 0, 1, /**/ 0, 1, 1, 0, /**/ 0, 1, 1, 0, /**/ 1, 0, 0, 1],
    );
  });

  test("channels-first with spacing 2: rows t0, t1, φ0, φ1 (inside 1 − 2 = −1, outside 2)", async () => {
    const y = await packTargetsTf(labels, {
      numClasses: 2,
      layout: "channels-first",
      spacing: [2],
    });
    assert.deepEqual(y.shape, [1, 4, 4]);
    assert.deepEqual(
      Array.from(y.dataSync()),
      [1, 0, 0, 1, /**/ 0, 1, 1, 0, /**/ -1, 2, 2, -1, /**/ 2, -1, -1, 2],
    );
  });

  test("distance: false gives the one-hot alone", async () => {
    const y = await packTargetsTf(labels, { numClasses: 2, distance: false });
    assert.deepEqual(y.shape, [1, 4, 2]);
    assert.deepEqual(Array.from(y.dataSync()), [1, 0, 0, 1, 0, 1, 1, 0]);
  });

  test("binary: true packs the foreground only, per voxel [t1, φ1]", async () => {
    const y = await packTargetsTf(labels, { numClasses: 2, binary: true });
    assert.deepEqual(y.shape, [1, 4, 2]);
    assert.deepEqual(Array.from(y.dataSync()), [0, 1, 1, 0, 1, 0, 0, 1]);
    await assert.rejects(
      () => packTargetsTf(labels, { numClasses: 3, binary: true }),
      /numClasses to be 2 with binary: true/,
    );
  });

  test("bad input: labels out of range, missing numClasses, unknown keys, huge numClasses", async () => {
    await assert.rejects(
      () => packTargetsTf(tf.tensor2d([[0, 2]], undefined, "int32"), { numClasses: 2 }),
      (e: unknown) => e instanceof SeglossRangeError && /found 2 at flat index 1/.test(e.message),
    );
    await assert.rejects(
      () => packTargetsTf(labels, undefined as never),
      (e: unknown) => e instanceof SeglossTypeError && e.argument === "options.numClasses",
    );
    await assert.rejects(
      () => packTargetsTf(labels, { numClasses: 2, spacng: [1] } as never),
      /"spacng" \(did you mean "spacing"\?\)/,
    );
    await assert.rejects(() => packTargetsTf(labels, { numClasses: 2 ** 31 }), LimitError);
  });
});

/** Random logits (N, H, W, C) and labels (N, H, W) with both classes in every sample. */
function batch(seed: number, n: number, h: number, w: number, c: number) {
  const r = mulberry32(seed);
  const logits = new Float32Array(n * h * w * c).map(() => 2 * (r() - 0.5));
  const labels = new Int32Array(n * h * w).map(() => Math.floor(r() * c));
  for (let s = 0; s < n; s++) for (let k = 0; k < c; k++) labels[s * h * w + k] = k;
  return { logits, labels };
}

describe("createTfjsKerasLoss: the functional losses, as a Keras loss", () => {
  const N = 2, H = 5, W = 6, C = 3, EPOCH = 3;
  const { logits, labels } = batch(11, N, H, W, C);
  const config = {
    numClasses: C,
    losses: [{ name: "dice" }, { name: "boundary", weight: 0.5 }],
    schedule: { kind: "rebalance" as const },
  };

  test("equals w_R·diceLoss + alpha·0.5·boundaryLoss (float64 CPU) within 1e-5", async () => {
    const loss = createTfjsKerasLoss(config);
    loss.epoch = EPOCH;
    const yTrue = await packTargetsTf(tf.tensor3d(labels, [N, H, W], "int32"), { numClasses: C });
    const yPred = tf.tensor4d(logits, [N, H, W, C]);
    const value = (await loss(yTrue, yPred).data())[0]!;
    // functional: channels-first float64 probabilities, the same labels and maps
    const cf = new Float64Array(N * C * H * W);
    for (let s = 0; s < N; s++) {
      for (let v = 0; v < H * W; v++) {
        for (let k = 0; k < C; k++) cf[(s * C + k) * H * W + v] = logits[(s * H * W + v) * C + k]!;
      }
    }
    const probs = softmax({ data: cf, shape: [N, C, H, W] });
    const target = { data: labels, shape: [N, H, W] };
    const maps = await signedDistance(target, { numClasses: C });
    // rebalance at epoch 3: region weight 1 − 0.01·3, alpha 0.01 + 0.01·3
    const expected = 0.97 * diceLoss(probs, target) + 0.04 * 0.5 * boundaryLoss(probs, maps);
    assert.ok(Math.abs(value - expected) <= 1e-5, `keras ${value} vs functional ${expected}`);
    assert.deepEqual(loss.loss.weights(EPOCH), { dice: 0.97, boundary: 0.5 * 0.04 });
  });

  test("its gradient equals the CPU scorer's dTotal/dlogits (transposed) within 1e-5", async () => {
    const loss = createTfjsKerasLoss(config);
    loss.epoch = EPOCH;
    const yTrue = await packTargetsTf(tf.tensor3d(labels, [N, H, W], "int32"), { numClasses: C });
    const g = tf.grad((x: tf.Tensor) => loss(yTrue, x))(tf.tensor4d(logits, [N, H, W, C]));
    const gd = await tf.transpose(g, [0, 3, 1, 2]).data();
    const cf = new Float32Array(N * C * H * W);
    for (let s = 0; s < N; s++) {
      for (let v = 0; v < H * W; v++) {
        for (let k = 0; k < C; k++) cf[(s * C + k) * H * W + v] = logits[(s * H * W + v) * C + k]!;
      }
    }
    const { numClasses: _, ...scorerConfig } = config;
    const scorer = await createScorer(scorerConfig);
    try {
      const r = await scorer.evaluate({
        input: { data: cf, shape: [N, C, H, W] },
        target: { data: labels, shape: [N, H, W] },
        epoch: EPOCH,
        gradient: true,
      });
      let worst = 0;
      for (let i = 0; i < cf.length; i++) {
        worst = Math.max(worst, Math.abs(gd[i]! - r.gradient!.data[i]!));
      }
      assert.ok(worst <= 1e-5, `largest difference ${worst}`);
    } finally {
      scorer.dispose();
    }
  });

  test("a single sigmoid channel: equals the functional binary losses within 1e-5", async () => {
    const n = 2, h = 4, w = 5;
    const r = mulberry32(23);
    const z = new Float32Array(n * h * w).map(() => 3 * (r() - 0.5));
    const lab = new Int32Array(n * h * w).map(() => (r() < 0.3 ? 1 : 0));
    lab[0] = 1;
    lab[h * w] = 1;
    const loss = createTfjsKerasLoss({
      numClasses: 2,
      losses: [{ name: "dice" }, { name: "boundary", weight: 0.2 }],
    });
    const yTrue = await packTargetsTf(tf.tensor3d(lab, [n, h, w], "int32"), {
      numClasses: 2,
      binary: true,
    });
    const value = (await loss(yTrue, tf.tensor4d(z, [n, h, w, 1])).data())[0]!;
    // functional: sigmoid probabilities (N, 1, H, W), dice of class 1, boundary on its map
    const probs = {
      data: Float64Array.from(z, (v) => 1 / (1 + Math.exp(-v))),
      shape: [n, 1, h, w],
    };
    const target = { data: lab, shape: [n, h, w] };
    const maps = await signedDistance(target, { numClasses: 2 });
    const fg = { data: new Float32Array(n * h * w), shape: [n, 1, h, w] };
    for (let s = 0; s < n; s++) {
      fg.data.set(maps.data.subarray((2 * s + 1) * h * w, (2 * s + 2) * h * w), s * h * w);
    }
    const expected = diceLoss(probs, target) + 0.2 * boundaryLoss(probs, fg);
    assert.ok(Math.abs(value - expected) <= 1e-5, `keras ${value} vs functional ${expected}`);
    assert.throws(
      () => loss(yTrue, tf.zeros([n, h, w, 3])),
      /Expected yPred to have 2 channels \(numClasses, or 1 sigmoid channel\) but found 3/,
    );
  });

  test("yTrue without the maps, or with the wrong channels, is a precise TypeError", () => {
    const loss = createTfjsKerasLoss(config);
    const yPred = tf.zeros([N, H, W, C]);
    assert.throws(
      () => loss(tf.zeros([N, H, W, C]), yPred),
      (e: unknown) =>
        e instanceof SeglossTypeError &&
        /signed distance maps for the boundary loss/.test(e.message),
    );
    assert.throws(
      () => loss(tf.zeros([N, H, W, 5]), yPred),
      /Expected yTrue to have 3 \(one-hot\) or 6 \(one-hot \+ maps, packTargetsTf\) channels/,
    );
    assert.throws(() => (loss.epoch = -1), RangeError);
    assert.throws(() => createTfjsKerasLoss({ losses: [{ name: "dice" }] } as never), TypeError);
  });
});

describe("training with tfjs-layers", () => {
  test("model.fitDataset: the loss decreases every epoch and equals the functional losses", async () => {
    const r = await runFitDemo(6, 4);
    assert.equal(r.history.length, 6);
    for (let i = 1; i < r.history.length; i++) {
      assert.ok(r.history[i]! < r.history[i - 1]!, `epoch ${i}: ${r.history}`);
    }
    assert.equal(r.epoch, 5); // loss.callbacks advanced the schedule
    assert.ok(
      Math.abs(r.evaluate - r.functional) <= 1e-5,
      `evaluateDataset ${r.evaluate} vs functional ${r.functional}`,
    );
  });

  test("model.fit refuses a 2C-channel yTrue (why fitDataset); region-only C channels train", async () => {
    const N = 4, H = 6, W = 6;
    const { labels } = batch(5, N, H, W, 2);
    const x = tf.tensor4d(Float32Array.from(labels, (l) => l), [N, H, W, 1]);
    const lab = tf.tensor3d(labels, [N, H, W], "int32");
    const mk = () =>
      tfl.sequential({
        layers: [tfl.layers.dense({
          inputShape: [H, W, 1],
          units: 2,
          kernelInitializer: tfl.initializers.randomNormal({ mean: 0, stddev: 0.1, seed: 3 }),
        })],
      });
    const boundary = createTfjsKerasLoss({
      numClasses: 2,
      losses: [{ name: "dice" }, { name: "boundary" }],
    });
    const m1 = mk();
    m1.compile({ optimizer: tf.train.adam(0.1), loss: boundary });
    const packed = await packTargetsTf(lab, { numClasses: 2 });
    await assert.rejects(
      () => m1.fit(x, packed, { epochs: 1, verbose: 0 }),
      /target expected a batch of elements where each example has shape \[6,6,2\]/,
    );
    const region = createTfjsKerasLoss({ numClasses: 2, losses: [{ name: "dice" }] });
    const m2 = mk();
    m2.compile({ optimizer: tf.train.adam(0.1), loss: region });
    const onehot = await packTargetsTf(lab, { numClasses: 2, distance: false });
    const h = await m2.fit(x, onehot, { epochs: 4, batchSize: N, verbose: 0, shuffle: false });
    const l = h.history.loss as number[];
    assert.ok(l[3]! < l[0]!, `${l}`);
  });

  test("fitDatasetTf: batches in order, the last one short", async () => {
    const ds = fitDatasetTf(
      tf.tensor2d([0, 1, 2, 3, 4], [5, 1]),
      tf.tensor2d([10, 11, 12, 13, 14], [5, 1]),
      {
        batchSize: 2,
      },
    );
    assert.equal(ds.size, 3);
    const it = await ds.iterator();
    const seen: number[][] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) {
      seen.push([...r.value.xs.dataSync(), ...r.value.ys.dataSync()]);
    }
    assert.deepEqual(seen, [[0, 1, 10, 11], [2, 3, 12, 13], [4, 14]]);
    assert.throws(() => fitDatasetTf(tf.zeros([2]), tf.zeros([3])), TypeError);
    assert.throws(() => fitDatasetTf(tf.zeros([2]), tf.zeros([2]), { batchSize: 0 }), RangeError);
  });

  const node = "/usr/bin/node";
  test(
    "examples/fit_node.ts bundled by esbuild trains on Node 20",
    { skip: !existsSync(node), timeout: 60_000 },
    () => {
      const dir = mkdtempSync(join(tmpdir(), "segloss-fit-"));
      try {
        const out = join(dir, "fit_node.mjs");
        const esbuild = join(import.meta.dirname!, "..", "node_modules", ".bin", "esbuild");
        const b = spawnSync(esbuild, [
          join(import.meta.dirname!, "..", "examples", "fit_node.ts"),
          "--bundle",
          "--platform=node",
          "--format=esm",
          `--outfile=${out}`,
          "--log-level=error",
          "--banner:js=import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
        ], { encoding: "utf8" });
        assert.equal(b.status, 0, b.stderr);
        const r = spawnSync(node, [out], { encoding: "utf8", timeout: 60_000 });
        assert.equal(r.status, 0, r.stderr);
        const line = r.stdout.split("\n").find((s) => s.startsWith("{"))!;
        const res = JSON.parse(line);
        assert.equal(res.decreased, true);
        assert.ok(res.diff <= 1e-5);
        assert.match(res.backend, /^cpu /);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
