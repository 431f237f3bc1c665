#!/usr/bin/python3
"""English -> Pig Latin, character level, in the seed's configuration; the page's default model.

Data: the lower-case alphabetic words of /usr/share/dict/words (Debian's wamerican) of at
most 16 letters (so "<bos>" + the longest Pig Latin form fits max_len 20), split 90/5/5 into
train / validation / test by a fixed seed. Rules (the seed's): a word starting with a vowel
(a, e, i, o, u) gets "yay" ("apple" -> "appleyay"); otherwise its leading consonant cluster
(everything before the first vowel; "y" counts as a consonant) moves to the end and "ay" is
added ("pig" -> "igpay", "glove" -> "oveglay", "rhythm" -> "rhythmay").

Model: tools/seed_model.py's TransformerSeq2SeqModel, d_model 128, 8 heads, 3+3 layers,
feed-forward 512, max_len 20, post-LN, relu, dropout 0.1, sinusoidal pe buffer, embeddings
scaled by sqrt(d_model). Trained with key-padding masks, exported unpadded (pad_src=False).

  LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread /usr/bin/python3 \
      tools/train_piglatin.py [--fixtures-dir tests/fixtures]
"""

import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import training  # noqa: E402
from seed_model import TransformerSeq2SeqModel  # noqa: E402

WORDS = "/usr/share/dict/words"
VOWELS = set("aeiou")
MAX_LEN = 20
MAX_WORD = 16
NAME = "piglatin"
PARITY_CASES = [("pig", None), ("apple", None), ("glove", None), ("string", None),
                ("glove", "oveglay")]


def pig_latin(word):
    if word[0] in VOWELS:
        return word + "yay"
    for i, ch in enumerate(word):
        if ch in VOWELS:
            return word[i:] + word[:i] + "ay"
    return word + "ay"


def load_words(path=WORDS):
    with open(path, encoding="utf-8") as f:
        words = {w.strip() for w in f}
    return sorted(w for w in words if w.isascii() and w.isalpha() and w.islower()
                  and 1 <= len(w) <= MAX_WORD)


def main(argv=None):
    parser = training.common_arguments(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]), 86)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--time-limit", type=float, default=None, help="seconds of training at most")
    args = parser.parse_args(argv)
    training.setup(args.seed, args.threads)
    start = time.time()

    words = load_words()
    train_w, val_w, test_w = training.split_items(words, args.seed, 0.05, 0.05)
    d_model, heads, layers, ff = 128, 8, 3, 512
    if args.tiny:
        train_w, val_w, test_w = train_w[:256], val_w[:64], test_w[:64]
        d_model, heads, layers, ff = 32, 4, 1, 64
        args.epochs = 1
    pairs = lambda ws: [(w, pig_latin(w)) for w in ws]  # noqa: E731
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab = training.SPECIALS + letters
    task = training.Seq2SeqTask(pairs(train_w), "char", vocab, vocab)
    train, val, test = (task.encode(pairs(ws)) for ws in (train_w, val_w, test_w))
    training.log(f"{len(words)} words: train {len(train)}, val {len(val)}, test {len(test)}; "
                 f"{training.blas_note()}")

    model = TransformerSeq2SeqModel(len(vocab), len(vocab), d_model=d_model, nhead=heads,
                                    num_encoder_layers=layers, num_decoder_layers=layers,
                                    dim_feedforward=ff, dropout=0.1, max_len=MAX_LEN)
    training.log(f"model: {training.parameter_count(model):,} parameters")
    facts = training.train_seq2seq(model, train, val[:1000], epochs=args.epochs,
                                   batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                                   warmup=50 if args.tiny else 400, max_out=MAX_LEN,
                                   log_every=10 if args.tiny else 100,
                                   time_limit=args.time_limit)
    metrics = training.evaluate_and_log(model, test, task, MAX_LEN, "words", show_errors=10)
    examples = ["pig", "apple", "glove", "string", "rhythm", "banana", "school", "eat"]
    for w, out in zip(examples, training.translate(model, task, examples, MAX_LEN)):
        training.log(f"  {w} -> {out} (rule: {pig_latin(w)})")

    metadata = {
        "title": "English -> Pig Latin (characters)",
        "task": "Translate one lower-case English word into Pig Latin: a word starting with a "
                "vowel gets 'yay' (apple -> appleyay); otherwise the leading consonant cluster "
                "moves to the end and 'ay' is added (pig -> igpay, glove -> oveglay). "
                "'y' counts as a consonant.",
        "data": f"{len(words)} lower-case alphabetic words of 1-{MAX_WORD} letters from "
                f"Debian's wamerican (/usr/share/dict/words), split by seed {args.seed} into "
                f"{len(train)} train / {len(val)} validation / {len(test)} test words.",
        "model": f"the seed's TransformerSeq2SeqModel: d_model {d_model}, {heads} heads, "
                 f"{layers}+{layers} layers, feed-forward {ff}, max_len {MAX_LEN}, post-LN, relu, "
                 "sinusoidal positions (pe buffer), embeddings x sqrt(d_model)",
        "training": training.seq2seq_training_record(args, facts, "tools/train_piglatin.py"),
        "accuracy": {"test_token_accuracy": round(metrics["token_accuracy"], 5),
                     "test_sequence_accuracy": round(metrics["sequence_accuracy"], 5),
                     "test_words": metrics["sequences"]},
        "look_for": "Cross-attention, the last decoder layer (layer 3): for a word starting with "
                    "consonants ('glove', 'string') the bent line - the output first reads the "
                    "source from the first vowel on, then jumps back to the leading consonants, "
                    "then 'ay' looks at the end of the word. For a vowel word ('apple') it is a "
                    "plain diagonal. Encoder self-attention, layer 1: look for a head that points "
                    "the leading letters at the first vowel.",
        "try": ["pig", "glove", "apple", "string", "rhythm", "quiet"],
    }
    if args.tiny:
        return metrics
    training.publish(model, NAME, metadata, args, PARITY_CASES,
                     "trained Pig Latin model (weights/piglatin.weights.json)",
                     src_vocab=vocab, tgt_vocab=vocab, embed_scale=math.sqrt(d_model),
                     level="char", pad_src=False)
    training.log(f"done in {time.time() - start:.0f}s")
    return metrics


if __name__ == "__main__":
    main()
