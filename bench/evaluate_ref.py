"""References for bench/evaluate.ts on the classic example, one thread:

- "numpy": the official boundary-loss computation reimplemented with numpy + scipy: softmax
  over the logits, one-hot labels, signed distance maps per sample and per class with scipy
  (utils.py one_hot2dist), soft dice (all classes, smoothing 1e-5, MONAI's default) + 0.01 x
  boundary loss (classes 1..C-1, mean of p * phi), and the analytic backward pass
  d(total)/d(logits) through the softmax, as autograd would compute it.
- "torch": the same with PyTorch (torch.set_num_threads(1)) as the official code runs it:
  maps per sample with scipy's one_hot2dist (as the official data loader does), then
  torch.softmax, the dice, the official SurfaceLoss (einsum of probs and maps over classes
  1..C-1, mean) and loss.backward() for the gradient of the logits.

Usage: python3 bench/evaluate_ref.py DIR REPEATS [numpy|torch]   (default numpy)
DIR holds logits.f32 (N, C, H, W float32), labels.u8 (N, H, W) and shape.json; prints JSON
with the values and the timings (milliseconds, every run) and writes the gradient to
DIR/grad.f32 (numpy) or DIR/grad_torch.f32 (torch). torch: Debian's python3-torch (1.13, CPU)
on /usr/bin/python3.
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


def torch_step(torch, z_np, labels, alpha=0.01, smooth=1e-5):
    """One training-step loss + backward as the official PyTorch code does it (timed whole)."""
    N, C = z_np.shape[:2]
    c0 = time.process_time()
    t0 = time.perf_counter()
    # data side: one-hot and the signed distance maps, per sample (official data loader)
    onehot_np = (labels[:, None] == np.arange(C)[None, :, None, None])
    dist = torch.from_numpy(np.stack([one_hot2dist(onehot_np[n]) for n in range(N)]))
    onehot = torch.from_numpy(onehot_np.astype(np.float32))
    t1 = time.perf_counter()
    z = torch.from_numpy(z_np).requires_grad_()
    probs = torch.softmax(z, dim=1)
    inter = torch.einsum("bchw,bchw->bc", probs, onehot)
    den = probs.sum((2, 3)) + onehot.sum((2, 3)) + smooth
    dice = (1 - (2 * inter + smooth) / den).mean()
    # official SurfaceLoss: idc = classes 1..C-1
    pc = probs[:, 1:, ...].type(torch.float32)
    dc = dist[:, 1:, ...].type(torch.float32)
    boundary = torch.einsum("bkwh,bkwh->bkwh", pc, dc).mean()
    total = dice + alpha * boundary
    total.backward()
    t2 = time.perf_counter()
    c2 = time.process_time()
    return {"cpu_total": (c2 - c0) * 1e3, "dice": float(dice), "boundary": float(boundary),
            "total": float(total), "grad": z.grad.numpy(),
            "t_maps": (t1 - t0) * 1e3, "t_loss_backward": (t2 - t1) * 1e3,
            "t_total": (t2 - t0) * 1e3}


def main_torch(d, repeats, z, labels):
    import torch

    torch.set_num_threads(1)
    torch_step(torch, z, labels)  # warm-up
    runs = [torch_step(torch, z, labels) for _ in range(repeats)]
    r = runs[-1]
    r["grad"].astype(np.float32).tofile(os.path.join(d, "grad_torch.f32"))
    keys = ("t_maps", "t_loss_backward", "t_total", "cpu_total")
    print(json.dumps({
        "torch": torch.__version__, "numpy": np.__version__,
        "scipy": __import__("scipy").__version__, "threads": torch.get_num_threads(),
        "dice": r["dice"], "boundary": r["boundary"], "total": r["total"],
        "runs": {k: [x[k] for x in runs] for k in keys},
    }))


def main():
    d, repeats = sys.argv[1], int(sys.argv[2])
    mode = sys.argv[3] if len(sys.argv) > 3 else "numpy"
    shape = json.load(open(os.path.join(d, "shape.json")))
    z = np.fromfile(os.path.join(d, "logits.f32"), dtype=np.float32).reshape(shape)
    labels = np.fromfile(os.path.join(d, "labels.u8"), dtype=np.uint8).reshape([shape[0]] + shape[2:])
    if mode == "torch":
        return main_torch(d, repeats, z, labels)
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
