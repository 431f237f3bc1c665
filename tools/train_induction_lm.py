#!/usr/bin/python3
"""A 2-layer causal character LM that grows induction heads.

Data: lines of up to 47 characters (after <bos>; max_len 48) in which a phrase repeats:
half are random characters (an optional random prefix, then a random 5-20 character phrase
repeated to the end), half short English words (lower-case, 1-7 letters, from
/usr/share/dict/words when present) where a phrase of 2-6 words is repeated (sometimes with
other words in between). The first occurrence of a phrase is unpredictable beyond English spelling; the
repeat can be predicted by copying: find where the current character occurred before, and
predict the character that followed it there. Two attention layers are enough for that
circuit: a previous-token head in layer 1 writes "my previous character was x" into each
position, and an induction head in layer 2 attends to the position after the earlier x.

Model: GPT-style pre-LN stack of nn.TransformerEncoderLayer with a causal mask, d_model 64,
4 heads, 2 layers, feed-forward 128, gelu, no dropout, final LayerNorm, sinusoidal pe table,
embeddings not scaled (embed_scale 1: with N(0, 1) embeddings the positions stay as loud as
the tokens, which a previous-token head needs), <bos> before the text.

Measured on held-out sequences "<bos> r r" (r = 20 random letters and spaces, repeated):
per head, the induction score (mean attention from each token of the second copy to the token
after its occurrence in the first copy) and the previous-token score (mean attention to the
token just before); plus next-character accuracy on the repeated half.

  LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread /usr/bin/python3 \
      tools/train_induction_lm.py [--fixtures-dir tests/fixtures]
"""

import argparse
import os
import random
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import training  # noqa: E402
from attnviz_reference import recorded_attention  # noqa: E402
from seed_model import PositionalEncoding  # noqa: E402

MAX_LEN = 48
CHARS = list(" abcdefghijklmnopqrstuvwxyz")
VOCAB = training.SPECIALS + CHARS
INDEX = {c: i for i, c in enumerate(VOCAB)}
D_MODEL, HEADS, LAYERS, FF = 64, 4, 2, 128
NAME = "induction_lm"
EMBED_SCALE = 1.0
FALLBACK_WORDS = ("the cat sat on a mat and dog ran to big red sun in my hat we go up it is "
                  "so far box fox jam pen cup owl").split()
TRY = ["the quick brown fox jumps the quick brown", "hello world hello wor",
       "harry potter and harry pot"]
PARITY_CASES = [("the cat sat on the mat the cat sat on the", 8),
                ("abcde fgh abcde fgh ab", 6),
                ("harry potter and harry pot", 4)]


class CausalCharLM(nn.Module):
    """Embedding x sqrt(d) + sinusoidal table -> causal pre-LN encoder stack -> logits."""

    def __init__(self, vocab, d_model=D_MODEL, nhead=HEADS, layers=LAYERS, ff=FF, max_len=MAX_LEN):
        super().__init__()
        self.d_model = d_model
        self.tok_embedding = nn.Embedding(vocab, d_model)
        self.pos_encoder = PositionalEncoding(d_model, max_len, dropout=0.0)
        layer = nn.TransformerEncoderLayer(d_model, nhead, ff, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(d_model),
                                             enable_nested_tensor=False)
        self.lm_head = nn.Linear(d_model, vocab)

    def forward(self, ids):
        x = self.pos_encoder(self.tok_embedding(ids) * EMBED_SCALE)
        mask = nn.Transformer.generate_square_subsequent_mask(ids.size(1))
        return self.lm_head(self.encoder(x, mask=mask))


def load_words(path="/usr/share/dict/words"):
    try:
        with open(path, encoding="utf-8") as f:
            words = sorted({w.strip() for w in f})
    except OSError:
        return FALLBACK_WORDS
    return [w for w in words if w.isascii() and w.isalpha() and w.islower() and len(w) <= 7]


def make_line(rng, words):
    """One training line (a string of at most MAX_LEN - 1 characters) with a repeated phrase:
    half of the time random characters (nothing to learn but copying), else English words."""
    budget = MAX_LEN - 1
    if rng.random() < 0.5:
        prefix = "".join(rng.choice(CHARS) for _ in range(rng.randint(0, 8)))
        phrase = "".join(rng.choice(CHARS) for _ in range(rng.randint(5, 20)))
        line = prefix + phrase
        while len(line) < budget:
            line += phrase
        return line[:budget]
    phrase = " ".join(rng.choice(words) for _ in range(rng.randint(2, 6)))
    phrase = phrase[:rng.randint(8, 20)].strip()
    parts = []
    if rng.random() < 0.5:
        parts.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, 3))))
    parts.append(phrase)
    if rng.random() < 0.4:
        parts.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, 2))))
    parts.append(phrase)
    if rng.random() < 0.4:
        parts.append(phrase)
    line = " ".join(parts)
    while len(line) < budget:  # fill the tail with the phrase again (more repeats to learn from)
        line += " " + phrase
    return line[:budget]


def encode(line):
    return [training.BOS] + [INDEX[c] for c in line]


def random_repeat(rng, n=20):
    r = "".join(rng.choice(CHARS) for _ in range(n))
    return encode(r + r)


def scores_from_attention(attn, n):
    """(induction [L, H], previous-token [L, H]) for one sequence <bos> r r, |r| = n, from its
    attention [L, H, S, S]. The second copy holds r[i] at t = 1 + n + i; its earlier
    occurrence is at 1 + i, and the token after that at 2 + i = t - n + 1. Scored for
    i >= 1 (every token of the second copy but its first), previous-token over t >= 1."""
    t = torch.arange(n + 2, 2 * n + 1)
    s = torch.arange(1, 2 * n + 1)
    return attn[:, :, t, t - n + 1].mean(-1), attn[:, :, s, s - 1].mean(-1)


@torch.enable_grad()
def head_scores(model, sequences, n):
    """Per layer and head: (induction score, previous-token score) averaged over sequences
    <bos> r r with |r| = n, and next-token accuracy on the second copy. Attention is read in
    eval mode with grad enabled (the no_grad fast path would skip the capture)."""
    model.eval()
    L, H = len(model.encoder.layers), model.encoder.layers[0].self_attn.num_heads
    induction = torch.zeros(L, H)
    previous = torch.zeros(L, H)
    correct = total = 0
    for seq in sequences:
        ids = torch.tensor([seq])
        with recorded_attention(model) as attention:
            logits = model(ids)[0]
        ind, prev = scores_from_attention(attention["encoder_self"], n)
        induction += ind
        previous += prev
        pred = logits.argmax(-1)
        # predicting position t + 1 from t, for t in the second copy
        tt = torch.arange(n + 1, 2 * n)
        correct += int((pred[tt] == ids[0, tt + 1]).sum())
        total += len(tt)
    k = len(sequences)
    return induction / k, previous / k, correct / total


def train(model, lines, steps, batch_size, lr, seed, log_every=100):
    rng = random.Random(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.98), weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: training.lr_factor(s, 200, steps))
    loss_fn = nn.CrossEntropyLoss(ignore_index=training.PAD)
    start, running = time.time(), 0.0
    model.train()
    for step in range(1, steps + 1):
        batch = [encode(lines[rng.randrange(len(lines))]) for _ in range(batch_size)]
        ids = training.pad(batch)
        logits = model(ids[:, :-1])
        loss = loss_fn(logits.reshape(-1, logits.size(-1)), ids[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        running += float(loss)
        if step % log_every == 0:
            training.log(f"  step {step}: loss {running / log_every:.4f}, "
                         f"{time.time() - start:.0f}s")
            running = 0.0
    return round(time.time() - start, 1)


def main(argv=None):
    parser = training.common_arguments(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]), 11)
    parser.add_argument("--steps", type=int, default=2500)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    args = parser.parse_args(argv)
    training.setup(args.seed, args.threads)
    start = time.time()
    words = load_words()
    rng = random.Random(args.seed)
    n_lines, n_eval, steps = 50000, 200, args.steps
    if args.tiny:
        n_lines, n_eval, steps = 200, 8, 20
    lines = [make_line(rng, words) for _ in range(n_lines)]
    held_rng = random.Random(args.seed + 1000)
    held = [random_repeat(held_rng) for _ in range(n_eval)]
    model = CausalCharLM(len(VOCAB))
    training.log(f"{len(words)} words, {len(lines)} lines like {lines[0]!r}; "
                 f"{training.parameter_count(model):,} parameters; {training.blas_note()}")
    seconds = train(model, lines, steps, args.batch_size, args.lr, args.seed,
                    log_every=5 if args.tiny else 100)
    induction, previous, repeat_acc = head_scores(model, held, 20)
    for layer in range(induction.size(0)):
        for head in range(induction.size(1)):
            training.log(f"  layer {layer + 1} head {head + 1}: induction "
                         f"{induction[layer, head]:.3f}, previous-token {previous[layer, head]:.3f}")
    ind_layer, ind_head = induction.size(0) - 1, int(induction[-1].argmax())
    prev_head = int(previous[0].argmax())
    # every head doing the job clearly (a head can share its role with others)
    ind_also = [h for h in range(induction.size(1)) if h != ind_head and induction[-1, h] > 0.3]
    prev_also = [h for h in range(previous.size(1)) if h != prev_head and previous[0, h] > 0.2]
    also = lambda hs: f" (also head{'s' if len(hs) > 1 else ''} {', '.join(str(h + 1) for h in hs)})" if hs else ""  # noqa: E731
    training.log(f"TEST: next-char accuracy on the repeated half {repeat_acc:.4f}; induction head "
                 f"layer {ind_layer + 1} head {ind_head + 1} ({induction[ind_layer, ind_head]:.3f})"
                 f"{also(ind_also)}; previous-token head layer 1 head {prev_head + 1} "
                 f"({previous[0, prev_head]:.3f}){also(prev_also)}; uniform attention would "
                 f"give ~{1 / 31:.3f}")
    result = {"induction": induction, "previous": previous, "repeat_accuracy": repeat_acc,
              "induction_head": (ind_layer + 1, ind_head + 1), "previous_head": (1, prev_head + 1)}
    if args.tiny:
        return result
    metadata = {
        "title": "Induction heads (causal character LM)",
        "task": "predict the next character; trained on lines of short English words in which "
                "a phrase repeats, so the only way to predict a repeat is to copy from its "
                "earlier occurrence",
        "data": f"{len(lines)} generated lines of at most {MAX_LEN - 1} characters (seed "
                f"{args.seed}): half random characters with a 5-20 character phrase repeated, "
                "half words of 1-7 letters from /usr/share/dict/words with a repeated phrase; held-out "
                f"test: {len(held)} sequences <bos> r r of 20 random letters/spaces repeated",
        "model": f"GPT-style: {LAYERS} pre-LN nn.TransformerEncoderLayer with a causal mask, "
                 f"d_model {D_MODEL}, {HEADS} heads, feed-forward {FF}, gelu, final LayerNorm, "
                 f"sinusoidal positions (pe buffer), embed_scale {EMBED_SCALE}, max_len {MAX_LEN}, <bos> first",
        "training": {"optimizer": "AdamW (0.9, 0.98), wd 0.01, warm-up then cosine",
                     "lr": args.lr, "batch_size": args.batch_size, "steps": steps,
                     "dropout": 0.0, "seed": args.seed, "seconds": seconds,
                     "script": "tools/train_induction_lm.py"},
        "accuracy": {"repeat_next_char_accuracy": round(repeat_acc, 4),
                     "induction_score": {f"layer {l + 1} head {h + 1}": round(float(induction[l, h]), 3)
                                         for l in range(induction.size(0)) for h in range(induction.size(1))},
                     "previous_token_score": {f"layer {l + 1} head {h + 1}": round(float(previous[l, h]), 3)
                                              for l in range(previous.size(0)) for h in range(previous.size(1))}},
        "heads": {"induction": f"layer {ind_layer + 1}, head {ind_head + 1}{also(ind_also)}",
                  "previous_token": f"layer 1, head {prev_head + 1}{also(prev_also)}"},
        "look_for": f"Type a phrase twice (e.g. '{TRY[0]}'). Layer 1, head {prev_head + 1}"
                    f"{also(prev_also)}: the previous-token head - a line just below the "
                    f"diagonal. Layer {ind_layer + 1}, head {ind_head + 1}{also(ind_also)}: the "
                    "induction head - "
                    "in the second copy each character attends to the character after its "
                    "earlier occurrence, a diagonal stripe offset by the phrase length; the "
                    "continuation then copies the phrase.",
        "try": TRY,
    }
    training.publish(model, NAME, metadata, args, PARITY_CASES,
                     "trained induction-head LM (weights/induction_lm.weights.json)",
                     src_vocab=VOCAB, embed_scale=EMBED_SCALE, level="char", lowercase=True,
                     src_bos=True)
    training.log(f"done in {time.time() - start:.0f}s")
    return result


if __name__ == "__main__":
    main()
