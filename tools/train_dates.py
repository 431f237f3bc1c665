#!/usr/bin/python3
"""Spelled-out dates -> numeric dates, word level: cross-attention that aligns words.

  "the third of march twenty twenty one"  -> "03 / 03 / 2021"
  "december the twenty fifth nineteen oh five" -> "25 / 12 / 1905"

Sources are real calendar dates from 1900 to 2099 in four phrasings ("the D of M Y", "D of M
Y", "M D Y", "M the D Y"); years are said the usual ways ("nineteen forty two", "nineteen
hundred", "nineteen oh five", "two thousand", "two thousand five", "twenty twenty one" or
"two thousand twenty one"). The target is always day / month / year, so for "M D Y" phrasings
the cross-attention has to cross over: the day comes first in the output, second in the input.
Output tokens: "01".."31", "/", "1900".."2099".

Model: the seed's TransformerSeq2SeqModel at d_model 64, 4 heads, 2 encoder + 1 decoder
layers (one cross-attention layer: the alignment is in one place), feed-forward 128, post-LN,
relu, sinusoidal positions, max_len 12; key-padding masks in training, unpadded at inference.

  LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread /usr/bin/python3 \
      tools/train_dates.py [--fixtures-dir tests/fixtures]
"""

import argparse
import datetime
import math
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import training  # noqa: E402
from seed_model import TransformerSeq2SeqModel  # noqa: E402

MAX_LEN = 12
D_MODEL, HEADS, ENC_LAYERS, DEC_LAYERS, FF = 64, 4, 2, 1, 128
NAME = "dates"
ONES = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
        "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
ORDINALS = ["", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
            "ninth", "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth",
            "sixteenth", "seventeenth", "eighteenth", "nineteenth", "twentieth"]
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]
FIRST, LAST = datetime.date(1900, 1, 1), datetime.date(2099, 12, 31)
PARITY_CASES = [("the third of march twenty twenty one", None),
                ("december the twenty fifth nineteen oh five", None),
                ("july fourth two thousand", None),
                ("the first of may nineteen forty two", "01 / 05 / 1942")]


def number_words(n):
    """1..99 in words."""
    if n < 20:
        return ONES[n]
    tens, ones = divmod(n, 10)
    return TENS[tens] + ("" if ones == 0 else " " + ONES[ones])


def ordinal_words(day):
    if day <= 20:
        return ORDINALS[day]
    if day == 30:
        return "thirtieth"
    tens, ones = divmod(day, 10)
    return TENS[tens] + " " + ORDINALS[ones]


def year_words(year, rng):
    century, rest = divmod(year, 100)
    if century == 19:
        if rest == 0:
            return "nineteen hundred"
        if rest < 10:
            return "nineteen oh " + ONES[rest]
        return "nineteen " + number_words(rest)
    if rest == 0:
        return "two thousand"
    if rest < 10:
        return "two thousand " + ONES[rest]
    return rng.choice(["twenty ", "two thousand "]) + number_words(rest)


def spell(date, rng):
    d, m, y = ordinal_words(date.day), MONTHS[date.month - 1], year_words(date.year, rng)
    form = rng.randrange(4)
    if form == 0:
        return f"the {d} of {m} {y}"
    if form == 1:
        return f"{d} of {m} {y}"
    if form == 2:
        return f"{m} {d} {y}"
    return f"{m} the {d} {y}"


def numeric(date):
    return f"{date.day:02d} / {date.month:02d} / {date.year}"


def vocabularies():
    src = set("the of oh hundred thousand".split()) | set(MONTHS)
    src |= {w for n in range(1, 100) for w in number_words(n).split()}
    src |= {w for d in range(1, 32) for w in ordinal_words(d).split()}
    tgt = ["/"] + [f"{d:02d}" for d in range(1, 32)] + [str(y) for y in range(1900, 2100)]
    return training.SPECIALS + sorted(src), training.SPECIALS + tgt


def make_data(n_train, n_val, n_test, seed):
    """Distinct source strings; validation and test strings never occur in training."""
    rng = random.Random(seed)
    span = (LAST - FIRST).days

    def draw():
        date = FIRST + datetime.timedelta(days=rng.randint(0, span))
        return spell(date, rng), numeric(date)
    held, seen = [], set()
    while len(held) < n_val + n_test:
        s, t = draw()
        if s not in seen:
            seen.add(s)
            held.append((s, t))
    train = []
    while len(train) < n_train:
        s, t = draw()
        if s not in seen:
            train.append((s, t))
    return train, held[:n_val], held[n_val:]


def main(argv=None):
    parser = training.common_arguments(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]), 5)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3)
    args = parser.parse_args(argv)
    training.setup(args.seed, args.threads)
    start = time.time()
    n_train, n_val, n_test, epochs = 40000, 1000, 3000, args.epochs
    if args.tiny:
        n_train, n_val, n_test, epochs = 512, 64, 64, 1
    train_p, val_p, test_p = make_data(n_train, n_val, n_test, args.seed)
    src_vocab, tgt_vocab = vocabularies()
    task = training.Seq2SeqTask([], "word", src_vocab, tgt_vocab)
    train, val, test = task.encode(train_p), task.encode(val_p), task.encode(test_p)
    model = TransformerSeq2SeqModel(len(src_vocab), len(tgt_vocab), d_model=D_MODEL, nhead=HEADS,
                                    num_encoder_layers=ENC_LAYERS, num_decoder_layers=DEC_LAYERS,
                                    dim_feedforward=FF, dropout=0.1, max_len=MAX_LEN)
    training.log(f"train {len(train)}, val {len(val)}, test {len(test)}, e.g. "
                 f"{train_p[0][0]!r} -> {train_p[0][1]!r}; {training.parameter_count(model):,} "
                 f"parameters; {training.blas_note()}")
    facts = training.train_seq2seq(model, train, val, epochs=epochs, batch_size=args.batch_size,
                                   lr=args.lr, seed=args.seed, warmup=50 if args.tiny else 300,
                                   max_out=MAX_LEN, log_every=10 if args.tiny else 100)
    metrics = training.evaluate_and_log(model, test, task, MAX_LEN, "dates")
    texts = [t for t, _ in PARITY_CASES]
    for t, out in zip(texts, training.translate(model, task, texts, MAX_LEN)):
        training.log(f"  {t} -> {out}")
    if args.tiny:
        return metrics
    metadata = {
        "title": "Spelled-out dates -> DD / MM / YYYY (words)",
        "task": "turn a date said in words ('the third of march twenty twenty one', 'march "
                "third twenty twenty one') into day / month / year tokens ('03 / 03 / 2021')",
        "data": f"calendar dates 1900-2099 in four phrasings and the usual ways of saying years, "
                f"drawn by seed {args.seed}: {len(train)} training, {len(val)} validation, "
                f"{len(test)} test sentences; validation and test sentences never occur in "
                "training",
        "model": f"the seed's TransformerSeq2SeqModel: d_model {D_MODEL}, {HEADS} heads, "
                 f"{ENC_LAYERS} encoder + {DEC_LAYERS} decoder layer, feed-forward {FF}, max_len "
                 f"{MAX_LEN}, post-LN, relu, sinusoidal positions (pe buffer), word level",
        "training": training.seq2seq_training_record(args, facts, "tools/train_dates.py"),
        "accuracy": {"test_token_accuracy": round(metrics["token_accuracy"], 5),
                     "test_sequence_accuracy": round(metrics["sequence_accuracy"], 5),
                     "test_sentences": metrics["sequences"]},
        "look_for": "Cross-attention (the one decoder layer): each output token reads the words "
                    "it comes from - the day ('03') the ordinal ('third', or 'twenty' + 'fifth'), "
                    "the month ('03') the month name, the year the year words. Compare 'the third "
                    "of march ...' with 'march the third ...': the lines cross when the month "
                    "comes first.",
        "try": texts[:3],
    }
    training.publish(model, NAME, metadata, args, PARITY_CASES,
                     "trained dates model (weights/dates.weights.json)",
                     src_vocab=src_vocab, tgt_vocab=tgt_vocab, embed_scale=math.sqrt(D_MODEL),
                     level="word", lowercase=True, pad_src=False)
    training.log(f"done in {time.time() - start:.0f}s")
    return metrics


if __name__ == "__main__":
    main()
