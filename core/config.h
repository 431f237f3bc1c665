// The model's configuration and input conventions, filled from the weights file
// (see docs/weights-format.md). Defaults are PyTorch's.
#pragma once

#include <string>
#include <vector>

namespace attnviz {

enum class Architecture { kSeq2Seq, kCausalLm };
enum class Activation { kRelu, kGelu };
enum class Positional { kNone, kSinusoidal, kTable, kLearned };
enum class TokenLevel { kChar, kWord };

struct Config {
  Architecture architecture = Architecture::kSeq2Seq;
  int d_model = 0;
  int nhead = 0;
  int num_encoder_layers = 0;
  int num_decoder_layers = 0;  // 0 for a causal LM
  int dim_feedforward = 0;
  Activation activation = Activation::kRelu;
  bool norm_first = false;     // false: post-LN, PyTorch's default
  double layer_norm_eps = 1e-5;  // kept as written; used as float
  bool encoder_norm = false;   // final LayerNorm after the encoder stack
  bool decoder_norm = false;   // final LayerNorm after the decoder stack
  bool causal = false;         // causal mask on the encoder stack
  double embed_scale = 1.0;    // token embeddings are multiplied by this (as float)
  Positional positional = Positional::kNone;
  int max_len = 0;             // positions available to any sequence
  int max_output_len = 0;      // greedy decoding stops after this many tokens
  bool output_bias = true;

  int head_dim() const { return d_model / nhead; }
  bool is_seq2seq() const { return architecture == Architecture::kSeq2Seq; }
};

// Special-token ids; -1 means the vocabulary has none.
struct SpecialTokens {
  int pad = -1;
  int bos = -1;
  int eos = -1;
  int unk = -1;
};

struct TokenizerConfig {
  TokenLevel level = TokenLevel::kChar;
  bool lowercase = false;               // ASCII letters only
  std::vector<std::string> src_vocab;   // index = id
  std::vector<std::string> tgt_vocab;   // seq2seq only
  SpecialTokens specials;
  bool src_bos = false;
  bool src_eos = false;
  bool pad_src = false;                 // pad the source to max_len with <pad>
  bool src_key_padding_mask = false;    // with pad_src: mask pad keys
};

}  // namespace attnviz
