/**
 * The benchmark masks of `bench/edt.ts`, one per class of real label maps, deterministic
 * (mulberry32 seeds), 2-D or 3-D:
 *
 * - `fine(shape, sigma, seed)`: fine structures — white noise smoothed with a Gaussian of
 *   `sigma` pixels (three box blurs per axis), thresholded so that ~30% is foreground: many
 *   small blobs a few pixels across (cells, lesions, trabecular texture).
 * - `curves(shape, seed)`: the distance to thin curves — 1 everywhere except 1-pixel-wide
 *   random-walk curves (vessel-like, ~2% of the voxels) that are 0.
 * - `balls(shape, frac, seed)`: random big balls of 1 covering ~`frac` (radii up to 1/10 of the
 *   shortest side).
 * - `blob(shape, frac)`: 1 everywhere except one ball of zeros covering ~`frac` (the expensive
 *   direction of a single small object's signed distance).
 *
 * @module
 */
import { mulberry32 as rng } from "../tests/util.ts";

/** Paints a ball (value `v`) of radius `r` at `c` into a 2-D or 3-D mask; returns the count. */
export function paintBall(
  m: Uint8Array,
  shape: readonly number[],
  c: readonly number[],
  r: number,
  v: number,
): number {
  let painted = 0;
  const lo = c.map((x) => Math.max(0, Math.floor(x - r)));
  const hi = c.map((x, i) => Math.min(shape[i]! - 1, Math.ceil(x + r)));
  const r2 = r * r;
  const d = shape.length;
  const W = shape[d - 1]!;
  const H = d === 3 ? shape[1]! : 1;
  const z0 = d === 3 ? lo[0]! : 0, z1 = d === 3 ? hi[0]! : 0;
  const cz = d === 3 ? c[0]! : 0;
  for (let z = z0; z <= z1; z++) {
    for (let y = lo[d - 2]!; y <= hi[d - 2]!; y++) {
      for (let x = lo[d - 1]!; x <= hi[d - 1]!; x++) {
        const i = (z * H + y) * W + x;
        const r2x = (z - cz) ** 2 + (y - c[d - 2]!) ** 2 + (x - c[d - 1]!) ** 2;
        if (r2x <= r2 && m[i] !== v) {
          m[i] = v;
          painted++;
        }
      }
    }
  }
  return painted;
}

/** 1 everywhere except one ball of zeros covering ~`frac` of the volume. */
export function blob(shape: readonly number[], frac: number): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const m = new Uint8Array(n).fill(1);
  const vol = shape.length === 2 ? Math.PI : (4 / 3) * Math.PI;
  const r = Math.pow((frac * n) / vol, 1 / shape.length);
  paintBall(m, shape, shape.map((s) => s * 0.41), r, 0);
  return m;
}

/** Random balls of value 1 until they cover ~`frac` of the volume. */
export function balls(shape: readonly number[], frac: number, seed: number): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const m = new Uint8Array(n);
  const rand = rng(seed);
  const rMax = Math.min(...shape) / 10;
  let covered = 0;
  while (covered < frac * n) {
    const c = shape.map((s) => rand() * s);
    covered += paintBall(m, shape, c, rMax * (0.3 + 0.7 * rand()), 1);
  }
  return m;
}

/** One box blur of width `2r+1` along the axis of length `n` and stride `stride`, in place. */
function boxBlur(a: Float32Array, n: number, stride: number, r: number, tmp: Float32Array) {
  const total = a.length;
  const inv = 1 / (2 * r + 1);
  for (let o = 0; o < total; o += n * stride) {
    for (let j = 0; j < stride; j++) {
      const base = o + j;
      for (let i = 0; i < n; i++) tmp[i] = a[base + i * stride]!;
      // running sum with clamped (edge-replicated) ends
      let s = 0;
      for (let k = -r; k <= r; k++) s += tmp[Math.min(n - 1, Math.max(0, k))]!;
      for (let i = 0; i < n; i++) {
        a[base + i * stride] = s * inv;
        s += tmp[Math.min(n - 1, i + r + 1)]! - tmp[Math.max(0, i - r)]!;
      }
    }
  }
}

/**
 * Fine structures: uniform noise smoothed by three box blurs per axis (a Gaussian of about
 * `sigma` pixels), thresholded at its 70th percentile: ~30% foreground.
 */
export function fine(shape: readonly number[], sigma: number, seed: number): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const a = new Float32Array(n);
  const rand = rng(seed);
  for (let i = 0; i < n; i++) a[i] = rand();
  // three boxes of width w have variance 3(w² − 1)/12 = sigma²
  const r = Math.max(1, Math.round((Math.sqrt(4 * sigma * sigma + 1) - 1) / 2));
  const tmp = new Float32Array(Math.max(...shape));
  let stride = 1;
  for (let ax = shape.length - 1; ax >= 0; ax--) {
    for (let k = 0; k < 3; k++) boxBlur(a, shape[ax]!, stride, r, tmp);
    stride *= shape[ax]!;
  }
  // 70th percentile from a sorted sample
  const sample = new Float32Array(Math.min(n, 1 << 16));
  for (let i = 0; i < sample.length; i++) sample[i] = a[Math.floor(rand() * n)]!;
  sample.sort();
  const t = sample[Math.floor(0.7 * sample.length)]!;
  const m = new Uint8Array(n);
  for (let i = 0; i < n; i++) m[i] = a[i]! > t ? 1 : 0;
  return m;
}

/**
 * The distance to thin curves: 1 everywhere except 1-pixel-wide curves of 0 (random walks with
 * a slowly turning heading, 8-/26-connected steps) covering ~2% of the voxels.
 */
export function curves(shape: readonly number[], seed: number): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = shape.length;
  const m = new Uint8Array(n).fill(1);
  const rand = rng(seed);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  let painted = 0;
  while (painted < 0.02 * n) {
    const p = shape.map((s) => rand() * s);
    // heading: a random unit vector, turned a little at each step
    let h = shape.map(() => rand() * 2 - 1);
    const len = Math.max(shape[d - 1]!, 64);
    for (let step = 0; step < len; step++) {
      let inside = true;
      let idx = 0;
      for (let a = 0; a < d; a++) {
        const c = Math.floor(p[a]!);
        if (c < 0 || c >= shape[a]!) inside = false;
        idx += c * strides[a]!;
      }
      if (!inside) break;
      if (m[idx] !== 0) {
        m[idx] = 0;
        painted++;
      }
      h = h.map((x) => x + (rand() - 0.5) * 0.3);
      const norm = Math.hypot(...h) || 1;
      // unit steps along the heading (the largest component moves one voxel): connected curves
      const big = Math.max(...h.map(Math.abs)) / norm;
      for (let a = 0; a < d; a++) p[a] = p[a]! + h[a]! / norm / big;
    }
  }
  return m;
}
