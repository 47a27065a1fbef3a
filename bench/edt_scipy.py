"""scipy side of bench/edt.ts: times scipy.ndimage.distance_transform_edt on the masks that
bench/edt.ts wrote, and the official one_hot2dist on the classic label batch.

Usage: python3 bench/edt_scipy.py DIR [NAME]   (DIR holds meta.json and the .u8 files; NAME is
one mask's name or "classic"; default: all)
Prints one JSON object: {"edt": {name: {"times_ms": [...], "median_ms": m, "cpu_ms": c}},
"classic": {...}} with wall-clock and CPU-time (time.process_time) medians.
It also writes DIR/<name>.scipy.f32 (the distances, float32) so bench/edt.ts can check that
both sides computed the same thing.
"""
import json
import os
import sys
import time

import numpy as np
from scipy.ndimage import distance_transform_edt


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def one_hot2dist(seg, resolution=None):
    """The official boundary-loss utils.py one_hot2dist (C, *spatial) -> (C, *spatial)."""
    C = len(seg)
    res = np.zeros_like(seg, dtype=np.float32)
    for k in range(C):
        posmask = seg[k].astype(bool)
        if posmask.any():
            negmask = ~posmask
            res[k] = distance_transform_edt(negmask, sampling=resolution) * negmask - (
                distance_transform_edt(posmask, sampling=resolution) - 1) * posmask
    return res


def main():
    d = sys.argv[1]
    only = sys.argv[2] if len(sys.argv) > 2 else None
    meta = json.load(open(os.path.join(d, "meta.json")))
    out = {"edt": {}, "classic": None}
    for m in meta["masks"]:
        if only is not None and m["name"] != only:
            continue
        mask = np.fromfile(os.path.join(d, m["file"]), dtype=np.uint8).reshape(m["shape"])
        times = []
        cpu = []
        result = None
        for _ in range(m["repeats"]):
            t0 = time.perf_counter()
            c0 = time.process_time()
            result = distance_transform_edt(mask)
            cpu.append((time.process_time() - c0) * 1e3)
            times.append((time.perf_counter() - t0) * 1e3)
        result.astype(np.float32).tofile(os.path.join(d, m["name"] + ".scipy.f32"))
        out["edt"][m["name"]] = {"times_ms": times, "median_ms": median(times),
                                 "cpu_ms": median(cpu)}
    c = meta.get("classic")
    if c and only in (None, "classic"):
        labels = np.fromfile(os.path.join(d, c["file"]), dtype=np.uint8).reshape(c["shape"])
        C = c["numClasses"]
        onehot = np.stack([labels == k for k in range(C)], axis=1)  # (N, C, H, W), not timed
        times = []
        cpu = []
        maps = None
        for _ in range(c["repeats"]):
            t0 = time.perf_counter()
            c0 = time.process_time()
            maps = np.stack([one_hot2dist(onehot[n]) for n in range(len(onehot))])
            cpu.append((time.process_time() - c0) * 1e3)
            times.append((time.perf_counter() - t0) * 1e3)
        maps.astype(np.float32).tofile(os.path.join(d, "classic.scipy.f32"))
        out["classic"] = {"times_ms": times, "median_ms": median(times), "cpu_ms": median(cpu)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
