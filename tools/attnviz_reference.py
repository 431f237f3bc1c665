"""Reference outputs from PyTorch, computed the way the attnviz engine is specified to compute.

Given a model and its exported weights document, this runs one input the way the engine
does (tokenizer rules from attnviz_tokenize, greedy decoding that re-runs the whole decoder
on the growing prefix, one teacher-forced pass for the reported numbers) and captures every
layer's per-head post-softmax attention. The result is one "case" of docs/fixtures.md.

Models follow the fixture protocol: model(src [1,S], tgt [1,T], src_key_padding_mask) ->
logits [1,T,V] for seq2seq, model(ids [1,S]) -> logits [1,S,V] for a causal LM, with the
stacks at model.encoder / model.decoder. Call in eval mode with grad enabled: under
torch.no_grad() PyTorch's encoder layer takes a fused fast path that skips _sa_block, so
neither the seed's subclasses nor the recorder here would see the attention.
"""

import json
from contextlib import contextmanager

import numpy as np
import torch

from seed_model import TransformerDecoderLayerWithAttn, TransformerEncoderLayerWithAttn


def _recording(forward, store, index):
    """Wraps one MultiheadAttention.forward to always compute per-head weights and keep them."""
    def wrapped(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True):
        out, weights = forward(query, key, value, key_padding_mask=key_padding_mask,
                               need_weights=True, attn_mask=attn_mask,
                               average_attn_weights=False)
        store[index] = weights.detach()
        if not need_weights:
            return out, None
        return out, weights.mean(dim=1) if average_attn_weights else weights
    return wrapped


def _sites(model):
    """(kind, layer index, layer, attention attribute, seed attribute) for every attention."""
    sites = []
    for i, layer in enumerate(model.encoder.layers):
        sites.append(("encoder_self", i, layer, "self_attn", "attn_weights"))
    decoder = getattr(model, "decoder", None)
    if decoder is not None:
        for i, layer in enumerate(decoder.layers):
            sites.append(("decoder_self", i, layer, "self_attn", "self_attn_weights"))
            sites.append(("cross", i, layer, "multihead_attn", "cross_attn_weights"))
    return sites


def _keeps_own(layer):
    return isinstance(layer, (TransformerEncoderLayerWithAttn, TransformerDecoderLayerWithAttn))


@contextmanager
def recorded_attention(model):
    """Within the block, every forward of model records attention; yields
    {kind: [L, H, queries, keys] tensor}, filled in when the block ends. Layers that are the
    seed's attention-keeping subclasses are read from their own attributes instead."""
    sites = _sites(model)
    store = {kind: {} for kind, *_ in sites}
    result = {}
    patched = []  # (module, the forward it had as an instance attribute, if any)
    for kind, i, layer, attr, own in sites:
        if _keeps_own(layer):
            setattr(layer, own, None)
        else:
            mha = getattr(layer, attr)
            patched.append((mha, mha.__dict__.get("forward")))
            mha.forward = _recording(mha.forward, store[kind], i)
    try:
        yield result
    finally:
        for mha, previous in patched:  # restore, keeping an outer patch (attnviz_probe) in place
            if previous is None:
                del mha.forward
            else:
                mha.forward = previous
    for kind, i, layer, attr, own in sites:
        if _keeps_own(layer):
            store[kind][i] = getattr(layer, own)
        if store[kind].get(i) is None:
            raise RuntimeError(f"no {kind} attention from layer {i}: was grad disabled?")
    for kind, by_layer in store.items():
        result[kind] = torch.stack([by_layer[i][0] for i in sorted(by_layer)])


class _Decisions:
    """Takes argmaxes and remembers the smallest top-1/top-2 gap, so fixtures whose greedy
    path hangs on a near-tie (where float rounding could flip it) can be refused."""

    def __init__(self):
        self.margin = float("inf")

    def argmax(self, logits):
        top = torch.topk(logits.detach(), 2)
        self.margin = min(self.margin, float(top.values[0] - top.values[1]))
        return int(top.indices[0])


def _array(tensor):
    values = tensor.detach().to(torch.float32).contiguous().numpy()
    return {"shape": list(values.shape),
            "data": [float(str(v)) for v in values.reshape(-1)]}


def seq2seq_case(model, tok, text, target=None):
    """One seq2seq case: greedy when target is None, teacher forced otherwise.
    Returns (case dict, smallest argmax margin)."""
    src, mask, cut = tok.encode_source(text)
    src_t = torch.tensor([src])
    mask_t = None if mask is None else torch.tensor([mask])
    bos, eos = tok.specials["bos"], tok.specials["eos"]
    decide = _Decisions()
    if target is None:
        generated = []
        while len(generated) < tok.max_output_len:
            logits = model(src_t, torch.tensor([[bos] + generated]), mask_t)[0, -1]
            generated.append(decide.argmax(logits))
            if generated[-1] == eos:
                break
        tgt = [bos] + generated[:-1]
    else:
        tgt, _ = tok.encode_target(target)
    with recorded_attention(model) as attention:
        logits = model(src_t, torch.tensor([tgt]), mask_t)[0]
    argmaxes = [decide.argmax(row) for row in logits]
    if target is None and argmaxes != generated:
        raise RuntimeError(f"{text!r}: the teacher-forced pass disagrees with greedy decoding")
    output_ids = generated if target is None else argmaxes
    case = {
        "text": text, "target": target, "continue": 0, "truncated": cut,
        "src_ids": src, "tgt_ids": tgt, "output_ids": output_ids,
        "output": tok.decode(output_ids),
        "attention": {k: _array(attention[k]) for k in ("encoder_self", "decoder_self", "cross")},
        "logits": _array(logits),
    }
    return case, decide.margin


def causal_lm_case(model, tok, text, cont=0):
    """One causal-LM case: logits and attention for the input, next_ids at every position,
    then up to `cont` greedy continuation tokens. Returns (case dict, smallest margin)."""
    ids, _, cut = tok.encode_source(text)
    decide = _Decisions()
    with recorded_attention(model) as attention:
        logits = model(torch.tensor([ids]))[0]
    next_ids = [decide.argmax(row) for row in logits]
    generated, seq = [], list(ids)
    limit = min(cont, tok.max_output_len)
    while len(generated) < limit and len(seq) <= tok.max_len:
        token = decide.argmax(model(torch.tensor([seq]))[0, -1])
        generated.append(token)
        seq.append(token)
        if token == tok.specials["eos"]:
            break
    case = {
        "text": text, "target": None, "continue": cont, "truncated": cut,
        "src_ids": ids, "output_ids": generated, "next_ids": next_ids,
        "output": tok.decode(generated),
        "attention": {"encoder_self": _array(attention["encoder_self"])},
        "logits": _array(logits),
    }
    return case, decide.margin


def reference_case(model, tok, seq2seq, text, arg):
    """(case, margin) for one fixture input: arg is the target (or None) for a seq2seq model,
    the number of tokens to continue for a causal LM."""
    if seq2seq:
        return seq2seq_case(model, tok, text, arg)
    return causal_lm_case(model, tok, text, arg)


def write_expected(path, weights, description, cases):
    """Writes a fixture's <name>.expected.json (docs/fixtures.md), one case per line;
    weights: the weights file's path relative to the fixture."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("{\n")
        f.write(f' "weights": {json.dumps(weights)},\n')
        f.write(f' "description": {json.dumps(description, ensure_ascii=False)},\n')
        f.write(' "cases": [\n  ')
        f.write(",\n  ".join(json.dumps(case, ensure_ascii=False) for case in cases))
        f.write("\n ]\n}\n")


def peakedness(case):
    """How far attention is from uniform: the mean over rows (with at least two keys allowed)
    of max weight x allowed keys; 1.0 means every row is uniform."""
    scores = []
    for block in case["attention"].values():
        rows = np.asarray(block["data"]).reshape(-1, block["shape"][-1])
        allowed = (rows > 0).sum(axis=1)
        keep = allowed > 1
        scores.extend((rows.max(axis=1) * allowed)[keep])
    return float(np.mean(scores)) if scores else 1.0
