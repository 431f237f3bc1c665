// A loaded model: configuration, tokenizer, one owned weight buffer and per-layer views
// into it, named after the PyTorch modules they come from.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config.h"
#include "tensor.h"

namespace attnviz {

// Linear weights are stored input-major and packed (tensor.h, PackedMatrix), from PyTorch's
// (out, in) at load, so that y = x W + b streams each panel of W once (ops.h, product).
struct Linear {
  PackedMatrix weight;  // [in, out]
  TensorView bias;      // [out], may be empty
};

struct LayerNormWeights {
  TensorView weight;  // [d_model]
  TensorView bias;    // [d_model]
};

// nn.MultiheadAttention's parameters.
struct AttentionWeights {
  PackedMatrix in_proj_weight[3];  // in_proj_weight's q, k, v blocks, each [d_model x d_model]
  TensorView in_proj_bias;         // [3 d_model]
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
  size_t stored_parameters = 0;  // floats read from the file (storage adds padding, computed tables)
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
  // Trainable parameters: every float the file gave but a fixed positional table (a
  // sinusoidal one is computed at load, not read).
  size_t parameter_count() const {
    const bool table = config.positional == Positional::kTable;
    return stored_parameters - (table ? size_t(positions.rows) * positions.cols : 0);
  }
};

}  // namespace attnviz
