"""The training scripts' data and evaluation code, on tiny runs (seconds, not the real training).

Run: /usr/bin/python3 -m unittest discover -s tests/python
"""

import argparse
import json
import math
import os
import random
import sys
import tempfile
import unittest

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import train_dates  # noqa: E402
import train_induction_lm  # noqa: E402
import train_piglatin  # noqa: E402
import train_seqtasks  # noqa: E402
import training  # noqa: E402
from attnviz_reference import seq2seq_case  # noqa: E402
from attnviz_tokenize import Tokenizer  # noqa: E402
from seed_model import TransformerSeq2SeqModel  # noqa: E402

HAVE_WORDS = os.path.exists(train_piglatin.WORDS)


class Rules(unittest.TestCase):

    def test_pig_latin(self):
        cases = {"pig": "igpay", "apple": "appleyay", "glove": "oveglay", "string": "ingstray",
                 "rhythm": "rhythmay", "eat": "eatyay", "school": "oolschay", "a": "ayay"}
        for word, want in cases.items():
            self.assertEqual(train_piglatin.pig_latin(word), want)

    def test_dates(self):
        rng = random.Random(0)
        self.assertEqual(train_dates.ordinal_words(3), "third")
        self.assertEqual(train_dates.ordinal_words(25), "twenty fifth")
        self.assertEqual(train_dates.ordinal_words(30), "thirtieth")
        self.assertEqual(train_dates.year_words(1905, rng), "nineteen oh five")
        self.assertEqual(train_dates.year_words(1942, rng), "nineteen forty two")
        self.assertEqual(train_dates.year_words(2000, rng), "two thousand")
        self.assertIn(train_dates.year_words(2021, rng),
                      ("twenty twenty one", "two thousand twenty one"))
        import datetime
        self.assertEqual(train_dates.numeric(datetime.date(2021, 3, 3)), "03 / 03 / 2021")
        src, tgt = train_dates.vocabularies()
        for s, t in train_dates.make_data(200, 10, 10, 1)[0]:
            self.assertTrue(all(w in src for w in s.split()), s)
            self.assertTrue(all(w in tgt for w in t.split()), t)
            self.assertLessEqual(len(s.split()) + 1, train_dates.MAX_LEN)

    def test_seqtask_data_is_held_out(self):
        alphabet, fn = train_seqtasks.DIGITS, lambda s: "".join(sorted(s))
        train, val, test = train_seqtasks.make_data(alphabet, fn, 3000, 100, 200, 3)
        seen = {s for s, _ in train}
        self.assertFalse(seen & {s for s, _ in val + test})
        self.assertEqual(len({s for s, _ in val + test}), 300)
        for s, t in train[:50]:
            self.assertEqual(t, "".join(sorted(s)))
            self.assertTrue(1 <= len(s) <= train_seqtasks.MAX_SYMBOLS)

    def test_induction_lines(self):
        rng = random.Random(0)
        for _ in range(50):
            line = train_induction_lm.make_line(rng, train_induction_lm.FALLBACK_WORDS)
            self.assertLessEqual(len(line) + 1, train_induction_lm.MAX_LEN)
            self.assertTrue(set(line) <= set(train_induction_lm.CHARS), line)


class Helpers(unittest.TestCase):

    def test_split_is_fixed_and_disjoint(self):
        items = list(range(1000))
        a = training.split_items(items, 5, 0.1, 0.1)
        b = training.split_items(items, 5, 0.1, 0.1)
        self.assertEqual(a, b)
        train, val, test = a
        self.assertEqual((len(train), len(val), len(test)), (800, 100, 100))
        self.assertEqual(sorted(train + val + test), items)

    def test_collate_masks_padding(self):
        src, mask, tgt_in, labels = training.collate([([3, 4, 2], [5]), ([3, 2], [6, 7])])
        self.assertEqual(src.tolist(), [[3, 4, 2], [3, 2, 0]])
        self.assertEqual(mask.tolist(), [[False, False, False], [False, False, True]])
        self.assertEqual(tgt_in.tolist(), [[1, 5, 0], [1, 6, 7]])
        self.assertEqual(labels.tolist(), [[5, 2, 0], [6, 7, 2]])

    def test_lr_schedule(self):
        self.assertAlmostEqual(training.lr_factor(0, 10, 100), 0.1)
        self.assertAlmostEqual(training.lr_factor(10, 10, 100), 1.0)
        self.assertAlmostEqual(training.lr_factor(100, 10, 100), 0.05)


class Evaluation(unittest.TestCase):
    """The metrics code itself: accuracy counts, and batched padded greedy decoding equals the
    engine's one-input, unpadded decoding (attnviz_reference), so the reported accuracy is
    the accuracy of what the page runs."""

    @classmethod
    def setUpClass(cls):
        training.setup(0, 1)
        vocab = training.SPECIALS + list("abcd")
        cls.task = training.Seq2SeqTask([], "char", vocab, vocab)
        pairs = [("".join(random.Random(i).choice("abcd") for _ in range(1 + i % 6)), "")
                 for i in range(40)]
        cls.pairs = [(s, s[::-1]) for s, _ in pairs]
        cls.encoded = cls.task.encode(cls.pairs)
        cls.model = TransformerSeq2SeqModel(len(vocab), len(vocab), d_model=16, nhead=2,
                                            num_encoder_layers=1, num_decoder_layers=1,
                                            dim_feedforward=32, max_len=8)
        training.train_seq2seq(cls.model, cls.encoded, [], epochs=3, batch_size=8, lr=3e-3,
                               seed=0, warmup=5, log_every=10**9, evaluate_every_epoch=False)

    def test_batched_greedy_equals_engine_convention(self):
        with tempfile.TemporaryDirectory() as tmp:
            doc, _ = training.export_model(self.model, "t.weights.json", {}, weights_dir=tmp,
                                           src_vocab=self.task.src_vocab,
                                           embed_scale=math.sqrt(16), pad_src=False)
        tok = Tokenizer(doc)
        batched = training.greedy_decode(self.model, [s for s, _ in self.encoded], max_out=8)
        for (text, _), ids in zip(self.pairs, batched):
            with torch.enable_grad():
                case, _ = seq2seq_case(self.model, tok, text)
            self.assertEqual(case["output_ids"], ids, text)

    def test_publish_writes_the_weights_and_their_parity_fixture(self):
        facts = {"epochs": 3, "steps": 15, "seconds": 0.5}
        with tempfile.TemporaryDirectory() as tmp:
            args = argparse.Namespace(lr=3e-3, batch_size=8, seed=0, weights_dir=tmp,
                                      fixtures_dir=os.path.join(tmp, "fixtures"))
            record = training.seq2seq_training_record(args, facts, "tools/train_x.py")
            self.assertEqual(record["lr"], 3e-3)
            self.assertEqual(record["steps"], 15)
            self.assertEqual(record["script"], "tools/train_x.py")
            doc, path = training.publish(self.model, "t", {"training": record}, args,
                                         [("abc", None)], "a tiny model",
                                         src_vocab=self.task.src_vocab,
                                         embed_scale=math.sqrt(16), pad_src=False)
            self.assertEqual(path, os.path.join(tmp, "t.weights.json"))
            self.assertTrue(os.path.exists(path))
            self.assertEqual(doc["metadata"]["training"], record)
            with open(os.path.join(tmp, "fixtures", "t.expected.json"), encoding="utf-8") as f:
                fixture = json.load(f)
        self.assertEqual(fixture["weights"], "../t.weights.json")
        self.assertEqual(fixture["description"], "a tiny model")
        self.assertEqual([c["text"] for c in fixture["cases"]], ["abc"])

    def test_metrics_count_exact_matches(self):
        metrics = training.evaluate_seq2seq(self.model, self.encoded, max_out=8, task=self.task,
                                            show_errors=100)
        outputs = training.greedy_decode(self.model, [s for s, _ in self.encoded], max_out=8)
        right = sum(o == t + [training.EOS] for o, (_, t) in zip(outputs, self.encoded))
        self.assertAlmostEqual(metrics["sequence_accuracy"], right / len(self.encoded))
        self.assertEqual(len(metrics["errors"]), len(self.encoded) - right)
        self.assertEqual(metrics["tokens"], sum(len(t) + 1 for _, t in self.encoded))
        self.assertTrue(0.0 <= metrics["token_accuracy"] <= 1.0)

    def test_perfect_predictions_score_one(self):
        """A stand-in model that always emits the right next token scores 1.0 on both."""
        encoded = self.encoded
        lookup = {tuple(s): t + [training.EOS] for s, t in encoded}
        vocab = len(self.task.tgt_vocab)

        class Oracle(torch.nn.Module):
            d_model = 4

            def __init__(self):
                super().__init__()
                self.src_embedding = torch.nn.Embedding(vocab, 4)

            def pos_encoder(self, x):
                return x

            def encoder(self, x, src_key_padding_mask=None):
                return x

            tgt_embedding = torch.nn.Identity()

            def decoder(self, tgt, memory, tgt_mask=None, memory_key_padding_mask=None):
                self.step = (tgt, memory, memory_key_padding_mask)
                return tgt

            def fc_out(self, tgt):
                src_rows = self.current
                out = torch.full((tgt.size(0), tgt.size(1), vocab), -1.0)
                for b in range(tgt.size(0)):
                    want = lookup[src_rows[b]]
                    for t in range(tgt.size(1)):
                        out[b, t, want[min(t, len(want) - 1)]] = 1.0
                return out

        oracle = Oracle()
        original = training._encode_memory

        def encode_memory(model, src, mask):
            model.current = [tuple(x for x in row if x != training.PAD) for row in src.tolist()]
            return original(model, src, mask)
        training._encode_memory = encode_memory
        try:
            metrics = training.evaluate_seq2seq(oracle, encoded, max_out=8)
        finally:
            training._encode_memory = original
        self.assertEqual(metrics["sequence_accuracy"], 1.0)
        self.assertEqual(metrics["token_accuracy"], 1.0)


class InductionScore(unittest.TestCase):

    def test_perfect_heads_score_one(self):
        n = 5
        S = 1 + 2 * n
        attn = torch.zeros(2, 3, S, S)
        attn[:, :, :, 0] = 1.0            # everything else: attend to <bos>
        for t in range(1, S):              # layer 1 head 2: previous token
            attn[0, 1, t] = 0
            attn[0, 1, t, t - 1] = 1.0
        for t in range(n + 1, S):          # layer 2 head 3: token after the earlier copy
            attn[1, 2, t] = 0
            attn[1, 2, t, t - n + 1] = 1.0
        induction, previous = train_induction_lm.scores_from_attention(attn, n)
        self.assertEqual(float(induction[1, 2]), 1.0)
        self.assertEqual(float(previous[0, 1]), 1.0)
        self.assertEqual(float(induction[0, 0]), 0.0)
        self.assertAlmostEqual(float(previous[1, 0]), 0.1, places=6)  # only t = 1 looks at 0

    def test_tiny_run(self):
        result = train_induction_lm.main(["--tiny", "--threads", "1"])
        self.assertEqual(tuple(result["induction"].shape), (2, 4))
        self.assertTrue(0.0 <= result["repeat_accuracy"] <= 1.0)
        self.assertEqual(result["induction_head"][0], 2)


class TinyRuns(unittest.TestCase):
    """Each script end to end on a sliver of data: data, training loop, evaluation."""

    def _check(self, metrics):
        for key in ("token_accuracy", "sequence_accuracy"):
            self.assertTrue(0.0 <= metrics[key] <= 1.0)
        self.assertGreater(metrics["sequences"], 0)

    def test_seqtasks(self):
        self._check(train_seqtasks.main(["--tiny", "--task", "reverse", "--threads", "1"])["reverse"])

    def test_dates(self):
        self._check(train_dates.main(["--tiny", "--threads", "1"]))

    @unittest.skipUnless(HAVE_WORDS, "needs /usr/share/dict/words (wamerican)")
    def test_piglatin(self):
        self._check(train_piglatin.main(["--tiny", "--threads", "1"]))


class ShippedModels(unittest.TestCase):
    """The manifest and the model cards the training scripts wrote."""

    def test_manifest_and_cards(self):
        weights = os.path.join(ROOT, "weights")
        with open(os.path.join(weights, "manifest.json"), encoding="utf-8") as f:
            manifest = json.load(f)
        self.assertEqual(sum(bool(e.get("default")) for e in manifest), 1)
        for entry in manifest:
            with open(os.path.join(weights, entry["file"]), encoding="utf-8") as f:
                card = json.load(f)["metadata"]
            for key in ("task", "data", "training", "accuracy", "look_for"):
                self.assertIn(key, card, entry["file"])
            accuracy = card["accuracy"]
            if "test_sequence_accuracy" in accuracy:
                self.assertGreaterEqual(accuracy["test_sequence_accuracy"], 0.99, entry["file"])


if __name__ == "__main__":
    unittest.main()
