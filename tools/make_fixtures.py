#!/usr/bin/python3
"""Builds the parity fixtures: random PyTorch models, their weights and what PyTorch computes.

For every model below (fixed seeds) this writes OUT_DIR/<name>.weights.json (via
attnviz_export) and OUT_DIR/<name>.expected.json (docs/fixtures.md) holding, per input, the
ids, per-head attention and logits PyTorch computes under the engine's input conventions.
The models span the settings the engine must get right: post-/pre-LN, relu/gelu, 1-8 heads,
final norms or not, seq2seq and causal LM, learned/tabled/computed positions, padded sources
with and without a key-padding mask, char and word level, vocabularies with and without
<unk>, and one model written exactly the way the seed writes one.

Random weights use larger-than-default attention projections and random biases and norm
parameters, so attention is far from uniform (checked: a fixture whose attention is nearly
1/S everywhere would pass parity while testing little) and every bias path is exercised.
A fixture whose argmax decisions hang on a near-tie is refused, since float rounding in the
engine could legitimately flip it.

Usage: /usr/bin/python3 tools/make_fixtures.py OUT_DIR [--small-only]
  --small-only writes only the small fixtures (the ones committed in tests/fixtures/).
"""

import argparse
import math
import os
import string
import time

import torch
from torch import nn

import attnviz_export
from attnviz_probe import details, probed
from attnviz_reference import peakedness, reference_case, write_expected
from attnviz_tokenize import Tokenizer
from fixture_models import CausalLM, EncDecModel, TransformerWithParts
from make_example import build_example
from seed_model import TransformerSeq2SeqModel

MIN_MARGIN = 1e-3          # smallest allowed top-1/top-2 logit gap on the argmax path
MIN_PEAKEDNESS = 1.3       # mean (max weight x allowed keys) over rows; 1.0 = uniform
SMALL_WEIGHTS_BYTES = 300_000

SPECIALS = ["<pad>", "<bos>", "<eos>"]
LETTERS = SPECIALS + list(string.ascii_lowercase)


def randomize(model, attn_gain):
    """Random weights with attention projections scaled by attn_gain, random biases and
    LayerNorm parameters away from 1/0, embeddings N(0, 1)."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Embedding):
                module.weight.normal_(0.0, 1.0)
            elif isinstance(module, nn.LayerNorm):
                module.weight.normal_(1.0, 0.15)
                module.bias.normal_(0.0, 0.1)
            elif isinstance(module, nn.MultiheadAttention):
                d = module.embed_dim
                module.in_proj_weight.normal_(0.0, attn_gain / math.sqrt(d))
                module.in_proj_bias.normal_(0.0, 0.1)
            elif isinstance(module, nn.Linear):
                module.weight.normal_(0.0, 1.0 / math.sqrt(module.in_features))
                if module.bias is not None:
                    module.bias.normal_(0.0, 0.1)


# ---------------------------------------------------------------------------------------
# The fixtures. Each builder returns (model to run, object to export, export keywords).


def build_s2s_transformer():
    transformer = nn.Transformer(d_model=32, nhead=2, num_encoder_layers=2,
                                 num_decoder_layers=2, dim_feedforward=64)
    model = TransformerWithParts(transformer, len(LETTERS), len(LETTERS), max_len=16,
                                 embed_scale=2.0)
    randomize(model, attn_gain=2.5)
    kwargs = dict(src_vocab=LETTERS, embed_scale=2.0, max_output_len=10,
                  src_embedding=model.src_embedding, tgt_embedding=model.tgt_embedding,
                  positional=model.positional, output=model.output)
    return model, transformer, kwargs


SRC_WORDS = SPECIALS + ["<unk>", "the", "cat", "sat", "on", "mat", "big", "red"]
TGT_WORDS = SPECIALS + ["<unk>", "le", "chat", "est", "assis", "sur", "tapis", "grand",
                        "rouge", "un"]


def build_s2s_words():
    model = EncDecModel(len(SRC_WORDS), len(TGT_WORDS), d_model=32, nhead=4, enc_layers=1,
                        dec_layers=2, ff=48, activation="gelu", norm_first=True, eps=1e-6,
                        final_norm=True, max_len=8, embed_scale=2.5)
    randomize(model, attn_gain=2.5)
    kwargs = dict(src_vocab=SRC_WORDS, tgt_vocab=TGT_WORDS, embed_scale=2.5, level="word",
                  lowercase=True, pad_src=True, src_key_padding_mask=True)
    return model, model, kwargs


def build_seed(d_model, nhead, layers, ff, max_len):
    def build():
        model = TransformerSeq2SeqModel(len(LETTERS), len(LETTERS), d_model=d_model,
                                        nhead=nhead, num_encoder_layers=layers,
                                        num_decoder_layers=layers, dim_feedforward=ff,
                                        max_len=max_len)
        kwargs = dict(src_vocab=LETTERS, embed_scale=math.sqrt(d_model), pad_src=True,
                      metadata={"task": "random weights in the seed's Pig Latin layout"})
        return model, model, kwargs
    return build


LM_CHARS = SPECIALS + ["<unk>", " "] + list("abcdefgh")


def build_lm_learned():
    model = CausalLM(len(LM_CHARS), d_model=16, nhead=1, layers=3, ff=32, activation="relu",
                     norm_first=False, eps=1e-5, final_norm=False, max_len=12,
                     embed_scale=1.0, positional="learned")
    randomize(model, attn_gain=3.0)
    return model, model, dict(src_vocab=LM_CHARS, embed_scale=1.0, src_bos=True)


NUMBER_WORDS = SPECIALS + ["one", "two", "three", "four", "five", "six", "seven", "eight",
                           "nine", "ten"]


def build_lm_table():
    model = CausalLM(len(NUMBER_WORDS), d_model=64, nhead=8, layers=1, ff=128,
                     activation=nn.GELU(), norm_first=True, eps=1e-6, final_norm=True,
                     max_len=10, embed_scale=8.0, positional="L1D")
    randomize(model, attn_gain=2.0)
    return model, model, dict(src_vocab=NUMBER_WORDS, embed_scale=8.0, level="word",
                              src_bos=True)


SUM_CHARS = SPECIALS + list("0123456789+=")


def build_lm_sinusoidal():
    model = CausalLM(len(SUM_CHARS), d_model=24, nhead=2, layers=2, ff=48, activation="relu",
                     norm_first=False, eps=1e-5, final_norm=True, max_len=12,
                     embed_scale=3.0, positional="sinusoidal", output_bias=False)
    randomize(model, attn_gain=2.5)
    return model, model, dict(src_vocab=SUM_CHARS, embed_scale=3.0, src_bos=True,
                              positional="sinusoidal", max_len=12)


def build_example_tiny():
    model, kwargs = build_example()
    return model, model, kwargs


# name, builder, seed, small, description, cases: (text, target) or (text, continue)
FIXTURES = [
    ("s2s_transformer_h2", build_s2s_transformer, 1, True,
     "nn.Transformer with outside embeddings/positions/output (keyword modules), post-LN, "
     "relu, 2 heads, final norms, learned positions, embed_scale 2, char, no unk, unpadded, "
     "max_output_len 10 < max_len 16",
     [("hello", None), ("hello", "ellohay"), ("aaabbb", None),
      ("abcdefghijklmnopqrstuvwxyz", None)]),
    ("s2s_words_preln_gelu_h4", build_s2s_words, 2, True,
     "encoder-decoder with its own names, pre-LN, gelu, 4 heads, 1+2 layers, final norms, "
     "eps 1e-6, LD sinusoidal table, embed_scale 2.5, word level, lowercase, separate "
     "vocabularies with unk, padded with key-padding mask",
     [("the cat sat", None), ("The CAT  sat on the mat", "le chat est assis sur le tapis"),
      ("the dog sat", None), ("red red red red red red red red", None)]),
    ("s2s_seed_small", build_seed(32, 8, 2, 64, 12), 3, True,
     "the seed's TransformerSeq2SeqModel (attention-keeping subclasses, 1LD pe buffer, "
     "batch_first, xavier init, sqrt(d_model) scale), post-LN, relu, 8 heads, d_model 32, "
     "2+2 layers, char, padded without mask",
     [("pig", None), ("glove", "oveglay"), ("apple", None),
      ("mississippi", "ississippimay")]),
    ("s2s_seed_piglatin", build_seed(128, 8, 3, 512, 20), 4, False,
     "the seed's Pig Latin configuration with random weights: d_model 128, 8 heads, 3+3 "
     "layers, feed-forward 512, max_len 20, char, padded without mask",
     [("pig", None), ("glove", "oveglay"), ("balloon", None)]),
    ("lm_learned_h1", build_lm_learned, 5, True,
     "causal LM, post-LN, relu, 1 head, d_model 16, 3 layers, no final norm, learned "
     "positions, char with unk and a space token, src_bos",
     [("abc", 3), ("aaaa", 3), ("ab?c d", 0), ("abcdefgh ab", 3)]),
    ("lm_table_preln_gelu_h8", build_lm_table, 16, True,
     "causal LM, pre-LN, gelu (nn.GELU module), 8 heads, d_model 64, 1 layer, final norm, "
     "eps 1e-6, L1D sinusoidal table, embed_scale 8, word level, no unk",
     [("one two three", 3), ("two two two two", 3), ("  ten\tnine\n", 0)]),
    ("lm_sinusoidal_nobias_h2", build_lm_sinusoidal, 7, True,
     "causal LM, post-LN, relu, 2 heads, d_model 24, 2 layers, final norm, positions "
     "computed in forward (positional 'sinusoidal'), output without bias, embed_scale 3",
     [("12+34=", 3), ("1111", 3), ("9+9=", 0)]),
    ("example_tiny", build_example_tiny, 8, True,
     "docs/example-weights.json's model (number-array data): causal LM, d_model 4, 1 head, "
     "1 layer, learned positions, max_len 4",
     [("ab", 2), ("aaa", 3), ("b", 0)]),
]


# Cases run with tools/attnviz_probe.py: head ablations, and the pre-softmax scores and value
# norms every such case also records. name -> [(text, target or continue, ablations)]
PROBED_CASES = {
    "s2s_seed_small": [
        ("glove", None, []),
        ("glove", None, [{"kind": "cross", "layer": 1, "head": 2, "mode": "zero"},
                         {"kind": "encoder_self", "layer": 0, "head": 5, "mode": "uniform"}]),
        ("apple", "appleyay", [{"kind": "decoder_self", "layer": 0, "head": 1, "mode": "uniform"}]),
    ],
    "s2s_words_preln_gelu_h4": [
        ("the cat sat", None, [{"kind": "cross", "layer": 0, "head": 3, "mode": "uniform"},
                               {"kind": "encoder_self", "layer": 0, "head": 0, "mode": "zero"}]),
    ],
    "lm_learned_h1": [
        ("abcab", 3, [{"kind": "encoder_self", "layer": 1, "head": 0, "mode": "zero"}]),
        ("abcab", 3, [{"kind": "encoder_self", "layer": 2, "head": 0, "mode": "uniform"}]),
    ],
}


def probed_case(model, tok, seq2seq, text, arg, ablations):
    """A case under ablation, with scores and value norms of the reported pass: the last
    forward for seq2seq (the teacher-forced pass after greedy), the first for a causal LM
    (its continuation runs after)."""
    with probed(model, ablations) as logs:
        case, margin = reference_case(model, tok, seq2seq, text, arg)
    case["ablations"] = ablations
    case.update(details(logs, -1 if seq2seq else 0))
    return case, margin


def build_fixture(out_dir, name, builder, seed, description, cases):
    """Writes one fixture's two files; returns a one-line summary."""
    start = time.time()
    torch.manual_seed(seed)
    model, target, kwargs = builder()
    model.eval()
    weights_path = os.path.join(out_dir, f"{name}.weights.json")
    doc = attnviz_export.export(target, weights_path, **kwargs)
    tok = Tokenizer(doc)
    seq2seq = doc["config"]["architecture"] == "seq2seq"
    results, margins, peaks = [], [], []
    for text, arg in cases:
        case, margin = reference_case(model, tok, seq2seq, text, arg)
        results.append(case)
        margins.append(margin)
        peaks.append(peakedness(case))
    for text, arg, ablations in PROBED_CASES.get(name, []):
        case, margin = probed_case(model, tok, seq2seq, text, arg, ablations)
        results.append(case)
        margins.append(margin)
    if min(margins) < MIN_MARGIN:
        raise RuntimeError(f"{name}: an argmax hangs on a near-tie (gap {min(margins):.2g}); "
                           "change the seed or the inputs")
    if min(peaks) < MIN_PEAKEDNESS:
        raise RuntimeError(f"{name}: attention is nearly uniform ({min(peaks):.2f}); "
                           "raise attn_gain")
    expected_path = os.path.join(out_dir, f"{name}.expected.json")
    write_expected(expected_path, os.path.basename(weights_path), description, results)
    c = doc["config"]
    outputs = " | ".join(f"{case['text']!r}->{case['output']!r}" for case in results)
    return (f"{name}: {c['architecture']} d{c['d_model']} h{c['nhead']} "
            f"L{c['num_encoder_layers']}+{c['num_decoder_layers']}, "
            f"weights {os.path.getsize(weights_path) // 1024} KB, expected "
            f"{os.path.getsize(expected_path) // 1024} KB, attention peak {min(peaks):.2f}x "
            f"uniform, min gap {min(margins):.3f}, {time.time() - start:.1f}s; {outputs}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--small-only", action="store_true",
                        help="only the small fixtures (the committed set)")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    start = time.time()
    for name, builder, seed, small, description, cases in FIXTURES:
        if args.small_only and not small:
            continue
        print(build_fixture(args.out_dir, name, builder, seed, description, cases), flush=True)
        size = os.path.getsize(os.path.join(args.out_dir, f"{name}.weights.json"))
        if small and size > SMALL_WEIGHTS_BYTES:
            raise RuntimeError(f"{name} is marked small but its weights take {size} bytes")
    print(f"done in {time.time() - start:.1f}s")


if __name__ == "__main__":
    main()
