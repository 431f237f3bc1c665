"""The attnviz input conventions, in Python, for building reference outputs.

This module reads only what an exported weights file says (its "tokenizer" section and
config.max_len / config.max_output_len / config.architecture), so the PyTorch reference is
tokenized by the same rules the C++ engine follows. The rules, precisely:

* Lower-casing (tokenizer.lowercase): ASCII letters A-Z only become a-z; every other code
  point is left alone. Applied to the source and to a teacher-forcing target.
* Splitting: "char" gives one token per Unicode code point, whitespace included, nothing
  stripped or normalised. "word" splits on runs of the six ASCII whitespace characters
  (space, \\t, \\n, \\v, \\f, \\r) and drops empty pieces, so leading/trailing whitespace
  yields nothing.
* Lookup: each token is looked up as a string in the vocabulary (first index wins; exported
  vocabularies have no duplicates). A token that matches a special's string (e.g. "<eos>"
  typed at word level) is looked up like any other. A token not in the vocabulary becomes
  `unk` when specials.unk is not null; otherwise the whole text is refused and the error
  lists every distinct unknown token once, in order of first appearance. Unknown tokens are
  found before truncation, so one in the cut-off part is still refused.
* Source: a text of zero tokens is refused. Keep the first max_len - src_bos - src_eos
  tokens (the number cut off is reported), then [bos] + tokens + [eos] as configured, then,
  if pad_src, append <pad> up to max_len. With src_key_padding_mask, every source position
  whose id is the pad id is masked (True), as PyTorch trainers build it (src == pad).
* Teacher-forcing target (seq2seq): tokenized the same way against tgt_vocab; keep the first
  max_len - 1 tokens; the decoder input is [bos] + tokens (no eos, no padding).
* Greedy seq2seq decoding generates at most max_output_len (<= max_len) tokens, so the
  decoder input [bos] + generated[:-1] never exceeds max_len positions.
* Causal LM continuation generates at most min(continue, max_output_len) tokens, stops after
  producing <eos>, and also stops when the sequence it would run next has more than max_len
  positions (a token predicted from a max_len-long sequence is still kept).
* Output text: drop every id listed in specials (pad, bos, eos and unk when present), map
  the rest to their vocabulary strings and join with "" (char) or " " (word).
"""

import re

_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_ASCII_SPACE = re.compile(r"[ \t\n\v\f\r]+")


class TokenizeError(ValueError):
    """The text cannot be encoded (unknown tokens and no unk, or nothing to encode)."""


class Tokenizer:
    """Encodes and decodes text for one exported model (a parsed weights JSON document)."""

    def __init__(self, doc):
        tok = doc["tokenizer"]
        config = doc["config"]
        self.level = tok["level"]
        self.lowercase = tok["lowercase"]
        self.src_vocab = tok["src_vocab"]
        self.tgt_vocab = tok.get("tgt_vocab", self.src_vocab)
        self.specials = tok["specials"]
        self.src_bos = tok["src_bos"]
        self.src_eos = tok["src_eos"]
        self.pad_src = tok["pad_src"]
        self.key_padding_mask = tok["src_key_padding_mask"]
        self.max_len = config["max_len"]
        self.max_output_len = config["max_output_len"]
        self._src_index = _index(self.src_vocab)
        self._tgt_index = _index(self.tgt_vocab)

    def split(self, text):
        """Lower-cases (ASCII) and splits text into token strings."""
        if self.lowercase:
            text = text.translate(_ASCII_LOWER)
        if self.level == "char":
            return list(text)
        return [piece for piece in _ASCII_SPACE.split(text) if piece]

    def _lookup(self, text, index):
        tokens = self.split(text)
        unk = self.specials.get("unk")
        ids, unknown = [], []
        for token in tokens:
            if token in index:
                ids.append(index[token])
            elif unk is not None:
                ids.append(unk)
            elif token not in unknown:
                unknown.append(token)
        if unknown:
            names = ", ".join(repr(t) for t in unknown)
            raise TokenizeError(f"unknown token(s) not in the vocabulary: {names}")
        return ids

    def encode_source(self, text):
        """Returns (src_ids, key_padding_mask or None, number of tokens cut off)."""
        ids = self._lookup(text, self._src_index)
        if not ids:
            raise TokenizeError("the text has no tokens")
        keep = self.max_len - int(self.src_bos) - int(self.src_eos)
        cut = max(0, len(ids) - keep)
        ids = ids[:keep]
        if self.src_bos:
            ids = [self.specials["bos"]] + ids
        if self.src_eos:
            ids = ids + [self.specials["eos"]]
        pad = self.specials["pad"]
        if self.pad_src:
            ids = ids + [pad] * (self.max_len - len(ids))
        mask = None
        if self.pad_src and self.key_padding_mask:
            mask = [i == pad for i in ids]
        return ids, mask, cut

    def encode_target(self, text):
        """Returns (decoder input ids [bos] + target tokens, number of tokens cut off)."""
        ids = self._lookup(text, self._tgt_index)
        keep = self.max_len - 1
        cut = max(0, len(ids) - keep)
        return [self.specials["bos"]] + ids[:keep], cut

    def decode(self, ids, vocab=None):
        """Turns ids into text, dropping specials; vocab defaults to the target vocabulary."""
        vocab = self.tgt_vocab if vocab is None else vocab
        special_ids = {v for v in self.specials.values() if v is not None}
        words = [vocab[i] for i in ids if i not in special_ids]
        return ("" if self.level == "char" else " ").join(words)


def _index(vocab):
    index = {}
    for i, token in enumerate(vocab):
        index.setdefault(token, i)
    return index
