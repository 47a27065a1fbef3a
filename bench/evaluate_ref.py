"""Reference for bench/evaluate.ts: the official boundary-loss computation (PyTorch style) on
the classic example, reimplemented with numpy + scipy (torch is not installed here), one
thread: softmax over the logits, one-hot labels, signed distance maps per sample and per
class with scipy (utils.py one_hot2dist), soft dice (all classes, smoothing 1e-5, MONAI's
default) + 0.01 x boundary loss (classes 1..C-1, mean of p * phi), and the analytic backward
pass d(total)/d(logits) through the softmax, as autograd would compute it.

Usage: python3 bench/evaluate_ref.py DIR REPEATS
DIR holds logits.f32 (N, C, H, W float32), labels.u8 (N, H, W) and shape.json; prints JSON
with the values and the timings (milliseconds, every run) and writes the gradient to
DIR/grad.f32.
"""
import json
import os
import sys
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402
from scipy.ndimage import distance_transform_edt as edt  # noqa: E402


def one_hot2dist(seg):
    res = np.zeros_like(seg, dtype=np.float32)
    for k in range(len(seg)):
        posmask = seg[k].astype(bool)
        if posmask.any() and not posmask.all():
            negmask = ~posmask
            res[k] = edt(negmask) * negmask - (edt(posmask) - 1) * posmask
    return res


def step(z, labels, alpha=0.01, smooth=1e-5):
    N, C = z.shape[:2]
    c0 = time.process_time()
    t0 = time.perf_counter()
    # forward: softmax
    m = z.max(1, keepdims=True)
    e = np.exp(z - m)
    p = e / e.sum(1, keepdims=True)
    onehot = (labels[:, None] == np.arange(C)[None, :, None, None]).astype(np.float32)
    t1 = time.perf_counter()
    # signed distance maps, per sample (as the official data loader / loss snippet does)
    dist = np.stack([one_hot2dist(onehot[n]) for n in range(N)])
    t2 = time.perf_counter()
    # dice (per sample and class) and boundary (classes 1..C-1)
    I = np.einsum("bchw,bchw->bc", p, onehot)
    P = p.sum((2, 3))
    T = onehot.sum((2, 3))
    den = P + T + smooth
    dice = float((1 - (2 * I + smooth) / den).mean())
    pb = p[:, 1:] * dist[:, 1:]
    boundary = float(pb.mean())
    total = dice + alpha * boundary
    # backward: dL/dp then through the softmax
    k = 1.0 / (N * C)
    gd = k * (-2 * onehot / den[:, :, None, None] + ((2 * I + smooth) / den ** 2)[:, :, None, None])
    gb = np.zeros_like(p)
    gb[:, 1:] = alpha * dist[:, 1:] / (N * (C - 1) * p.shape[2] * p.shape[3])
    g = gd + gb
    grad = p * (g - (p * g).sum(1, keepdims=True))
    t3 = time.perf_counter()
    c3 = time.process_time()
    return {"cpu_total": (c3 - c0) * 1e3,"dice": dice, "boundary": boundary, "total": total, "grad": grad,
            "t_softmax": (t1 - t0) * 1e3, "t_maps": (t2 - t1) * 1e3, "t_loss_backward": (t3 - t2) * 1e3,
            "t_total": (t3 - t0) * 1e3}


def main():
    d, repeats = sys.argv[1], int(sys.argv[2])
    shape = json.load(open(os.path.join(d, "shape.json")))
    z = np.fromfile(os.path.join(d, "logits.f32"), dtype=np.float32).reshape(shape)
    labels = np.fromfile(os.path.join(d, "labels.u8"), dtype=np.uint8).reshape([shape[0]] + shape[2:])
    step(z, labels)  # warm-up
    runs = [step(z, labels) for _ in range(repeats)]
    r = runs[-1]
    keys = ("t_softmax", "t_maps", "t_loss_backward", "t_total", "cpu_total")
    g = r["grad"]
    g.astype(np.float32).tofile(os.path.join(d, "grad.f32"))
    print(json.dumps({
        "numpy": np.__version__, "scipy": __import__("scipy").__version__,
        "dice": r["dice"], "boundary": r["boundary"], "total": r["total"],
        "grad_checksum": float(np.abs(g).sum()),
        "runs": {k: [x[k] for x in runs] for k in keys},
    }))


main()
