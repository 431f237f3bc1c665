"""The committed parity fixtures are self-consistent and follow the format's rules.

Each case is replayed without PyTorch: the Python tokenizer must give the same ids, and an
independent numpy forward pass written from docs/weights-format.md (format_forward.py) must
give the same logits, attention, argmaxes and greedy decoding. If this passes, a C++ engine
that follows the format can match the fixtures; if it fails, the fixtures or the exporter
disagree with the documented rules.
"""

import glob
import json
import os
import sys
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, HERE)

from attnviz_tokenize import Tokenizer  # noqa: E402
from format_forward import Model  # noqa: E402

FIXTURES = os.path.join(ROOT, "tests", "fixtures")
ATOL = 1e-4


def _array(block):
    return np.asarray(block["data"], dtype=np.float64).reshape(block["shape"])


def _load(expected_path):
    with open(expected_path, encoding="utf-8") as f:
        expected = json.load(f)
    with open(os.path.join(FIXTURES, expected["weights"]), encoding="utf-8") as f:
        doc = json.load(f)
    return expected, doc


class FixtureTest(unittest.TestCase):

    def test_fixtures_exist(self):
        self.assertGreaterEqual(len(glob.glob(os.path.join(FIXTURES, "*.expected.json"))), 7)

    def test_example_fixture_is_the_documented_example(self):
        with open(os.path.join(ROOT, "docs", "example-weights.json"), encoding="utf-8") as f:
            documented = f.read()
        with open(os.path.join(FIXTURES, "example_tiny.weights.json"), encoding="utf-8") as f:
            self.assertEqual(f.read(), documented)

    def test_every_case_replays(self):
        for path in sorted(glob.glob(os.path.join(FIXTURES, "*.expected.json"))):
            expected, doc = _load(path)
            model, tok = Model(doc), Tokenizer(doc)
            for case in expected["cases"]:
                if case.get("ablations"):  # format_forward.py has no ablation; the C++ parity
                    continue              # test checks these against PyTorch
                with self.subTest(fixture=os.path.basename(path), text=case["text"]):
                    if doc["config"]["architecture"] == "seq2seq":
                        self._seq2seq(model, tok, case)
                    else:
                        self._causal_lm(model, tok, case)

    def _close(self, got, block):
        want = _array(block)
        self.assertEqual(list(got.shape), block["shape"])
        np.testing.assert_allclose(got, want, atol=ATOL, rtol=1e-4)

    def _seq2seq(self, model, tok, case):
        src, mask, cut = tok.encode_source(case["text"])
        self.assertEqual(src, case["src_ids"])
        self.assertEqual(cut, case["truncated"])
        memory, enc_attn = model.encode(src, mask)
        bos, eos = tok.specials["bos"], tok.specials["eos"]
        if case["target"] is None:
            generated = []
            while len(generated) < tok.max_output_len:
                logits, _, _ = model.decode([bos] + generated, memory, mask)
                generated.append(int(logits[-1].argmax()))
                if generated[-1] == eos:
                    break
            self.assertEqual(generated, case["output_ids"])
            self.assertEqual(case["tgt_ids"], [bos] + generated[:-1])
        else:
            self.assertEqual(case["tgt_ids"], tok.encode_target(case["target"])[0])
        logits, dec_attn, cross = model.decode(case["tgt_ids"], memory, mask)
        if case["target"] is not None:
            self.assertEqual(case["output_ids"], [int(i) for i in logits.argmax(-1)])
        self._close(logits, case["logits"])
        self._close(enc_attn, case["attention"]["encoder_self"])
        self._close(dec_attn, case["attention"]["decoder_self"])
        self._close(cross, case["attention"]["cross"])
        self.assertEqual(case["output"], tok.decode(case["output_ids"]))

    def _causal_lm(self, model, tok, case):
        ids, mask, cut = tok.encode_source(case["text"])
        self.assertIsNone(mask)
        self.assertEqual(ids, case["src_ids"])
        self.assertEqual(cut, case["truncated"])
        logits, attn = model.causal_lm(ids)
        self.assertEqual(case["next_ids"], [int(i) for i in logits.argmax(-1)])
        self._close(logits, case["logits"])
        self._close(attn, case["attention"]["encoder_self"])
        generated, seq = [], list(ids)
        while (len(generated) < min(case["continue"], tok.max_output_len)
               and len(seq) <= tok.max_len):
            token = int(model.causal_lm(seq)[0][-1].argmax())
            generated.append(token)
            seq.append(token)
            if token == tok.specials["eos"]:
                break
        self.assertEqual(generated, case["output_ids"])
        self.assertEqual(case["output"], tok.decode(case["output_ids"]))


if __name__ == "__main__":
    unittest.main()
