"""The exporter writes exactly the format, reads each setting off the modules, and refuses
(naming the module) what it cannot map. Models here are tiny so the suite runs in seconds."""

import base64
import json
import math
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS = os.path.join(ROOT, "tools")
sys.path.insert(0, TOOLS)

import attnviz_export as ax  # noqa: E402
from fixture_models import CausalLM, EncDecModel, TransformerWithParts  # noqa: E402
from seed_model import TransformerSeq2SeqModel  # noqa: E402

try:
    import jsonschema
except ImportError:  # Debian package python3-jsonschema
    jsonschema = None

VOCAB = ["<pad>", "<bos>", "<eos>", "a", "b", "c"]


def seed_model(**kw):
    torch.manual_seed(0)
    args = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1,
                dim_feedforward=16, max_len=10)
    args.update(kw)
    return TransformerSeq2SeqModel(len(VOCAB), len(VOCAB), **args)


def lm(**kw):
    torch.manual_seed(0)
    args = dict(vocab=len(VOCAB), d_model=8, nhead=2, layers=2, ff=16, activation="relu",
                norm_first=False, eps=1e-5, final_norm=False, max_len=6, embed_scale=1.0,
                positional="learned")
    args.update(kw)
    return CausalLM(**args)


def decode(tensor):
    if isinstance(tensor["data"], list):
        values = np.asarray(tensor["data"], dtype=np.float32)
    else:
        values = np.frombuffer(base64.b64decode(tensor["data"]), dtype="<f4")
    return values.reshape(tensor["shape"])


class RoundTripTest(unittest.TestCase):

    def test_seed_model_tensors_equal_the_state_dict(self):
        model = seed_model()
        doc = ax.export(model, src_vocab=VOCAB, embed_scale=math.sqrt(8), pad_src=True)
        state = model.state_dict()
        expected_keys = [k for k in state if not k.endswith(".pe")] + ["pos_encoder.pe"]
        self.assertEqual(sorted(doc["tensors"]), sorted(expected_keys))
        for key, tensor in doc["tensors"].items():
            self.assertEqual(tensor["dtype"], "float32")
            np.testing.assert_array_equal(decode(tensor), state[key].numpy(), err_msg=key)

    def test_written_file_equals_the_returned_document(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "m.json")
            doc = ax.export(lm(), path, src_vocab=VOCAB, embed_scale=1.0)
            with open(path, encoding="utf-8") as f:
                self.assertEqual(json.load(f), doc)

    def test_list_data_round_trips(self):
        model = lm()
        doc = ax.export(model, src_vocab=VOCAB, embed_scale=1.0, data="list")
        for key, tensor in doc["tensors"].items():
            self.assertIsInstance(tensor["data"], list)
            np.testing.assert_array_equal(decode(tensor), model.state_dict()[key].numpy())

    def test_keyword_modules_are_keyed_by_keyword(self):
        torch.manual_seed(0)
        t = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                           dim_feedforward=16)
        parts = TransformerWithParts(t, len(VOCAB), len(VOCAB), max_len=5, embed_scale=1.0)
        doc = ax.export(t, src_vocab=VOCAB, embed_scale=1.0,
                        src_embedding=parts.src_embedding, tgt_embedding=parts.tgt_embedding,
                        positional=parts.positional.weight.detach(), output=parts.output)
        self.assertEqual(doc["modules"], {
            "src_embedding": "src_embedding.weight", "tgt_embedding": "tgt_embedding.weight",
            "positional": "positional", "encoder": "encoder", "decoder": "decoder",
            "output": "output"})
        np.testing.assert_array_equal(decode(doc["tensors"]["output.weight"]),
                                      parts.output.weight.detach().numpy())
        self.assertTrue(doc["config"]["encoder_norm"] and doc["config"]["decoder_norm"])
        self.assertEqual(doc["config"]["positional"], "table")

    def test_wrapper_holding_an_nn_transformer(self):
        torch.manual_seed(0)
        t = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                           dim_feedforward=16)
        model = TransformerWithParts(t, len(VOCAB), len(VOCAB), max_len=5, embed_scale=1.0)
        doc = ax.export(model, src_vocab=VOCAB, embed_scale=1.0)
        self.assertEqual(doc["modules"]["encoder"], "transformer.encoder")
        self.assertEqual(doc["modules"]["positional"], "positional.weight")
        self.assertEqual(doc["config"]["positional"], "learned")
        self.assertIn("transformer.decoder.norm.weight", doc["tensors"])

    def test_positional_parameter_passed_by_keyword(self):
        model = lm(positional="sinusoidal")
        model.pos = nn.Parameter(torch.randn(1, 6, 8))
        doc = ax.export(model, src_vocab=VOCAB, embed_scale=1.0, positional=model.pos)
        self.assertEqual(doc["modules"]["positional"], "pos")
        self.assertEqual(doc["tensors"]["pos"]["shape"], [1, 6, 8])

    def test_keyword_module_inside_the_model_keeps_its_name(self):
        model = lm()
        doc = ax.export(model, src_vocab=VOCAB, embed_scale=1.0, output=model.lm_head)
        self.assertEqual(doc["modules"]["output"], "lm_head")

    def test_only_listed_tensors_and_sections(self):
        doc = ax.export(seed_model(), src_vocab=VOCAB, embed_scale=1.0)
        self.assertEqual(list(doc), ["format", "version", "config", "modules", "tokenizer",
                                     "tensors", "metadata"])
        shapes = ax.format_tensor_shapes(doc["config"], doc["modules"], len(VOCAB), len(VOCAB))
        self.assertEqual(list(doc["tensors"]), list(shapes))

    @unittest.skipIf(jsonschema is None, "python3-jsonschema is not installed")
    def test_exports_validate_against_the_schema(self):
        with open(os.path.join(ROOT, "docs", "weights.schema.json"), encoding="utf-8") as f:
            validator = jsonschema.Draft202012Validator(json.load(f))
        docs = [ax.export(seed_model(), src_vocab=VOCAB, embed_scale=1.0, pad_src=True,
                          src_key_padding_mask=True),
                ax.export(lm(positional="sinusoidal"), src_vocab=VOCAB, embed_scale=1.0,
                          positional="sinusoidal", max_len=6)]
        with open(os.path.join(ROOT, "docs", "example-weights.json"), encoding="utf-8") as f:
            docs.append(json.load(f))
        for doc in docs:
            self.assertEqual([e.message for e in validator.iter_errors(doc)], [])
        bad = json.loads(json.dumps(docs[1]))
        bad["tokenizer"]["pad_src"] = True
        self.assertTrue(list(validator.iter_errors(bad)))


class DetectionTest(unittest.TestCase):

    def config(self, model, **kw):
        kw.setdefault("src_vocab", VOCAB)
        kw.setdefault("embed_scale", 1.0)
        return ax.export(model, **kw)["config"]

    def test_seed_layout(self):
        c = self.config(seed_model())
        self.assertEqual((c["architecture"], c["d_model"], c["nhead"], c["num_encoder_layers"],
                          c["num_decoder_layers"], c["dim_feedforward"]),
                         ("seq2seq", 8, 2, 2, 1, 16))
        self.assertEqual((c["activation"], c["norm_first"], c["layer_norm_eps"]), ("relu", False, 1e-5))
        self.assertEqual((c["encoder_norm"], c["decoder_norm"], c["causal"]), (False, False, False))
        self.assertEqual((c["positional"], c["max_len"], c["max_output_len"]), ("table", 10, 10))
        self.assertTrue(c["output_bias"])

    def test_activations(self):
        for act, name in [("relu", "relu"), ("gelu", "gelu"), (F.relu, "relu"),
                          (F.gelu, "gelu"), (nn.ReLU(), "relu"), (nn.GELU(), "gelu")]:
            with self.subTest(act=act):
                self.assertEqual(self.config(lm(activation=act))["activation"], name)

    def test_norm_first_eps_final_norm(self):
        c = self.config(lm(norm_first=True, eps=1e-6, final_norm=True))
        self.assertEqual((c["norm_first"], c["layer_norm_eps"], c["encoder_norm"]), (True, 1e-6, True))

    def test_causal_lm_defaults(self):
        doc = ax.export(lm(), src_vocab=VOCAB, embed_scale=1.0)
        self.assertEqual(doc["config"]["architecture"], "causal_lm")
        self.assertTrue(doc["config"]["causal"])
        self.assertEqual(doc["config"]["num_decoder_layers"], 0)
        self.assertFalse(doc["tokenizer"]["src_eos"])
        self.assertNotIn("tgt_vocab", doc["tokenizer"])
        self.assertNotIn("decoder", doc["modules"])

    def test_positional_kinds_and_shapes(self):
        cases = [("learned", "learned", "pos_embedding.weight", [6, 8]),
                 ("1LD", "table", "pos_encoder.pe", [1, 6, 8]),
                 ("LD", "table", "pos_encoder.pe", [6, 8]),
                 ("L1D", "table", "pos_encoder.pe", [6, 8])]
        for layout, kind, key, shape in cases:
            with self.subTest(layout=layout):
                doc = ax.export(lm(positional=layout), src_vocab=VOCAB, embed_scale=1.0)
                self.assertEqual(doc["config"]["positional"], kind)
                self.assertEqual(doc["modules"]["positional"], key)
                self.assertEqual(doc["tensors"][key]["shape"], shape)

    def test_longer_table_is_cut_to_max_len(self):
        model = seed_model(max_len=50)
        doc = ax.export(model, src_vocab=VOCAB, embed_scale=1.0, max_len=7, max_output_len=5)
        self.assertEqual(doc["tensors"]["pos_encoder.pe"]["shape"], [1, 7, 8])
        np.testing.assert_array_equal(decode(doc["tensors"]["pos_encoder.pe"]),
                                      model.pos_encoder.pe[:, :7].numpy())
        self.assertEqual((doc["config"]["max_len"], doc["config"]["max_output_len"]), (7, 5))

    def test_sinusoidal_needs_no_tensor(self):
        doc = ax.export(lm(positional="sinusoidal"), src_vocab=VOCAB, embed_scale=1.0,
                        positional="sinusoidal", max_len=6)
        self.assertEqual(doc["config"]["positional"], "sinusoidal")
        self.assertNotIn("positional", doc["modules"])

    def test_output_without_bias(self):
        doc = ax.export(lm(output_bias=False), src_vocab=VOCAB, embed_scale=1.0)
        self.assertFalse(doc["config"]["output_bias"])
        self.assertNotIn("lm_head.bias", doc["tensors"])

    def test_named_embeddings_and_separate_vocabularies(self):
        tgt = ["<pad>", "<bos>", "<eos>", "<unk>", "x"]
        model = EncDecModel(len(VOCAB), len(tgt), 8, 2, 1, 1, 16, "gelu", True, 1e-6, True, 5, 1.0)
        doc = ax.export(model, src_vocab=VOCAB, tgt_vocab=tgt, specials={"pad": 0, "bos": 1, "eos": 2, "unk": None},
                        embed_scale=2.0, level="word", lowercase=True, pad_src=True,
                        src_key_padding_mask=True)
        self.assertEqual(doc["modules"]["src_embedding"], "enc_embed.weight")
        self.assertEqual(doc["modules"]["tgt_embedding"], "dec_embed.weight")
        self.assertEqual(doc["modules"]["output"], "proj")
        self.assertEqual(doc["tokenizer"]["tgt_vocab"], tgt)
        self.assertEqual(doc["config"]["embed_scale"], 2.0)
        self.assertTrue(doc["tokenizer"]["src_key_padding_mask"])

    def test_specials_found_by_name(self):
        vocab = ["<unk>", "<eos>", "<bos>", "<pad>", "a", "b"]
        doc = ax.export(lm(), src_vocab=vocab, embed_scale=1.0)
        self.assertEqual(doc["tokenizer"]["specials"], {"pad": 3, "bos": 2, "eos": 1, "unk": 0})

    def test_shared_embedding(self):
        class Shared(nn.Module):
            def __init__(self):
                super().__init__()
                self.embedding = nn.Embedding(len(VOCAB), 8)
                self.pos = nn.Embedding(5, 8)
                self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 1)
                self.decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16), 1)
                self.out = nn.Linear(8, len(VOCAB))
        doc = ax.export(Shared(), src_vocab=VOCAB, embed_scale=1.0)
        self.assertEqual(doc["modules"]["src_embedding"], "embedding.weight")
        self.assertEqual(doc["modules"]["tgt_embedding"], "embedding.weight")
        self.assertEqual(doc["modules"]["positional"], "pos.weight")


class RefusalTest(unittest.TestCase):

    def refuses(self, model, *names, **kw):
        kw.setdefault("src_vocab", VOCAB)
        kw.setdefault("embed_scale", 1.0)
        with self.assertRaises(ax.ExportError) as err:
            ax.export(model, **kw)
        for name in names:
            self.assertIn(name, str(err.exception))
        return str(err.exception)

    def test_two_encoders(self):
        model = lm()
        model.encoder2 = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 1)
        self.refuses(model, "'encoder'", "'encoder2'")

    def test_unknown_module_with_parameters(self):
        model = lm()
        model.conv = nn.Conv1d(8, 8, 3)
        self.refuses(model, "'conv'", "Conv1d")

    def test_unknown_direct_parameter(self):
        model = lm()
        model.gate = nn.Parameter(torch.ones(8))
        self.refuses(model, "'gate'")

    def test_extra_parameter_in_a_layer_subclass(self):
        model = lm()
        model.encoder.layers[1].gate = nn.Parameter(torch.ones(8))
        self.refuses(model, "encoder.layers.1.gate")

    def test_layer_subclass_that_changes_the_computation(self):
        class Gated(nn.TransformerEncoderLayer):
            def _ff_block(self, x):
                return super()._ff_block(x) * 0.5
        model = lm()
        model.encoder.layers[0] = Gated(8, 2, 16)
        self.refuses(model, "'encoder.layers.0'", "_ff_block")

    def test_activation_not_relu_or_gelu(self):
        self.refuses(lm(activation=F.silu), "'encoder.layers.0'", "activation")
        self.refuses(lm(activation=nn.GELU(approximate="tanh")), "'encoder.layers.0'")

    def test_layers_that_differ(self):
        model = lm()
        model.encoder.layers[1].norm_first = True
        self.refuses(model, "'encoder.layers.1'", "norm_first")

    def test_norm_eps_that_differs(self):
        model = lm()
        model.encoder.layers[0].norm2.eps = 1e-3
        self.refuses(model, "'encoder.layers.0'", "eps")

    def test_two_output_linears(self):
        model = lm()
        model.extra = nn.Linear(8, len(VOCAB))
        self.refuses(model, "'lm_head'", "'extra'")

    def test_ambiguous_embeddings(self):
        model = seed_model()
        model.emb_a = model.src_embedding
        del model.src_embedding
        model.emb_b = model.tgt_embedding
        del model.tgt_embedding
        self.refuses(model, "'emb_a'", "'emb_b'", "src_embedding=")

    def test_no_positional_encoding(self):
        self.refuses(lm(positional="sinusoidal"), "positional")

    def test_bare_attention_outside_a_stack(self):
        model = lm()
        model.attn = nn.MultiheadAttention(8, 2)
        self.refuses(model, "'attn'")

    def test_missing_embed_scale(self):
        self.refuses(lm(), "embed_scale", embed_scale=None)

    def test_vocabulary_size_mismatch(self):
        self.refuses(lm(), "'tok_embedding'", src_vocab=VOCAB[:-1])

    def test_nan_weights(self):
        model = lm()
        with torch.no_grad():
            model.lm_head.weight[0, 0] = float("nan")
        self.refuses(model, "lm_head.weight", "NaN")

    def test_padding_rules(self):
        self.refuses(lm(), "pad_src", pad_src=True)
        self.refuses(seed_model(), "src_key_padding_mask", src_key_padding_mask=True)

    def test_max_lengths(self):
        self.refuses(lm(), "max_len", max_len=7)
        self.refuses(lm(), "max_output_len", max_output_len=9)

    def test_encoder_only_must_be_causal(self):
        self.refuses(lm(), "causal", causal=False)

    def test_unknown_keyword(self):
        with self.assertRaises(TypeError):
            ax.export(lm(), src_vocab=VOCAB, embed_scale=1.0, head=nn.Linear(8, 6))


class CommandLineTest(unittest.TestCase):

    def test_factory_with_state_dict(self):
        model = seed_model()
        with tempfile.TemporaryDirectory() as tmp:
            state, vocab, out = (os.path.join(tmp, n) for n in ("m.pt", "v.json", "o.json"))
            torch.save({"model_state_dict": model.state_dict()}, state)
            with open(vocab, "w") as f:
                json.dump(VOCAB, f)
            kwargs = json.dumps({"src_vocab_size": 6, "tgt_vocab_size": 6, "d_model": 8,
                                 "nhead": 2, "num_encoder_layers": 2, "num_decoder_layers": 1,
                                 "dim_feedforward": 16, "max_len": 10})
            result = subprocess.run(
                [sys.executable, os.path.join(TOOLS, "attnviz_export.py"), "--factory",
                 "seed_model:TransformerSeq2SeqModel", "--kwargs", kwargs, "--state-dict", state,
                 "--vocab", vocab, "--embed-scale", "sqrt", "--pad-src", "-o", out],
                capture_output=True, text=True, cwd=tmp)
            self.assertEqual(result.returncode, 0, result.stderr)
            with open(out, encoding="utf-8") as f:
                doc = json.load(f)
        self.assertAlmostEqual(doc["config"]["embed_scale"], math.sqrt(8))
        self.assertTrue(doc["tokenizer"]["pad_src"])
        np.testing.assert_array_equal(decode(doc["tensors"]["fc_out.weight"]),
                                      model.fc_out.weight.detach().numpy())


if __name__ == "__main__":
    unittest.main()
