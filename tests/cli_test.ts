/**
 * The command line (cli/main.ts) on real files: a folder of NIfTI cases written by nibabel
 * (tests/fixtures/make_nifti_cli.py, which also re-derives nnU-Net's counts and HD95/ASSD
 * with scipy), geometry refusals, usage errors and exit codes, `distance` against the
 * official one_hot2dist, pictures, and the CLI bundled with esbuild and run under Node.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { decode, encode } from "fast-png";
import { type CliOutput, main, VERSION } from "../cli/main.ts";
import { computeMetrics } from "../metrics/mod.ts";
import { decodeNifti } from "../io/nifti.ts";
import { decodeNpy, encodeNpy } from "../io/npy.ts";
import { encodePngMask } from "../io/png.ts";
import { mkdirSync, writeFileSync } from "node:fs";
import { bundleCliForNode } from "./util.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const fx = join(root, "tests", "fixtures", "cli");
type Row = Record<string, number | string>;
const expected = JSON.parse(
  readFileSync(join(root, "tests", "fixtures", "cli_expected.json"), "utf8"),
) as {
  spacing: number[];
  affine: number[][];
  cases: Record<string, Record<string, Row>>;
  distance_case_00_class_1: Record<string, number>;
};
const tmp = mkdtempSync(join(tmpdir(), "segloss-cli-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: CliOutput = { out: (s) => (out += s), err: (s) => (err += s) };
  const code = await main(args, io);
  return { code, out, err };
}

function num(v: unknown): number {
  if (v === "NaN") return NaN;
  if (v === "Infinity") return Infinity;
  if (v === "-Infinity") return -Infinity;
  return v as number;
}

function close(a: number, b: number, rel: number, what: string): void {
  if (Number.isNaN(b) || !Number.isFinite(b)) {
    assert.ok(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)), `${what}: ${a} vs ${b}`);
    return;
  }
  assert.ok(Math.abs(a - b) <= rel * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
}

// deno-lint-ignore no-explicit-any
type Summary = any;

/** Checks a summary.json against the scipy/nnU-Net re-derivation. */
function checkAgainstScipy(summary: Summary): void {
  const perCase = summary.metric_per_case as { case: string; metrics: Record<string, Row> }[];
  assert.deepEqual(perCase.map((c) => c.case), Object.keys(expected.cases));
  for (const c of perCase) {
    for (const [cls, e] of Object.entries(expected.cases[c.case]!)) {
      const got = c.metrics[cls]!;
      for (const k of ["TP", "FP", "FN", "TN", "n_pred", "n_ref"]) {
        assert.equal(got[k], e[k], `${c.case} class ${cls} ${k}`);
      }
      close(num(got.dice), num(e.Dice), 1e-12, `${c.case} class ${cls} dice`);
      close(num(got.iou), num(e.IoU), 1e-12, `${c.case} class ${cls} iou`);
      close(num(got.hd95), num(e.hd95), 1e-5, `${c.case} class ${cls} hd95`);
      close(num(got.assd), num(e.assd), 1e-5, `${c.case} class ${cls} assd`);
      const voxel = expected.spacing.reduce((a, b) => a * b, 1);
      close(num(got.vol_ref), (e.n_ref as number) * voxel, 1e-6, "vol_ref");
    }
  }
}

describe("segloss metrics on a folder of NIfTI cases", () => {
  test("per-case counts, Dice, HD95 and ASSD equal scipy's re-derivation; summary; unmatched listed", async () => {
    const outDir = join(tmp, "out");
    const r = await run([
      "metrics",
      join(fx, "pred"),
      join(fx, "gt"),
      "-o",
      outDir,
      // inline here: `deno test` type-checks a Worker's module graph when it starts (slow);
      // Workers are exercised by the process test below
      "--jobs",
      "1",
      // nnU-Net's Dice and IoU: 0 (not MONAI's NaN) when only the truth is empty
      "--option",
      'empty={"dice":{"target":0},"iou":{"target":0}}',
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /extra\.nii\.gz: no reference case/);
    assert.match(r.err, /missing\.nii\.gz: no prediction/);
    const summary = JSON.parse(readFileSync(join(outDir, "summary.json"), "utf8"));
    checkAgainstScipy(summary);
    assert.deepEqual(summary.skipped.unmatched_prediction, [join(fx, "pred", "extra.nii.gz")]);
    assert.deepEqual(summary.skipped.unmatched_reference, [join(fx, "gt", "missing.nii.gz")]);
    // summary statistics recomputed from the scipy numbers (numpy: mean, std ddof=0, median)
    const dice1 = Object.values(expected.cases).map((c) => num(c["1"]!.Dice));
    const mean = dice1.reduce((a, b) => a + b, 0) / dice1.length;
    const std = Math.sqrt(dice1.reduce((a, b) => a + (b - mean) ** 2, 0) / dice1.length);
    const sorted = [...dice1].sort((a, b) => a - b);
    close(summary.summary.dice["1"].mean, mean, 1e-12, "mean");
    close(summary.summary.dice["1"].std, std, 1e-12, "std");
    close(summary.summary.dice["1"].median, (sorted[1]! + sorted[2]!) / 2, 1e-12, "median");
    // class 2 of case_01 has an empty truth: HD95 is Infinity (MONAI), not NaN
    assert.equal(summary.summary.hd95["2"].nan, 0);
    assert.equal(summary.mean["1"].dice, summary.summary.dice["1"].mean);
    // nnU-Net's key names too: summary["foreground_mean"]["Dice"], metrics[class]["Dice"]
    assert.equal(summary.foreground_mean.Dice, summary.foreground_mean.dice);
    assert.equal(
      summary.metric_per_case[0].metrics["1"].Dice,
      summary.metric_per_case[0].metrics["1"].dice,
    );
    // the table streamed every case, and the CSVs exist with one row per case and class
    for (const name of Object.keys(expected.cases)) assert.match(r.out, new RegExp(name));
    assert.match(r.out, /summary over 4 cases, 2 unmatched/);
    assert.ok(!(r.out + r.err).includes("\x1b"), "no progress bar when not on a TTY");
    const csv = readFileSync(join(outDir, "cases.csv"), "utf8").trim().split("\n");
    assert.equal(csv.length, 1 + 4 * 2);
    assert.match(csv[0]!, /^case,class,dice,iou,hausdorff,hd95,assd,TP,FP,FN,TN,n_pred,n_ref/);
    const sCsv = readFileSync(join(outDir, "summary.csv"), "utf8");
    assert.match(sCsv, /^metric,class,mean,std,median,min,max,count,nan\n/);
  });

  test("equals computeMetrics on the same arrays (inline run, --json -)", async () => {
    const r = await run([
      "metrics",
      join(fx, "pred"),
      join(fx, "gt"),
      "--jobs",
      "1",
      "--json",
      "-",
      "--metrics",
      "dice,hd95,assd,nsd,recall",
      "--tolerance",
      "2",
      "--percentile",
      "90",
    ]);
    assert.equal(r.code, 0, r.err);
    const summary = JSON.parse(r.out);
    assert.equal(summary.timing.workers, 0);
    for (const c of summary.metric_per_case) {
      const p = await decodeNifti(readFileSync(c.prediction_file), "p");
      const g = await decodeNifti(readFileSync(c.reference_file), "g");
      const report = computeMetrics(
        { data: p.data, shape: [1, ...p.shape] },
        { data: g.data, shape: [1, ...g.shape] },
        {
          metrics: ["dice", "hd95", "assd", "nsd", "recall"],
          tolerance: 2,
          spacing: p.spacing,
        },
      );
      for (const [name, res] of Object.entries(report.metrics)) {
        report.classes.forEach((cls, k) => {
          const v = res!.values[0]![k]!;
          assert.ok(Object.is(num(c.metrics[String(cls)][name]), v), `${c.case} ${name} ${cls}`);
        });
      }
      assert.ok("hd90" in c.metrics["1"]);
      assert.ok(c.metrics["1"].hd90 <= c.metrics["1"].hd95 + 1e-9);
    }
  });

  test("pictures: one PNG per case with the HD95 marker", async () => {
    const pics = join(tmp, "pics");
    const r = await run([
      "metrics",
      join(fx, "pred", "case_02.nii.gz"),
      join(fx, "gt", "case_02.nii"),
      "--png",
      pics,
      "-q",
    ]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, "");
    const png = decode(readFileSync(join(pics, "case_02.png")));
    assert.ok(png.width > 400 && png.height > 200);
    let marker = 0;
    for (let i = 0; i < png.data.length; i += png.channels) {
      if (png.data[i] === 200 && png.data[i + 1] === 0 && png.data[i + 2] === 200) marker++;
    }
    assert.ok(marker > 20, "the magenta HD95 ring is drawn");
  });
});

describe("segloss metrics on PNG and .npy masks", () => {
  /** A 2-D label mask with a disc of class 1 and a square of class 2. */
  function mask(h: number, w: number, shift: number): Uint8Array {
    const m = new Uint8Array(h * w);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if ((y - 20) ** 2 + (x - 22 - shift) ** 2 < 100) m[y * w + x] = 1;
        if (y >= 30 && y < 36 && x >= 5 + shift && x < 12 + shift) m[y * w + x] = 2;
      }
    }
    return m;
  }
  test("PNG folders (8-bit pred vs 16-bit truth) and a 3-D .npy pair equal computeMetrics", async () => {
    const p = join(tmp, "png_pred"), g = join(tmp, "png_gt");
    mkdirSync(p, { recursive: true });
    mkdirSync(g, { recursive: true });
    const arrays: Record<string, [Uint8Array, Uint8Array]> = {};
    for (const [name, shift] of [["a", 1], ["b", 3]] as const) {
      const pred = mask(40, 48, shift);
      const gt = mask(40, 48, 0);
      writeFileSync(join(p, `${name}.png`), encodePngMask({ data: pred, shape: [40, 48] }));
      // a 16-bit grey file: same labels, stored as uint16
      const png16 = encode({
        width: 48,
        height: 40,
        data: Uint16Array.from(gt),
        depth: 16,
        channels: 1,
      });
      writeFileSync(join(g, `${name}.png`), png16);
      arrays[name] = [pred, gt];
    }
    const r = await run([
      "metrics",
      p,
      g,
      "--json",
      "-",
      "--jobs",
      "1",
      "--png",
      join(tmp, "png_pics"),
    ]);
    assert.equal(r.code, 0, r.err);
    const summary = JSON.parse(r.out);
    assert.equal(summary.metric_per_case[0].shape, "40×48");
    for (const c of summary.metric_per_case) {
      const [pred, gt] = arrays[c.case]!;
      const report = computeMetrics({ data: pred, shape: [1, 40, 48] }, {
        data: gt,
        shape: [1, 40, 48],
      });
      for (const [name, res] of Object.entries(report.metrics)) {
        report.classes.forEach((cls, k) => {
          assert.ok(
            Object.is(num(c.metrics[String(cls)][name]), res!.values[0]![k]!),
            `${c.case} ${name}`,
          );
        });
      }
    }
    const pic = decode(readFileSync(join(tmp, "png_pics", "b.png")));
    assert.ok(pic.width > 300);
    // 3-D .npy: axis order as stored, spacing from --spacing in the same order
    const vol = (shift: number) => {
      const d = new Uint8Array(6 * 40 * 48);
      for (let z = 1; z < 5; z++) d.set(mask(40, 48, shift), z * 40 * 48);
      return d;
    };
    writeFileSync(join(tmp, "p.npy"), encodeNpy({ data: vol(2), shape: [6, 40, 48] }));
    writeFileSync(join(tmp, "g.npy"), encodeNpy({ data: vol(0), shape: [6, 40, 48] }));
    const n = await run([
      "metrics",
      join(tmp, "p.npy"),
      join(tmp, "g.npy"),
      "--spacing",
      "3,1,0.5",
      "--json",
      "-",
    ]);
    assert.equal(n.code, 0, n.err);
    const one = JSON.parse(n.out).metric_per_case[0];
    assert.deepEqual(one.spacing, [3, 1, 0.5]);
    const report = computeMetrics(
      { data: vol(2), shape: [1, 6, 40, 48] },
      { data: vol(0), shape: [1, 6, 40, 48] },
      { spacing: [3, 1, 0.5] },
    );
    assert.equal(num(one.metrics["1"].hd95), report.metrics.hd95!.values[0]![0]);
  });
  test("distance of a PNG mask to .npy, with a picture", async () => {
    const m = join(tmp, "m.png");
    writeFileSync(m, encodePngMask({ data: mask(40, 48, 0), shape: [40, 48] }));
    const out = join(tmp, "m_dist.npy");
    const r = await run(["distance", m, "-o", out, "--png", join(tmp, "mpics")]);
    assert.equal(r.code, 0, r.err);
    const a = decodeNpy(new Uint8Array(readFileSync(out)), "m_dist.npy");
    assert.deepEqual(a.shape, [3, 40, 48]); // classes 0, 1, 2
    // hand check: the disc centre (20, 22) is 10 voxels deep: kervadec phi = -(EDT - 1)
    const centre = a.data[40 * 48 + 20 * 48 + 22] as number;
    assert.ok(centre <= -8 && centre >= -10, `centre ${centre}`);
    assert.ok(existsSync(join(tmp, "mpics", "m_distance.png")));
  });
});

describe("segloss metrics refuses what does not match", () => {
  for (
    const [name, pattern] of [
      ["rotated", /rotated\.nii\.gz: orientation\/position \(affine\) differs/],
      ["spacing", /spacing\.nii\.gz: spacing 0\.9\d*, 0\.9\d*, 3 differs from the reference/],
      [
        "shape",
        /shape\.nii\.gz: shape 30×26×10 \(array 10×26×30\) differs from the reference .*30×26×12/,
      ],
    ] as const
  ) {
    test(`${name}: exit 1, the file and the problem named`, async () => {
      const r = await run([
        "metrics",
        join(fx, "bad_pred", `${name}.nii.gz`),
        join(fx, "bad_gt", `${name}.nii.gz`),
      ]);
      assert.equal(r.code, 1);
      assert.match(r.out + r.err, pattern);
    });
  }
  test("--ignore-geometry accepts a different affine, --spacing overrides headers", async () => {
    const r = await run([
      "metrics",
      join(fx, "bad_pred", "rotated.nii.gz"),
      join(fx, "bad_gt", "rotated.nii.gz"),
      "--ignore-geometry",
      "--spacing",
      "1,1,1",
      "--json",
      "-",
      "--metrics",
      "dice",
    ]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out).metric_per_case[0].spacing, [1, 1, 1]);
  });
  test("a .npy in nibabel's x,y,z order against NIfTI: the reversed axes are named", async () => {
    const g = await decodeNifti(readFileSync(join(fx, "gt", "case_00.nii")), "g");
    // nibabel's get_fdata() order: x,y,z (C order), i.e. our array transposed
    const [Z, Y, X] = g.shape as [number, number, number];
    const t = new Int16Array(X * Y * Z);
    for (let z = 0; z < Z; z++) {
      for (let y = 0; y < Y; y++) {
        for (let x = 0; x < X; x++) t[(x * Y + y) * Z + z] = Number(g.data[(z * Y + y) * X + x]!);
      }
    }
    const npy = join(tmp, "xyz.npy");
    writeFileSync(npy, encodeNpy({ data: t, shape: [X, Y, Z] }));
    const r = await run(["metrics", npy, join(fx, "gt", "case_00.nii")]);
    assert.equal(r.code, 1);
    assert.match(r.out + r.err, /axes are reversed.*arr\.T/);
  });
  test("a missing file is exit 1 naming it", async () => {
    const r = await run(["metrics", join(tmp, "nope.nii"), join(fx, "gt", "case_00.nii")]);
    assert.equal(r.code, 1);
    assert.match(r.err, /nope\.nii: no such file/);
  });
});

describe("usage errors are exit 2; --help is exit 0", () => {
  test("--version is deno.json's version", async () => {
    const version = JSON.parse(readFileSync(join(root, "deno.json"), "utf8")).version;
    assert.equal(VERSION, version);
    assert.equal((await run(["--version"])).out, `segloss ${version}\n`);
  });
  for (
    const [args, pattern] of [
      [["metrics", "a"], /metrics needs PRED and GT/],
      [["metrics", "a", "b", "--frobnicate"], /frobnicate/],
      [["metrics", "a", "b", "--metrics", "dcie"], /unknown metric "dcie"/],
      [["metrics", "a", "b", "--convention", "x"], /--convention: expected monai/],
      [["metrics", "a", "b", "--option", "border=none"], /must be JSON/],
      [["distance", "m.nii"], /needs -o OUT/],
      [["distance", "m.nii", "-o", "x.txt"], /expected a \.nii, \.nii\.gz or \.npy/],
      [["metricz"], /unknown command "metricz" \(did you mean "metrics"\?\)/],
      [[], /Usage:/],
    ] as const
  ) {
    test(`segloss ${args.join(" ")}`, async () => {
      const r = await run([...args]);
      assert.equal(r.code, 2);
      assert.match(r.out + r.err, pattern);
    });
  }
  for (const cmd of [["--help"], ["metrics", "--help"], ["distance", "-h"], ["help", "metrics"]]) {
    test(`segloss ${cmd.join(" ")}`, async () => {
      const r = await run(cmd);
      assert.equal(r.code, 0);
      assert.match(r.out, /Usage:/);
    });
  }
});

describe("segloss distance", () => {
  test("NIfTI out: official one_hot2dist values, the mask's affine, float32, classes on axis 4", async () => {
    const out = join(tmp, "dist.nii.gz");
    const pics = join(tmp, "dpics");
    const r = await run([
      "distance",
      join(fx, "gt", "case_00.nii"),
      "-o",
      out,
      "--png",
      pics,
      "--classes",
      "1,2",
    ]);
    assert.equal(r.code, 0, r.err);
    const img = await decodeNifti(readFileSync(out), out);
    assert.equal(img.datatype, "float32");
    assert.deepEqual(img.dims, [30, 26, 12, 2]);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 4; j++) {
        close(img.affine[i]![j]!, expected.affine[i]![j]!, 1e-6, "affine");
      }
    }
    for (const [i, v] of Object.entries(expected.distance_case_00_class_1)) {
      close(img.data[Number(i)] as number, v, 1e-5, `phi at ${i}`);
    }
    const png = decode(readFileSync(join(pics, "case_00_distance.png")));
    assert.ok(png.width > 600, "two panels side by side");
  });
  test(".npy out, one class, --convention signed", async () => {
    const out = join(tmp, "dist.npy");
    const r = await run([
      "distance",
      join(fx, "gt", "case_00.nii"),
      "-o",
      out,
      "--classes",
      "1",
      "--convention",
      "signed",
      "-q",
    ]);
    assert.equal(r.code, 0, r.err);
    const a = decodeNpy(new Uint8Array(readFileSync(out)), "dist.npy");
    assert.deepEqual(a.shape, [12, 26, 30]);
    for (const [i, v] of Object.entries(expected.distance_case_00_class_1)) {
      // "signed" is kervadec's map with the inside shifted by -1 (-EDT(pos) inside)
      const want = v < 0.5 ? v - 1 : v; // inside: 1 - EDT(pos) <= 0.1; outside: >= 0.9
      close(a.data[Number(i)] as number, want, 1e-5, `signed phi at ${i}`);
    }
  });
});

describe("the CLI as a program", () => {
  const runtime = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined"
    ? "deno"
    : typeof (globalThis as { Bun?: unknown }).Bun !== "undefined"
    ? "bun"
    : "node";
  test(`${runtime}: exit codes and stdout of a real process`, { timeout: 60000 }, () => {
    const cli = join(root, "cli", "main.ts");
    const argv = runtime === "deno" ? ["run", "-A", cli] : [cli];
    const ok = spawnSync(process.execPath, [
      ...argv,
      "metrics",
      join(fx, "pred"),
      join(fx, "gt"),
      "--json",
      "-",
      "--jobs",
      "2",
      "--empty",
      "nnunet",
    ], { encoding: "utf8" });
    assert.equal(ok.status, 0, ok.stderr);
    const summary = JSON.parse(ok.stdout);
    checkAgainstScipy(summary);
    assert.equal(summary.timing.workers, 2, "cases ran on 2 Workers");
    const usage = spawnSync(process.execPath, [...argv, "metrics"], { encoding: "utf8" });
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /metrics needs PRED and GT/);
  });
  test(
    "node: the esbuild bundle runs the same evaluation inline",
    { timeout: 60000 },
    async (t) => {
      const node = "/usr/bin/node";
      if (!existsSync(node)) {
        t.skip("no Node at /usr/bin/node");
        return;
      }
      const bundle = join(tmp, "segloss-cli.mjs");
      await bundleCliForNode(bundle);
      const r = spawnSync(node, [
        bundle,
        "metrics",
        join(fx, "pred"),
        join(fx, "gt"),
        "--json",
        "-",
        "--option",
        'empty={"dice":{"target":0},"iou":{"target":0}}',
      ], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      const summary = JSON.parse(r.stdout);
      checkAgainstScipy(summary);
      assert.equal(summary.timing.workers, 0); // Node 20 has no Web Worker: inline
      const bad = spawnSync(node, [bundle, "distance", "x.nii"], { encoding: "utf8" });
      assert.equal(bad.status, 2);
    },
  );
});
