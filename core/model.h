// A loaded model: configuration, tokenizer, one owned weight buffer and per-layer views
// into it, named after the PyTorch modules they come from.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config.h"
#include "tensor.h"

namespace attnviz {

// Linear weights are stored input-major, transposed from PyTorch's (out, in) at load, so
// that y = x W + b streams W by rows (see ops.h, linear).
struct Linear {
  TensorView weight;  // [in, out]
  TensorView bias;    // [out], may be empty
};

struct LayerNormWeights {
  TensorView weight;  // [d_model]
  TensorView bias;    // [d_model]
};

// nn.MultiheadAttention's parameters.
struct AttentionWeights {
  TensorView in_proj_weight;  // q, k, v: three input-major [d_model x d_model] blocks
  TensorView in_proj_bias;    // [3 d_model]
  Linear out_proj;            // [d_model, d_model]
};

struct EncoderLayer {
  AttentionWeights self_attn;
  Linear linear1;  // weight [d_model, dim_feedforward]
  Linear linear2;  // weight [dim_feedforward, d_model]
  LayerNormWeights norm1, norm2;
};

struct DecoderLayer {
  AttentionWeights self_attn;
  AttentionWeights multihead_attn;  // cross-attention over the encoder's memory
  Linear linear1, linear2;
  LayerNormWeights norm1, norm2, norm3;
};

struct Model {
  Config config;
  TokenizerConfig tokenizer;
  std::string metadata_json;  // the file's "metadata" object, as JSON text ("{}" if none)

  std::vector<float> storage;  // every tensor, back to back; the views below point into it
  TensorView src_embedding;    // [src vocab, d_model]
  TensorView tgt_embedding;    // [tgt vocab, d_model], seq2seq only
  TensorView positions;        // [max_len, d_model], empty when positional is none
  std::vector<EncoderLayer> encoder;
  std::vector<DecoderLayer> decoder;
  LayerNormWeights encoder_norm, decoder_norm;  // empty when absent
  Linear output;               // weight [d_model, tgt vocab (or vocab)]

  Model() = default;
  Model(const Model&) = delete;             // views point into storage
  Model& operator=(const Model&) = delete;
  Model(Model&&) = default;                 // a moved vector keeps its buffer
  Model& operator=(Model&&) = default;

  const std::vector<std::string>& output_vocab() const {
    return config.is_seq2seq() ? tokenizer.tgt_vocab : tokenizer.src_vocab;
  }
  // Trainable parameters: every stored float but a fixed positional table.
  size_t parameter_count() const {
    const bool fixed = config.positional == Positional::kTable ||
                       config.positional == Positional::kSinusoidal;
    return storage.size() - (fixed ? size_t(positions.rows) * positions.cols : 0);
  }
};

}  // namespace attnviz
