"""Shared helpers for the demo-model training scripts (tools/train_*.py).

Seq2seq models here are the seed's TransformerSeq2SeqModel (tools/seed_model.py), trained the
clean way: sources padded only to the longest in the batch, with a key-padding mask on the
encoder and on the cross-attention, so a model never learns to rely on <pad> positions and
runs unpadded at inference (export with pad_src=False). Greedy decoding for the metrics runs
in batches with the same masks, which gives the same result as one unpadded word at a time.

Run with /usr/bin/python3 (Debian's torch). For speed put OpenBLAS first:
  LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread /usr/bin/python3 tools/train_...
"""

import math
import os
import random
import time

import torch
from torch import nn

import attnviz_export
from attnviz_reference import reference_case, write_expected
from attnviz_tokenize import Tokenizer

SPECIALS = ["<pad>", "<bos>", "<eos>"]
PAD, BOS, EOS = 0, 1, 2
MIN_MARGIN = 1e-3  # a parity case whose argmax hangs on a closer tie is refused
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEIGHTS_DIR = os.path.join(ROOT, "weights")


def log(*args):
    print(*args, flush=True)


def setup(seed, threads=2):
    """Fixed seeds everywhere and at most `threads` threads (the machine has 2 cores)."""
    random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(max(1, min(threads, os.cpu_count() or 1)))


def blas_note():
    """Which BLAS torch is using, as far as the environment tells (for the training log)."""
    path = os.environ.get("LD_LIBRARY_PATH", "")
    return "openblas" if "openblas" in path else "default BLAS (set LD_LIBRARY_PATH to OpenBLAS for speed)"


def split_items(items, seed, val_fraction, test_fraction):
    """Shuffles a copy of items with a fixed seed and cuts it into (train, val, test)."""
    items = list(items)
    random.Random(seed).shuffle(items)
    n_test = int(round(len(items) * test_fraction))
    n_val = int(round(len(items) * val_fraction))
    return items[n_test + n_val:], items[n_test:n_test + n_val], items[:n_test]


def vocab_of(sequences):
    """SPECIALS followed by the sorted distinct tokens of the sequences."""
    tokens = sorted({t for seq in sequences for t in seq})
    return SPECIALS + [t for t in tokens if t not in SPECIALS]


class Seq2SeqTask:
    """Token-level view of (source, target) string pairs: tokenize, ids and back."""

    def __init__(self, pairs, level="char", src_vocab=None, tgt_vocab=None):
        self.level = level
        self.src_vocab = src_vocab or vocab_of(self.split(s) for s, _ in pairs)
        self.tgt_vocab = tgt_vocab or vocab_of(self.split(t) for _, t in pairs)
        self.src_index = {t: i for i, t in enumerate(self.src_vocab)}
        self.tgt_index = {t: i for i, t in enumerate(self.tgt_vocab)}

    def split(self, text):
        return list(text) if self.level == "char" else text.split()

    def join(self, tokens):
        return ("" if self.level == "char" else " ").join(tokens)

    def encode(self, pairs):
        """[(src ids + <eos>, target ids without <bos>/<eos>)]."""
        return [([self.src_index[t] for t in self.split(s)] + [EOS],
                 [self.tgt_index[t] for t in self.split(t)]) for s, t in pairs]

    def decode(self, ids):
        out = []
        for i in ids:
            if i == EOS:
                break
            if i not in (PAD, BOS):
                out.append(self.tgt_vocab[i])
        return self.join(out)


def pad(seqs, value=PAD):
    width = max(len(s) for s in seqs)
    return torch.tensor([list(s) + [value] * (width - len(s)) for s in seqs], dtype=torch.long)


def collate(batch):
    """(src [B,S], src padding mask [B,S] True = pad, decoder input [B,T], labels [B,T])."""
    src = pad([s for s, _ in batch])
    tgt_in = pad([[BOS] + t for _, t in batch])
    labels = pad([t + [EOS] for _, t in batch])
    return src, src == PAD, tgt_in, labels


def bucketed_batches(encoded, batch_size, rng):
    """Batches of similar source length (little padding), in random order."""
    order = list(range(len(encoded)))
    rng.shuffle(order)
    chunk = batch_size * 32
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start:start + chunk], key=lambda i: len(encoded[i][0]))
        batches.extend(part[i:i + batch_size] for i in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return [[encoded[i] for i in b] for b in batches]


def lr_factor(step, warmup, total):
    """Linear warm-up, then cosine decay to 5% of the peak."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress))


def train_seq2seq(model, train, val, *, epochs, batch_size, lr, seed, warmup=300,
                  label_smoothing=0.0, log_every=200, evaluate_every_epoch=True, max_out=None,
                  time_limit=None):
    """Trains on encoded pairs with Adam, warm-up + cosine, key-padding masks and gradient
    clipping; logs the loss and the validation metrics. Returns a dict of training facts."""
    rng = random.Random(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.98), eps=1e-9)
    steps_per_epoch = math.ceil(len(train) / batch_size) + 32
    total = epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, warmup, total))
    loss_fn = nn.CrossEntropyLoss(ignore_index=PAD, label_smoothing=label_smoothing)
    start = time.time()
    step, history = 0, []
    stopped_early = False
    for epoch in range(epochs):
        model.train()
        running, count = 0.0, 0
        for batch in bucketed_batches(train, batch_size, rng):
            src, mask, tgt_in, labels = collate(batch)
            logits = model(src, tgt_in, src_key_padding_mask=mask)
            loss = loss_fn(logits.reshape(-1, logits.size(-1)), labels.reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            running += float(loss)
            count += 1
            if step % log_every == 0:
                log(f"  epoch {epoch + 1} step {step}: loss {running / count:.4f}, "
                    f"lr {sched.get_last_lr()[0]:.2e}, {time.time() - start:.0f}s")
            if time_limit and time.time() - start > time_limit:
                stopped_early = True
                break
        entry = {"epoch": epoch + 1, "loss": running / max(1, count),
                 "seconds": round(time.time() - start, 1)}
        if evaluate_every_epoch and val:
            metrics = evaluate_seq2seq(model, val, max_out=max_out)
            entry.update({"val_token_accuracy": metrics["token_accuracy"],
                          "val_sequence_accuracy": metrics["sequence_accuracy"]})
        history.append(entry)
        log(f"epoch {epoch + 1}: " + ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else
                                              f"{k} {v}" for k, v in entry.items()))
        if stopped_early:
            log(f"stopped at the time limit ({time_limit}s)")
            break
    return {"epochs": len(history), "steps": step, "seconds": round(time.time() - start, 1),
            "history": history, "stopped_at_time_limit": stopped_early}


def _encode_memory(model, src, mask):
    scale = math.sqrt(model.d_model)
    return model.encoder(model.pos_encoder(model.src_embedding(src) * scale),
                         src_key_padding_mask=mask)


def _decode_logits(model, tgt, memory, mask):
    scale = math.sqrt(model.d_model)
    x = model.pos_encoder(model.tgt_embedding(tgt) * scale)
    causal = nn.Transformer.generate_square_subsequent_mask(tgt.size(1))
    out = model.decoder(x, memory, tgt_mask=causal, memory_key_padding_mask=mask)
    return model.fc_out(out)


@torch.no_grad()
def greedy_decode(model, sources, max_out, batch_size=256):
    """Greedy decoding of encoded sources (id lists with <eos>) for a seed-layout model, the
    engine's way (re-run the decoder on the whole prefix). Returns id lists ending at the
    first <eos> (included) or after max_out tokens."""
    model.eval()
    results = [None] * len(sources)
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        src = pad([sources[i] for i in idx])
        mask = src == PAD
        memory = _encode_memory(model, src, mask)
        tgt = torch.full((len(idx), 1), BOS, dtype=torch.long)
        done = torch.zeros(len(idx), dtype=torch.bool)
        for _ in range(max_out):
            nxt = _decode_logits(model, tgt, memory, mask)[:, -1].argmax(-1)
            nxt = torch.where(done, torch.full_like(nxt, PAD), nxt)
            tgt = torch.cat([tgt, nxt[:, None]], dim=1)
            done |= nxt == EOS
            if bool(done.all()):
                break
        for row, i in enumerate(idx):
            out = []
            for t in tgt[row, 1:].tolist():
                if t == PAD:
                    break
                out.append(t)
                if t == EOS:
                    break
            results[i] = out
    return results


@torch.no_grad()
def teacher_forced_accuracy(model, encoded, batch_size=256):
    """(correct, total) argmax tokens over every target token and its <eos>."""
    model.eval()
    correct = total = 0
    for start in range(0, len(encoded), batch_size):
        src, mask, tgt_in, labels = collate(encoded[start:start + batch_size])
        memory = _encode_memory(model, src, mask)
        pred = _decode_logits(model, tgt_in, memory, mask).argmax(-1)
        keep = labels != PAD
        correct += int(((pred == labels) & keep).sum())
        total += int(keep.sum())
    return correct, total


def evaluate_seq2seq(model, encoded, max_out=None, task=None, show_errors=0):
    """Token accuracy (teacher forced) and sequence accuracy (greedy, exact match including
    the final <eos>) on encoded pairs; with task, also lists up to show_errors mistakes."""
    if max_out is None:
        max_out = max(len(t) for _, t in encoded) + 1
    correct, total = teacher_forced_accuracy(model, encoded)
    outputs = greedy_decode(model, [s for s, _ in encoded], max_out)
    right = sum(out == t + [EOS] for out, (_, t) in zip(outputs, encoded))
    result = {"token_accuracy": correct / total, "sequence_accuracy": right / len(encoded),
              "sequences": len(encoded), "tokens": total}
    if task is not None and show_errors:
        errors = []
        for out, (s, t) in zip(outputs, encoded):
            if out != t + [EOS] and len(errors) < show_errors:
                src = task.join(task.src_vocab[i] for i in s if i != EOS)
                errors.append({"source": src, "expected": task.decode(t), "got": task.decode(out)})
        result["errors"] = errors
    return result


def evaluate_and_log(model, test, task, max_out, held_out, show_errors=8, prefix=""):
    """evaluate_seq2seq on the test set, with its figures and misses in the log; held_out
    names what the test set holds ("words", "dates")."""
    metrics = evaluate_seq2seq(model, test, max_out=max_out, task=task, show_errors=show_errors)
    log(f"{prefix}TEST: token accuracy {metrics['token_accuracy']:.4f}, sequence accuracy "
        f"{metrics['sequence_accuracy']:.4f} on {metrics['sequences']} held-out {held_out}")
    for e in metrics.get("errors", []):
        log(f"  miss: {e['source']} -> {e['got']} (expected {e['expected']})")
    return metrics


def translate(model, task, texts, max_out):
    """Strings in, greedy output strings out (for the scripts' example printouts)."""
    enc = task.encode([(t, "") for t in texts])
    return [task.decode(o) for o in greedy_decode(model, [s for s, _ in enc], max_out)]


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())


def export_model(model, filename, metadata, weights_dir=WEIGHTS_DIR, **kwargs):
    """Exports with tools/attnviz_export.py into weights_dir; returns (doc, path)."""
    os.makedirs(weights_dir, exist_ok=True)
    path = os.path.join(weights_dir, filename)
    model.eval()
    doc = attnviz_export.export(model, path, metadata=metadata, **kwargs)
    log(f"wrote {path} ({os.path.getsize(path) / 1e6:.2f} MB, "
        f"{parameter_count(model):,} parameters)")
    return doc, path


def seq2seq_training_record(args, facts, script, lr=None, dropout=0.1):
    """The model card's "training" entry for a model trained by train_seq2seq (facts: what
    it returned); lr defaults to args.lr."""
    return {"optimizer": "Adam (0.9, 0.98), warm-up then cosine",
            "lr": args.lr if lr is None else lr, "batch_size": args.batch_size,
            "epochs": facts["epochs"], "steps": facts["steps"], "dropout": dropout,
            "seed": args.seed, "seconds": facts["seconds"], "key_padding_mask": True,
            "script": script}


def publish(model, name, metadata, args, parity_cases, description, **export_kwargs):
    """Exports the model as <name>.weights.json into args.weights_dir and, when
    args.fixtures_dir is set, writes its parity fixture there. Returns (doc, path)."""
    doc, path = export_model(model, f"{name}.weights.json", metadata,
                             weights_dir=args.weights_dir, **export_kwargs)
    if args.fixtures_dir:
        write_parity_fixture(model, doc, path, parity_cases, args.fixtures_dir, name, description)
    return doc, path


def write_parity_fixture(model, doc, weights_path, cases, out_dir, name, description):
    """Writes out_dir/<name>.expected.json (docs/fixtures.md) for the exported weights_path,
    referenced by its path relative to out_dir, with PyTorch's outputs and attention on
    `cases`: (text, target or None) for seq2seq, (text, continue) for a causal LM. The
    reference runs in eval mode with grad enabled (the encoder fast path skips the capture
    under no_grad). Returns the cases."""
    os.makedirs(out_dir, exist_ok=True)
    model.eval()
    tok = Tokenizer(doc)
    results, margins = [], []
    seq2seq = doc["config"]["architecture"] == "seq2seq"
    with torch.enable_grad():
        for text, arg in cases:
            case, margin = reference_case(model, tok, seq2seq, text, arg)
            results.append(case)
            margins.append(margin)
    if min(margins) < MIN_MARGIN:
        raise RuntimeError(f"{name}: an argmax hangs on a near-tie (gap {min(margins):.2g}); "
                           "choose other parity inputs")
    rel = os.path.relpath(os.path.abspath(weights_path), os.path.abspath(out_dir))
    path = os.path.join(out_dir, f"{name}.expected.json")
    write_expected(path, rel, description, results)
    log(f"wrote {path}: " + " | ".join(f"{c['text']!r}->{c['output']!r}" for c in results))
    return results


def common_arguments(parser, default_seed):
    parser.add_argument("--seed", type=int, default=default_seed)
    parser.add_argument("--weights-dir", default=WEIGHTS_DIR,
                        help="where the .weights.json goes (default: weights/)")
    parser.add_argument("--fixtures-dir", default=None,
                        help="also write a parity fixture <name>.expected.json here "
                        "(e.g. tests/fixtures)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tiny", action="store_true",
                        help="a seconds-long smoke run on a sliver of the data (for tests)")
    return parser
