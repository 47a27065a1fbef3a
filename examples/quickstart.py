# examples/quickstart.py — run it from examples/ (client.py there needs only numpy)
import numpy as np
from client import score

rng = np.random.default_rng(0)
logits = rng.standard_normal((2, 3, 64, 64)).astype(np.float32)  # (N, C, H, W)
labels = rng.integers(0, 3, (2, 64, 64))  # (N, H, W)
config = {"input": "logits", "losses": [{"name": "dice"}, {"name": "boundary", "weight": 0.01}]}
summary, gradient = score("http://127.0.0.1:8787", logits, labels, config=config)
print(summary["total"], summary["terms"], gradient.shape)  # dTotal/dlogits: (2, 3, 64, 64)
