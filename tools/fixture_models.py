"""Small PyTorch model layouts the parity fixtures are built from, besides the seed's own.

Each layout stands for a way people write transformers that the exporter must map: a bare
nn.Transformer with separate embedding/output modules, an encoder-decoder with its own
module names, and an encoder-only causal LM with learned, tabled or computed positions.
All take batch-first id tensors [1, n] and return logits [1, n, vocab], like the seed's
TransformerSeq2SeqModel, and expose .encoder (and .decoder) so attention can be captured.
"""

from torch import nn

from seed_model import sinusoidal_table


def causal_mask(n):
    """The float causal mask PyTorch models use: 0 on and below the diagonal, -inf above."""
    return nn.Transformer.generate_square_subsequent_mask(n)


class SinusoidTable(nn.Module):
    """A positional module holding the sinusoidal buffer `pe` in one of the common layouts:
    "1LD" (1, max_len, d_model), "L1D" (max_len, 1, d_model) or "LD" (max_len, d_model)."""

    def __init__(self, max_len, d_model, layout):
        super().__init__()
        table = sinusoidal_table(max_len, d_model)
        shaped = {"1LD": table.unsqueeze(0), "L1D": table.unsqueeze(1), "LD": table}[layout]
        self.register_buffer("pe", shaped)

    def rows(self, n):
        return self.pe.reshape(-1, self.pe.shape[-1])[:n]


class TransformerWithParts(nn.Module):
    """An nn.Transformer (sequence-first) with the embeddings, positions and output kept
    beside it: the exporter gets the nn.Transformer and these parts as keywords."""

    def __init__(self, transformer, src_vocab, tgt_vocab, max_len, embed_scale):
        super().__init__()
        d = transformer.d_model
        self.transformer = transformer
        self.src_embedding = nn.Embedding(src_vocab, d)
        self.tgt_embedding = nn.Embedding(tgt_vocab, d)
        self.positional = nn.Embedding(max_len, d)
        self.output = nn.Linear(d, tgt_vocab)
        self.embed_scale = embed_scale

    @property
    def encoder(self):
        return self.transformer.encoder

    @property
    def decoder(self):
        return self.transformer.decoder

    def _embed(self, emb, ids):
        x = emb(ids) * self.embed_scale + self.positional.weight[:ids.size(1)]
        return x.transpose(0, 1)  # sequence first

    def forward(self, src, tgt, src_key_padding_mask=None):
        out = self.transformer(self._embed(self.src_embedding, src),
                               self._embed(self.tgt_embedding, tgt),
                               tgt_mask=causal_mask(tgt.size(1)),
                               src_key_padding_mask=src_key_padding_mask,
                               memory_key_padding_mask=src_key_padding_mask)
        return self.output(out.transpose(0, 1))


class EncDecModel(nn.Module):
    """An encoder-decoder with its own names (enc_embed, dec_embed, positions.pe, proj),
    batch-first, with optional final norms."""

    def __init__(self, src_vocab, tgt_vocab, d_model, nhead, enc_layers, dec_layers, ff,
                 activation, norm_first, eps, final_norm, max_len, embed_scale):
        super().__init__()
        self.embed_scale = embed_scale
        self.enc_embed = nn.Embedding(src_vocab, d_model)
        self.dec_embed = nn.Embedding(tgt_vocab, d_model)
        self.positions = SinusoidTable(max_len, d_model, "LD")
        common = dict(dim_feedforward=ff, activation=activation, layer_norm_eps=eps,
                      batch_first=True, norm_first=norm_first)
        self.encoder = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(d_model, nhead, **common), enc_layers,
            norm=nn.LayerNorm(d_model, eps=eps) if final_norm else None)
        self.decoder = nn.TransformerDecoder(
            nn.TransformerDecoderLayer(d_model, nhead, **common), dec_layers,
            norm=nn.LayerNorm(d_model, eps=eps) if final_norm else None)
        self.proj = nn.Linear(d_model, tgt_vocab)

    def forward(self, src, tgt, src_key_padding_mask=None):
        s = self.enc_embed(src) * self.embed_scale + self.positions.rows(src.size(1))
        t = self.dec_embed(tgt) * self.embed_scale + self.positions.rows(tgt.size(1))
        memory = self.encoder(s, src_key_padding_mask=src_key_padding_mask)
        out = self.decoder(t, memory, tgt_mask=causal_mask(tgt.size(1)),
                           memory_key_padding_mask=src_key_padding_mask)
        return self.proj(out)


class CausalLM(nn.Module):
    """An encoder-only causal LM (sequence-first inside). positional: "learned"
    (pos_embedding), "L1D"/"1LD"/"LD" (a pos_encoder.pe table) or "sinusoidal" (computed in
    forward, nothing stored)."""

    def __init__(self, vocab, d_model, nhead, layers, ff, activation, norm_first, eps,
                 final_norm, max_len, embed_scale, positional, output_bias=True):
        super().__init__()
        self.embed_scale = embed_scale
        self.positional_kind = positional
        self.tok_embedding = nn.Embedding(vocab, d_model)
        if positional == "learned":
            self.pos_embedding = nn.Embedding(max_len, d_model)
        elif positional != "sinusoidal":
            self.pos_encoder = SinusoidTable(max_len, d_model, positional)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=ff,
                                           activation=activation, layer_norm_eps=eps,
                                           norm_first=norm_first)
        self.encoder = nn.TransformerEncoder(
            layer, layers, norm=nn.LayerNorm(d_model, eps=eps) if final_norm else None)
        self.lm_head = nn.Linear(d_model, vocab, bias=output_bias)

    def _positions(self, n, d_model):
        if self.positional_kind == "learned":
            return self.pos_embedding.weight[:n]
        if self.positional_kind == "sinusoidal":
            return sinusoidal_table(n, d_model)
        return self.pos_encoder.rows(n)

    def forward(self, ids):
        x = self.tok_embedding(ids) * self.embed_scale
        x = x + self._positions(ids.size(1), x.size(-1))
        out = self.encoder(x.transpose(0, 1), mask=causal_mask(ids.size(1)))
        return self.lm_head(out.transpose(0, 1))
