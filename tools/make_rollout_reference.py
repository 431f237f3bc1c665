#!/usr/bin/python3
"""NumPy reference for the page's client-side attention math (web/js/rollout.js,
web/js/head-math.js), written to tests/fixtures/rollout_reference.json.

It reads the attention, pre-softmax scores and value norms that PyTorch produced for the parity
fixtures (tests/fixtures/*.expected.json, made by tools/make_fixtures.py / attnviz_probe.py) and
computes, independently of the JS:
  - rollout (Abnar & Zuidema 2020): A_hat_l = rownorm(mean_h A_l + I), R = A_hat_L ... A_hat_1,
    for encoder (or causal LM) self-attention and decoder self-attention; for seq2seq also
    source = R_dec @ mean_{layers,heads}(cross) @ R_enc (the definition in web/js/rollout.js);
  - softmax of the scores at temperatures 0.5, 1 and 2 (masked = -inf -> 0);
  - value-weighted attention a_ij * ||v_j W_O^h|| per head and averaged over heads.

  /usr/bin/python3 tools/make_rollout_reference.py [out.json]
"""
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")

# (fixture file, case index): small cases covering a causal LM with an ablated (zeroed) head,
# a seq2seq model decoding greedily with ablations, and one teacher-forced.
CASES = [
    ("lm_learned_h1.expected.json", 4),
    ("s2s_seed_small.expected.json", 4),
    ("s2s_seed_small.expected.json", 5),
    ("s2s_transformer_h2.expected.json", 1),
]
TEMPERATURES = [0.5, 1.0, 2.0]


def tensor(entry):
    data = np.array([-np.inf if v is None else v for v in entry["data"]], dtype=np.float64)
    return data.reshape(entry["shape"])


def residual(att, layer):
    a = att[layer].mean(axis=0) + np.eye(att.shape[2])
    return a / a.sum(axis=1, keepdims=True)


def rollout(att):
    r = residual(att, 0)
    for layer in range(1, att.shape[0]):
        r = residual(att, layer) @ r
    return r


def softmax(scores, temperature):
    s = scores / temperature
    out = np.zeros_like(s)
    for i, row in enumerate(s):
        finite = np.isfinite(row)
        if not finite.any():
            continue
        e = np.where(finite, np.exp(row - row[finite].max()), 0.0)
        out[i] = e / e.sum()
    return out


def flat(array):
    return [float("%.9g" % v) for v in np.asarray(array).ravel()]


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(FIXTURES, "rollout_reference.json")
    entries = []
    for name, index in CASES:
        case = json.load(open(os.path.join(FIXTURES, name)))["cases"][index]
        att = {k: tensor(v) for k, v in case["attention"].items()}
        entry = {"fixture": name, "case": index, "text": case["text"], "rollout": {}}
        entry["rollout"]["encoder_self"] = flat(rollout(att["encoder_self"]))
        entry["rollout"]["encoder_self_upto_0"] = flat(residual(att["encoder_self"], 0))
        if "cross" in att:
            r_enc = rollout(att["encoder_self"])
            r_dec = rollout(att["decoder_self"])
            cross = att["cross"].mean(axis=(0, 1))
            entry["rollout"]["decoder_self"] = flat(r_dec)
            entry["rollout"]["source"] = flat(r_dec @ cross @ r_enc)
        if "scores" in case:
            # The last layer's first head of each kind, at each temperature.
            entry["softmax"] = {}
            for kind, scores in case["scores"].items():
                s = tensor(scores)
                layer = s.shape[0] - 1
                entry["softmax"][kind] = {
                    "layer": layer, "head": 0,
                    "by_temperature": {str(t): flat(softmax(s[layer, 0], t)) for t in TEMPERATURES},
                }
        if "value_norms" in case:
            entry["value_weighted"] = {}
            for kind, norms in case["value_norms"].items():
                n = tensor(norms)               # [layers][heads][1][keys]
                a = att[kind]                   # [layers][heads][rows][keys]
                layer = a.shape[0] - 1
                weighted = a[layer] * n[layer]  # broadcast over rows
                entry["value_weighted"][kind] = {
                    "layer": layer,
                    "head_0": flat(weighted[0]),
                    "head_mean": flat(weighted.mean(axis=0)),
                }
        entries.append(entry)
    with open(out_path, "w") as f:
        json.dump({"made_by": "tools/make_rollout_reference.py", "temperatures": TEMPERATURES, "entries": entries}, f,
                  separators=(",", ":"))
        f.write("\n")
    print("wrote %s (%d entries)" % (out_path, len(entries)))


if __name__ == "__main__":
    main()
