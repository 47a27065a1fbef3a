"""A client for the segloss scoring service: numpy + the Python standard library only.

Sends arrays as NumPy .npy parts of a multipart/form-data body (built by hand) and reads the
gradient back as .npy (Accept: application/x-npy), the loss summary from the
X-Segloss-Result header.

    python3 examples/client.py --url http://127.0.0.1:8787 [--token T] [--json]

Without --json it prints one JSON line: {"total": ..., "terms": ..., "weights": ...,
"gradient_shape": [...], "gradient_sum_abs": ...}. In a training loop, call score() with
your own arrays (scores (N, C, ...spatial) as float32, labels (N, ...spatial) as integers).
"""
import argparse
import io
import json
import sys
import urllib.error
import urllib.request
import uuid

import numpy as np

CONFIG = {
    "input": "logits",
    "losses": [
        {"name": "dice", "options": {"classes": [1]}},
        {"name": "boundary", "weight": 0.5, "options": {"classes": [1]}},
    ],
}


def demo_arrays(size=64, seed=0):
    """Deterministic demo batch: logits (1, 2, size, size) ~ N(0, 1), labels a disk."""
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((1, 2, size, size)).astype(np.float32)
    yy, xx = np.mgrid[0:size, 0:size]
    labels = ((yy - size * 0.4) ** 2 + (xx - size * 0.55) ** 2 < (size * 0.2) ** 2)
    return logits, labels.astype(np.uint8)[None]


def npy_bytes(array):
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array))
    return buf.getvalue()


def multipart(fields, files):
    """fields: name -> JSON value; files: name -> ndarray. Returns (body, content_type)."""
    boundary = "segloss-" + uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f"--{boundary}\r\n".encode())
        out.write(f'Content-Disposition: form-data; name="{name}"\r\n'.encode())
        out.write(b"Content-Type: application/json\r\n\r\n")
        out.write(json.dumps(value).encode())
        out.write(b"\r\n")
    for name, array in files.items():
        out.write(f"--{boundary}\r\n".encode())
        out.write(
            f'Content-Disposition: form-data; name="{name}"; filename="{name}.npy"\r\n'.encode()
        )
        out.write(b"Content-Type: application/x-npy\r\n\r\n")
        out.write(npy_bytes(array))
        out.write(b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def score(url, scores, labels, config=CONFIG, gradient=True, token=None, spacing=None,
          epoch=None, timeout=60):
    """POST /v1/loss. Returns (summary dict, gradient ndarray or None)."""
    fields = {"config": config, "gradient": gradient}
    if spacing is not None:
        fields["spacing"] = list(spacing)
    if epoch is not None:
        fields["epoch"] = epoch
    body, content_type = multipart(fields, {"input": scores, "target": labels})
    headers = {"Content-Type": content_type, "Accept": "application/x-npy, application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url.rstrip("/") + "/v1/loss", data=body, headers=headers,
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            payload = res.read()
            if res.headers.get("Content-Type", "").startswith("application/x-npy"):
                summary = json.loads(res.headers["X-Segloss-Result"])
                return summary, np.load(io.BytesIO(payload))
            summary = json.loads(payload)
            grad = summary.pop("gradient", None)
            if grad is not None:
                # non-finite values come as the strings "NaN", "Infinity", "-Infinity"
                data = [float(v) for v in grad["data"]]
                grad = np.asarray(data, dtype=grad["dtype"]).reshape(grad["shape"])
            return summary, grad
    except urllib.error.HTTPError as e:
        detail = e.read().decode("utf-8", "replace")
        raise RuntimeError(f"HTTP {e.code}: {detail}") from None


def score_json(url, scores, labels, config=CONFIG, token=None):
    """The same request as a JSON body (fine for small arrays)."""
    body = json.dumps({
        "config": config,
        "input": {"shape": list(scores.shape), "data": scores.ravel().tolist()},
        "target": {"shape": list(labels.shape), "data": labels.ravel().astype(int).tolist()},
    }).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url.rstrip("/") + "/v1/loss", data=body, headers=headers,
                                 method="POST")
    with urllib.request.urlopen(req, timeout=60) as res:
        return json.loads(res.read()), None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="http://127.0.0.1:8787")
    ap.add_argument("--token", default=None)
    ap.add_argument("--json", action="store_true", help="send a JSON body instead of .npy parts")
    ap.add_argument("--size", type=int, default=64)
    args = ap.parse_args()
    logits, labels = demo_arrays(args.size)
    if args.json:
        summary, grad = score_json(args.url, logits, labels, token=args.token)
    else:
        summary, grad = score(args.url, logits, labels, token=args.token)
    out = dict(summary)
    if grad is not None:
        out["gradient_shape"] = list(grad.shape)
        out["gradient_dtype"] = str(grad.dtype)
        out["gradient_sum_abs"] = float(np.abs(grad.astype(np.float64)).sum())
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
