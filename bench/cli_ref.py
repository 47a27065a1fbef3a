"""The classical route for bench/cli.ts: a Python loop over a folder of NIfTI cases with
nibabel + scipy, computing what `segloss metrics` computes by default per case and class:
nnU-Net's counts (TP, FP, FN, TN, n_pred, n_ref), Dice, IoU, Hausdorff, HD95 and ASSD
(MONAI's conventions: face-connected surfaces with the volume border as background,
scipy.ndimage.distance_transform_edt with the header spacing, HD95 the larger of the two
directed 95th percentiles, ASSD the mean of both directed sets pooled).

    /usr/bin/python3 bench/cli_ref.py PRED_DIR GT_DIR OUT.json

Prints the wall time and the time to the first case's result; writes the values to OUT.json.
"""
import json
import os
import sys
import time

t0 = time.perf_counter()
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
from scipy import ndimage  # noqa: E402

pred_dir, gt_dir, out = sys.argv[1:4]
STRUCT = ndimage.generate_binary_structure(3, 1)


def surface(mask):
    return mask & ~ndimage.binary_erosion(mask, structure=STRUCT, border_value=0)


results = {}
first = None
for name in sorted(os.listdir(gt_dir)):
    case = name.split(".nii")[0]
    gimg = nib.load(os.path.join(gt_dir, name))
    pimg = nib.load(os.path.join(pred_dir, name))
    gt = np.asarray(gimg.dataobj)
    pred = np.asarray(pimg.dataobj)
    sp = tuple(float(z) for z in gimg.header.get_zooms()[:3])
    per = {}
    for c in range(1, int(max(gt.max(), pred.max())) + 1):
        p, g = pred == c, gt == c
        tp = int((p & g).sum()); fp = int((p & ~g).sum()); fn = int((~p & g).sum())
        row = dict(TP=tp, FP=fp, FN=fn, TN=int(p.size - tp - fp - fn), n_pred=tp + fp,
                   n_ref=tp + fn,
                   dice=2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan"),
                   iou=tp / (tp + fp + fn) if tp + fp + fn else float("nan"))
        sp_, sg_ = surface(p), surface(g)
        if sp_.any() and sg_.any():
            dpg = ndimage.distance_transform_edt(~sg_, sampling=sp)[sp_]
            dgp = ndimage.distance_transform_edt(~sp_, sampling=sp)[sg_]
            row["hausdorff"] = float(max(dpg.max(), dgp.max()))
            row["hd95"] = float(max(np.percentile(dpg, 95), np.percentile(dgp, 95)))
            row["assd"] = float(np.concatenate([dpg, dgp]).mean())
        per[str(c)] = row
    results[case] = per
    if first is None:
        first = time.perf_counter() - t0
        print(f"first case after {first:.2f} s", flush=True)
total = time.perf_counter() - t0
with open(out, "w") as fh:
    json.dump({"seconds": total, "first_seconds": first, "cases": results}, fh)
print(f"{len(results)} cases in {total:.2f} s")
