// Reads a weights file (docs/weights-format.md) into a Model, validating everything:
// format and version, the configuration's sizes (capped before anything is allocated),
// the tokenizer, and every tensor by its state_dict name, shape and values.
#pragma once

#include <string_view>

#include "error.h"
#include "model.h"

namespace attnviz {

constexpr const char* kFormatName = "attnviz-weights";
constexpr int kFormatVersion = 1;

// Caps on what a file may declare; see docs/weights-format.md "Limits".
struct LoadLimits {
  // A base64 file of 128 MiB holds about 24 M parameters: several times the models this is
  // for, and within a browser tab's memory once parsed.
  unsigned long long max_file_bytes = 128ull << 20;   // checked before anything is parsed
  unsigned long long max_json_memory = 192ull << 20;  // the parsed JSON, estimated by a pre-scan
  int max_d_model = 4096;
  int max_nhead = 256;
  int max_layers = 64;
  int max_feedforward = 65536;
  int max_vocab = 1000000;
  int max_len = 4096;
  unsigned long long max_total_floats = 64ull << 20;  // 256 MiB of float32
  // A run records every layer's and head's attention: nhead * max_len^2 floats per encoder
  // layer, twice that per decoder layer (self and cross), reserved before decoding starts.
  unsigned long long max_attention_floats = 64ull << 20;  // 256 MiB of float32
};

// On failure `model` is left untouched and the status names the problem.
Status load_model(std::string_view json_text, Model& model, const LoadLimits& limits = {});

}  // namespace attnviz
