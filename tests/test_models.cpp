#include "test_models.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace attnviz::testing {
namespace {

const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

struct Builder {
  nlohmann::json tensors = nlohmann::json::object();
  std::mt19937 rng;
  bool base64;

  void add(const std::string& name, std::vector<int> shape, float scale, float offset = 0.0f) {
    size_t count = 1;
    for (int dim : shape) count *= size_t(dim);
    std::normal_distribution<float> normal(0.0f, scale);
    std::vector<float> values(count);
    for (float& v : values) v = offset + normal(rng);
    nlohmann::json entry = {{"shape", shape}, {"dtype", "float32"}};
    if (base64) entry["data"] = encode_floats(values);
    else entry["data"] = values;
    tensors[name] = entry;
  }
  void linear(const std::string& p, int out, int in) {
    add(p + ".weight", {out, in}, 0.5f);
    add(p + ".bias", {out}, 0.1f);
  }
  void norm(const std::string& p, int d) {
    add(p + ".weight", {d}, 0.1f, 1.0f);
    add(p + ".bias", {d}, 0.1f);
  }
  void attention(const std::string& p, int d) {
    add(p + ".in_proj_weight", {3 * d, d}, 0.6f);
    add(p + ".in_proj_bias", {3 * d}, 0.1f);
    linear(p + ".out_proj", d, d);
  }
};

}  // namespace

std::string encode_floats(const std::vector<float>& values) {
  std::string bytes(values.size() * 4, '\0');
  for (size_t i = 0; i < values.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &values[i], 4);
    for (int b = 0; b < 4; ++b) bytes[4 * i + b] = static_cast<char>((bits >> (8 * b)) & 0xFF);
  }
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t group = uint32_t(uint8_t(bytes[i])) << 16;
    if (i + 1 < bytes.size()) group |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    if (i + 2 < bytes.size()) group |= uint32_t(uint8_t(bytes[i + 2]));
    out += kAlphabet[(group >> 18) & 63];
    out += kAlphabet[(group >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(group >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[group & 63] : '=';
  }
  return out;
}

nlohmann::json tiny_model(const TinyModelOptions& o) {
  const std::vector<std::string> vocab = {"<pad>", "<bos>", "<eos>", "a", "b", "c", "d", "e"};
  const int v = static_cast<int>(vocab.size()), d = o.d_model, max_len = 12;
  Builder b{nlohmann::json::object(), std::mt19937(o.seed), o.base64};
  b.add("src_embedding.weight", {v, d}, 1.0f);
  if (o.seq2seq) b.add("tgt_embedding.weight", {v, d}, 1.0f);
  for (int i = 0; i < o.layers; ++i) {
    const std::string p = "encoder.layers." + std::to_string(i);
    b.attention(p + ".self_attn", d);
    b.linear(p + ".linear1", o.dim_feedforward, d);
    b.linear(p + ".linear2", d, o.dim_feedforward);
    b.norm(p + ".norm1", d);
    b.norm(p + ".norm2", d);
  }
  if (o.final_norms) b.norm("encoder.norm", d);
  if (o.seq2seq) {
    for (int i = 0; i < o.layers; ++i) {
      const std::string p = "decoder.layers." + std::to_string(i);
      b.attention(p + ".self_attn", d);
      b.attention(p + ".multihead_attn", d);
      b.linear(p + ".linear1", o.dim_feedforward, d);
      b.linear(p + ".linear2", d, o.dim_feedforward);
      b.norm(p + ".norm1", d);
      b.norm(p + ".norm2", d);
      b.norm(p + ".norm3", d);
    }
    if (o.final_norms) b.norm("decoder.norm", d);
  }
  b.linear("fc_out", v, d);

  nlohmann::json config = {
      {"architecture", o.seq2seq ? "seq2seq" : "causal_lm"},
      {"d_model", d}, {"nhead", o.nhead},
      {"num_encoder_layers", o.layers}, {"num_decoder_layers", o.seq2seq ? o.layers : 0},
      {"dim_feedforward", o.dim_feedforward}, {"activation", "relu"},
      {"norm_first", o.norm_first}, {"layer_norm_eps", 1e-5},
      {"encoder_norm", o.final_norms}, {"decoder_norm", o.seq2seq && o.final_norms},
      {"causal", !o.seq2seq}, {"embed_scale", 2.0}, {"positional", "sinusoidal"},
      {"max_len", max_len}, {"max_output_len", max_len}, {"output_bias", true}};
  nlohmann::json modules = {{"src_embedding", "src_embedding.weight"}, {"encoder", "encoder"},
                            {"output", "fc_out"}};
  nlohmann::json tokenizer = {
      {"level", "char"}, {"lowercase", false}, {"src_vocab", vocab},
      {"specials", {{"pad", 0}, {"bos", 1}, {"eos", 2}, {"unk", nullptr}}},
      {"src_bos", false}, {"src_eos", o.seq2seq}, {"pad_src", false},
      {"src_key_padding_mask", false}};
  if (o.seq2seq) {
    modules["tgt_embedding"] = "tgt_embedding.weight";
    modules["decoder"] = "decoder";
    tokenizer["tgt_vocab"] = vocab;
  }
  return {{"format", "attnviz-weights"}, {"version", 1},      {"config", config},
          {"modules", modules},          {"tokenizer", tokenizer}, {"tensors", b.tensors},
          {"metadata", {{"task", "test"}}}};
}

std::string source_path(const std::string& relative) {
  return std::string(ATTNVIZ_SOURCE_DIR) + "/" + relative;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace attnviz::testing
