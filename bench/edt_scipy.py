"""Reference side of bench/edt.ts: times scipy.ndimage.distance_transform_edt and, for 2-D
masks, OpenCV's exact cv2.distanceTransform(m, cv2.DIST_L2, cv2.DIST_MASK_PRECISE) on the
masks that bench/edt.ts wrote, and the official one_hot2dist on the classic label batch. One
thread everywhere (cv2.setNumThreads(1); scipy's EDT is single-threaded).

Usage: python3 bench/edt_scipy.py DIR NAME   (DIR holds meta.json and the .u8 files; NAME is one
mask's name, "classic", or "versions")
Prints one JSON object: {"scipy": {"times_ms": [...], "median_ms": m, "cpu_ms": c},
"opencv": {...} (2-D only), "opencv_max_diff": d} with wall-clock and CPU-time
(time.process_time) medians. It writes DIR/<name>.scipy.f32 (the distances, float32) so that
bench/edt.ts can check that both sides computed the same thing.

Run with Debian's /usr/bin/python3 (python3-scipy, python3-opencv); bench/edt.ts picks it (or
$PYTHON). seung-lab's `edt` (C++) is not installable here (no PyPI access), so 3-D has scipy
only: OpenCV has no 3-D distance transform.
"""
import json
import os
import resource
import sys
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402
import scipy  # noqa: E402
from scipy.ndimage import distance_transform_edt  # noqa: E402

try:
    import cv2  # noqa: E402

    cv2.setNumThreads(1)
except ImportError:  # pragma: no cover - OpenCV is optional
    cv2 = None


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def timed(fn, repeats):
    """Wall-clock and CPU-time medians of `repeats` calls (after one untimed warm-up), and the
    median number of minor page faults per call (first touches of fresh memory)."""
    result = fn()
    times, cpu, faults = [], [], []
    for _ in range(repeats):
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t0 = time.perf_counter()
        c0 = time.process_time()
        result = fn()
        cpu.append((time.process_time() - c0) * 1e3)
        times.append((time.perf_counter() - t0) * 1e3)
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
    return result, {"times_ms": times, "median_ms": median(times), "cpu_ms": median(cpu),
                    "faults": median(faults)}


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
    d, name = sys.argv[1], sys.argv[2]
    if name == "versions":
        print(json.dumps({"numpy": np.__version__, "scipy": scipy.__version__,
                          "opencv": cv2.__version__ if cv2 is not None else None,
                          "python": sys.version.split()[0]}))
        return
    meta = json.load(open(os.path.join(d, "meta.json")))
    out = {}
    if name == "classic":
        c = meta["classic"]
        labels = np.fromfile(os.path.join(d, c["file"]), dtype=np.uint8).reshape(c["shape"])
        C = c["numClasses"]
        onehot = np.stack([labels == k for k in range(C)], axis=1)  # (N, C, H, W), not timed
        maps, out["scipy"] = timed(
            lambda: np.stack([one_hot2dist(onehot[n]) for n in range(len(onehot))]), c["repeats"])
        maps.astype(np.float32).tofile(os.path.join(d, "classic.scipy.f32"))
        print(json.dumps(out))
        return
    m = next(x for x in meta["masks"] if x["name"] == name)
    mask = np.fromfile(os.path.join(d, m["file"]), dtype=np.uint8).reshape(m["shape"])
    ref, out["scipy"] = timed(lambda: distance_transform_edt(mask), m["repeats"])
    ref.astype(np.float32).tofile(os.path.join(d, name + ".scipy.f32"))
    if cv2 is not None and mask.ndim == 2 and m.get("opencv", True):
        cvd, out["opencv"] = timed(
            lambda: cv2.distanceTransform(mask, cv2.DIST_L2, cv2.DIST_MASK_PRECISE), m["repeats"])
        out["opencv_max_diff"] = float(np.max(np.abs(cvd - ref) / np.maximum(1, ref)))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
