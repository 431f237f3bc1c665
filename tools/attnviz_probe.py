"""Head ablation and attention details in PyTorch, as the attnviz engine computes them.

Within `probed(model, ablations)`, every nn.MultiheadAttention of the model's stacks runs a
written-out forward (the same arithmetic as F.multi_head_attention_forward in torch 1.13)
that can ablate heads and records, per call, the pre-softmax scores, the per-head weights
and the value norms ||v_j^h W_O^h|| (Kobayashi et al. 2020: each key's value after the head's
slice of out_proj, bias left out). Ablation modes: "zero" (the head's output is zero) and
"uniform" (the head attends uniformly over the keys its masks allow). These are the
references for the engine's RunOptions::ablations, capture_scores and capture_value_norms.
"""

import math
from contextlib import contextmanager

import torch
import torch.nn.functional as F

KINDS = ("encoder_self", "decoder_self", "cross")


def _additive_mask(attn_mask, key_padding_mask, batch, heads, queries, keys, dtype):
    """PyTorch's masks merged into one float mask [batch*heads, queries, keys] (-inf = hidden)."""
    mask = torch.zeros(batch * heads, queries, keys, dtype=dtype)
    if attn_mask is not None:
        m = attn_mask
        if m.dtype == torch.bool:
            m = torch.zeros_like(m, dtype=dtype).masked_fill(m, float("-inf"))
        mask = mask + (m if m.dim() == 3 else m.unsqueeze(0))
    if key_padding_mask is not None:
        kp = key_padding_mask
        if kp.dtype == torch.bool:
            kp = torch.zeros_like(kp, dtype=dtype).masked_fill(kp, float("-inf"))
        mask = mask + kp.view(batch, 1, 1, keys).expand(-1, heads, -1, -1).reshape(batch * heads, 1, keys)
    return mask


def _probing_forward(mha, modes, log):
    """A forward for one nn.MultiheadAttention; modes: {head: "zero" | "uniform"}."""
    def forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True):
        if mha.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        queries, batch, d = query.shape
        keys = key.shape[0]
        heads, head_dim = mha.num_heads, d // mha.num_heads
        w_q, w_k, w_v = mha.in_proj_weight.chunk(3)
        b_q, b_k, b_v = mha.in_proj_bias.chunk(3)
        q = F.linear(query, w_q, b_q).reshape(queries, batch * heads, head_dim).transpose(0, 1)
        k = F.linear(key, w_k, b_k).reshape(keys, batch * heads, head_dim).transpose(0, 1)
        v = F.linear(value, w_v, b_v).reshape(keys, batch * heads, head_dim).transpose(0, 1)
        mask = _additive_mask(attn_mask, key_padding_mask, batch, heads, queries, keys, q.dtype)
        scores = torch.baddbmm(mask, q / math.sqrt(head_dim), k.transpose(-2, -1))
        weights = torch.softmax(scores, dim=-1).view(batch, heads, queries, keys).clone()
        scores = scores.view(batch, heads, queries, keys)
        context_mask = torch.ones(batch, heads, 1, 1)
        for head, mode in modes.items():
            if mode == "uniform":
                allowed = torch.isfinite(scores[:, head]).to(weights.dtype)
                weights[:, head] = allowed / allowed.sum(dim=-1, keepdim=True)
            elif mode == "zero":
                context_mask[:, head] = 0.0
            else:
                raise ValueError(f"unknown ablation mode {mode!r}")
        context = torch.matmul(weights, v.view(batch, heads, keys, head_dim)) * context_mask
        out = F.linear(context.permute(2, 0, 1, 3).reshape(queries, batch, d),
                       mha.out_proj.weight, mha.out_proj.bias)
        # ||v_j^h W_O[:, h]||: [batch, heads, keys]
        w_o = mha.out_proj.weight.view(d, heads, head_dim)
        projected = torch.einsum("bhkc,ohc->bhko", v.view(batch, heads, keys, head_dim), w_o)
        log.append({"weights": weights.detach(), "scores": scores.detach(),
                    "value_norms": projected.norm(dim=-1).detach()})
        if mha.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        return out, weights.mean(dim=1) if average_attn_weights else weights
    return forward


def _sites(model):
    sites = [("encoder_self", i, layer.self_attn) for i, layer in enumerate(model.encoder.layers)]
    decoder = getattr(model, "decoder", None)
    if decoder is not None:
        for i, layer in enumerate(decoder.layers):
            sites.append(("decoder_self", i, layer.self_attn))
            sites.append(("cross", i, layer.multihead_attn))
    return sites


@contextmanager
def probed(model, ablations=()):
    """Patches every attention of model; yields {(kind, layer): [record per call]}.
    ablations: [{"kind", "layer", "head", "mode"}]."""
    logs = {}
    patched = []
    for kind, i, mha in _sites(model):
        modes = {a["head"]: a["mode"] for a in ablations if a["kind"] == kind and a["layer"] == i}
        logs[(kind, i)] = []
        mha.forward = _probing_forward(mha, modes, logs[(kind, i)])
        patched.append(mha)
    try:
        yield logs
    finally:
        for mha in patched:
            del mha.forward


def details(logs, call):
    """From probed()'s logs, one call's scores and value norms per kind, stacked over layers:
    scores [L, H, queries, keys] (masked entries None, as JSON has no -inf) and value norms
    [L, H, 1, keys]. call: which forward of each attention (-1: the last)."""
    out = {"scores": {}, "value_norms": {}}
    for kind in KINDS:
        layers = sorted(i for k, i in logs if k == kind)
        if not layers:
            continue
        scores = torch.stack([logs[(kind, i)][call]["scores"][0] for i in layers])
        norms = torch.stack([logs[(kind, i)][call]["value_norms"][0] for i in layers]).unsqueeze(2)
        out["scores"][kind] = {"shape": list(scores.shape),
                               "data": [None if math.isinf(v) else float(str(v)) for v in scores.reshape(-1).tolist()]}
        out["value_norms"][kind] = {"shape": list(norms.shape),
                                    "data": [float(str(v)) for v in norms.reshape(-1).tolist()]}
    return out
