// Small valid weights files built in C++, for tests that need a model but not PyTorch's
// numbers: a seq2seq and a causal LM with random (seeded) weights.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace attnviz::testing {

struct TinyModelOptions {
  bool seq2seq = true;
  int d_model = 8;
  int nhead = 2;
  int layers = 1;
  int dim_feedforward = 16;
  bool norm_first = false;
  bool final_norms = false;
  bool base64 = true;        // tensor data as base64 (else number arrays)
  unsigned seed = 1;
};

// The document as JSON, ready to mutate; vocabulary: <pad> <bos> <eos> a b c d e.
nlohmann::json tiny_model(const TinyModelOptions& options = {});

// base64 of little-endian float32 values.
std::string encode_floats(const std::vector<float>& values);

// Reads a file under the source tree (ATTNVIZ_SOURCE_DIR).
std::string source_path(const std::string& relative);
std::string read_text(const std::string& path);

}  // namespace attnviz::testing
