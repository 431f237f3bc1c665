#!/usr/bin/python3
"""Export a PyTorch transformer to the attnviz weights format (docs/weights-format.md).

The engine in core/ re-implements the forward pass from nothing but this file, so the
exporter maps a model onto the format only where the mapping is certain: it reads the
configuration off the modules (nn.Transformer, nn.TransformerEncoder/Decoder and their
layers, including subclasses that only override _sa_block/_mha_block), and refuses with an
ExportError naming the module when something does not fit (two encoders, an unknown module
holding parameters, an activation other than relu/gelu, ...). What lives in forward() code
and cannot be read off the modules must be passed in: embed_scale always, and the tokenizer
conventions.

Usable as a module (export(), inspect_model()) and as a command (--help).
"""

import argparse
import base64
import importlib
import json
import math
import sys
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

FORMAT = "attnviz-weights"
VERSION = 1
ROLES = ("src_embedding", "tgt_embedding", "positional", "output")
_SRC_MARKERS = ("src", "source", "enc", "inp")
_TGT_MARKERS = ("tgt", "trg", "target", "dec")
_ATTN_KEYS = ("in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias")
_FF_KEYS = ("linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias")


class ExportError(ValueError):
    """The model cannot be mapped onto the format without guessing."""


@dataclass
class Part:
    """One role of the model: the state_dict-style name and the object that fills it."""

    name: str          # module path in the model, or the keyword for an outside module
    obj: object        # nn.Module, torch.Tensor, or "sinusoidal" / "none" for positional
    external: bool     # passed as a keyword and not part of the model


def _join(prefix, name):
    return f"{prefix}.{name}" if prefix else name


def _label(name):
    return repr(name) if name else "<root>"


# ---------------------------------------------------------------------------------------
# Finding the parts


def _locate(model, role, value):
    """Resolves a keyword override to a Part, naming it by its path if it is in the model."""
    if isinstance(value, str):
        if role != "positional" or value not in ("sinusoidal", "none"):
            raise ExportError(f"{role}={value!r}: only positional accepts a string "
                              "('sinusoidal' or 'none')")
        return Part(value, value, True)
    if isinstance(value, nn.Module):
        for name, mod in model.named_modules(remove_duplicate=False):
            if mod is value:
                return Part(name, value, False)
        return Part(role, value, True)
    if isinstance(value, torch.Tensor):
        if role != "positional":
            raise ExportError(f"{role}: expected a module, got a tensor")
        for name, tensor in model.state_dict(keep_vars=True).items():
            if tensor is value:
                return Part(name, value, False)
        return Part(role, value, True)
    raise ExportError(f"{role}: expected a module, got {type(value).__name__}")


def _walk(model, claimed):
    """Sorts the model's modules into stacks, embeddings, linears and positional tables."""
    found = {"transformer": [], "encoder": [], "decoder": [], "embedding": [],
             "linear": [], "table": []}
    claimed = set(claimed)
    covered = list(claimed)

    def is_covered(name):
        return any(name == c or name.startswith(c + ".") or c == "" for c in covered)

    for name, mod in model.named_modules(remove_duplicate=False):
        if is_covered(name):
            continue
        if isinstance(mod, nn.Transformer):
            kind = "transformer"
        elif isinstance(mod, nn.TransformerEncoder):
            kind = "encoder"
        elif isinstance(mod, nn.TransformerDecoder):
            kind = "decoder"
        elif isinstance(mod, nn.Embedding):
            kind = "embedding"
        elif isinstance(mod, nn.Linear):
            kind = "linear"
        elif "pe" in mod._buffers and mod._buffers["pe"] is not None:
            params = [n for n, _ in mod.named_parameters()]
            if params:
                raise ExportError(f"positional module {_label(name)} also holds parameters "
                                  f"({_join(name, params[0])}); the format has no place for them")
            kind = "table"
        elif isinstance(mod, (nn.TransformerEncoderLayer, nn.TransformerDecoderLayer,
                              nn.MultiheadAttention)):
            raise ExportError(f"module {_label(name)} ({type(mod).__name__}) is outside an "
                              "nn.TransformerEncoder/nn.TransformerDecoder stack")
        else:
            own = [n for n, _ in mod.named_parameters(recurse=False)
                   if _join(name, n) not in claimed]
            if own:
                raise ExportError(f"module {_label(name)} ({type(mod).__name__}) holds parameter "
                                  f"{_join(name, own[0])!r} that the format has no place for")
            continue
        found[kind].append((name, mod))
        covered.append(name)
    return found


def _one(items, what, hint):
    if len(items) > 1:
        names = ", ".join(_label(n) for n, _ in items)
        raise ExportError(f"found {len(items)} {what} ({names}); {hint}")
    return items[0] if items else None


def _pick_embeddings(parts, embeddings, architecture):
    """Assigns the token embeddings not given as keywords: by count, then by name."""
    need = ["src_embedding"] + (["tgt_embedding"] if architecture == "seq2seq" else [])
    missing = [r for r in need if r not in parts]
    names = ", ".join(_label(n) for n, _ in embeddings) or "none"
    if not missing:
        if embeddings:
            raise ExportError(f"nn.Embedding {_label(embeddings[0][0])} is not used by the "
                              "format (the token embeddings were given)")
        return
    if len(missing) == 1 or len(embeddings) == 1:
        # One role to fill, or one embedding shared by source and target.
        if len(embeddings) != 1:
            raise ExportError(f"cannot tell which nn.Embedding is {missing[0]} (candidates: "
                              f"{names}); pass {missing[0]}=...")
        for role in missing:
            parts[role] = Part(embeddings[0][0], embeddings[0][1], False)
        return

    def has(name, markers):
        leaf = name.rsplit(".", 1)[-1].lower()
        return any(m in leaf for m in markers)
    src = [e for e in embeddings if has(e[0], _SRC_MARKERS) and not has(e[0], _TGT_MARKERS)]
    tgt = [e for e in embeddings if has(e[0], _TGT_MARKERS) and not has(e[0], _SRC_MARKERS)]
    if len(embeddings) != 2 or len(src) != 1 or len(tgt) != 1:
        raise ExportError(f"cannot tell the source and target nn.Embedding apart (candidates: "
                          f"{names}); pass src_embedding=... and tgt_embedding=...")
    parts["src_embedding"] = Part(src[0][0], src[0][1], False)
    parts["tgt_embedding"] = Part(tgt[0][0], tgt[0][1], False)


def find_parts(model, **modules):
    """Maps the model's modules to the format's roles; returns (architecture, parts dict).

    parts has "encoder" and, for seq2seq, "decoder" (Parts holding the stacks), and every
    entry of ROLES that applies.
    """
    unknown = set(modules) - set(ROLES)
    if unknown:
        raise TypeError(f"unknown module keyword(s): {', '.join(sorted(unknown))}; "
                        f"known: {', '.join(ROLES)}")
    parts = {role: _locate(model, role, value) for role, value in modules.items()
             if value is not None}
    claimed = [p.name for p in parts.values() if not p.external]
    found = _walk(model, claimed)

    transformer = _one(found["transformer"], "nn.Transformer modules", "export one at a time")
    if transformer is not None:
        if found["encoder"] or found["decoder"]:
            other = (found["encoder"] + found["decoder"])[0][0]
            raise ExportError(f"found an nn.Transformer ({_label(transformer[0])}) and another "
                              f"stack {_label(other)}")
        name, mod = transformer
        if not isinstance(mod.encoder, nn.TransformerEncoder):
            raise ExportError(f"{_label(_join(name, 'encoder'))} is not an nn.TransformerEncoder")
        if not isinstance(mod.decoder, nn.TransformerDecoder):
            raise ExportError(f"{_label(_join(name, 'decoder'))} is not an nn.TransformerDecoder")
        encoder = (_join(name, "encoder"), mod.encoder)
        decoder = (_join(name, "decoder"), mod.decoder)
    else:
        hint = "the format has one encoder stack and one decoder stack"
        encoder = _one(found["encoder"], "nn.TransformerEncoder modules", hint)
        decoder = _one(found["decoder"], "nn.TransformerDecoder modules", hint)
    if encoder is None:
        where = f" (decoder {_label(decoder[0])})" if decoder else ""
        raise ExportError(f"no nn.TransformerEncoder found in the model{where}")
    parts["encoder"] = Part(encoder[0], encoder[1], False)
    architecture = "causal_lm"
    if decoder is None and "tgt_embedding" in parts:
        raise ExportError("tgt_embedding was given, but the model has no decoder stack")
    if decoder is not None:
        parts["decoder"] = Part(decoder[0], decoder[1], False)
        architecture = "seq2seq"

    token_embeddings = []
    positional = []
    for name, mod in found["embedding"]:
        leaf = name.rsplit(".", 1)[-1].lower()
        (positional if "pos" in leaf else token_embeddings).append((name, mod))
    positional += found["table"]
    if "positional" in parts:
        if positional:
            raise ExportError(f"positional was given, but {_label(positional[0][0])} also looks "
                              "like a positional encoding")
    else:
        if not positional:
            raise ExportError("no positional encoding found (no module with a buffer 'pe', no "
                              "nn.Embedding named *pos*); pass positional=<tensor or module> or "
                              "positional='sinusoidal' / 'none'")
        name, mod = _one(positional, "positional encodings", "pass positional=...")
        parts["positional"] = Part(name, mod, False)

    _pick_embeddings(parts, token_embeddings, architecture)

    if "output" not in parts:
        if not found["linear"]:
            raise ExportError("no output nn.Linear found; pass output=...")
        name, mod = _one(found["linear"], "nn.Linear modules outside the stacks",
                         "pass output=... (the format has one output projection)")
        parts["output"] = Part(name, mod, False)
    elif found["linear"]:
        raise ExportError(f"nn.Linear {_label(found['linear'][0][0])} is not used by the format "
                          "(output was given)")
    return architecture, parts


# ---------------------------------------------------------------------------------------
# Reading the configuration


def _activation(name, layer):
    fn = layer.activation
    if fn is F.relu or fn is torch.relu or isinstance(fn, nn.ReLU):
        kind = "relu"
    elif fn is F.gelu or (isinstance(fn, nn.GELU) and fn.approximate == "none"):
        kind = "gelu"
    else:
        raise ExportError(f"layer {_label(name)}: activation {fn!r} is not relu or gelu "
                          "(exact erf form)")
    flag = getattr(layer, "activation_relu_or_gelu", None)
    if flag is not None and flag != {"relu": 1, "gelu": 2}[kind]:
        raise ExportError(f"layer {_label(name)}: activation_relu_or_gelu={flag} disagrees "
                          f"with activation {kind}")
    return kind


def _check_attention(name, mha, d_model):
    if not isinstance(mha, nn.MultiheadAttention):
        raise ExportError(f"{_label(name)} is not an nn.MultiheadAttention")
    if not mha._qkv_same_embed_dim or mha.in_proj_weight is None:
        raise ExportError(f"{_label(name)}: separate q/k/v projections (kdim/vdim) are not supported")
    if mha.in_proj_bias is None or mha.out_proj.bias is None:
        raise ExportError(f"{_label(name)}: attention without biases is not supported")
    if mha.bias_k is not None or mha.add_zero_attn:
        raise ExportError(f"{_label(name)}: add_bias_kv / add_zero_attn are not supported")
    if mha.embed_dim != d_model:
        raise ExportError(f"{_label(name)}: embed_dim {mha.embed_dim} != d_model {d_model}")


def _check_norm(name, norm, d_model):
    if not isinstance(norm, nn.LayerNorm):
        raise ExportError(f"{_label(name)} is {type(norm).__name__}, not nn.LayerNorm")
    if tuple(norm.normalized_shape) != (d_model,) or not norm.elementwise_affine:
        raise ExportError(f"{_label(name)}: LayerNorm must normalise [d_model] with weight and bias")
    return norm.eps


def _layer_config(name, layer, decoder):
    base = nn.TransformerDecoderLayer if decoder else nn.TransformerEncoderLayer
    if not isinstance(layer, base):
        raise ExportError(f"layer {_label(name)} is {type(layer).__name__}, not an {base.__name__}")
    for method in ("forward", "_ff_block"):
        if getattr(type(layer), method) is not getattr(base, method):
            raise ExportError(f"layer {_label(name)} ({type(layer).__name__}) overrides {method}(); "
                              "only _sa_block/_mha_block overrides (attention capture) are understood")
    d_model = layer.self_attn.embed_dim
    attns = ["self_attn"] + (["multihead_attn"] if decoder else [])
    for attn in attns:
        _check_attention(_join(name, attn), getattr(layer, attn), d_model)
    norms = ["norm1", "norm2"] + (["norm3"] if decoder else [])
    eps = {_check_norm(_join(name, n), getattr(layer, n), d_model) for n in norms}
    if len(eps) != 1:
        raise ExportError(f"layer {_label(name)}: its LayerNorms have different eps {sorted(eps)}")
    for lin in ("linear1", "linear2"):
        if getattr(layer, lin).bias is None:
            raise ExportError(f"{_label(_join(name, lin))}: a feed-forward Linear without bias")
    return {
        "d_model": d_model,
        "nhead": layer.self_attn.num_heads,
        "dim_feedforward": layer.linear1.out_features,
        "activation": _activation(name, layer),
        "norm_first": bool(layer.norm_first),
        "layer_norm_eps": eps.pop(),
    }


def _stack_config(name, stack, decoder):
    """Reads one stack; returns (shared layer settings, number of layers, has final norm)."""
    if len(stack.layers) < 1:
        raise ExportError(f"stack {_label(name)} has no layers")
    settings = None
    for i, layer in enumerate(stack.layers):
        layer_name = _join(name, f"layers.{i}")
        this = _layer_config(layer_name, layer, decoder)
        if settings is None:
            settings = this
        elif this != settings:
            diff = [k for k in this if this[k] != settings[k]]
            raise ExportError(f"layer {_label(layer_name)} differs from the first layer in {diff}")
    has_norm = stack.norm is not None
    if has_norm:
        eps = _check_norm(_join(name, "norm"), stack.norm, settings["d_model"])
        if eps != settings["layer_norm_eps"]:
            raise ExportError(f"{_label(_join(name, 'norm'))}: eps {eps} differs from the layers' "
                              f"{settings['layer_norm_eps']}")
    return settings, len(stack.layers), has_norm


def _positional(part, d_model, max_len):
    """Returns (kind, key, tensor or None, max_len), cutting a longer table to max_len rows."""
    obj = part.obj
    if isinstance(obj, str):
        if max_len is None:
            raise ExportError(f"positional={obj!r}: pass max_len (nothing in the model says it)")
        return obj, None, None, max_len
    if isinstance(obj, nn.Embedding):
        kind, key, table = "learned", _join(part.name, "weight"), obj.weight
    elif isinstance(obj, torch.Tensor):
        kind, key, table = "table", part.name, obj
    elif isinstance(obj, nn.Module) and "pe" in obj._buffers:
        kind, key, table = "table", _join(part.name, "pe"), obj._buffers["pe"]
    else:
        raise ExportError(f"positional {_label(part.name)} ({type(obj).__name__}) is neither a "
                          "tensor, an nn.Embedding nor a module with a buffer 'pe'")
    table = table.detach()
    shape = tuple(table.shape)
    if len(shape) == 3 and shape[1] == 1 and shape[0] != 1:     # (max_len, 1, d_model)
        table = table.reshape(shape[0], shape[2])
    elif len(shape) >= 2 and all(s == 1 for s in shape[:-2]):   # (max_len, d_model), leading 1s
        pass
    else:
        raise ExportError(f"positional {key!r} has shape {list(shape)}; expected "
                          "(max_len, d_model), (1, max_len, d_model) or (max_len, 1, d_model)")
    if kind == "learned" and table.dim() != 2:
        raise ExportError(f"learned positional {key!r} must be [max_len, d_model]")
    rows = table.shape[-2]
    if table.shape[-1] != d_model:
        raise ExportError(f"positional {key!r} has width {table.shape[-1]}, d_model is {d_model}")
    if max_len is None:
        max_len = rows
    if max_len > rows:
        raise ExportError(f"max_len {max_len} exceeds the {rows} rows of positional {key!r}")
    table = table[..., :max_len, :]
    return kind, key, table, max_len


def inspect_model(model, **modules):
    """Detects the architecture and the module-derived configuration of a model.

    Returns (config, parts): config holds architecture, d_model, nhead, layer counts,
    dim_feedforward, activation, norm_first, layer_norm_eps, encoder_norm, decoder_norm and
    output_bias; parts maps roles to Parts. Raises ExportError when a module cannot be mapped.
    """
    architecture, parts = find_parts(model, **modules)
    enc, n_enc, enc_norm = _stack_config(parts["encoder"].name, parts["encoder"].obj, False)
    n_dec, dec_norm = 0, False
    if architecture == "seq2seq":
        dec, n_dec, dec_norm = _stack_config(parts["decoder"].name, parts["decoder"].obj, True)
        if dec != enc:
            diff = [k for k in dec if dec[k] != enc[k]]
            raise ExportError(f"decoder {_label(parts['decoder'].name)} differs from encoder "
                              f"{_label(parts['encoder'].name)} in {diff}")
    output = parts["output"]
    if not isinstance(output.obj, nn.Linear):
        raise ExportError(f"output {_label(output.name)} is {type(output.obj).__name__}, not nn.Linear")
    if output.obj.in_features != enc["d_model"]:
        raise ExportError(f"output {_label(output.name)} takes {output.obj.in_features} features, "
                          f"d_model is {enc['d_model']}")
    for role in ("src_embedding", "tgt_embedding"):
        if role in parts:
            emb = parts[role].obj
            if not isinstance(emb, nn.Embedding):
                raise ExportError(f"{role} {_label(parts[role].name)} is not an nn.Embedding")
            if emb.embedding_dim != enc["d_model"]:
                raise ExportError(f"{role} {_label(parts[role].name)} has dimension "
                                  f"{emb.embedding_dim}, d_model is {enc['d_model']}")
    config = {
        "architecture": architecture,
        "d_model": enc["d_model"],
        "nhead": enc["nhead"],
        "num_encoder_layers": n_enc,
        "num_decoder_layers": n_dec,
        "dim_feedforward": enc["dim_feedforward"],
        "activation": enc["activation"],
        "norm_first": enc["norm_first"],
        "layer_norm_eps": enc["layer_norm_eps"],
        "encoder_norm": enc_norm,
        "decoder_norm": dec_norm,
        "output_bias": output.obj.bias is not None,
    }
    return config, parts


# ---------------------------------------------------------------------------------------
# The tensors the format lists


def format_tensor_shapes(config, modules, src_vocab_size, tgt_vocab_size):
    """The format's tensor table, in file order: {key: shape}; the positional entry is None
    because its shape may carry leading 1-dims."""
    d, ff = config["d_model"], config["dim_feedforward"]
    seq2seq = config["architecture"] == "seq2seq"
    shapes = {modules["src_embedding"]: [src_vocab_size, d]}
    if seq2seq:
        shapes[modules["tgt_embedding"]] = [tgt_vocab_size, d]
    if "positional" in modules:
        shapes[modules["positional"]] = None

    def stack(prefix, layers, decoder, norm):
        for i in range(layers):
            p = _join(prefix, f"layers.{i}")
            for attn in ("self_attn", "multihead_attn") if decoder else ("self_attn",):
                shapes[f"{p}.{attn}.in_proj_weight"] = [3 * d, d]
                shapes[f"{p}.{attn}.in_proj_bias"] = [3 * d]
                shapes[f"{p}.{attn}.out_proj.weight"] = [d, d]
                shapes[f"{p}.{attn}.out_proj.bias"] = [d]
            shapes[f"{p}.linear1.weight"] = [ff, d]
            shapes[f"{p}.linear1.bias"] = [ff]
            shapes[f"{p}.linear2.weight"] = [d, ff]
            shapes[f"{p}.linear2.bias"] = [d]
            for n in ("norm1", "norm2", "norm3") if decoder else ("norm1", "norm2"):
                shapes[f"{p}.{n}.weight"] = [d]
                shapes[f"{p}.{n}.bias"] = [d]
        if norm:
            shapes[_join(prefix, "norm.weight")] = [d]
            shapes[_join(prefix, "norm.bias")] = [d]

    stack(modules["encoder"], config["num_encoder_layers"], False, config["encoder_norm"])
    if seq2seq:
        stack(modules["decoder"], config["num_decoder_layers"], True, config["decoder_norm"])
    out_size = tgt_vocab_size if seq2seq else src_vocab_size
    shapes[_join(modules["output"], "weight")] = [out_size, d]
    if config["output_bias"]:
        shapes[_join(modules["output"], "bias")] = [out_size]
    return shapes


def _lookup_tensor(key, parts, state):
    """Finds a tensor by its format key: in the model's state_dict or an outside module."""
    if key in state:
        return state[key]
    for part in parts.values():
        if part.external and isinstance(part.obj, nn.Module) and key.startswith(part.name + "."):
            sub = part.obj.state_dict(keep_vars=True)
            rest = key[len(part.name) + 1:]
            if rest in sub:
                return sub[rest]
    raise ExportError(f"tensor {key!r} not found in the model")


def _encode(tensor, data):
    values = tensor.detach().to(torch.float32).contiguous().cpu().numpy()
    if data == "list":
        return [float(str(v)) for v in values.reshape(-1)]
    return base64.b64encode(values.astype("<f4").tobytes()).decode("ascii")


# ---------------------------------------------------------------------------------------
# The document


def _default_specials(vocab):
    specials = {}
    for key, token in (("pad", "<pad>"), ("bos", "<bos>"), ("eos", "<eos>"), ("unk", "<unk>")):
        specials[key] = vocab.index(token) if token in vocab else None
    missing = [f"<{k}>" for k in ("pad", "bos", "eos") if specials[k] is None]
    if missing:
        raise ExportError(f"the vocabulary has no {', '.join(missing)}; pass specials={{...}}")
    return specials


def _check_vocab(name, vocab, size, owner):
    if not isinstance(vocab, (list, tuple)) or not all(isinstance(t, str) for t in vocab):
        raise ExportError(f"{name} must be a list of strings")
    if len(set(vocab)) != len(vocab):
        dup = next(t for t in vocab if vocab.count(t) > 1)
        raise ExportError(f"{name} has the token {dup!r} twice")
    if len(vocab) != size:
        raise ExportError(f"{name} has {len(vocab)} tokens but {owner} has {size} rows")


def _tokenizer(config, parts, src_vocab, tgt_vocab, specials, level, lowercase, src_bos,
               src_eos, pad_src, src_key_padding_mask):
    seq2seq = config["architecture"] == "seq2seq"
    src_rows = parts["src_embedding"].obj.num_embeddings
    out_rows = parts["output"].obj.out_features
    _check_vocab("src_vocab", src_vocab, src_rows, f"src_embedding {_label(parts['src_embedding'].name)}")
    if seq2seq:
        tgt_vocab = list(src_vocab if tgt_vocab is None else tgt_vocab)
        _check_vocab("tgt_vocab", tgt_vocab, parts["tgt_embedding"].obj.num_embeddings,
                     f"tgt_embedding {_label(parts['tgt_embedding'].name)}")
        _check_vocab("tgt_vocab", tgt_vocab, out_rows, f"output {_label(parts['output'].name)}")
    else:
        if tgt_vocab is not None:
            raise ExportError("a causal_lm has one vocabulary: drop tgt_vocab")
        _check_vocab("src_vocab", src_vocab, out_rows, f"output {_label(parts['output'].name)}")
    if level not in ("char", "word"):
        raise ExportError(f"level must be 'char' or 'word', not {level!r}")
    specials = dict(_default_specials(list(src_vocab)) if specials is None else specials)
    if set(specials) - {"pad", "bos", "eos", "unk"}:
        raise ExportError(f"unknown specials {sorted(set(specials) - {'pad', 'bos', 'eos', 'unk'})}")
    specials.setdefault("unk", None)
    sizes = [len(src_vocab)] + ([len(tgt_vocab)] if seq2seq else [])
    for key in ("pad", "bos", "eos", "unk"):
        value = specials.get(key)
        if value is None and key == "unk":
            continue
        if not isinstance(value, int) or not all(0 <= value < n for n in sizes):
            raise ExportError(f"specials[{key!r}] = {value!r} is not a valid id in every vocabulary")
    if src_key_padding_mask and not pad_src:
        raise ExportError("src_key_padding_mask needs pad_src")
    if pad_src and not seq2seq:
        raise ExportError("pad_src is for seq2seq sources; a causal_lm input is never padded")
    tok = {
        "level": level,
        "lowercase": bool(lowercase),
        "src_vocab": list(src_vocab),
    }
    if seq2seq:
        tok["tgt_vocab"] = tgt_vocab
    tok.update({
        "specials": {k: specials[k] for k in ("pad", "bos", "eos", "unk")},
        "src_bos": bool(src_bos),
        "src_eos": bool(src_eos),
        "pad_src": bool(pad_src),
        "src_key_padding_mask": bool(src_key_padding_mask),
    })
    return tok


def export(model, path=None, *, src_vocab, embed_scale=None, tgt_vocab=None, specials=None,
           level="char", lowercase=False, src_bos=False, src_eos=None, pad_src=False,
           src_key_padding_mask=False, max_len=None, max_output_len=None, causal=None,
           metadata=None, data="base64", **modules):
    """Writes model in the attnviz weights format to path (if given) and returns the document.

    model: an nn.Transformer, or any module holding one nn.TransformerEncoder (causal_lm) or
      an encoder and a decoder (seq2seq), token embedding(s), a positional encoding and an
      output nn.Linear.
    modules: src_embedding, tgt_embedding, output (nn.Module) and positional (a tensor, an
      nn.Embedding, a module with buffer 'pe', or 'sinusoidal' / 'none'), for parts that are
      not inside model or that cannot be told apart by name. Outside modules are keyed
      "<keyword>.weight" etc.; parts of model keep their state_dict names.
    embed_scale: required; the factor forward() multiplies token embeddings by (often
      math.sqrt(d_model); 1.0 for none). It lives in code, so it cannot be detected.
    src_vocab / tgt_vocab: token strings by id (tgt_vocab defaults to src_vocab for seq2seq).
    specials: {"pad", "bos", "eos", "unk"} ids; default: looked up as "<pad>", ... in src_vocab.
    src_eos: default True for seq2seq, False for causal_lm. causal: default True for
      causal_lm (required), False for seq2seq.
    max_len: default the positional table's rows (a longer table is cut to max_len rows);
      required for positional 'sinusoidal' / 'none'. max_output_len: default max_len.
    data: "base64" (the normal form) or "list" (flat number arrays, for hand-readable files).
    """
    config, parts = inspect_model(model, **modules)
    seq2seq = config["architecture"] == "seq2seq"
    if embed_scale is None:
        raise ExportError("embed_scale is required: the scale of the token embeddings lives in "
                          "forward(), not in any module. Pass embed_scale=math.sqrt(d_model) "
                          f"(= {math.sqrt(config['d_model']):.7g} here) if forward() multiplies "
                          "by sqrt(d_model), or 1.0 if it does not scale")
    embed_scale = float(embed_scale)
    if not math.isfinite(embed_scale):
        raise ExportError(f"embed_scale {embed_scale} is not finite")
    if causal is None:
        causal = not seq2seq
    if not seq2seq and not causal:
        raise ExportError("a causal_lm (encoder stack only) must be causal")
    if src_eos is None:
        src_eos = seq2seq
    if data not in ("base64", "list"):
        raise ExportError(f"data must be 'base64' or 'list', not {data!r}")

    kind, pos_key, pos_table, max_len = _positional(parts["positional"], config["d_model"], max_len)
    if max_len < 1 + int(src_bos) + int(src_eos):
        raise ExportError(f"max_len {max_len} leaves no room for source tokens")
    if max_output_len is None:
        max_output_len = max_len
    if not 1 <= max_output_len <= max_len:
        raise ExportError(f"max_output_len {max_output_len} must be in 1..max_len ({max_len})")

    tokenizer = _tokenizer(config, parts, src_vocab, tgt_vocab, specials, level, lowercase,
                           src_bos, src_eos, pad_src, src_key_padding_mask)

    full_config = {
        "architecture": config["architecture"],
        "d_model": config["d_model"],
        "nhead": config["nhead"],
        "num_encoder_layers": config["num_encoder_layers"],
        "num_decoder_layers": config["num_decoder_layers"],
        "dim_feedforward": config["dim_feedforward"],
        "activation": config["activation"],
        "norm_first": config["norm_first"],
        "layer_norm_eps": config["layer_norm_eps"],
        "encoder_norm": config["encoder_norm"],
        "decoder_norm": config["decoder_norm"],
        "causal": bool(causal),
        "embed_scale": embed_scale,
        "positional": kind,
        "max_len": max_len,
        "max_output_len": max_output_len,
        "output_bias": config["output_bias"],
    }
    module_keys = {"src_embedding": _join(parts["src_embedding"].name, "weight")}
    if seq2seq:
        module_keys["tgt_embedding"] = _join(parts["tgt_embedding"].name, "weight")
    if pos_key is not None:
        module_keys["positional"] = pos_key
    module_keys["encoder"] = parts["encoder"].name
    if seq2seq:
        module_keys["decoder"] = parts["decoder"].name
    module_keys["output"] = parts["output"].name

    shapes = format_tensor_shapes(full_config, module_keys, len(tokenizer["src_vocab"]),
                                  len(tokenizer.get("tgt_vocab", [])))
    state = model.state_dict(keep_vars=True)
    _check_no_stray_parameters(shapes, parts, state)
    tensors = {}
    for key, shape in shapes.items():
        tensor = pos_table if key == pos_key else _lookup_tensor(key, parts, state)
        if shape is not None and list(tensor.shape) != shape:
            raise ExportError(f"tensor {key!r} has shape {list(tensor.shape)}, the format needs {shape}")
        if not torch.isfinite(tensor.detach()).all():
            raise ExportError(f"tensor {key!r} holds NaN or infinite values")
        tensors[key] = {"shape": list(tensor.shape), "dtype": "float32",
                        "data": _encode(tensor, data)}

    doc = {
        "format": FORMAT,
        "version": VERSION,
        "config": full_config,
        "modules": module_keys,
        "tokenizer": tokenizer,
        "tensors": tensors,
        "metadata": dict(metadata or {}),
    }
    if path is not None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(dumps(doc))
    return doc


def dumps(doc):
    """JSON text with one line per entry of each section (a tensor, a vocabulary, a setting),
    so the file stays readable and diffs stay small."""
    sections = []
    for key, value in doc.items():
        if isinstance(value, dict) and value:
            rows = [f"    {json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}"
                    for k, v in value.items()]
            text = "{\n" + ",\n".join(rows) + "\n  }"
        else:
            text = json.dumps(value, ensure_ascii=False)
        sections.append(f"  {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(sections) + "\n}\n"


def _check_no_stray_parameters(shapes, parts, state):
    """Refuses a model parameter that the format's tensor list does not include."""
    for key, value in state.items():
        if isinstance(value, nn.Parameter) and key not in shapes:
            owner = key.rsplit(".", 1)[0] if "." in key else ""
            raise ExportError(f"parameter {key!r} of module {_label(owner)} has no place in the format")


# ---------------------------------------------------------------------------------------
# Command line


def _load_model(args):
    sys.path.insert(0, ".")
    if args.model:
        model = torch.load(args.model, map_location="cpu")
        if not isinstance(model, nn.Module):
            raise SystemExit(f"{args.model} holds a {type(model).__name__}, not a whole model; "
                             "use --factory with --state-dict")
        return model
    module_name, _, attr = args.factory.partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    model = factory(**json.loads(args.kwargs))
    if args.state_dict:
        state = torch.load(args.state_dict, map_location="cpu")
        for key in ("model_state_dict", "state_dict", "model"):
            if isinstance(state, dict) and isinstance(state.get(key), dict):
                state = state[key]
                break
        model.load_state_dict(state)
    return model


def _load_vocab(path):
    with open(path, encoding="utf-8") as f:
        vocab = json.load(f)
    if isinstance(vocab, dict):
        ordered = sorted(vocab.items(), key=lambda kv: kv[1])
        if [i for _, i in ordered] != list(range(len(ordered))):
            raise SystemExit(f"{path}: ids must be 0..n-1")
        vocab = [t for t, _ in ordered]
    return vocab


def _attribute(model, path):
    obj = model
    for part in path.split("."):
        obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
    return obj


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Export a PyTorch transformer to the attnviz weights JSON format.",
        epilog="example: %(prog)s --factory seed_model:TransformerSeq2SeqModel "
               "--kwargs '{\"src_vocab_size\": 29, \"tgt_vocab_size\": 29}' --state-dict "
               "model.pt --vocab vocab.json --embed-scale sqrt --pad-src -o model.weights.json")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="a whole model saved with torch.save(model, FILE)")
    source.add_argument("--factory", help="MODULE:CALLABLE that builds the model (cwd and "
                        "tools/ are importable)")
    parser.add_argument("--kwargs", default="{}", help="JSON keyword arguments for --factory")
    parser.add_argument("--state-dict", help="weights for --factory (a state_dict, or a dict "
                        "with 'model_state_dict' / 'state_dict' / 'model')")
    parser.add_argument("--vocab", required=True, help="JSON list of tokens by id, or {token: id}")
    parser.add_argument("--tgt-vocab", help="target vocabulary (seq2seq; default --vocab)")
    parser.add_argument("--embed-scale", required=True,
                        help="factor on token embeddings: a number, or 'sqrt' for sqrt(d_model)")
    parser.add_argument("--level", choices=("char", "word"), default="char")
    parser.add_argument("--lowercase", action="store_true")
    parser.add_argument("--specials", help='JSON {"pad":0,"bos":1,"eos":2,"unk":null} '
                        "(default: find <pad>, <bos>, <eos>, <unk> in the vocabulary)")
    parser.add_argument("--src-bos", action="store_true", help="put <bos> before the source")
    parser.add_argument("--src-eos", action=argparse.BooleanOptionalAction, default=None,
                        help="put <eos> after the source (default: yes for seq2seq)")
    parser.add_argument("--pad-src", action="store_true", help="pad sources to max_len")
    parser.add_argument("--key-padding-mask", action="store_true",
                        help="with --pad-src: mask the pad keys")
    parser.add_argument("--max-len", type=int)
    parser.add_argument("--max-output-len", type=int)
    parser.add_argument("--module", action="append", default=[], metavar="ROLE=ATTR",
                        help=f"map a role ({', '.join(ROLES)}) to a model attribute path, "
                        "e.g. output=head.proj; positional also takes 'sinusoidal' or 'none'")
    parser.add_argument("--metadata", help="JSON file with the model card")
    parser.add_argument("-o", "--output", required=True, help="the .weights.json to write")
    args = parser.parse_args(argv)

    model = _load_model(args)
    model.eval()
    modules = {}
    for item in args.module:
        role, _, target = item.partition("=")
        modules[role] = target if target in ("sinusoidal", "none") else _attribute(model, target)
    metadata = None
    if args.metadata:
        with open(args.metadata, encoding="utf-8") as f:
            metadata = json.load(f)
    try:
        if args.embed_scale == "sqrt":
            embed_scale = math.sqrt(inspect_model(model, **modules)[0]["d_model"])
        else:
            embed_scale = float(args.embed_scale)
        doc = export(model, args.output, src_vocab=_load_vocab(args.vocab),
                     tgt_vocab=_load_vocab(args.tgt_vocab) if args.tgt_vocab else None,
                     specials=json.loads(args.specials) if args.specials else None,
                     embed_scale=embed_scale, level=args.level, lowercase=args.lowercase,
                     src_bos=args.src_bos, src_eos=args.src_eos, pad_src=args.pad_src,
                     src_key_padding_mask=args.key_padding_mask, max_len=args.max_len,
                     max_output_len=args.max_output_len, metadata=metadata, **modules)
    except ExportError as e:
        raise SystemExit(f"cannot export: {e}")
    c = doc["config"]
    print(f"wrote {args.output}: {c['architecture']}, d_model {c['d_model']}, {c['nhead']} heads, "
          f"{c['num_encoder_layers']}+{c['num_decoder_layers']} layers, {len(doc['tensors'])} tensors")


if __name__ == "__main__":
    main()
