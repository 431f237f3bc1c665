#!/usr/bin/python3
"""Writes docs/example-weights.json: a complete model small enough to check by hand.

A causal LM with d_model 4, one head, one layer, dim_feedforward 8, a vocabulary of five
and learned positions for four tokens. Its weights follow a simple pattern of one-decimal
numbers and are written as plain number arrays (the format's hand-written form), so a reader
can follow the forward pass on paper; metadata.check says what PyTorch computes for "ab".
make_fixtures.py also turns this model into a parity fixture, so the engine is tested on
exactly the file the documentation shows.

Usage: /usr/bin/python3 tools/make_example.py [OUT]   (default docs/example-weights.json)
"""

import os
import sys

import torch

import attnviz_export
from attnviz_tokenize import Tokenizer
from fixture_models import CausalLM

VOCAB = ["<pad>", "<bos>", "<eos>", "a", "b"]
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs",
                           "example-weights.json")


def _pattern(shape, k):
    """Deterministic one-decimal values in -0.6..0.6, different for each tensor k."""
    n = int(torch.tensor(shape).prod())
    values = [((j * 7 + k * 3) % 13 - 6) / 10 for j in range(n)]
    return torch.tensor(values, dtype=torch.float32).reshape(shape)


def build_example():
    """Returns (model, export keyword arguments, metadata included) of the example model."""
    model = CausalLM(len(VOCAB), d_model=4, nhead=1, layers=1, ff=8, activation="relu",
                     norm_first=False, eps=1e-5, final_norm=False, max_len=4,
                     embed_scale=2.0, positional="learned")
    with torch.no_grad():
        for k, (name, p) in enumerate(model.named_parameters()):
            values = _pattern(p.shape, k)
            if "norm" in name and name.endswith("weight"):
                values = 1 + values / 2
            p.copy_(values)
    model.eval()
    kwargs = dict(src_vocab=VOCAB, embed_scale=2.0, level="char", src_bos=True,
                  data="list")
    ids, _, _ = Tokenizer(attnviz_export.export(model, None, **kwargs)).encode_source("ab")
    logits = model(torch.tensor([ids]))[0]
    kwargs["metadata"] = {
        "task": "hand-checkable example of the attnviz weights format",
        "notes": "Weights are a pattern, not trained. Input 'ab' becomes src_ids [1, 3, 4] "
                 "(<bos> a b); x = 2.0 * src_embedding[id] + positional[position].",
        "check": {
            "text": "ab",
            "src_ids": ids,
            "next_ids": [int(i) for i in logits.argmax(-1)],
            "logits": [[round(float(v), 4) for v in row] for row in logits],
        },
    }
    return model, kwargs


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    model, kwargs = build_example()
    attnviz_export.export(model, out, **kwargs)
    print(f"wrote {os.path.normpath(out)}")


if __name__ == "__main__":
    main()
