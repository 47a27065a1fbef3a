/**
 * Private to cli/: pictures of a case, as RGB PNGs.
 *
 * - {@linkcode distancePicture}: the signed distance map of each class on a slice, with a
 *   diverging colormap (blue inside, white on the boundary, red outside), the zero contour
 *   (the class boundary) in black, grey iso-distance lines and a colour bar in physical units.
 * - {@linkcode overlayPicture}: prediction vs ground truth on a slice (grey where both agree,
 *   blue where only the truth has the class: missed, red where only the prediction has it:
 *   extra), both surfaces coloured by their distance to the other surface (green close, red
 *   far), and the HD95 location ringed with a line to its nearest point on the other surface.
 *
 * For 3-D volumes the slice is along the first array axis (NIfTI k, "z"); by default the
 * overlay takes the slice through each class's HD95 location and the distance picture the
 * slice with the most voxels of the class.
 *
 * @module
 */
import type { NdArray } from "../core/ndarray.ts";
import { edt } from "../transforms/edt.ts";
import { encodePngRgb } from "../io/png.ts";
import { type Canvas, drawText, textWidth } from "./_font.ts";

type RGB = readonly [number, number, number];

const WHITE: RGB = [255, 255, 255];
const BLACK: RGB = [0, 0, 0];
const TEXT: RGB = [20, 20, 20];
const BOTH: RGB = [205, 205, 205];
const MISSED: RGB = [150, 190, 255];
const EXTRA: RGB = [255, 175, 150];

function lerpStops(stops: readonly [number, RGB][], t: number): RGB {
  const x = Math.min(1, Math.max(0, t));
  for (let i = 1; i < stops.length; i++) {
    const [t1, c1] = stops[i]!;
    const [t0, c0] = stops[i - 1]!;
    if (x <= t1) {
      const f = (x - t0) / (t1 - t0 || 1);
      return [
        Math.round(c0[0] + f * (c1[0] - c0[0])),
        Math.round(c0[1] + f * (c1[1] - c0[1])),
        Math.round(c0[2] + f * (c1[2] - c0[2])),
      ];
    }
  }
  return stops[stops.length - 1]![1];
}

/** Diverging: -1 dark blue, 0 white, +1 dark red (ColorBrewer RdBu, reversed). */
function diverging(t: number): RGB {
  return lerpStops([
    [0, [5, 48, 97]],
    [0.25, [67, 147, 195]],
    [0.5, [247, 247, 247]],
    [0.75, [214, 96, 77]],
    [1, [103, 0, 31]],
  ], (t + 1) / 2);
}

/** Sequential for surface distances: 0 green, then yellow, orange, dark red. */
function errorColor(t: number): RGB {
  return lerpStops([
    [0, [0, 150, 70]],
    [0.33, [225, 195, 0]],
    [0.66, [240, 100, 0]],
    [1, [165, 0, 50]],
  ], t);
}

function canvas(width: number, height: number): Canvas {
  return { rgb: new Uint8Array(width * height * 3).fill(255), width, height };
}

function fillRect(c: Canvas, x: number, y: number, w: number, h: number, col: RGB): void {
  for (let yy = Math.max(0, y); yy < Math.min(c.height, y + h); yy++) {
    for (let xx = Math.max(0, x); xx < Math.min(c.width, x + w); xx++) {
      const o = 3 * (yy * c.width + xx);
      c.rgb[o] = col[0];
      c.rgb[o + 1] = col[1];
      c.rgb[o + 2] = col[2];
    }
  }
}

function line(c: Canvas, x0: number, y0: number, x1: number, y1: number, col: RGB, w = 2): void {
  const n = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
  for (let i = 0; i <= n; i++) {
    const x = Math.round(x0 + ((x1 - x0) * i) / n);
    const y = Math.round(y0 + ((y1 - y0) * i) / n);
    fillRect(c, x - (w >> 1), y - (w >> 1), w, w, col);
  }
}

function ring(c: Canvas, cx: number, cy: number, r: number, col: RGB, w = 2): void {
  const steps = Math.max(32, Math.ceil(2 * Math.PI * r));
  for (let i = 0; i < steps; i++) {
    const a = (2 * Math.PI * i) / steps;
    const x = Math.round(cx + r * Math.cos(a));
    const y = Math.round(cy + r * Math.sin(a));
    fillRect(c, x - (w >> 1), y - (w >> 1), w, w, col);
  }
}

/**
 * The first slice (along axis 0 of a 3-D `shape`) with the most voxels labelled `label` in
 * `a` or in `b`.
 */
function busiestSlice(
  shape: readonly number[],
  label: number,
  a: ArrayLike<number | bigint>,
  b: ArrayLike<number | bigint> = a,
): number {
  const per = shape[1]! * shape[2]!;
  let best = -1, z = 0;
  for (let s = 0; s < shape[0]!; s++) {
    let cnt = 0;
    for (let i = s * per; i < (s + 1) * per; i++) {
      if (Number(a[i]!) === label || (b !== a && Number(b[i]!) === label)) cnt++;
    }
    if (cnt > best) {
      best = cnt;
      z = s;
    }
  }
  return z;
}
/** A 2-D view of one slice: height, width, and a flat-index function into the volume. */
interface SliceView {
  h: number;
  w: number;
  /** Offset of the view in the slice (a crop), rows and columns. */
  oy: number;
  ox: number;
  /** Flat index into the volume of in-plane pixel (y, x). */
  at(y: number, x: number): number;
  /** In-plane spacing [row, column]. */
  spacing: [number, number];
}

function sliceView(shape: readonly number[], spacing: readonly number[], z: number): SliceView {
  if (shape.length === 2) {
    const [h, w] = shape as [number, number];
    return { h, w, oy: 0, ox: 0, at: (y, x) => y * w + x, spacing: [spacing[0]!, spacing[1]!] };
  }
  const [, h, w] = shape as [number, number, number];
  return {
    h,
    w,
    oy: 0,
    ox: 0,
    at: (y, x) => (z * h + y) * w + x,
    spacing: [spacing[1]!, spacing[2]!],
  };
}

/**
 * The view cropped to the box of `inBox` pixels (plus the points) with a margin, when that box
 * is much smaller than the slice: small structures get enlarged.
 */
function cropTo(
  v: SliceView,
  inBox: (y: number, x: number) => boolean,
  points: [number, number][],
): SliceView {
  let y0 = Infinity, y1 = -Infinity, x0 = Infinity, x1 = -Infinity;
  const add = (y: number, x: number) => {
    y0 = Math.min(y0, y);
    y1 = Math.max(y1, y);
    x0 = Math.min(x0, x);
    x1 = Math.max(x1, x);
  };
  // isolated pixels (stray label noise) do not widen the box
  const has = (y: number, x: number) => y >= 0 && x >= 0 && y < v.h && x < v.w && inBox(y, x);
  for (let y = 0; y < v.h; y++) {
    for (let x = 0; x < v.w; x++) {
      if (has(y, x) && (has(y - 1, x) || has(y + 1, x) || has(y, x - 1) || has(y, x + 1))) {
        add(y, x);
      }
    }
  }
  for (const [y, x] of points) add(y, x);
  if (y0 === Infinity) return v;
  const margin = Math.max(6, Math.round(0.25 * Math.max(y1 - y0, x1 - x0)));
  let h = y1 - y0 + 1 + 2 * margin;
  let w = x1 - x0 + 1 + 2 * margin;
  h = Math.max(h, 24);
  w = Math.max(w, 24);
  if (h >= 0.7 * v.h && w >= 0.7 * v.w) return v;
  h = Math.min(h, v.h);
  w = Math.min(w, v.w);
  const cy = Math.round((y0 + y1) / 2), cx = Math.round((x0 + x1) / 2);
  const oy = Math.min(Math.max(0, cy - (h >> 1)), v.h - h);
  const ox = Math.min(Math.max(0, cx - (w >> 1)), v.w - w);
  return { ...v, h, w, oy, ox, at: (y, x) => v.at(y + oy, x + ox) };
}

/** Pixel size of a voxel so the panel is about `target` pixels on its long side. */
function blockSize(v: SliceView, target = 360): [number, number] {
  const m = Math.min(v.spacing[0], v.spacing[1]);
  const ry = v.spacing[0] / m;
  const rx = v.spacing[1] / m;
  const k = Math.max(1, Math.floor(target / Math.max(v.h * ry, v.w * rx)));
  return [Math.max(1, Math.round(k * ry)), Math.max(1, Math.round(k * rx))];
}

/** Face-connected surface voxels of `label` in `labels` (volume border counts as outside). */
export function surfaceOf(labels: NdArray, label: number): Uint8Array {
  const shape = labels.shape;
  const n = labels.data.length;
  const out = new Uint8Array(n);
  const strides: number[] = [];
  let s = 1;
  for (let a = shape.length - 1; a >= 0; a--) {
    strides[a] = s;
    s *= shape[a]!;
  }
  const d = labels.data;
  const coord = new Array(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    if (i > 0) {
      for (let a = shape.length - 1; a >= 0; a--) {
        if (++coord[a] < shape[a]!) break;
        coord[a] = 0;
      }
    }
    if (Number(d[i]!) !== label) continue;
    let surf = false;
    for (let a = 0; a < shape.length && !surf; a++) {
      const st = strides[a]!;
      if (coord[a] === 0 || coord[a] === shape[a]! - 1) surf = true;
      else if (Number(d[i - st]!) !== label || Number(d[i + st]!) !== label) surf = true;
    }
    if (surf) out[i] = 1;
  }
  return out;
}

function distanceTo(
  surface: Uint8Array,
  shape: readonly number[],
  spacing: readonly number[],
): Float32Array {
  const mask = new Uint8Array(surface.length);
  for (let i = 0; i < mask.length; i++) mask[i] = surface[i] ? 0 : 1;
  return edt({ data: mask, shape }, { spacing: [...spacing] }).data;
}

function coordsOf(i: number, shape: readonly number[]): number[] {
  const out = new Array(shape.length).fill(0);
  for (let a = shape.length - 1; a >= 0; a--) {
    out[a] = i % shape[a]!;
    i = Math.floor(i / shape[a]!);
  }
  return out;
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** What one overlay panel shows, for the caller's report. */
export interface OverlayPanelInfo {
  /** Class label. */
  label: number;
  /** Slice index along the first axis (3-D only). */
  slice: number | null;
  /** The HD95 location (array coordinates) when both surfaces exist. */
  hd95At: number[] | null;
}

interface Panel {
  title: string[];
  draw(c: Canvas, x0: number, y0: number): void;
  width: number;
  height: number;
  bar: {
    lo: number;
    hi: number;
    color: (t: number) => RGB;
    unit: string;
    diverging: boolean;
    /** The last colour also stands for larger values ("≥ hi"). */
    open?: boolean;
  };
}

const SCALE = 2;
const LINE = 9 * SCALE;

function compose(panels: Panel[], legend: [RGB, string][], footer: string): Uint8Array {
  const gap = 24;
  const titleH = Math.max(...panels.map((p) => p.title.length)) * LINE + 8;
  const barH = 14 + LINE + 8;
  const legendH = legend.length > 0 ? LINE + 12 : 0;
  const footH = footer ? LINE + 6 : 0;
  const minPanelW = textWidth("0.00", SCALE) * 4;
  const widths = panels.map((p) =>
    Math.max(p.width, minPanelW, ...p.title.map((t) => textWidth(t, SCALE)))
  );
  let W = gap + widths.reduce((a, b) => a + b + gap, 0);
  const legendW = legend.reduce((a, [, t]) => a + 22 + textWidth(t, SCALE) + 18, gap);
  W = Math.max(W, legendW, textWidth(footer, SCALE) + 2 * gap);
  const H = gap / 2 + titleH + Math.max(...panels.map((p) => p.height)) + barH + legendH + footH +
    gap / 2;
  const c = canvas(W, H);
  let x = gap;
  panels.forEach((p, k) => {
    const y = gap / 2;
    p.title.forEach((t, i) => drawText(c, t, x, y + i * LINE, TEXT, SCALE));
    const py = y + titleH;
    p.draw(c, x, py);
    // frame
    fillRect(c, x - 1, py - 1, p.width + 2, 1, BLACK);
    fillRect(c, x - 1, py + p.height, p.width + 2, 1, BLACK);
    fillRect(c, x - 1, py - 1, 1, p.height + 2, BLACK);
    fillRect(c, x + p.width, py - 1, 1, p.height + 2, BLACK);
    // colour bar
    const by = py + p.height + 8;
    const bw = Math.max(p.width, minPanelW);
    for (let i = 0; i < bw; i++) {
      const t = i / Math.max(1, bw - 1);
      fillRect(c, x + i, by, 1, 12, p.bar.color(p.bar.diverging ? 2 * t - 1 : t));
    }
    const lo = fmt(p.bar.lo);
    const hi = (p.bar.open ? ">" : "") + fmt(p.bar.hi);
    drawText(c, lo, x, by + 16, TEXT, SCALE);
    drawText(c, hi, x + bw - textWidth(hi, SCALE), by + 16, TEXT, SCALE);
    const mid = p.bar.diverging ? `0 ${p.bar.unit}` : p.bar.unit;
    drawText(c, mid, x + ((bw - textWidth(mid, SCALE)) >> 1), by + 16, TEXT, SCALE);
    x += widths[k]! + gap;
  });
  let ly = H - gap / 2 - footH - legendH + 6;
  let lx = gap;
  for (const [col, text] of legend) {
    fillRect(c, lx, ly, 16, 14, col);
    fillRect(c, lx, ly, 16, 1, BLACK);
    fillRect(c, lx, ly + 13, 16, 1, BLACK);
    fillRect(c, lx, ly, 1, 14, BLACK);
    fillRect(c, lx + 15, ly, 1, 14, BLACK);
    drawText(c, text, lx + 22, ly, TEXT, SCALE);
    lx += 22 + textWidth(text, SCALE) + 18;
  }
  if (footer) {
    ly = H - gap / 2 - LINE + 4;
    drawText(c, footer, gap, ly, [90, 90, 90], SCALE);
  }
  return encodePngRgb(c.rgb, c.width, c.height);
}

/**
 * The prediction-vs-truth picture of one case: one panel per class.
 *
 * @param pred Predicted labels (spatial axes only, 2-D or 3-D).
 * @param ref Reference labels, same shape.
 * @param classes The classes, one panel each.
 * @param spacing Spacing per array axis.
 * @param hd95 The HD95 of each class (from the metrics report), for the marker.
 * @param slice The slice along the first axis for 3-D (default: through each class's HD95 location).
 * @param unit "MM" when the spacing came from headers, else "VOXELS"-less unit.
 * @param caption The footer (case name).
 * @param dice The Dice of each class, shown in the titles.
 */
export function overlayPicture(
  pred: NdArray,
  ref: NdArray,
  classes: readonly number[],
  spacing: readonly number[],
  hd95: readonly number[],
  slice: number | undefined,
  unit: string,
  caption: string,
  dice: readonly number[] = [],
): { png: Uint8Array; panels: OverlayPanelInfo[] } {
  const shape = ref.shape;
  const is3d = shape.length === 3;
  const infos: OverlayPanelInfo[] = [];
  const panels: Panel[] = classes.map((label, k) => {
    const sp = surfaceOf(pred, label);
    const sr = surfaceOf(ref, label);
    let nP = 0, nR = 0;
    for (let i = 0; i < sp.length; i++) {
      nP += sp[i]!;
      nR += sr[i]!;
    }
    let dToRef: Float32Array | null = null;
    let dToPred: Float32Array | null = null;
    let marker = -1;
    let partner = -1;
    let maxD = 0;
    if (nP > 0 && nR > 0) {
      const toRef = distanceTo(sr, shape, spacing);
      const toPred = distanceTo(sp, shape, spacing);
      dToRef = toRef;
      dToPred = toPred;
      const target = hd95[k] ?? NaN;
      let best = Infinity;
      for (let i = 0; i < sp.length; i++) {
        if (sp[i]) {
          const d = toRef[i]!;
          if (d > maxD) maxD = d;
          if (Math.abs(d - target) < best) {
            best = Math.abs(d - target);
            marker = i;
          }
        }
        if (sr[i]) {
          const d = toPred[i]!;
          if (d > maxD) maxD = d;
          if (Math.abs(d - target) < best - 1e-9) {
            best = Math.abs(d - target);
            marker = i;
          }
        }
      }
      // nearest voxel of the other surface to the marker (brute force over that surface)
      const other = sp[marker] ? sr : sp;
      const mc = coordsOf(marker, shape);
      let bd = Infinity;
      for (let i = 0; i < other.length; i++) {
        if (!other[i]) continue;
        const oc = coordsOf(i, shape);
        let d = 0;
        for (let a = 0; a < shape.length; a++) d += ((oc[a]! - mc[a]!) * spacing[a]!) ** 2;
        if (d < bd) {
          bd = d;
          partner = i;
        }
      }
    }
    let z = 0;
    if (is3d) {
      if (slice !== undefined) z = Math.min(Math.max(0, slice), shape[0]! - 1);
      else if (marker >= 0) z = coordsOf(marker, shape)[0]!;
      else z = busiestSlice(shape, label, pred.data, ref.data);
    }
    const mc = marker >= 0 ? coordsOf(marker, shape) : null;
    const pc = partner >= 0 ? coordsOf(partner, shape) : null;
    const full = sliceView(shape, spacing, z);
    const inPlane = (c: number[] | null): [number, number][] =>
      c !== null && (!is3d || c[0] === z) ? [[c[is3d ? 1 : 0]!, c[is3d ? 2 : 1]!]] : [];
    const v = cropTo(
      full,
      (y, x) => {
        const i = full.at(y, x);
        return Number(pred.data[i]!) === label || Number(ref.data[i]!) === label;
      },
      [...inPlane(mc), ...inPlane(pc)],
    );
    const [by, bx] = blockSize(v);
    infos.push({ label, slice: is3d ? z : null, hd95At: mc });
    const hd = hd95[k];
    const zoom = v !== full ? `  ZOOM ${v.w}X${v.h}` : "";
    const title = [
      `CLASS ${label}${is3d ? `  SLICE ${z}` : ""}${zoom}`,
      `${dice[k] === undefined ? "" : `DICE ${fmt(dice[k]!)}  `}HD95 ${
        hd === undefined ? "-" : fmt(hd)
      } ${unit}`,
    ];
    if (is3d && mc !== null && mc[0] !== z) title.push(`HD95 POINT AT SLICE ${mc[0]}`);
    if (is3d && mc !== null && pc !== null && mc[0] === z && pc[0] !== z) {
      title.push(`NEAREST POINT AT SLICE ${pc[0]}`);
    }
    // the colour scale ends at 1.5 × HD95 (farther voxels take the last colour), so that the
    // distances around the HD95 use the whole palette even when a stray voxel is far away
    const top = hd !== undefined && Number.isFinite(hd) && hd > 0 ? Math.min(maxD, 1.5 * hd) : maxD;
    return {
      title,
      width: v.w * bx,
      height: v.h * by,
      bar: { lo: 0, hi: top, color: errorColor, unit, diverging: false, open: top < maxD },
      draw(c: Canvas, x0: number, y0: number) {
        for (let y = 0; y < v.h; y++) {
          for (let x = 0; x < v.w; x++) {
            const i = v.at(y, x);
            const p = Number(pred.data[i]!) === label;
            const r = Number(ref.data[i]!) === label;
            let col: RGB = p && r ? BOTH : r ? MISSED : p ? EXTRA : WHITE;
            if (dToRef !== null && dToPred !== null && (sp[i] || sr[i])) {
              const d = Math.max(sp[i] ? dToRef[i]! : 0, sr[i] ? dToPred[i]! : 0);
              col = errorColor(top > 0 ? d / top : 0);
            } else if (sp[i] || sr[i]) col = [90, 90, 90];
            fillRect(c, x0 + x * bx, y0 + y * by, bx, by, col);
          }
        }
        if (mc !== null && (!is3d || mc[0] === z)) {
          const cy = y0 + (mc[is3d ? 1 : 0]! - v.oy + 0.5) * by;
          const cx = x0 + (mc[is3d ? 2 : 1]! - v.ox + 0.5) * bx;
          if (pc !== null && (!is3d || pc[0] === z)) {
            const qy = y0 + (pc[is3d ? 1 : 0]! - v.oy + 0.5) * by;
            const qx = x0 + (pc[is3d ? 2 : 1]! - v.ox + 0.5) * bx;
            line(c, cx, cy, qx, qy, BLACK, 2);
            ring(c, qx, qy, Math.max(3, Math.min(bx, by) * 0.6), BLACK, 2);
          }
          const rr = Math.max(7, Math.min(bx, by) * 1.6);
          ring(c, cx, cy, rr + 1, WHITE, 2);
          ring(c, cx, cy, rr, [200, 0, 200], 3);
          const label = "HD95";
          const tx = Math.min(
            x0 + v.w * bx - textWidth(label, SCALE),
            Math.max(x0, Math.round(cx + rr + 3)),
          );
          const ty = Math.max(y0, Math.round(cy - rr - 16));
          fillRect(c, tx - 2, ty - 2, textWidth(label, SCALE) + 2, 18, WHITE);
          drawText(c, label, tx, ty, [160, 0, 160], SCALE);
        }
      },
    };
  });
  const png = compose(
    panels,
    [
      [BOTH, "BOTH"],
      [MISSED, "MISSED (TRUTH ONLY)"],
      [EXTRA, "EXTRA (PREDICTION ONLY)"],
      [errorColor(0), "SURFACE: DISTANCE TO OTHER"],
    ],
    caption,
  );
  return { png, panels: infos };
}

/**
 * The signed distance picture: one panel per class.
 *
 * @param labels The labels the maps come from (spatial axes only).
 * @param maps One map per class, `classes.length · voxels`, in the array's order.
 * @param classes The classes.
 * @param spacing Spacing per array axis.
 * @param slice The slice along the first axis for 3-D (default: for each class, the slice with
 * most of its voxels).
 * @param convention The convention's name for the title.
 * @param unit The distance unit.
 * @param caption The footer.
 */
export function distancePicture(
  labels: NdArray,
  maps: Float32Array,
  classes: readonly number[],
  spacing: readonly number[],
  slice: number | undefined,
  convention: string,
  unit: string,
  caption: string,
): { png: Uint8Array; slices: (number | null)[] } {
  const shape = labels.shape;
  const is3d = shape.length === 3;
  const vox = labels.data.length;
  const slices: (number | null)[] = [];
  const panels: Panel[] = classes.map((label, k) => {
    // each class on the slice with most of its voxels, unless --slice says which
    let z = 0;
    if (is3d) {
      if (slice !== undefined) z = Math.min(Math.max(0, slice), shape[0]! - 1);
      else z = busiestSlice(shape, label, labels.data);
    }
    slices.push(is3d ? z : null);
    const v = sliceView(shape, spacing, z);
    const [by, bx] = blockSize(v);
    const off = k * vox;
    // asymmetric diverging scale: the inside uses the whole blue half, the outside the red
    let lo = 0, hi = 0;
    for (let y = 0; y < v.h; y++) {
      for (let x = 0; x < v.w; x++) {
        const p = maps[off + v.at(y, x)]!;
        if (p < lo) lo = p;
        if (p > hi) hi = p;
      }
    }
    const neg = lo < 0 ? -lo : 1;
    const pos = hi > 0 ? hi : 1;
    const step = niceStep(Math.max(neg, pos) / 5);
    return {
      title: [`CLASS ${label}${is3d ? `  SLICE ${z}` : ""}`, `${convention.toUpperCase()}`],
      width: v.w * bx,
      height: v.h * by,
      bar: { lo: -neg, hi: pos, color: diverging, unit, diverging: true },
      draw(c: Canvas, x0: number, y0: number) {
        const phi = (y: number, x: number) => maps[off + v.at(y, x)]!;
        const inside = (y: number, x: number) => Number(labels.data[v.at(y, x)]!) === label;
        for (let y = 0; y < v.h; y++) {
          for (let x = 0; x < v.w; x++) {
            const p = phi(y, x);
            fillRect(c, x0 + x * bx, y0 + y * by, bx, by, diverging(p < 0 ? p / neg : p / pos));
          }
        }
        // iso-distance lines (grey) every `step`, then the zero contour (black): block edges
        // between voxels in different bands / on different sides of the boundary
        for (const pass of [0, 1]) {
          for (let y = 0; y < v.h; y++) {
            for (let x = 0; x < v.w; x++) {
              for (const [dy, dx] of [[0, 1], [1, 0]] as const) {
                const y2 = y + dy, x2 = x + dx;
                if (y2 >= v.h || x2 >= v.w) continue;
                let edge: boolean;
                if (pass === 0) {
                  const a = Math.floor(phi(y, x) / step);
                  const b = Math.floor(phi(y2, x2) / step);
                  // band -1 | 0 is the zero contour, drawn in black below
                  edge = a !== b && !(Math.min(a, b) === -1 && Math.max(a, b) === 0);
                } else edge = inside(y, x) !== inside(y2, x2);
                if (!edge) continue;
                const col: RGB = pass === 0 ? [110, 110, 110] : BLACK;
                const w = pass === 0 ? 1 : 2;
                if (dx === 1) fillRect(c, x0 + x2 * bx - (w >> 1), y0 + y * by, w, by, col);
                else fillRect(c, x0 + x * bx, y0 + y2 * by - (w >> 1), bx, w, col);
              }
            }
          }
        }
      },
    };
  });
  const png = compose(
    panels,
    [
      [diverging(-0.7), "INSIDE (NEGATIVE)"],
      [diverging(0.7), "OUTSIDE (POSITIVE)"],
      [BLACK, "BOUNDARY"],
      [[110, 110, 110], "ISO-DISTANCE LINES"],
    ],
    caption,
  );
  return { png, slices };
}

function niceStep(x: number): number {
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}
