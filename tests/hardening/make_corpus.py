#!/usr/bin/env python3
"""Writes the malformed-weights corpus: bad files made from valid exported models, each with
the error class the loader must give (a regex its message must match) or "ACCEPT" for a
mutation that honestly still yields a valid file (a base64 bit flip that lands on another
finite float, for instance).

    python3 tests/hardening/make_corpus.py OUT_DIR

writes OUT_DIR/*.json and OUT_DIR/manifest.json: [{"file", "class", "expect"}]. Plain python3,
no torch. Deterministic (seeded). Two files are ~100 MB; generate under build/, never commit.
"""
import base64
import copy
import json
import math
import os
import random
import struct
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BASES = sorted(
    os.path.join("tests/fixtures", name)
    for name in os.listdir(os.path.join(ROOT, "tests/fixtures"))
    if name.endswith(".weights.json")
) + ["docs/example-weights.json"]

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

# Error classes: what the message must contain (a regex, same in C++ std::regex and JS).
NOT_JSON = r"^not valid JSON"
TRUNCATED = r"^not valid JSON: the file is truncated"
UTF8 = r"^not valid JSON: .*UTF-8"
DEEP = r"^JSON nested deeper than 64 levels"
TOO_BIG_FILE = r"^the file is \d+ bytes \(\d+ MiB\), over the limit of 128 MiB"
TOO_BIG_PARSE = r"^the file is too large to parse within 192 MiB of memory"
NON_FINITE = r"value \d+ is (NaN|infinite)$"
ACCEPT = "ACCEPT"


class Corpus:
    def __init__(self, out):
        self.out = out
        self.entries = []

    def add(self, cls, detail, content, expect):
        if isinstance(content, str):
            content = content.encode("utf-8")
        name = "%03d_%s_%s.json" % (len(self.entries), cls, detail)
        name = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
        with open(os.path.join(self.out, name), "wb") as f:
            f.write(content)
        self.entries.append({"file": name, "class": cls, "expect": expect})

    def add_doc(self, cls, detail, doc, expect):
        self.add(cls, detail, json.dumps(doc, indent=1, allow_nan=True), expect)


def load(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        raw = f.read()
    return raw, json.loads(raw)


def short(path):
    return os.path.basename(path).replace(".weights.json", "").replace(".json", "")


def base64_tensors(doc):
    return [name for name, t in doc["tensors"].items() if isinstance(t["data"], str)]


def list_tensors(doc):
    return [name for name, t in doc["tensors"].items() if isinstance(t["data"], list)]


def count_of(shape):
    n = 1
    for d in shape:
        n *= d
    return n


# ---- an independent model of the loader's checks on one tensor's data string ----

def decoded_size(s):
    if len(s) % 4:
        return -1
    padding = (1 if s.endswith(b"=") else 0) + (1 if len(s) >= 2 and s[-2:-1] == b"=" else 0)
    return len(s) // 4 * 3 - padding


def decode_like_core(s):
    """Returns the bytes, or None when a character is outside the alphabet (core's rule)."""
    size = decoded_size(s)
    out = bytearray()
    for i in range(0, len(s), 4):
        group = 0
        for j in range(4):
            c = chr(s[i + j])
            pad = c == "=" and i + 4 == len(s) and (j == 3 or (j == 2 and chr(s[i + 3]) == "="))
            if pad:
                v = 0
            elif c in ALPHABET:
                v = ALPHABET.index(c)
            else:
                return None
            group = (group << 6) | v
        for shift in (16, 8, 0):
            if len(out) < size:
                out.append((group >> shift) & 0xFF)
    return bytes(out)


def expect_for_data(name, data, count):
    """What the loader says about tensor `name` whose data string (UTF-8 bytes) is `data`."""
    size = decoded_size(data)
    if size < 0:
        return r'tensor "%s": data is not base64 \(its length \d+ is not a multiple of 4\)' % re_escape(name)
    if size != 4 * count:
        return r'tensor "%s": data holds %d bytes, its shape needs %d' % (re_escape(name), size, 4 * count)
    raw = decode_like_core(data)
    if raw is None:
        return r'tensor "%s": data has a character outside the base64 alphabet' % re_escape(name)
    for i in range(count):
        (v,) = struct.unpack("<f", raw[4 * i:4 * i + 4])
        if math.isnan(v):
            return r'tensor "%s": value %d is NaN' % (re_escape(name), i)
        if math.isinf(v):
            return r'tensor "%s": value %d is infinite' % (re_escape(name), i)
    return ACCEPT


def re_escape(text):
    return "".join("\\" + c if c in r".^$|?*+()[]{}\/" else c for c in text)


def strict_json(raw):
    """The document as an independent strict parser sees it, or None if it is not JSON."""
    def no_constants(name):
        raise ValueError(name)

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise Duplicate()
        return dict(pairs)

    try:
        text = raw.decode("utf-8")
        doc = json.loads(text, parse_constant=no_constants, object_pairs_hook=no_duplicates)
        json.dumps(doc, ensure_ascii=False).encode("utf-8")  # lone surrogates from \\u escapes
        return doc
    except Duplicate:
        return DUPLICATE
    except (ValueError, UnicodeError, RecursionError):
        return None


class Duplicate(Exception):
    pass


DUPLICATE = object()


# ---- the classes ----

def truncations(c, path, raw):
    body = raw.rstrip()
    n = len(body)
    offsets = sorted({0, 1, 2, 10, n // 7, n // 5, n // 3, n // 2, 2 * n // 3, 4 * n // 5, n - 2, n - 1})
    for cut in offsets:
        c.add("truncated", "%s_at_%d" % (short(path), cut), body[:cut], TRUNCATED)


def bit_flips(c, path, raw, doc, rng, flips):
    """Flips one bit of one character inside a base64 tensor string, and classifies the result
    with an independent decoder: still valid, NaN/Inf, wrong length, or not JSON at all."""
    names = base64_tensors(doc)
    if not names:
        return
    text = raw
    for k in range(flips):
        name = rng.choice(names)
        data = doc["tensors"][name]["data"].encode("ascii")
        key = ('"%s": {' % name).encode()
        start = text.index(b'"data": "', text.index(key)) + len(b'"data": "')
        assert text[start:start + len(data)] == data
        pos = rng.randrange(len(data))
        bit = 7 if k % 9 == 8 else rng.randrange(7)  # sometimes the high bit: invalid UTF-8
        mutated = bytearray(text)
        mutated[start + pos] ^= 1 << bit
        mutated = bytes(mutated)
        parsed = strict_json(mutated)
        if parsed is DUPLICATE:
            continue
        if parsed is None:
            expect = UTF8 if mutated[start + pos] >= 0x80 else NOT_JSON
        else:
            new_data = parsed["tensors"][name]["data"].encode("utf-8")
            expect = expect_for_data(name, new_data, count_of(doc["tensors"][name]["shape"]))
        c.add("bitflip", "%s_%d_%s_%d_b%d" % (short(path), k, name[-20:], pos, bit), mutated, expect)


def exponent_flips(c, path, doc):
    """Sets one float's exponent bits to all ones: NaN or Inf, always rejected."""
    names = base64_tensors(doc)
    for k, name in enumerate(names[:4]):
        t = copy.deepcopy(doc)
        raw = bytearray(base64.b64decode(t["tensors"][name]["data"]))
        index = (k * 7) % (len(raw) // 4)
        raw[4 * index + 3] |= 0x7F
        raw[4 * index + 2] |= 0x80
        raw[4 * index] |= 1  # a mantissa bit: NaN
        if k % 2:
            raw[4 * index + 2] &= 0x80
            raw[4 * index + 1] = raw[4 * index] = 0  # exactly +-Inf
        t["tensors"][name]["data"] = base64.b64encode(bytes(raw)).decode()
        kind = "infinite" if k % 2 else "NaN"
        c.add_doc("nonfinite", "%s_%s_%s" % (short(path), kind, name[-24:]), t,
                  r'tensor "%s": value %d is %s' % (re_escape(name), index, kind))


def json_edits(c, path, raw, rng, count):
    """Single-byte edits of the JSON's structure (outside tensor data), each checked to break
    the syntax with Python's own strict parser."""
    structural = [i for i, b in enumerate(raw) if chr(b) in '{}[]:,"']
    made = tries = 0
    while made < count and tries < 500:
        tries += 1
        i = rng.choice(structural)
        op = rng.choice(["replace", "delete", "insert"])
        mutated = bytearray(raw)
        if op == "replace":
            mutated[i] = ord(rng.choice("{}[]:,\"';x0 \\"))
        elif op == "delete":
            del mutated[i]
        else:
            mutated.insert(i, ord(rng.choice("{}[]:,\"x")))
        mutated = bytes(mutated)
        if mutated == raw or strict_json(mutated) is not None:  # still JSON, or a duplicate key
            continue  # still JSON: not this class
        c.add("json_edit", "%s_%s_%d" % (short(path), op, i), mutated, NOT_JSON)
        made += 1


def semantic_edits(c, path, doc):
    """Single-value edits that keep the JSON valid but break the model."""
    cfg = doc["config"]
    d, h = cfg["d_model"], cfg["nhead"]
    cases = [
        ("version2", lambda t: t.__setitem__("version", 2), r"^unsupported format version 2: this build reads version 1"),
        ("version0", lambda t: t.__setitem__("version", 0), r"^unsupported format version 0"),
        ("version_str", lambda t: t.__setitem__("version", "1"), r'^unsupported format version "1"'),
        ("version_null", lambda t: t.__setitem__("version", None), r"^unsupported format version null"),
        ("version_huge", lambda t: t.__setitem__("version", 2 ** 64 - 1), r"^unsupported format version 18446744073709551615"),
        ("no_version", lambda t: t.pop("version"), r"^unsupported format version \(none\)"),
        ("format", lambda t: t.__setitem__("format", "gguf"), r'^not an attnviz weights file: "format" must be "attnviz-weights", got "gguf"'),
        ("nhead_indivisible", lambda t: t["config"].__setitem__("nhead", h + 1 if d % (h + 1) else h + 2),
         r"^config: d_model %d is not divisible by nhead" % d),
        ("activation", lambda t: t["config"].__setitem__("activation", "swish"), r'^config\.activation = "swish" is not one of'),
        ("positional", lambda t: t["config"].__setitem__("positional", "rope"), r'^config\.positional = "rope" is not one of'),
        ("eps_zero", lambda t: t["config"].__setitem__("layer_norm_eps", 0), r"^config\.layer_norm_eps must be in \(0, 1\)"),
        ("architecture", lambda t: t["config"].__setitem__("architecture", "encoder_only"), r'^config\.architecture = "encoder_only" is not one of'),
        ("level", lambda t: t["tokenizer"].__setitem__("level", "byte"), r'^tokenizer\.level = "byte" is not one of'),
    ]
    for label, fn, expect in cases:
        t = copy.deepcopy(doc)
        fn(t)
        c.add_doc("semantic", "%s_%s" % (short(path), label), t, expect)


def inflations(c, path, doc):
    """Sizes past the caps, including values whose products overflow a 32-bit size_t."""
    caps = {"d_model": 4096, "nhead": 256, "num_encoder_layers": 64, "dim_feedforward": 65536, "max_len": 4096}
    for key, cap in caps.items():
        for value in (cap + 1, 2 ** 31, 2 ** 32 + 8, 2 ** 63, 2 ** 64 - 1, -1, 0):
            if value in (0, -1) and key != "d_model":
                continue
            t = copy.deepcopy(doc)
            t["config"][key] = value
            low = 1
            c.add_doc("inflate", "%s_%s_%d" % (short(path), key, value), t,
                      r"^config\.%s = %d is out of range \[%d, %d\]" % (key, value, low, cap))
    t = copy.deepcopy(doc)
    t["config"]["d_model"] = 1e10
    c.add_doc("inflate", "%s_d_model_float" % short(path), t, r"^config\.d_model must be an integer")
    # Each size within its cap, the product over the total: refused before any tensor is read.
    t = copy.deepcopy(doc)
    t["config"].update(d_model=4096, nhead=8, num_encoder_layers=64, dim_feedforward=65536)
    c.add_doc("inflate", "%s_product_over_total" % short(path), t, r"the configuration needs \d+ floats \(\d+ MiB\), over the limit of 256 MiB")
    # Every size allowed, but a run would reserve nhead x max_len^2 floats per layer of attention.
    for max_len in (4096, 2048):
        t = copy.deepcopy(doc)
        t["config"].update(max_len=max_len, max_output_len=max_len)
        c.add_doc("inflate", "%s_attention_max_len_%d" % (short(path), max_len), t,
                  r"^config: a run's attention .* needs \d+ floats \(\d+ MiB\), over the limit of 256 MiB$")
    # Tensor shapes whose products overflow 32 (and 64) bits.
    name = [n for n in doc["tensors"] if n.endswith("linear1.bias")][0]
    expected = doc["tensors"][name]["shape"]
    for shape in ([65536, 65536, 65536], [2 ** 32 + 1], [2 ** 31, 2 ** 31], [4294967296, 1, 1],
                  [1024] * 8, [2 ** 40, 2 ** 40]):
        t = copy.deepcopy(doc)
        t["tensors"][name]["shape"] = shape
        c.add_doc("inflate", "%s_shape_%s" % (short(path), "x".join(map(str, shape))[:40]), t,
                  r'^tensor "%s": expected shape \[%s\], got \[%s\]' % (re_escape(name), ", ".join(map(str, expected)), ", ".join(map(str, shape))))
    for shape, expect in (([2 ** 41], r"\[.*\] is not a list of sizes$"), ([2 ** 64 - 1], r"\[.*\] is not a list of sizes$"),
                          ([-8], r"\[-8\] is not a list of sizes$"), ([1] * 9, r"must be an array of at most 8 sizes$")):
        t = copy.deepcopy(doc)
        t["tensors"][name]["shape"] = shape
        c.add_doc("inflate", "%s_shape_bad_%d" % (short(path), len(c.entries)), t, r'^tensor "%s": shape %s' % (re_escape(name), expect))


def declared_but_absent(c):
    """A few kilobytes declaring ~200 MiB of float32, every shape right, every data 3 bytes:
    refused on the first tensor's size, before the storage is allocated."""
    d, ff, v = 2048, 8192, 4
    tensors = {}

    def add(name, shape):
        tensors[name] = {"shape": shape, "dtype": "float32", "data": "AAAA"}

    add("emb.weight", [v, d])
    p = "encoder.layers.0"
    add(p + ".self_attn.in_proj_weight", [3 * d, d])
    add(p + ".self_attn.in_proj_bias", [3 * d])
    add(p + ".self_attn.out_proj.weight", [d, d])
    add(p + ".self_attn.out_proj.bias", [d])
    add(p + ".linear1.weight", [ff, d])
    add(p + ".linear1.bias", [ff])
    add(p + ".linear2.weight", [d, ff])
    add(p + ".linear2.bias", [d])
    for n in ("norm1", "norm2"):
        add(p + "." + n + ".weight", [d])
        add(p + "." + n + ".bias", [d])
    add("head.weight", [v, d])
    add("head.bias", [v])
    doc = {
        "format": "attnviz-weights", "version": 1,
        "config": {"architecture": "causal_lm", "d_model": d, "nhead": 8, "num_encoder_layers": 1,
                   "dim_feedforward": ff, "positional": "sinusoidal", "max_len": 16},
        "modules": {"src_embedding": "emb.weight", "encoder": "encoder", "output": "head"},
        "tokenizer": {"level": "char", "src_vocab": ["<pad>", "<eos>", "a", "b"],
                      "specials": {"pad": 0, "bos": None, "eos": 1, "unk": None}},
        "tensors": tensors,
    }
    c.add_doc("inflate", "declares_200MiB_holds_nothing", doc,
              r'^tensor "emb\.weight": data holds 3 bytes, its shape needs 32768')


def missing_extra_duplicate(c, path, raw, doc):
    names = list(doc["tensors"])
    for name in (names[0], names[len(names) // 2], names[-1]):
        t = copy.deepcopy(doc)
        del t["tensors"][name]
        c.add_doc("missing", "%s_tensor_%s" % (short(path), name[-30:]), t, r'^missing tensor "%s"$' % re_escape(name))
    for key in ("config", "tokenizer", "modules", "tensors"):
        t = copy.deepcopy(doc)
        del t[key]
        c.add_doc("missing", "%s_root_%s" % (short(path), key), t, r'^file: missing "%s"$' % key)
    for key in ("d_model", "nhead", "max_len"):
        t = copy.deepcopy(doc)
        del t["config"][key]
        c.add_doc("missing", "%s_config_%s" % (short(path), key), t, r'^config: missing "%s"$' % key)
    for key in ("data", "shape"):
        t = copy.deepcopy(doc)
        del t["tensors"][names[1]][key]
        c.add_doc("missing", "%s_entry_%s" % (short(path), key), t, r'^tensor "%s": missing "%s"$' % (re_escape(names[1]), key))
    t = copy.deepcopy(doc)
    t["tensors"]["encoder.layers.99.linear1.weight"] = t["tensors"][names[1]]
    c.add_doc("extra", "%s_tensor" % short(path), t, r'^unknown tensor "encoder\.layers\.99\.linear1\.weight"$')
    for where, key in (("file", "extras"), ("config", "norm_frist"), ("tokenizer", "lower_case")):
        t = copy.deepcopy(doc)
        (t if where == "file" else t[where])[key] = True
        c.add_doc("extra", "%s_%s_%s" % (short(path), where, key), t, r'^%s: unknown key "%s"$' % (where, key))
    t = copy.deepcopy(doc)
    t["tensors"][names[0]]["scale"] = 1.0
    c.add_doc("extra", "%s_entry_key" % short(path), t, r'^tensor "%s": unknown key "scale"$' % re_escape(names[0]))
    # Duplicates are text-level: a parser that keeps the last one would accept these.
    text = raw.decode("utf-8")
    c.add("duplicate", "%s_version" % short(path), text.replace('"version": 1,', '"version": 1, "version": 1,', 1),
          r'^duplicate key "version"$')
    c.add("duplicate", "%s_d_model" % short(path), text.replace('"d_model":', '"d_model": 4, "d_model":', 1),
          r'^duplicate key "d_model"$')
    name = names[-1]
    at = text.index('"%s":' % name)
    end = text.index("}", at) + 1
    c.add("duplicate", "%s_tensor" % short(path), text[:at] + text[at:end] + ",\n" + text[at:],
          r'^duplicate key "%s"$' % re_escape(name))


def wrong_shapes(c, path, doc):
    vocab_rows = set(doc["modules"].get(k, "") + ".weight" for k in ("src_embedding", "tgt_embedding"))
    vocab_rows |= {doc["modules"]["src_embedding"], doc["modules"].get("tgt_embedding", "")}
    skip = vocab_rows | {doc["modules"].get("positional", "")}
    out = doc["modules"]["output"]
    names = [n for n in doc["tensors"] if n not in skip and not n.startswith(out + ".")]
    two_d = [n for n in names if len(doc["tensors"][n]["shape"]) == 2 and doc["tensors"][n]["shape"][0] != doc["tensors"][n]["shape"][1]]
    one_d = [n for n in names if len(doc["tensors"][n]["shape"]) == 1]
    cases = []
    if two_d:
        n = two_d[0]
        s = doc["tensors"][n]["shape"]
        cases += [(n, [s[1], s[0]]), (n, [s[0] * s[1]]), (n, [s[0], s[1], 1]), (n, [s[0] + 1, s[1]])]
    if one_d:
        n = one_d[-1]
        s = doc["tensors"][n]["shape"]
        cases += [(n, [s[0] - 1]), (n, [s[0], 1]), (n, [])]
    for n, shape in cases:
        t = copy.deepcopy(doc)
        t["tensors"][n]["shape"] = shape
        expected = doc["tensors"][n]["shape"]
        c.add_doc("shape", "%s_%s_%s" % (short(path), n[-24:], "x".join(map(str, shape)) or "scalar"), t,
                  r'^tensor "%s": expected shape \[%s\], got \[%s\]$' % (re_escape(n), ", ".join(map(str, expected)), ", ".join(map(str, shape))))
    # Right shape, wrong amount of data.
    b64 = base64_tensors(doc)
    if b64:
        n = b64[-1]
        count = count_of(doc["tensors"][n]["shape"])
        t = copy.deepcopy(doc)
        t["tensors"][n]["data"] = t["tensors"][n]["data"][:-8]
        c.add_doc("shape", "%s_data_short" % short(path), t, expect_for_data(n, t["tensors"][n]["data"].encode(), count))
        t = copy.deepcopy(doc)
        t["tensors"][n]["data"] += "AAAA"
        c.add_doc("shape", "%s_data_long" % short(path), t, expect_for_data(n, t["tensors"][n]["data"].encode(), count))
        t = copy.deepcopy(doc)
        t["tensors"][n]["data"] = t["tensors"][n]["data"][:-1]
        c.add_doc("shape", "%s_data_len_not4" % short(path), t, r"is not a multiple of 4\)$")


def wrong_types(c, path, doc):
    names = list(doc["tensors"])
    cases = [
        ("d_model_string", lambda t: t["config"].__setitem__("d_model", str(t["config"]["d_model"])), r"^config\.d_model must be an integer$"),
        ("nhead_bool", lambda t: t["config"].__setitem__("nhead", True), r"^config\.nhead must be an integer$"),
        ("eps_string", lambda t: t["config"].__setitem__("layer_norm_eps", "1e-5"), r"^config\.layer_norm_eps must be a number$"),
        ("norm_first_int", lambda t: t["config"].__setitem__("norm_first", 1), r"^config\.norm_first must be true or false$"),
        ("activation_number", lambda t: t["config"].__setitem__("activation", 1), r"^config\.activation must be a string$"),
        ("config_array", lambda t: t.__setitem__("config", []), r"^file\.config must be an object$"),
        ("tensors_array", lambda t: t.__setitem__("tensors", []), r"^file\.tensors must be an object$"),
        ("vocab_number", lambda t: t["tokenizer"]["src_vocab"].__setitem__(1, 7), r"^tokenizer\.src_vocab\[1\] must be a string$"),
        ("vocab_object", lambda t: t["tokenizer"].__setitem__("src_vocab", {"a": 0}), r"^tokenizer\.src_vocab must be an array of strings$"),
        ("shape_string", lambda t: t["tensors"][names[1]].__setitem__("shape", "[4]"), r"shape must be an array of at most 8 sizes$"),
        ("shape_float", lambda t: t["tensors"][names[1]].__setitem__("shape", [4.5]), r"is not a list of sizes$"),
        ("data_number", lambda t: t["tensors"][names[1]].__setitem__("data", 7), r"data must be a base64 string or an array of numbers$"),
        ("data_null", lambda t: t["tensors"][names[1]].__setitem__("data", None), r"data must be a base64 string or an array of numbers$"),
        ("dtype_f16", lambda t: t["tensors"][names[1]].__setitem__("dtype", "float16"), r'dtype "float16" is not float32$'),
        ("entry_string", lambda t: t["tensors"].__setitem__(names[1], "AAAA"), r'^tensor "%s" must be an object$' % re_escape(names[1])),
        ("root_array", lambda t: [t], r"^the file must hold a JSON object$"),
        ("metadata_string", lambda t: t.__setitem__("metadata", "notes"), r"^metadata must be an object$"),
    ]
    for label, fn, expect in cases:
        t = copy.deepcopy(doc)
        r = fn(t)
        c.add_doc("type", "%s_%s" % (short(path), label), r if isinstance(r, list) else t, expect)
    for n in list_tensors(doc)[:2]:
        for label, value in (("string", "0.5"), ("null", None), ("bool", False), ("array", [0.5])):
            t = copy.deepcopy(doc)
            t["tensors"][n]["data"][2] = value
            c.add_doc("type", "%s_%s_data_%s" % (short(path), n[-20:], label), t, r'^tensor "%s": data\[2\] is not a number$' % re_escape(n))


def nan_literals(c, path, doc):
    lists = list_tensors(doc)
    for n in lists[:2]:
        for label, value, expect in (
            ("NaN", float("nan"), NOT_JSON),       # Python's json writes NaN: not JSON
            ("Infinity", float("inf"), NOT_JSON),
            ("-Infinity", float("-inf"), NOT_JSON),
            ("1e39", 1e39, r'^tensor "%s": value 3 is infinite$' % re_escape(n)),   # JSON, but over float32
            ("-1e39", -1e39, r'^tensor "%s": value 3 is infinite$' % re_escape(n)),
        ):
            t = copy.deepcopy(doc)
            t["tensors"][n]["data"][3] = value
            c.add_doc("nan", "%s_%s_%s" % (short(path), n[-20:], label), t, expect)
    t = copy.deepcopy(doc)
    t["config"]["layer_norm_eps"] = float("nan")
    c.add_doc("nan", "%s_eps_NaN" % short(path), t, NOT_JSON)
    t = copy.deepcopy(doc)
    t["config"]["embed_scale"] = 123.25
    c.add("nan", "%s_embed_scale_1e309" % short(path), json.dumps(t).replace("123.25", "1e309"),
          r"^not valid JSON: number overflow parsing '1e309'$")


def with_metadata(doc, metadata_text):
    t = {k: v for k, v in doc.items() if k != "metadata"}
    return json.dumps(t)[:-1] + ', "metadata": ' + metadata_text + "}"


def deep_nesting(c, doc):
    n = 100000
    c.add("deep", "arrays_100000", "[" * n + "]" * n, DEEP)
    c.add("deep", "objects_100000", '{"a":' * n + "0" + "}" * n, DEEP)
    c.add("deep", "unclosed_100000", "[" * n, DEEP)
    c.add("deep", "in_metadata_100000", with_metadata(doc, "[" * n + "]" * n), DEEP)
    # At the cap: the root object is level 1, "metadata" {} 2, then 62 arrays.
    c.add("deep", "metadata_at_cap_64", with_metadata(doc, '{"x": ' + "[" * 62 + "]" * 62 + "}"), ACCEPT)
    c.add("deep", "metadata_over_cap_65", with_metadata(doc, '{"x": ' + "[" * 63 + "]" * 63 + "}"), DEEP)


def huge(c, doc):
    big = 140 * 1000 * 1000  # over the 128 MiB file cap
    c.add("huge", "string_140MB_metadata", with_metadata(doc, '{"notes": "' + "x" * big + '"}'), TOO_BIG_FILE)
    c.add("huge", "string_140MB_unterminated", '{"format": "attnviz-weights", "version": 1, "config": "' + "A" * big, TOO_BIG_FILE)
    # Under the file cap, over the parse-memory cap: long strings, and many tiny values.
    c.add("huge", "string_100MB", '{"metadata": {"notes": "' + "x" * (100 * 1000 * 1000) + '"}}', TOO_BIG_PARSE)
    c.add("huge", "string_40MB", '{"metadata": {"notes": "' + "x" * (40 * 1000 * 1000) + '"}}', TOO_BIG_PARSE)
    c.add("huge", "array_5M_zeros", '{"metadata": {"x": [' + ",".join(["0"] * (5 * 1000 * 1000)) + "]}}", TOO_BIG_PARSE)
    c.add("huge", "array_4M_empty_objects", '{"metadata": {"x": [' + ",".join(["{}"] * (4 * 1000 * 1000)) + "]}}", TOO_BIG_PARSE)
    c.add("huge", "object_1M_keys", '{"metadata": {' + ",".join('"k%d":[]' % i for i in range(1000 * 1000)) + "}}", TOO_BIG_PARSE)


def invalid_utf8(c, path, raw):
    text = raw
    seqs = {"ff": b"\xff", "fe_ff": b"\xfe\xff", "lone_continuation": b"\x80", "overlong_slash": b"\xc0\xaf",
            "surrogate": b"\xed\xa0\x80", "truncated_3byte": b"\xe2\x82", "over_10ffff": b"\xf4\x90\x80\x80"}
    anchors = [b'"format": "attnviz-', b'"architecture": "', b'"src_vocab": [\n', b'"data": "']
    anchors = [a for a in anchors if a in text]
    for k, (label, seq) in enumerate(seqs.items()):
        anchor = anchors[k % len(anchors)]
        at = text.index(anchor) + len(anchor)
        if anchor.endswith(b"[\n"):
            at = text.index(b'"', at) + 1
        c.add("utf8", "%s_%s" % (short(path), label), text[:at] + seq + text[at:], UTF8)
    # A lone surrogate written as an escape is not UTF-8 either.
    at = text.index(b'"architecture": "') + len(b'"architecture": "')
    c.add("utf8", "%s_escaped_lone_surrogate" % short(path), text[:at] + b"\\ud800" + text[at:],
          r"^not valid JSON: .*surrogate")


def vocab_disagreement(c, path, doc):
    tok = doc["tokenizer"]
    emb = doc["modules"]["src_embedding"]
    emb = emb if emb in doc["tensors"] else emb + ".weight"
    size = len(tok["src_vocab"])
    t = copy.deepcopy(doc)
    t["tokenizer"]["src_vocab"].append("\u2603")
    c.add_doc("vocab", "%s_src_plus_one" % short(path), t,
              r'^vocabulary and tensor disagree: tokenizer\.src_vocab has %d tokens but "%s" has %d rows$' % (size + 1, re_escape(emb), size))
    t = copy.deepcopy(doc)
    specials = [v for v in tok["specials"].values() if v is not None]
    t["tokenizer"]["src_vocab"].pop(max(specials) + 1)
    smallest = size - 1 if "tgt_vocab" not in tok else min(size - 1, len(tok["tgt_vocab"]))
    c.add_doc("vocab", "%s_src_minus_one" % short(path), t,
              r'^vocabulary and tensor disagree: tokenizer\.src_vocab has %d tokens but "%s" has %d rows$' % (size - 1, re_escape(emb), size))
    t = copy.deepcopy(doc)
    t["tokenizer"]["src_vocab"][-1] = t["tokenizer"]["src_vocab"][-2]
    c.add_doc("vocab", "%s_src_duplicate_token" % short(path), t, r"^tokenizer\.src_vocab lists .* twice \(ids %d and %d\)$" % (size - 2, size - 1))
    t = copy.deepcopy(doc)
    t["tokenizer"]["src_vocab"] = []
    c.add_doc("vocab", "%s_src_empty" % short(path), t, r"^tokenizer\.src_vocab has 0 tokens; allowed 1 to 1000000$")
    if "tgt_vocab" in tok:
        t = copy.deepcopy(doc)
        t["tokenizer"]["tgt_vocab"].append("zz-new")
        out = doc["modules"]["tgt_embedding"]
        out = out if out in doc["tensors"] else out + ".weight"
        c.add_doc("vocab", "%s_tgt_plus_one" % short(path), t,
                  r'^vocabulary and tensor disagree: tokenizer\.tgt_vocab has %d tokens but "%s" has %d rows$' % (len(tok["tgt_vocab"]) + 1, re_escape(out), len(tok["tgt_vocab"])))


def specials_out_of_range(c, path, doc):
    tok = doc["tokenizer"]
    smallest = len(tok["src_vocab"]) if "tgt_vocab" not in tok else min(len(tok["src_vocab"]), len(tok["tgt_vocab"]))
    for key in ("pad", "bos", "eos", "unk"):
        for value in (smallest, -1, 2 ** 31, 2 ** 64 - 1):
            t = copy.deepcopy(doc)
            t["tokenizer"]["specials"][key] = value
            c.add_doc("special", "%s_%s_%d" % (short(path), key, value), t,
                      r"^tokenizer\.specials\.%s = %d is out of range: the vocabulary has %d tokens$" % (key, value, smallest))
    for value, label in (("1", "string"), (1.5, "float")):
        t = copy.deepcopy(doc)
        t["tokenizer"]["specials"]["eos"] = value
        c.add_doc("special", "%s_eos_%s" % (short(path), label), t, r"^tokenizer\.specials\.eos must be an integer id or null$")


def misc(c, raw):
    c.add("misc", "empty", b"", TRUNCATED)
    c.add("misc", "whitespace", b" \n\t ", TRUNCATED)
    c.add("misc", "nul_bytes", b"\0" * 64, NOT_JSON)
    c.add("misc", "binary_gguf_magic", b"GGUF\x03\x00\x00\x00" + bytes(range(256)), NOT_JSON)
    c.add("misc", "safetensors_header", struct.pack("<Q", 2) + b"{}", NOT_JSON)
    c.add("misc", "bom_then_valid", b"\xef\xbb\xbf" + raw, ACCEPT)  # nlohmann skips a UTF-8 BOM
    c.add("misc", "trailing_garbage", raw.rstrip() + b" x", NOT_JSON)
    c.add("misc", "two_documents", raw.rstrip() + b"\n" + raw, NOT_JSON)
    c.add("misc", "utf16le", raw.decode("utf-8").encode("utf-16-le"), NOT_JSON)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        if name.endswith(".json"):
            os.remove(os.path.join(out, name))
    c = Corpus(out)
    rng = random.Random(5)
    example_raw, example = load("docs/example-weights.json")
    for path in BASES:
        raw, doc = load(path)
        truncations(c, path, raw)
        bit_flips(c, path, raw, doc, rng, 18)
        exponent_flips(c, path, doc)
        json_edits(c, path, raw, rng, 6)
        invalid_utf8(c, path, raw) if path.endswith(("s2s_seed_small.weights.json", "example-weights.json", "lm_table_preln_gelu_h8.weights.json")) else None
        vocab_disagreement(c, path, doc)
    for path in ("tests/fixtures/s2s_words_preln_gelu_h4.weights.json", "docs/example-weights.json"):
        raw, doc = load(path)
        semantic_edits(c, path, doc)
        missing_extra_duplicate(c, path, raw, doc)
        wrong_shapes(c, path, doc)
        wrong_types(c, path, doc)
        specials_out_of_range(c, path, doc)
    raw, doc = load("tests/fixtures/s2s_seed_small.weights.json")
    inflations(c, "tests/fixtures/s2s_seed_small.weights.json", doc)
    wrong_shapes(c, "tests/fixtures/s2s_seed_small.weights.json", doc)
    nan_literals(c, "docs/example-weights.json", example)
    nan_literals(c, "tests/fixtures/example_tiny.weights.json", load("tests/fixtures/example_tiny.weights.json")[1])
    declared_but_absent(c)
    deep_nesting(c, example)
    huge(c, example)
    misc(c, example_raw)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(c.entries, f, indent=1)
    accepted = sum(e["expect"] == ACCEPT for e in c.entries)
    classes = sorted(set(e["class"] for e in c.entries))
    counts = " ".join("%s %d" % (k, sum(e["class"] == k for e in c.entries)) for k in classes)
    print("make_corpus: %d files (%d expected to be accepted) -> %s\n  by class: %s"
          % (len(c.entries), accepted, out, counts))


if __name__ == "__main__":
    main()
