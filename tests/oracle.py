"""An independent float64 reference: attention written as plain loops in numpy.

Slow and obvious on purpose; it shares no code with selfattn, so agreeing with it means something.
"""
import math

import numpy as np


def naive_attention(q, k, v, mask=None, scale=None):
    """q (n_q, d_k), k (n_k, d_k), v (n_k, d_v), mask (n_q, n_k) bool -> (output, weights) float64.

    A fully masked row gives weights 0 and output 0, the convention selfattn documents.
    """
    q, k, v = (np.asarray(x, dtype=np.float64) for x in (q, k, v))
    n_q, d_k = q.shape
    n_k = k.shape[0]
    scale = 1.0 / math.sqrt(d_k) if scale is None else scale
    weights = np.zeros((n_q, n_k))
    for i in range(n_q):
        visible = [j for j in range(n_k) if mask is None or mask[i, j]]
        if not visible:
            continue
        s = {j: sum(q[i, t] * k[j, t] for t in range(d_k)) * scale for j in visible}
        top = max(s.values())
        e = {j: math.exp(s[j] - top) for j in visible}
        z = sum(e.values())
        for j in visible:
            weights[i, j] = e[j] / z
    return weights @ v, weights


def batched_naive(q, k, v, mask=None, scale=None):
    """Apply naive_attention over any leading dimensions (all already broadcast to one shape)."""
    q, k, v = (np.asarray(x, dtype=np.float64) for x in (q, k, v))
    lead = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    n_q, n_k = q.shape[-2], k.shape[-2]
    m = None if mask is None else np.broadcast_to(np.asarray(mask), lead + (n_q, n_k))
    q = np.broadcast_to(q, lead + q.shape[-2:])
    k = np.broadcast_to(k, lead + k.shape[-2:])
    v = np.broadcast_to(v, lead + v.shape[-2:])
    out = np.zeros(lead + (n_q, v.shape[-1]))
    w = np.zeros(lead + (n_q, n_k))
    for idx in np.ndindex(*lead):
        out[idx], w[idx] = naive_attention(q[idx], k[idx], v[idx], None if m is None else m[idx], scale)
    return out, w
