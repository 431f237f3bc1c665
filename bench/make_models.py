#!/usr/bin/python3
"""Writes the benchmark models: the seed's TransformerSeq2SeqModel at the Pig Latin shape
("small": vocab 30, d_model 128, 8 heads, 3+3 layers, feed-forward 512) and a "large" one
(d_model 256, 8 heads, 6+6 layers, feed-forward 1024), random-initialised from a fixed seed,
exported to the attnviz format, plus "large512": the large model's very weights with a
512-row positional table (max_len 512), for the encoder-only scale rows. The output bias of
<eos> is pushed down so that greedy decoding always runs its full 12 steps: every engine then
does the same work.

usage: /usr/bin/python3 bench/make_models.py OUT_DIR [NAME...]   (default: small large large512)
"""

import math
import os
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from attnviz_export import export  # noqa: E402
from seed_model import TransformerSeq2SeqModel  # noqa: E402

VOCAB = ["<pad>", "<bos>", "<eos>"] + [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["'"]
SHAPES = {
    "small": dict(d_model=128, nhead=8, num_encoder_layers=3, num_decoder_layers=3, dim_feedforward=512),
    "large": dict(d_model=256, nhead=8, num_encoder_layers=6, num_decoder_layers=6, dim_feedforward=1024),
}
MAX_LEN = 20
DECODE_STEPS = 12
# name -> (shape, max_len). The positional table is a buffer, not a parameter, so a longer
# table leaves every weight identical (same seed, same draws).
MODELS = {"small": ("small", MAX_LEN), "large": ("large", MAX_LEN), "large512": ("large", 512)}


def build(shape, max_len=MAX_LEN):
    torch.manual_seed(7)
    model = TransformerSeq2SeqModel(len(VOCAB), len(VOCAB), max_len=max_len, **SHAPES[shape])
    with torch.no_grad():
        model.fc_out.bias[2] = -1e4  # never <eos>: always DECODE_STEPS steps
    return model.eval()


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for name in sys.argv[2:] or MODELS:
        shape, max_len = MODELS[name]
        model = build(shape, max_len)
        path = os.path.join(out_dir, f"{name}.json")
        export(model, path, src_vocab=VOCAB, tgt_vocab=VOCAB,
               embed_scale=math.sqrt(SHAPES[shape]["d_model"]), max_len=max_len,
               max_output_len=DECODE_STEPS, metadata={"task": f"benchmark model ({name})"})
        params = sum(p.numel() for p in model.parameters())
        print(f"{path}: {params} parameters")


if __name__ == "__main__":
    main()
