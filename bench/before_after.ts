/**
 * `evaluate()` of this tree against another checkout of segloss (a restructuring must not
 * change results or speed): the classic example (logits 16x8x64x64 standard normal, labels
 * 16x64x64 uniform over 8 classes), dice + 0.01·boundary with the gradient, on the CPU
 * backend; both scorers in one process, interleaved in rounds, with the ratio of medians.
 *
 * Run: `git archive REV | tar -x -C /tmp/old && ln -s $PWD/node_modules /tmp/old/` then
 * `OLD=/tmp/old deno run -A bench/before_after.ts` (or `OLD=/tmp/old bun bench/before_after.ts`);
 * `REPEATS=31` rounds by default.
 *
 * @module
 */
import process from "node:process";
import { loadavg } from "node:os";
import { pathToFileURL } from "node:url";
import { createScorer } from "../mod.ts";
import { mulberry32 } from "../tests/util.ts";

const oldRoot = process.env.OLD;
if (!oldRoot) throw new Error("Set OLD to the root of another segloss checkout");
const old = await import(pathToFileURL(`${oldRoot}/mod.ts`).href) as {
  createScorer: typeof createScorer;
};
const REPEATS = Number(process.env.REPEATS ?? 31);
const N = 16, C = 8, H = 64, W = 64;
const r = mulberry32(12345);
const u = () => 1 - r(); // in (0, 1], for the logarithm
const logits = new Float32Array(N * C * H * W);
for (let i = 0; i < logits.length; i += 2) {
  const r = Math.sqrt(-2 * Math.log(u())), th = 2 * Math.PI * u();
  logits[i] = r * Math.cos(th);
  logits[i + 1] = r * Math.sin(th);
}
const labels = new Uint8Array(N * H * W).map(() => Math.floor(u() * C));
const request = {
  input: { data: logits, shape: [N, C, H, W] },
  target: { data: labels, shape: [N, H, W] },
  gradient: true,
};
const config = { losses: [{ name: "dice" }, { name: "boundary", weight: 0.01 }] };
const now = await createScorer(config), before = await old.createScorer(config);
const rn = await now.evaluate(request), rb = await before.evaluate(request);
let maxDiff = 0;
rn.gradient!.data.forEach((x, i) =>
  maxDiff = Math.max(maxDiff, Math.abs(x - rb.gradient!.data[i]!))
);
console.log(
  `total: this tree ${rn.total}, other ${rb.total}; max |gradient difference| ${maxDiff}`,
);
const tn: number[] = [], tb: number[] = [];
for (let r = 0; r < REPEATS; r++) {
  const order: [typeof now, number[]][] = r % 2
    ? [[now, tn], [before, tb]]
    : [[before, tb], [now, tn]];
  for (const [scorer, times] of order) {
    const t0 = performance.now();
    await scorer.evaluate(request);
    times.push(performance.now() - t0);
  }
}
const median = (x: number[]) => [...x].sort((p, q) => p - q)[x.length >> 1]!;
console.log(
  `median ms: this tree ${median(tn).toFixed(1)}, other ${median(tb).toFixed(1)}, ratio ${
    (median(tn) / median(tb)).toFixed(3)
  } (${REPEATS} interleaved rounds; load average ${loadavg().map((x) => x.toFixed(1)).join(" ")})`,
);
now.dispose();
before.dispose();
