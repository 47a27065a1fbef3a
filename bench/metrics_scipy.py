"""scipy side of bench/metrics.ts: HD95 (MONAI convention) on the same 256^3 masks.

Surface via binary_erosion (face connectivity, border_value=0: foreground on the volume border
is a surface, MONAI's get_mask_edges and medpy's rule, segloss's default), distances via
distance_transform_edt of the complement of the other surface, np.percentile (linear), in two
variants: on the whole volume (what a script built from these three calls does) and on the
bounding box of both masks (what MONAI's get_mask_edges(crop=True) does).

Usage: python3 bench/metrics_scipy.py PRED.raw TARGET.raw D H W SZ SY SX REPEATS_FULL REPEATS_CROP
Prints one JSON object.
"""

import json
import sys
import time

import numpy as np
from scipy import ndimage


def hd95(p, t, spacing):
    st = ndimage.generate_binary_structure(p.ndim, 1)
    sp = p & ~ndimage.binary_erosion(p, structure=st, border_value=0)
    stt = t & ~ndimage.binary_erosion(t, structure=st, border_value=0)
    d1 = ndimage.distance_transform_edt(~stt, sampling=spacing)[sp]
    d2 = ndimage.distance_transform_edt(~sp, sampling=spacing)[stt]
    return max(np.percentile(d1, 95), np.percentile(d2, 95)), float(max(d1.max(), d2.max()))


def crop(p, t):
    idx = np.nonzero(p | t)
    # one voxel of margin (inside the volume); with border_value=0 the surface is the same with
    # or without it, since outside the box all is background
    sl = tuple(slice(max(int(i.min()) - 1, 0), min(int(i.max()) + 2, n))
               for i, n in zip(idx, p.shape))
    return p[sl], t[sl]


def main():
    a = sys.argv[1:]
    shape = tuple(int(x) for x in a[2:5])
    spacing = tuple(float(x) for x in a[5:8])
    rf, rc = int(a[8]), int(a[9])
    p = np.fromfile(a[0], dtype=np.uint8).reshape(shape).astype(bool)
    t = np.fromfile(a[1], dtype=np.uint8).reshape(shape).astype(bool)
    out = {}
    times = []
    for _ in range(rf):
        t0 = time.perf_counter()
        v = hd95(p, t, spacing)
        times.append((time.perf_counter() - t0) * 1000)
    out["full"] = {"ms": times, "hd95": float(v[0]), "hd": v[1]}
    times = []
    for _ in range(rc):
        t0 = time.perf_counter()
        pc, tc = crop(p, t)
        v = hd95(pc, tc, spacing)
        times.append((time.perf_counter() - t0) * 1000)
    out["crop"] = {"ms": times, "hd95": float(v[0]), "hd": v[1]}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
