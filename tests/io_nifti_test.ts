/**
 * NIfTI reading and writing against nibabel: real files from nibabel's own test data and
 * synthetic ones (tests/fixtures/make_nifti.py records what nibabel reads from each), and a
 * map we write reopened by nibabel (when Debian's python3-nibabel is installed).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { spawnSync } from "node:child_process";
import { decodeNifti, encodeNifti, gunzip, gzip } from "../io/nifti.ts";

const dir = new URL("./fixtures/nifti/", import.meta.url);
interface Expected {
  version: number;
  shape: number[];
  dtype: string;
  zooms: number[];
  affine: number[][];
  slope_inter: (number | null)[];
  nan_count: number;
  sum: number;
  sumsq: number;
  samples: Record<string, number | "NaN">;
}
const expected: Record<string, Expected> = JSON.parse(
  readFileSync(new URL("./fixtures/nifti_expected.json", import.meta.url), "utf8"),
);

function near(a: number, b: number, rel: number, what: string): void {
  assert.ok(
    Math.abs(a - b) <= rel * Math.max(1, Math.abs(b)),
    `${what}: expected ${b} but found ${a}`,
  );
}

describe("decodeNifti() matches nibabel", () => {
  for (const [file, e] of Object.entries(expected)) {
    test(`${file}: data, shape, spacing, affine, datatype`, async () => {
      const bytes = new Uint8Array(readFileSync(new URL(file, dir)));
      const img = await decodeNifti(bytes, file);
      assert.equal(img.version, e.version);
      assert.equal(img.gzipped, file.endsWith(".gz"));
      assert.deepEqual(img.dims, e.shape);
      assert.deepEqual(img.shape, [...e.shape].reverse());
      assert.equal(img.datatype, e.dtype);
      e.zooms.forEach((z, i) => near(img.pixdim[i]!, z, 1e-6, `${file} pixdim[${i}]`));
      assert.deepEqual(img.spacing, [...img.pixdim].reverse());
      for (let r = 0; r < 4; r++) {
        for (let c = 0; c < 4; c++) {
          near(img.affine[r]![c]!, e.affine[r]![c]!, 1e-6, `${file} affine[${r}][${c}]`);
        }
      }
      let sum = 0;
      let sumsq = 0;
      let nans = 0;
      for (let i = 0; i < img.data.length; i++) {
        const v = Number(img.data[i]!);
        if (Number.isNaN(v)) {
          nans++;
          continue;
        }
        sum += v;
        sumsq += v * v;
      }
      assert.equal(nans, e.nan_count);
      near(sum, e.sum, 1e-9, `${file} sum`);
      near(sumsq, e.sumsq, 1e-9, `${file} sum of squares`);
      for (const [i, v] of Object.entries(e.samples)) {
        if (v === "NaN") assert.ok(Number.isNaN(Number(img.data[Number(i)]!)));
        else near(Number(img.data[Number(i)]!), v, 1e-12, `${file} flat index ${i}`);
      }
    });
  }
});

describe("decodeNifti() errors name the file and the problem", () => {
  test("not NIfTI", async () => {
    await assert.rejects(
      decodeNifti(new Uint8Array(400), "scan.nii"),
      (e: Error) =>
        e instanceof TypeError && /scan\.nii/.test(e.message) && /no NIfTI magic/.test(e.message),
    );
  });
  test("truncated data", async () => {
    const bytes = new Uint8Array(readFileSync(new URL("anatomical.nii", dir)));
    await assert.rejects(
      decodeNifti(bytes.subarray(0, 1000), "cut.nii"),
      /cut\.nii to hold 67650 data bytes after offset 352 .* but found 648/,
    );
  });
  test("corrupt gzip", async () => {
    const z = await gzip(new Uint8Array(1000));
    z[20] = z[20]! ^ 0xff;
    z[21] = z[21]! ^ 0xff;
    await assert.rejects(decodeNifti(z.subarray(0, 15), "broken.nii.gz"), /broken\.nii\.gz/);
  });
  test("unsupported datatype", async () => {
    const bytes = encodeNifti({ data: new Float32Array(4), shape: [4] });
    new DataView(bytes.buffer).setInt16(70, 32, true); // complex64
    await assert.rejects(
      decodeNifti(bytes, "c.nii"),
      /c\.nii to hold a numeric datatype .* complex64/,
    );
  });
  test("element limit before allocation", async () => {
    const bytes = encodeNifti({ data: new Uint8Array(64), shape: [4, 4, 4] });
    await assert.rejects(decodeNifti(bytes, "big.nii", { maxElements: 10 }), RangeError);
  });
});

describe("encodeNifti()", () => {
  test("round-trips data, spacing and geometry of a real file (NIfTI-1 and -2, gzip)", async () => {
    for (const file of ["anatomical.nii", "example_nifti2.nii.gz", "qform_only_uint16.nii"]) {
      const src = await decodeNifti(new Uint8Array(readFileSync(new URL(file, dir))), file);
      const back = await decodeNifti(await gzip(encodeNifti(src, { like: src })), "back");
      assert.equal(back.version, src.version);
      assert.deepEqual(back.shape, src.shape);
      assert.deepEqual(back.pixdim, src.pixdim);
      assert.deepEqual(back.data, src.data);
      for (let r = 0; r < 4; r++) {
        for (let c = 0; c < 4; c++) near(back.affine[r]![c]!, src.affine[r]![c]!, 1e-6, file);
      }
    }
  });
  test("gunzip() of gzip() is the identity", async () => {
    const a = new Uint8Array(70000).map((_, i) => (i * 7) & 255);
    assert.deepEqual(await gunzip(await gzip(a), "a"), a);
  });
  test("a float32 map we write is what nibabel reads", { timeout: 60000 }, async (t) => {
    const py = "/usr/bin/python3";
    if (!existsSync(py) || spawnSync(py, ["-c", "import nibabel"]).status !== 0) {
      t.skip("Debian python3-nibabel is not installed");
      return;
    }
    const src = await decodeNifti(
      new Uint8Array(readFileSync(new URL("labels_int16_be.nii", dir))),
      "labels_int16_be.nii",
    );
    const map = new Float32Array(src.data.length);
    for (let i = 0; i < map.length; i++) map[i] = Number(src.data[i]!) * 0.25 - 1 + i * 1e-3;
    const tmp = mkdtempSync(join(tmpdir(), "segloss-nifti-"));
    try {
      const out1 = join(tmp, "map.nii.gz");
      writeFileSync(out1, await gzip(encodeNifti({ data: map, shape: src.shape }, { like: src })));
      const out2 = join(tmp, "map2.nii");
      writeFileSync(out2, encodeNifti({ data: map, shape: src.shape }, { like: src, version: 2 }));
      const script = `
import json, sys, nibabel as nib, numpy as np
out = []
for f in sys.argv[1:]:
    img = nib.load(f)
    out.append({"shape": list(img.shape), "dtype": str(img.get_data_dtype()),
                "affine": img.affine.tolist(), "zooms": [float(z) for z in img.header.get_zooms()],
                "version": 2 if isinstance(img, nib.Nifti2Image) else 1,
                "data": img.get_fdata().ravel(order="F").tolist()})
print(json.dumps(out))`;
      const r = spawnSync(py, ["-c", script, out1, out2], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      const got = JSON.parse(r.stdout) as {
        shape: number[];
        dtype: string;
        affine: number[][];
        zooms: number[];
        version: number;
        data: number[];
      }[];
      const e = expected["labels_int16_be.nii"]!;
      got.forEach((g, k) => {
        assert.equal(g.version, k + 1);
        assert.deepEqual(g.shape, e.shape);
        assert.equal(g.dtype, "float32");
        assert.deepEqual(g.zooms, e.zooms);
        for (let r = 0; r < 4; r++) {
          for (let c = 0; c < 4; c++) near(g.affine[r]![c]!, e.affine[r]![c]!, 1e-6, "affine");
        }
        assert.deepEqual(g.data, Array.from(map));
      });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
