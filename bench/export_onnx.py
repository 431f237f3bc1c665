#!/usr/bin/python3
"""Exports the benchmark models (bench/make_models.py: same seed, same weights) to ONNX for the
onnxruntime-web peer, as two graphs per shape with dynamic sequence axes:

  <shape>_encoder.onnx   src [1, S] int64            -> memory [1, S, d], encoder_self [L, H, S, S]
  <shape>_decoder.onnx   memory [1, S, d], tgt [1, T] -> logits [1, T, V], decoder_self [L, H, T, T],
                                                         cross [L, H, T, S]

The attention comes from the seed's attention-keeping layer subclasses (tools/seed_model.py):
the graphs are traced in eval mode with grad enabled, so PyTorch's fused encoder fast path (which
skips _sa_block) is not taken; the export fails if any layer's attention is missing. The
encoder's positional table is the long one (max_len 512, the scale rows); its first rows are
the same table the 20-position models use.

usage: /usr/bin/python3 bench/export_onnx.py OUT_DIR
"""

import math
import os
import sys
import warnings

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_models import SHAPES, build  # noqa: E402

SCALE_MAX_LEN = 512


class Encoder(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.m = model

    def forward(self, src):
        m = self.m
        for layer in m.encoder.layers:
            layer.attn_weights = None
        x = m.pos_encoder(m.src_embedding(src) * math.sqrt(m.d_model))
        memory = m.encoder(x)
        weights = [layer.attn_weights for layer in m.encoder.layers]
        if any(w is None for w in weights):
            raise RuntimeError("encoder attention missing: the fused fast path was taken")
        return memory, torch.cat(weights, 0)


class Decoder(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.m = model

    def forward(self, memory, tgt):
        m = self.m
        for layer in m.decoder.layers:
            layer.self_attn_weights = layer.cross_attn_weights = None
        y = m.pos_encoder(m.tgt_embedding(tgt) * math.sqrt(m.d_model))
        mask = nn.Transformer.generate_square_subsequent_mask(tgt.size(1))
        out = m.decoder(y, memory, tgt_mask=mask)
        self_w = [layer.self_attn_weights for layer in m.decoder.layers]
        cross_w = [layer.cross_attn_weights for layer in m.decoder.layers]
        if any(w is None for w in self_w + cross_w):
            raise RuntimeError("decoder attention missing")
        return m.fc_out(out), torch.cat(self_w, 0), torch.cat(cross_w, 0)


def export(shape, out_dir):
    model = build(shape, max_len=SCALE_MAX_LEN)
    src = torch.tensor([[5, 6, 7, 8, 9, 10, 11, 12, 13, 2]])
    tgt = torch.tensor([[1, 5, 6, 7]])
    enc, dec = Encoder(model).eval(), Decoder(model).eval()
    with torch.enable_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        memory, _ = enc(src)
        torch.onnx.export(enc, (src,), os.path.join(out_dir, f"{shape}_encoder.onnx"),
                          input_names=["src"], output_names=["memory", "encoder_self"],
                          dynamic_axes={"src": {1: "S"}, "memory": {1: "S"}, "encoder_self": {2: "S", 3: "S"}},
                          opset_version=14, do_constant_folding=True)
        torch.onnx.export(dec, (memory.detach(), tgt), os.path.join(out_dir, f"{shape}_decoder.onnx"),
                          input_names=["memory", "tgt"], output_names=["logits", "decoder_self", "cross"],
                          dynamic_axes={"memory": {1: "S"}, "tgt": {1: "T"}, "logits": {1: "T"},
                                        "decoder_self": {2: "T", 3: "T"}, "cross": {2: "T", 3: "S"}},
                          opset_version=14, do_constant_folding=True)
    print(f"{out_dir}/{shape}_encoder.onnx, {shape}_decoder.onnx")


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for shape in SHAPES:
        export(shape, out_dir)


if __name__ == "__main__":
    main()
