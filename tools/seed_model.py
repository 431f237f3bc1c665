"""The seed project's model, written the way the seed writes it, for fixtures and examples.

The seed (and its transformer_copy / Pig Latin siblings) subclasses the PyTorch layers to keep
each layer's per-head attention, holds its own PositionalEncoding with a sinusoidal buffer
`pe` of shape (1, max_len, d_model), uses batch_first=True, post-LN, relu, xavier init and
scales embeddings by sqrt(d_model). Keeping one copy here lets the fixture builder, the
exporter's tests and later training scripts all exercise exactly that layout.

Read the attention with grad enabled: in eval mode under torch.no_grad() PyTorch's encoder
layer takes a fused fast path that never calls _sa_block, so .attn_weights goes stale.
"""

import math

import torch
from torch import nn


class TransformerEncoderLayerWithAttn(nn.TransformerEncoderLayer):
    """An encoder layer that keeps its self-attention, [batch, heads, S, S], in .attn_weights."""

    attn_weights = None

    def _sa_block(self, x, attn_mask, key_padding_mask):
        x, weights = self.self_attn(x, x, x, attn_mask=attn_mask,
                                    key_padding_mask=key_padding_mask,
                                    need_weights=True, average_attn_weights=False)
        self.attn_weights = weights.detach()
        return self.dropout1(x)


class TransformerDecoderLayerWithAttn(nn.TransformerDecoderLayer):
    """A decoder layer that keeps .self_attn_weights [batch, heads, T, T] and
    .cross_attn_weights [batch, heads, T, S]."""

    self_attn_weights = None
    cross_attn_weights = None

    def _sa_block(self, x, attn_mask, key_padding_mask):
        x, weights = self.self_attn(x, x, x, attn_mask=attn_mask,
                                    key_padding_mask=key_padding_mask,
                                    need_weights=True, average_attn_weights=False)
        self.self_attn_weights = weights.detach()
        return self.dropout1(x)

    def _mha_block(self, x, mem, attn_mask, key_padding_mask):
        x, weights = self.multihead_attn(x, mem, mem, attn_mask=attn_mask,
                                         key_padding_mask=key_padding_mask,
                                         need_weights=True, average_attn_weights=False)
        self.cross_attn_weights = weights.detach()
        return self.dropout2(x)


def sinusoidal_table(max_len, d_model):
    """The "Attention is all you need" table, [max_len, d_model], float32:
    pe[p, j] = sin(p * w) for even j, cos(p * w) for odd j, w = exp(-(j - j % 2) * ln(10000) / d_model).
    This is also what the weights format means by positional "sinusoidal"."""
    position = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32)
                         * (-math.log(10000.0) / d_model))
    pe = torch.zeros(max_len, d_model)
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term[:d_model // 2])
    return pe


class PositionalEncoding(nn.Module):
    """Adds the sinusoidal table pe[0, position] to a batch-first input."""

    def __init__(self, d_model, max_len=5000, dropout=0.1):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("pe", sinusoidal_table(max_len, d_model).unsqueeze(0))

    def forward(self, x):
        return self.dropout(x + self.pe[:, :x.size(1)])


class TransformerSeq2SeqModel(nn.Module):
    """The seed's encoder-decoder: ids in, logits [batch, T, tgt_vocab] out."""

    def __init__(self, src_vocab_size, tgt_vocab_size, d_model=128, nhead=8,
                 num_encoder_layers=3, num_decoder_layers=3, dim_feedforward=512,
                 dropout=0.1, max_len=20):
        super().__init__()
        self.d_model = d_model
        self.src_embedding = nn.Embedding(src_vocab_size, d_model)
        self.tgt_embedding = nn.Embedding(tgt_vocab_size, d_model)
        self.pos_encoder = PositionalEncoding(d_model, max_len, dropout)
        encoder_layer = TransformerEncoderLayerWithAttn(d_model, nhead, dim_feedforward,
                                                        dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(encoder_layer, num_layers=num_encoder_layers)
        decoder_layer = TransformerDecoderLayerWithAttn(d_model, nhead, dim_feedforward,
                                                        dropout, batch_first=True)
        self.decoder = nn.TransformerDecoder(decoder_layer, num_layers=num_decoder_layers)
        self.fc_out = nn.Linear(d_model, tgt_vocab_size)
        self.last_attn = None
        self._init_weights()

    def _init_weights(self):
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def forward(self, src, tgt, src_key_padding_mask=None):
        scale = math.sqrt(self.d_model)
        src_emb = self.pos_encoder(self.src_embedding(src) * scale)
        tgt_emb = self.pos_encoder(self.tgt_embedding(tgt) * scale)
        tgt_mask = nn.Transformer.generate_square_subsequent_mask(tgt.size(1))
        memory = self.encoder(src_emb, src_key_padding_mask=src_key_padding_mask)
        out = self.decoder(tgt_emb, memory, tgt_mask=tgt_mask,
                           memory_key_padding_mask=src_key_padding_mask)
        self.last_attn = self.encoder.layers[-1].attn_weights
        return self.fc_out(out)
