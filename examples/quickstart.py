# examples/quickstart.py — run it from examples/ (client.py there needs only numpy)
import os

import numpy as np
from client import score

url = os.environ.get("SEGLOSS_URL", "http://127.0.0.1:8787")  # where `npm start` listens

rng = np.random.default_rng(0)
logits = rng.standard_normal((2, 3, 64, 64)).astype(np.float32)  # (N, C, H, W)
labels = rng.integers(0, 3, (2, 64, 64))  # (N, H, W)
config = {"input": "logits", "losses": [{"name": "dice"}, {"name": "boundary", "weight": 0.01}]}
summary, gradient = score(url, logits, labels, config=config)
print(summary["total"], summary["terms"], gradient.shape)  # dTotal/dlogits: (2, 3, 64, 64)
