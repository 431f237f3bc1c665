"""A second, independent forward pass written from docs/weights-format.md alone (numpy).

The parity fixtures are only as good as the claim that a weights file plus the format's
rules determine the model's outputs. This module checks that claim without PyTorch and
without the exporter's code: it reads a weights document and computes logits and per-head
attention the way the format says the engine must, in float64.
"""

import base64
import math

import numpy as np

_erf = np.frompyfunc(math.erf, 1, 1)


def tensors(doc):
    """{key: float64 array of its shape} decoded from base64 or number lists."""
    out = {}
    for key, t in doc["tensors"].items():
        if isinstance(t["data"], str):
            values = np.frombuffer(base64.b64decode(t["data"]), dtype="<f4")
        else:
            values = np.asarray(t["data"], dtype=np.float32)
        out[key] = values.astype(np.float64).reshape(t["shape"])
    return out


def _join(prefix, name):
    return f"{prefix}.{name}" if prefix else name


class Model:
    """Runs a weights document: encode/decode/causal_lm on id lists."""

    def __init__(self, doc):
        self.c = doc["config"]
        self.m = doc["modules"]
        self.t = tensors(doc)
        self.eps = self.c["layer_norm_eps"]

    def _positions(self, n):
        kind, d = self.c["positional"], self.c["d_model"]
        if kind in ("table", "learned"):
            table = self.t[self.m["positional"]]
            return table.reshape(-1, d)[:n]
        if kind == "sinusoidal":
            p = np.arange(n)[:, None]
            j = np.arange(d)[None, :]
            w = np.exp(-(j - j % 2) * math.log(10000.0) / d)
            return np.where(j % 2 == 0, np.sin(p * w), np.cos(p * w))
        return np.zeros((n, d))

    def _embed(self, key, ids):
        return self.c["embed_scale"] * self.t[key][ids] + self._positions(len(ids))

    def _norm(self, x, prefix):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * self.t[prefix + ".weight"] + self.t[prefix + ".bias"]

    def _attention(self, q_in, kv_in, prefix, mask):
        d, h = self.c["d_model"], self.c["nhead"]
        w, b = self.t[prefix + ".in_proj_weight"], self.t[prefix + ".in_proj_bias"]
        q = q_in @ w[:d].T + b[:d]
        k = kv_in @ w[d:2 * d].T + b[d:2 * d]
        v = kv_in @ w[2 * d:].T + b[2 * d:]
        dh = d // h
        heads = lambda x: x.reshape(len(x), h, dh).transpose(1, 0, 2)
        scores = heads(q) @ heads(k).transpose(0, 2, 1) / math.sqrt(dh) + mask
        scores -= scores.max(-1, keepdims=True)
        weights = np.exp(scores)
        weights /= weights.sum(-1, keepdims=True)
        out = (weights @ heads(v)).transpose(1, 0, 2).reshape(len(q_in), d)
        return out @ self.t[prefix + ".out_proj.weight"].T + self.t[prefix + ".out_proj.bias"], weights

    def _ff(self, x, p):
        x = x @ self.t[p + ".linear1.weight"].T + self.t[p + ".linear1.bias"]
        x = np.maximum(x, 0) if self.c["activation"] == "relu" else 0.5 * x * (1 + _erf(x / math.sqrt(2)).astype(np.float64))
        return x @ self.t[p + ".linear2.weight"].T + self.t[p + ".linear2.bias"]

    def _sublayer(self, x, p, norm, fn):
        if self.c["norm_first"]:
            out, w = fn(self._norm(x, f"{p}.{norm}"))
            return x + out, w
        out, w = fn(x)
        return self._norm(x + out, f"{p}.{norm}"), w

    def encode(self, ids, pad_mask=None):
        """Returns (memory [S, d], encoder attention [L, H, S, S])."""
        n = len(ids)
        mask = np.zeros((n, n))
        if self.c["causal"]:
            mask += np.triu(np.full((n, n), -np.inf), 1)
        if pad_mask is not None:
            mask = mask + np.where(np.asarray(pad_mask)[None, :], -np.inf, 0.0)
        x = self._embed(self.m["src_embedding"], ids)
        attn = []
        for i in range(self.c["num_encoder_layers"]):
            p = _join(self.m["encoder"], f"layers.{i}")
            x, w = self._sublayer(x, p, "norm1", lambda y: self._attention(y, y, p + ".self_attn", mask))
            x, _ = self._sublayer(x, p, "norm2", lambda y: (self._ff(y, p), None))
            attn.append(w)
        if self.c["encoder_norm"]:
            x = self._norm(x, _join(self.m["encoder"], "norm"))
        return x, np.stack(attn)

    def decode(self, tgt_ids, memory, pad_mask=None):
        """Returns (logits [T, V], decoder self attention, cross attention)."""
        t = len(tgt_ids)
        self_mask = np.triu(np.full((t, t), -np.inf), 1)
        cross_mask = np.zeros((t, len(memory)))
        if pad_mask is not None:
            cross_mask = cross_mask + np.where(np.asarray(pad_mask)[None, :], -np.inf, 0.0)
        x = self._embed(self.m["tgt_embedding"], tgt_ids)
        self_attn, cross = [], []
        for i in range(self.c["num_decoder_layers"]):
            p = _join(self.m["decoder"], f"layers.{i}")
            x, w1 = self._sublayer(x, p, "norm1", lambda y: self._attention(y, y, p + ".self_attn", self_mask))
            x, w2 = self._sublayer(x, p, "norm2", lambda y: self._attention(y, memory, p + ".multihead_attn", cross_mask))
            x, _ = self._sublayer(x, p, "norm3", lambda y: (self._ff(y, p), None))
            self_attn.append(w1)
            cross.append(w2)
        if self.c["decoder_norm"]:
            x = self._norm(x, _join(self.m["decoder"], "norm"))
        return self._output(x), np.stack(self_attn), np.stack(cross)

    def causal_lm(self, ids):
        """Returns (logits [S, V], attention [L, H, S, S])."""
        x, attn = self.encode(ids)
        return self._output(x), attn

    def _output(self, x):
        logits = x @ self.t[_join(self.m["output"], "weight")].T
        if self.c["output_bias"]:
            logits = logits + self.t[_join(self.m["output"], "bias")]
        return logits
