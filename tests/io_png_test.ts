/**
 * PNG label masks against OpenCV and Pillow (tests/fixtures/make_png_masks.py writes the files
 * and records the labels those libraries read back): 8-bit and 16-bit grey, palette, 1-bit,
 * grey stored as RGB; colour masks refused with the file and pixel named.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { decodePngMask, encodePngMask, encodePngRgb } from "../io/png.ts";

const dir = new URL("./fixtures/png/", import.meta.url);
const cases: Record<string, { shape: number[]; data: number[] }> = JSON.parse(
  readFileSync(new URL("./fixtures/png_masks.json", import.meta.url), "utf8"),
);
const read = (f: string) => new Uint8Array(readFileSync(new URL(f, dir)));

describe("decodePngMask() reads what OpenCV and Pillow wrote", () => {
  for (const [file, e] of Object.entries(cases)) {
    test(file, () => {
      const m = decodePngMask(read(file), file);
      assert.deepEqual(m.shape, e.shape);
      assert.deepEqual(Array.from(m.data), e.data);
    });
  }
  test("depth and kind are reported", () => {
    assert.equal(decodePngMask(read("grey16_cv2.png"), "a").depth, 16);
    assert.equal(decodePngMask(read("palette_pil.png"), "a").kind, "palette");
    assert.equal(decodePngMask(read("binary_1bit_pil.png"), "a").depth, 1);
    assert.equal(decodePngMask(read("rgb_grey_cv2.png"), "a").kind, "rgb-grey");
  });
});

describe("decodePngMask() errors", () => {
  test("a colour pixel names the file, the pixel and the fix", () => {
    assert.throws(
      () => decodePngMask(read("colour_cv2.png"), "seg/case1.png"),
      (e: Error) =>
        e instanceof RangeError && /seg\/case1\.png/.test(e.message) &&
        /\(30, 200, 10\) at row 4, column 6/ /* cv2 writes BGR */.test(e.message),
    );
  });
  test("not a PNG", () => {
    assert.throws(() => decodePngMask(new Uint8Array(100), "x.png"), /x\.png to be a PNG file/);
  });
});

describe("encodePngMask()", () => {
  test("8-bit when labels fit, 16-bit otherwise; round trip", () => {
    const small = { data: new Uint8Array([0, 1, 2, 255, 4, 5]), shape: [2, 3] };
    const s = decodePngMask(encodePngMask(small), "s");
    assert.equal(s.depth, 8);
    assert.deepEqual(Array.from(s.data), Array.from(small.data));
    const big = { data: new Int32Array([0, 256, 65535, 3]), shape: [2, 2] };
    const b = decodePngMask(encodePngMask(big), "b");
    assert.equal(b.depth, 16);
    assert.deepEqual(Array.from(b.data), [0, 256, 65535, 3]);
  });
  test("refuses labels out of range and wrong rank", () => {
    assert.throws(
      () => encodePngMask({ data: new Int32Array([70000]), shape: [1, 1] }),
      RangeError,
    );
    assert.throws(() => encodePngMask({ data: new Uint8Array(8), shape: [2, 2, 2] }), TypeError);
    assert.throws(() => encodePngRgb(new Uint8Array(5), 2, 2), TypeError);
  });
});
