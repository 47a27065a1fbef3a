"""Writes the bench/cli.ts data set: N 3-D cases (default 20) of 160×160×96 voxels, spacing
0.8×0.8×2.5 mm, four classes (a large organ, a medium one, two small structures of a few
hundred voxels), ground truth and a perturbed prediction (shifted, grown or shrunk, with
a few stray voxels of label noise), as .nii.gz written by nibabel.

    /usr/bin/python3 bench/cli_data.py OUT_DIR [N]
"""
import os
import sys

import nibabel as nib
import numpy as np

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 20
os.makedirs(os.path.join(out, "pred"), exist_ok=True)
os.makedirs(os.path.join(out, "gt"), exist_ok=True)
SHAPE = (160, 160, 96)
SP = (0.8, 0.8, 2.5)
aff = np.diag([*SP, 1.0])
X, Y, Z = np.meshgrid(*[np.arange(s, dtype=np.float32) for s in SHAPE], indexing="ij")
rng = np.random.default_rng(0)


def ellipsoid(c, r):
    return ((X - c[0]) * SP[0] / r[0]) ** 2 + ((Y - c[1]) * SP[1] / r[1]) ** 2 + \
        ((Z - c[2]) * SP[2] / r[2]) ** 2 < 1


for i in range(n):
    gt = np.zeros(SHAPE, np.uint8)
    pred = np.zeros(SHAPE, np.uint8)
    structs = [
        (1, (80, 80, 48), (40, 30, 60)),
        (2, (110, 60, 40), (15, 12, 20)),
        (3, (50, 110, 55), (4, 4, 6)),
        (4, (95, 120, 30), (3, 5, 5)),
    ]
    for label, c, r in structs:
        jc = [c[k] + rng.normal(0, 2) for k in range(3)]
        gt[ellipsoid(jc, r)] = label
        sc = [jc[k] + rng.normal(0, 1.5) for k in range(3)]
        sr = [r[k] * (1 + rng.normal(0, 0.08)) for k in range(3)]
        pred[ellipsoid(sc, sr)] = label
    noise = rng.random(SHAPE) < 4e-6  # ~10 stray voxels
    pred[noise] = rng.integers(0, 5, size=int(noise.sum()))
    nib.save(nib.Nifti1Image(gt, aff), os.path.join(out, "gt", f"case_{i:03d}.nii.gz"))
    nib.save(nib.Nifti1Image(pred, aff), os.path.join(out, "pred", f"case_{i:03d}.nii.gz"))
print("wrote", n, "cases to", out)
