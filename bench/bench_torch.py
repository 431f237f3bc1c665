#!/usr/bin/python3
"""The PyTorch eager peer: the benchmark model (bench/make_models.py, same seed, same weights),
one thread, decoding as the seed does (the decoder re-run on the growing prefix, no cache),
per-head attention captured by the seed's layer subclasses (tools/seed_model.py).

The model runs in training mode with every dropout probability set to 0 and under
torch.no_grad(): that is the same arithmetic as eval mode, but it keeps PyTorch off its fused
encoder fast path (which skips _sa_block, so no attention would be captured) without paying
for autograd bookkeeping.

The BLAS is whatever libblas.so.3 the process loads: Debian's reference BLAS by default;
bench/run puts OpenBLAS's folder first on LD_LIBRARY_PATH for one run. The JSON line names the
library that was actually mapped.

usage: /usr/bin/python3 bench/bench_torch.py SHAPE TEXT [--budget-ms=1000] [--scale=16,64,...]
Prints one JSON line: {"engine", "blas", "encoder_ms": [median, min, max], "job_ms", "tokens",
"reps", "scale": [{"n", "ms", "reps"}]}.
"""

import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import torch  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_models import DECODE_STEPS, VOCAB, build  # noqa: E402

BOS, EOS = 1, 2
INDEX = {token: i for i, token in enumerate(VOCAB)}
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def scale_text(n):
    return "".join(LETTERS[(i * 7) % 26] for i in range(n - 1))


def time_runs(fn, budget_ms, min_reps=7, max_reps=300):
    # Warm-up: at least 3 calls and 250 ms, or one call when it takes over 100 ms.
    # The fastest warm-up call after the first sizes the count.
    last, total, i, fastest = 0.0, 0.0, 0, float("inf")
    while i == 0 or (last < 100 and (i < 3 or total < 250)):
        start = time.perf_counter()
        fn()
        last = (time.perf_counter() - start) * 1e3
        total += last
        if i > 0 or last >= 100:
            fastest = min(fastest, last)
        i += 1
    reps = max(min_reps, min(max_reps, int(budget_ms / max(fastest, 1e-3))))
    ms = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - start) * 1e3)
    ms.sort()
    return {"ms": [ms[len(ms) // 2], ms[0], ms[-1]], "reps": reps}


def blas_library():
    with open("/proc/self/maps") as maps:
        libs = {line.split()[-1] for line in maps if "blas" in line}
    return ", ".join(sorted(os.path.basename(p) + " (" + os.path.basename(os.path.dirname(p)) + ")"
                            for p in libs)) or "none mapped"


class Job:
    def __init__(self, model):
        self.m = model
        self.scale = model.d_model ** 0.5

    def tokenize(self, text):
        return torch.tensor([[INDEX[c] for c in text] + [EOS]])

    def encode(self, text):
        m = self.m
        src = self.tokenize(text)
        memory = m.encoder(m.pos_encoder(m.src_embedding(src) * self.scale))
        attention = torch.cat([layer.attn_weights for layer in m.encoder.layers])
        return memory, attention

    def run(self, text):
        m = self.m
        memory, encoder_self = self.encode(text)
        generated = []
        for _ in range(DECODE_STEPS):
            tgt = torch.tensor([[BOS] + generated])
            y = m.pos_encoder(m.tgt_embedding(tgt) * self.scale)
            mask = nn.Transformer.generate_square_subsequent_mask(tgt.size(1))
            logits = m.fc_out(m.decoder(y, memory, tgt_mask=mask))
            generated.append(int(logits[0, -1].argmax()))
        # The attention of the last pass covers the whole decoder input [bos] + generated[:-1].
        decoder_self = torch.cat([layer.self_attn_weights for layer in m.decoder.layers])
        cross = torch.cat([layer.cross_attn_weights for layer in m.decoder.layers])
        return generated, (encoder_self, decoder_self, cross)


def main():
    shape, text = sys.argv[1], sys.argv[2]
    options = dict(arg[2:].split("=", 1) for arg in sys.argv[3:])
    budget = float(options.get("budget-ms", 1000))
    torch.set_num_threads(1)
    model = build(shape, max_len=512)
    model.train()
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
        if isinstance(module, nn.MultiheadAttention):
            module.dropout = 0.0
    job = Job(model)
    out = {"engine": "PyTorch eager", "torch": torch.__version__, "threads": torch.get_num_threads()}
    with torch.no_grad():
        tokens, _ = job.run(text)
        enc = time_runs(lambda: job.encode(text), budget)
        full = time_runs(lambda: job.run(text), budget)
        out.update(encoder_ms=enc["ms"], job_ms=full["ms"], tokens=tokens,
                   reps={"encoder": enc["reps"], "job": full["reps"]})
        if "scale" in options:
            out["scale"] = []
            for n in map(int, options["scale"].split(",")):
                t = scale_text(n)
                r = time_runs(lambda: job.encode(t), budget, min_reps=3)
                out["scale"].append({"n": n, "ms": r["ms"], "reps": r["reps"]})
    out["blas"] = blas_library()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
