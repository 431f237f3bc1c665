#include "weights_loader.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <unordered_map>

#include "base64.h"
#include "json_strict.h"
#include "ops.h"

namespace attnviz {
namespace {

using nlohmann::json;

// ---- reading typed fields, each error naming "section.key" ----

const json& require(const json& object, const std::string& section, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) throw Error(section + ": missing \"" + key + "\"");
  return *it;
}

const json& require_object(const json& parent, const std::string& section, const char* key) {
  const json& value = require(parent, section, key);
  if (!value.is_object()) throw Error(section + "." + key + " must be an object");
  return value;
}

void reject_unknown_keys(const json& object, const std::string& section,
                         const std::set<std::string>& known) {
  for (auto it = object.begin(); it != object.end(); ++it)
    if (!known.count(it.key())) throw Error(section + ": unknown key \"" + it.key() + "\"");
}

int read_int(const json& object, const std::string& section, const char* key, int low, int high,
             const int* fallback = nullptr) {
  if (fallback && !object.contains(key)) return *fallback;
  const json& value = require(object, section, key);
  const std::string name = section + "." + key;
  if (!value.is_number_integer()) throw Error(name + " must be an integer");
  const long long v = value.get<long long>();
  if (value.is_number_unsigned() && value.get<unsigned long long>() > (1ull << 62))
    throw Error(name + " = " + value.dump() + " is out of range [" + std::to_string(low) + ", " +
                std::to_string(high) + "]");
  if (v < low || v > high)
    throw Error(name + " = " + std::to_string(v) + " is out of range [" + std::to_string(low) +
                ", " + std::to_string(high) + "]");
  return static_cast<int>(v);
}

bool read_bool(const json& object, const std::string& section, const char* key, bool fallback) {
  if (!object.contains(key)) return fallback;
  const json& value = object.at(key);
  if (!value.is_boolean()) throw Error(section + "." + key + " must be true or false");
  return value.get<bool>();
}

double read_number(const json& object, const std::string& section, const char* key, double fallback) {
  if (!object.contains(key)) return fallback;
  const json& value = object.at(key);
  if (!value.is_number()) throw Error(section + "." + key + " must be a number");
  const double v = value.get<double>();
  if (!std::isfinite(v)) throw Error(section + "." + key + " must be finite");
  return v;
}

std::string read_string(const json& object, const std::string& section, const char* key) {
  const json& value = require(object, section, key);
  if (!value.is_string()) throw Error(section + "." + key + " must be a string");
  return value.get<std::string>();
}

template <typename Enum>
Enum read_choice(const json& object, const std::string& section, const char* key,
                 const std::map<std::string, Enum>& choices, const Enum* fallback = nullptr) {
  if (fallback && !object.contains(key)) return *fallback;
  const std::string value = read_string(object, section, key);
  auto it = choices.find(value);
  if (it != choices.end()) return it->second;
  std::string names;
  for (const auto& choice : choices) names += (names.empty() ? "\"" : ", \"") + choice.first + "\"";
  throw Error(section + "." + key + " = \"" + value + "\" is not one of " + names);
}

// ---- config, tokenizer, modules ----

Config read_config(const json& root, const LoadLimits& limits) {
  const json& c = require_object(root, "file", "config");
  const std::string s = "config";
  reject_unknown_keys(c, s,
                      {"architecture", "d_model", "nhead", "num_encoder_layers",
                       "num_decoder_layers", "dim_feedforward", "activation", "norm_first",
                       "layer_norm_eps", "encoder_norm", "decoder_norm", "causal", "embed_scale",
                       "positional", "max_len", "max_output_len", "output_bias"});
  Config config;
  config.architecture = read_choice<Architecture>(
      c, s, "architecture",
      {{"seq2seq", Architecture::kSeq2Seq}, {"causal_lm", Architecture::kCausalLm}});
  config.d_model = read_int(c, s, "d_model", 1, limits.max_d_model);
  config.nhead = read_int(c, s, "nhead", 1, limits.max_nhead);
  if (config.d_model % config.nhead != 0)
    throw Error("config: d_model " + std::to_string(config.d_model) +
                " is not divisible by nhead " + std::to_string(config.nhead));
  config.num_encoder_layers = read_int(c, s, "num_encoder_layers", 1, limits.max_layers);
  if (config.is_seq2seq()) {
    config.num_decoder_layers = read_int(c, s, "num_decoder_layers", 1, limits.max_layers);
  } else {
    const int zero = 0;
    config.num_decoder_layers = read_int(c, s, "num_decoder_layers", 0, 0, &zero);
  }
  config.dim_feedforward = read_int(c, s, "dim_feedforward", 1, limits.max_feedforward);
  const Activation relu = Activation::kRelu;
  config.activation = read_choice<Activation>(
      c, s, "activation", {{"relu", Activation::kRelu}, {"gelu", Activation::kGelu}}, &relu);
  config.norm_first = read_bool(c, s, "norm_first", false);
  config.layer_norm_eps = read_number(c, s, "layer_norm_eps", 1e-5);
  if (!(config.layer_norm_eps > 0.0 && config.layer_norm_eps < 1.0))
    throw Error("config.layer_norm_eps must be in (0, 1)");
  config.encoder_norm = read_bool(c, s, "encoder_norm", false);
  config.decoder_norm = read_bool(c, s, "decoder_norm", false);
  if (config.decoder_norm && !config.is_seq2seq())
    throw Error("config.decoder_norm: a causal_lm has no decoder");
  config.causal = read_bool(c, s, "causal", !config.is_seq2seq());
  config.embed_scale = read_number(c, s, "embed_scale", 1.0);
  config.positional = read_choice<Positional>(c, s, "positional",
                                              {{"none", Positional::kNone},
                                               {"sinusoidal", Positional::kSinusoidal},
                                               {"table", Positional::kTable},
                                               {"learned", Positional::kLearned}});
  config.max_len = read_int(c, s, "max_len", 1, limits.max_len);
  config.max_output_len = read_int(c, s, "max_output_len", 1, config.max_len, &config.max_len);
  config.output_bias = read_bool(c, s, "output_bias", true);
  const unsigned long long attention = 1ull * config.nhead * config.max_len * config.max_len *
                                       (config.num_encoder_layers + 2ull * config.num_decoder_layers);
  if (attention > limits.max_attention_floats)
    throw Error("config: a run's attention (nhead x max_len^2 per encoder layer, twice per decoder "
                "layer) needs " + std::to_string(attention) + " floats (" +
                std::to_string(attention * 4 >> 20) + " MiB), over the limit of " +
                std::to_string(limits.max_attention_floats * 4 >> 20) + " MiB");
  return config;
}

std::vector<std::string> read_vocab(const json& t, const char* key, const LoadLimits& limits) {
  const json& value = require(t, "tokenizer", key);
  const std::string name = std::string("tokenizer.") + key;
  if (!value.is_array()) throw Error(name + " must be an array of strings");
  if (value.empty() || value.size() > static_cast<size_t>(limits.max_vocab))
    throw Error(name + " has " + std::to_string(value.size()) + " tokens; allowed 1 to " +
                std::to_string(limits.max_vocab));
  std::vector<std::string> vocab;
  vocab.reserve(value.size());
  std::unordered_map<std::string, size_t> seen;
  for (const json& token : value) {
    if (!token.is_string())
      throw Error(name + "[" + std::to_string(vocab.size()) + "] must be a string");
    const std::string& text = token.get_ref<const std::string&>();
    auto [it, fresh] = seen.emplace(text, vocab.size());
    if (!fresh)
      throw Error(name + " lists \"" + text + "\" twice (ids " + std::to_string(it->second) +
                  " and " + std::to_string(vocab.size()) + ")");
    vocab.push_back(text);
  }
  return vocab;
}

int read_special(const json& specials, const char* key, size_t vocab_size) {
  if (!specials.contains(key) || specials.at(key).is_null()) return -1;
  const json& value = specials.at(key);
  const std::string name = std::string("tokenizer.specials.") + key;
  if (!value.is_number_integer()) throw Error(name + " must be an integer id or null");
  const long long id = value.get<long long>();
  if (id < 0 || static_cast<unsigned long long>(id) >= vocab_size ||
      (value.is_number_unsigned() && value.get<unsigned long long>() >= vocab_size))
    throw Error(name + " = " + value.dump() + " is out of range: the vocabulary has " +
                std::to_string(vocab_size) + " tokens");
  return static_cast<int>(id);
}

TokenizerConfig read_tokenizer(const json& root, const Config& config, const LoadLimits& limits) {
  const json& t = require_object(root, "file", "tokenizer");
  const std::string s = "tokenizer";
  reject_unknown_keys(t, s,
                      {"level", "lowercase", "src_vocab", "tgt_vocab", "specials", "src_bos",
                       "src_eos", "pad_src", "src_key_padding_mask"});
  TokenizerConfig tok;
  tok.level = read_choice<TokenLevel>(t, s, "level",
                                      {{"char", TokenLevel::kChar}, {"word", TokenLevel::kWord}});
  tok.lowercase = read_bool(t, s, "lowercase", false);
  tok.src_vocab = read_vocab(t, "src_vocab", limits);
  if (config.is_seq2seq()) {
    tok.tgt_vocab = read_vocab(t, "tgt_vocab", limits);
  } else if (t.contains("tgt_vocab")) {
    throw Error("tokenizer.tgt_vocab: a causal_lm has one vocabulary, src_vocab");
  }
  const size_t smallest = config.is_seq2seq() ? std::min(tok.src_vocab.size(), tok.tgt_vocab.size())
                                              : tok.src_vocab.size();
  const json& specials = require_object(t, s, "specials");
  reject_unknown_keys(specials, "tokenizer.specials", {"pad", "bos", "eos", "unk"});
  tok.specials.pad = read_special(specials, "pad", smallest);
  tok.specials.bos = read_special(specials, "bos", smallest);
  tok.specials.eos = read_special(specials, "eos", smallest);
  tok.specials.unk = read_special(specials, "unk", smallest);
  tok.src_bos = read_bool(t, s, "src_bos", false);
  tok.src_eos = read_bool(t, s, "src_eos", false);
  tok.pad_src = read_bool(t, s, "pad_src", false);
  tok.src_key_padding_mask = read_bool(t, s, "src_key_padding_mask", false);
  if (config.is_seq2seq() && tok.specials.bos < 0)
    throw Error("tokenizer.specials.bos: a seq2seq model needs a start token");
  if (tok.src_bos && tok.specials.bos < 0) throw Error("tokenizer.src_bos needs specials.bos");
  if (tok.src_eos && tok.specials.eos < 0) throw Error("tokenizer.src_eos needs specials.eos");
  if (tok.pad_src && tok.specials.pad < 0) throw Error("tokenizer.pad_src needs specials.pad");
  if (tok.src_key_padding_mask && !tok.pad_src)
    throw Error("tokenizer.src_key_padding_mask needs pad_src");
  if (tok.src_key_padding_mask && config.causal)
    throw Error("tokenizer.src_key_padding_mask cannot be combined with a causal mask");
  const int specials_in_source = int(tok.src_bos) + int(tok.src_eos);
  if (config.max_len <= specials_in_source)
    throw Error("config.max_len " + std::to_string(config.max_len) +
                " leaves no room for text besides the source's special tokens");
  return tok;
}

struct ModuleNames {
  std::string src_embedding, tgt_embedding, positional, encoder, decoder, output;
};

ModuleNames read_modules(const json& root, const Config& config) {
  const json& m = require_object(root, "file", "modules");
  const std::string s = "modules";
  reject_unknown_keys(m, s,
                      {"src_embedding", "tgt_embedding", "positional", "encoder", "decoder",
                       "output"});
  ModuleNames names;
  names.src_embedding = read_string(m, s, "src_embedding");
  names.encoder = read_string(m, s, "encoder");
  names.output = read_string(m, s, "output");
  if (config.is_seq2seq()) {
    names.tgt_embedding = read_string(m, s, "tgt_embedding");
    names.decoder = read_string(m, s, "decoder");
  }
  const bool stored = config.positional == Positional::kTable ||
                      config.positional == Positional::kLearned;
  if (stored) names.positional = read_string(m, s, "positional");
  for (const char* key : {"tgt_embedding", "decoder"})
    if (!config.is_seq2seq() && m.contains(key))
      throw Error(std::string("modules.") + key + ": a causal_lm has no such module");
  if (!stored && m.contains("positional"))
    throw Error("modules.positional: config.positional stores no tensor");
  return names;
}

// ---- tensors ----

using Shape = std::vector<long long>;

std::string shape_text(const Shape& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// A tensor the configuration implies, and the view it will fill.
struct ExpectedTensor {
  std::string name;
  Shape shape;
  TensorView* view;              // a tensor kept as the file has it, or
  PackedMatrix* packed;          // a linear weight (out, in): `blocks` packed input-major blocks
  int blocks;                    // of out / blocks rows each (in_proj_weight: q, k, v)
  bool allow_unit_dims = false;  // a positional buffer such as (1, max_len, d_model)
  const char* vocab = nullptr;   // the tokenizer list whose size is this tensor's row count

  // Floats the tensor takes in the model's storage.
  unsigned long long stored_size() const {
    unsigned long long count = 1;
    for (long long dim : shape) count *= static_cast<unsigned long long>(dim);
    if (!packed) return count;
    const int in = static_cast<int>(shape[1]), out = static_cast<int>(shape[0]) / blocks;
    return 1ull * blocks * packed_size(in, out);
  }
};

// "<prefix>.<rest>", or just rest for an empty prefix (a model that is the stack itself).
std::string join(const std::string& prefix, const std::string& rest) {
  return prefix.empty() ? rest : prefix + "." + rest;
}

class TensorPlan {
 public:
  void add(std::string name, Shape shape, TensorView* view, const char* vocab = nullptr) {
    tensors_.push_back({std::move(name), std::move(shape), view, nullptr, 0, false, vocab});
  }
  void add_packed(std::string name, Shape shape, PackedMatrix* blocks, int count) {
    tensors_.push_back({std::move(name), std::move(shape), nullptr, blocks, count});
  }
  void add_linear(const std::string& prefix, long long out, long long in, Linear* linear,
                  bool bias = true) {
    add_packed(join(prefix, "weight"), {out, in}, &linear->weight, 1);
    if (bias) add(join(prefix, "bias"), {out}, &linear->bias);
  }
  void add_norm(const std::string& prefix, long long d, LayerNormWeights* norm) {
    add(join(prefix, "weight"), {d}, &norm->weight);
    add(join(prefix, "bias"), {d}, &norm->bias);
  }
  void add_attention(const std::string& prefix, long long d, AttentionWeights* attention) {
    add_packed(join(prefix, "in_proj_weight"), {3 * d, d}, attention->in_proj_weight, 3);
    add(join(prefix, "in_proj_bias"), {3 * d}, &attention->in_proj_bias);
    add_linear(join(prefix, "out_proj"), d, d, &attention->out_proj);
  }
  std::vector<ExpectedTensor>& tensors() { return tensors_; }

 private:
  std::vector<ExpectedTensor> tensors_;
};

void plan_tensors(const ModuleNames& names, Model& model, TensorPlan& plan) {
  const Config& c = model.config;
  const long long d = c.d_model, ff = c.dim_feedforward;
  const auto& tok = model.tokenizer;
  plan.add(names.src_embedding, {(long long)tok.src_vocab.size(), d}, &model.src_embedding,
           "src_vocab");
  if (c.is_seq2seq())
    plan.add(names.tgt_embedding, {(long long)tok.tgt_vocab.size(), d}, &model.tgt_embedding,
             "tgt_vocab");
  if (!names.positional.empty()) {
    plan.add(names.positional, {c.max_len, d}, &model.positions);
    plan.tensors().back().allow_unit_dims = c.positional == Positional::kTable;
  }
  model.encoder.resize(c.num_encoder_layers);
  for (int i = 0; i < c.num_encoder_layers; ++i) {
    const std::string p = join(names.encoder, "layers." + std::to_string(i));
    EncoderLayer& layer = model.encoder[i];
    plan.add_attention(p + ".self_attn", d, &layer.self_attn);
    plan.add_linear(p + ".linear1", ff, d, &layer.linear1);
    plan.add_linear(p + ".linear2", d, ff, &layer.linear2);
    plan.add_norm(p + ".norm1", d, &layer.norm1);
    plan.add_norm(p + ".norm2", d, &layer.norm2);
  }
  if (c.encoder_norm) plan.add_norm(join(names.encoder, "norm"), d, &model.encoder_norm);
  model.decoder.resize(c.num_decoder_layers);
  for (int i = 0; i < c.num_decoder_layers; ++i) {
    const std::string p = join(names.decoder, "layers." + std::to_string(i));
    DecoderLayer& layer = model.decoder[i];
    plan.add_attention(p + ".self_attn", d, &layer.self_attn);
    plan.add_attention(p + ".multihead_attn", d, &layer.multihead_attn);
    plan.add_linear(p + ".linear1", ff, d, &layer.linear1);
    plan.add_linear(p + ".linear2", d, ff, &layer.linear2);
    plan.add_norm(p + ".norm1", d, &layer.norm1);
    plan.add_norm(p + ".norm2", d, &layer.norm2);
    plan.add_norm(p + ".norm3", d, &layer.norm3);
  }
  if (c.decoder_norm) plan.add_norm(join(names.decoder, "norm"), d, &model.decoder_norm);
  const long long vocab = (long long)model.output_vocab().size();
  const size_t first_output = plan.tensors().size();
  plan.add_linear(names.output, vocab, d, &model.output, c.output_bias);
  for (size_t i = first_output; i < plan.tensors().size(); ++i)
    plan.tensors()[i].vocab = c.is_seq2seq() ? "tgt_vocab" : "src_vocab";
}

Shape read_shape(const json& entry, const std::string& name) {
  const json& value = require(entry, "tensor \"" + name + "\"", "shape");
  if (!value.is_array() || value.size() > 8)
    throw Error("tensor \"" + name + "\": shape must be an array of at most 8 sizes");
  Shape shape;
  for (const json& dim : value) {
    if (!dim.is_number_integer() || dim.get<long long>() < 0 ||
        (dim.is_number_unsigned() && dim.get<unsigned long long>() > (1ull << 40)))
      throw Error("tensor \"" + name + "\": shape " + value.dump() + " is not a list of sizes");
    shape.push_back(dim.get<long long>());
  }
  return shape;
}

Shape without_unit_dims(const Shape& shape) {
  Shape squeezed;
  for (long long dim : shape)
    if (dim != 1) squeezed.push_back(dim);
  return squeezed;
}

void check_shape(const ExpectedTensor& expected, const Shape& got, const TokenizerConfig& tok) {
  if (got == expected.shape) return;
  if (expected.allow_unit_dims && without_unit_dims(got) == without_unit_dims(expected.shape))
    return;
  if (expected.vocab && got.size() == expected.shape.size() && !got.empty() &&
      got[0] != expected.shape[0] &&
      std::equal(got.begin() + 1, got.end(), expected.shape.begin() + 1)) {
    const size_t size = std::string(expected.vocab) == "tgt_vocab" ? tok.tgt_vocab.size()
                                                                   : tok.src_vocab.size();
    throw Error("vocabulary and tensor disagree: tokenizer." + std::string(expected.vocab) +
                " has " + std::to_string(size) + " tokens but \"" + expected.name + "\" has " +
                std::to_string(got[0]) + " rows");
  }
  throw Error("tensor \"" + expected.name + "\": expected shape " + shape_text(expected.shape) +
              ", got " + shape_text(got));
}

// The data's size against the shape, so nothing is allocated for data that is not there.
void check_data_size(const StrictJson& doc, const json& entry, const std::string& name,
                     size_t count) {
  const json& data = require(entry, "tensor \"" + name + "\"", "data");
  if (data.is_string()) {
    const std::string_view text = doc.string_value(data);
    const long long bytes = base64_decoded_size(text);
    if (bytes < 0)
      throw Error("tensor \"" + name + "\": data is not base64 (its length " +
                  std::to_string(text.size()) + " is not a multiple of 4)");
    if (static_cast<unsigned long long>(bytes) != count * 4ull)
      throw Error("tensor \"" + name + "\": data holds " + std::to_string(bytes) +
                  " bytes, its shape needs " + std::to_string(count * 4ull) +
                  " (4 bytes per float32)");
  } else if (data.is_array()) {
    if (data.size() != count)
      throw Error("tensor \"" + name + "\": data has " + std::to_string(data.size()) +
                  " numbers, its shape needs " + std::to_string(count));
  } else {
    throw Error("tensor \"" + name + "\": data must be a base64 string or an array of numbers");
  }
}

void decode_values(const StrictJson& doc, const json& entry, const std::string& name,
                   size_t count, float* out) {
  check_data_size(doc, entry, name, count);
  const json& data = entry.at("data");
  if (data.is_string()) {
    const std::string_view text = doc.string_value(data);
    // The bytes are little-endian float32: decode straight into place, and swap on a
    // big-endian host.
    auto* bytes = reinterpret_cast<uint8_t*>(out);
    if (!base64_decode(text, bytes))
      throw Error("tensor \"" + name + "\": data has a character outside the base64 alphabet");
    const uint32_t probe = 1;
    if (*reinterpret_cast<const uint8_t*>(&probe) != 1)
      for (size_t i = 0; i < count; ++i) std::reverse(bytes + 4 * i, bytes + 4 * i + 4);
  } else {
    for (size_t i = 0; i < count; ++i) {
      if (!data[i].is_number())
        throw Error("tensor \"" + name + "\": data[" + std::to_string(i) + "] is not a number");
      out[i] = data[i].get<float>();
    }
  }
  for (size_t i = 0; i < count; ++i)
    if (!std::isfinite(out[i]))
      throw Error("tensor \"" + name + "\": value " + std::to_string(i) + " is " +
                  (std::isnan(out[i]) ? "NaN" : "infinite"));
}

// PyTorch's tutorial PositionalEncoding, computed in float32 as it does.
void fill_sinusoidal(float* table, int max_len, int d_model) {
  const float rate = static_cast<float>(-std::log(10000.0) / d_model);
  for (int pos = 0; pos < max_len; ++pos)
    for (int i = 0; i < d_model; i += 2) {
      const float angle = static_cast<float>(pos) * std::exp(static_cast<float>(i) * rate);
      table[pos * d_model + i] = std::sin(angle);
      if (i + 1 < d_model) table[pos * d_model + i + 1] = std::cos(angle);
    }
}

void load_tensors(const StrictJson& doc, const ModuleNames& names, Model& model,
                  const LoadLimits& limits) {
  const json& root = doc.root;
  TensorPlan plan;
  plan_tensors(names, model, plan);
  auto& expected = plan.tensors();

  // Every size is known now: cap the total before allocating anything.
  unsigned long long total = 0;
  for (const auto& t : expected) total += t.stored_size();
  const bool computed = model.config.positional == Positional::kSinusoidal;
  if (computed) total += 1ull * model.config.max_len * model.config.d_model;
  if (total > limits.max_total_floats)
    throw Error("the configuration needs " + std::to_string(total) + " floats (" +
                std::to_string(total * 4 >> 20) + " MiB), over the limit of " +
                std::to_string(limits.max_total_floats * 4 >> 20) + " MiB");

  const json& tensors = require_object(root, "file", "tensors");
  std::set<std::string> wanted;
  for (const auto& t : expected) wanted.insert(t.name);
  for (auto it = tensors.begin(); it != tensors.end(); ++it)
    if (!wanted.count(it.key())) throw Error("unknown tensor \"" + it.key() + "\"");
  for (const auto& t : expected) {
    auto it = tensors.find(t.name);
    if (it == tensors.end()) throw Error("missing tensor \"" + t.name + "\"");
    if (!it->is_object()) throw Error("tensor \"" + t.name + "\" must be an object");
    reject_unknown_keys(*it, "tensor \"" + t.name + "\"", {"shape", "dtype", "data"});
    const std::string dtype = it->contains("dtype") ? read_string(*it, "tensor \"" + t.name + "\"", "dtype")
                                                    : "float32";
    if (dtype != "float32")
      throw Error("tensor \"" + t.name + "\": dtype \"" + dtype + "\" is not float32");
    check_shape(t, read_shape(*it, t.name), model.tokenizer);
    unsigned long long count = 1;
    for (long long dim : t.shape) count *= static_cast<unsigned long long>(dim);
    check_data_size(doc, *it, t.name, static_cast<size_t>(count));
  }

  model.storage.assign(static_cast<size_t>(total), 0.0f);
  float* next = model.storage.data();
  std::vector<float> scratch;
  for (auto& t : expected) {
    const int cols = static_cast<int>(t.shape.back());
    const int rows = t.shape.size() == 2 ? static_cast<int>(t.shape[0]) : 1;
    const size_t count = size_t(rows) * cols;
    if (!t.packed) {
      decode_values(doc, tensors.at(t.name), t.name, count, next);
      *t.view = TensorView{next, rows, cols};
      next += count;
    } else {
      // Each block of PyTorch's (out, in) rows becomes a packed input-major [in x out] matrix.
      scratch.resize(count);
      decode_values(doc, tensors.at(t.name), t.name, count, scratch.data());
      const int out = rows / t.blocks;
      for (int b = 0; b < t.blocks; ++b) {
        t.packed[b] = pack(scratch.data() + size_t(b) * out * cols, cols, out, 1, size_t(cols), next);
        next += packed_size(cols, out);
      }
    }
    model.stored_parameters += count;
  }
  if (computed) {
    fill_sinusoidal(next, model.config.max_len, model.config.d_model);
    model.positions = TensorView{next, model.config.max_len, model.config.d_model};
  }
}

// A message quotes what the file holds (a key, a token, a format name): one line of at most
// kMaxMessage bytes, however long that is, cut at a UTF-8 boundary.
std::string clipped(std::string message) {
  constexpr size_t kMaxMessage = 400;
  if (message.size() <= kMaxMessage) return message;
  size_t cut = kMaxMessage;
  while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;
  message.resize(cut);
  return message + "...";
}

}  // namespace

Status load_model(std::string_view json_text, Model& model, const LoadLimits& limits) {
  try {
    if (json_text.size() > limits.max_file_bytes)
      throw Error("the file is " + std::to_string(json_text.size()) + " bytes (" +
                  std::to_string((json_text.size() + (1ull << 20) - 1) >> 20) +
                  " MiB), over the limit of " + std::to_string(limits.max_file_bytes >> 20) +
                  " MiB for a weights file");
    const StrictJson doc = parse_json_strict(json_text, limits.max_json_memory);
    const json& root = doc.root;
    if (!root.is_object()) throw Error("the file must hold a JSON object");
    reject_unknown_keys(root, "file",
                        {"format", "version", "config", "modules", "tokenizer", "tensors",
                         "metadata"});
    if (!root.contains("format") || root["format"] != kFormatName)
      throw Error(std::string("not an attnviz weights file: \"format\" must be \"") +
                  kFormatName + "\"" +
                  (root.contains("format") ? ", got " + root["format"].dump() : ""));
    if (!root.contains("version") || root["version"] != kFormatVersion)
      throw Error("unsupported format version " +
                  (root.contains("version") ? root["version"].dump() : std::string("(none)")) +
                  ": this build reads version " + std::to_string(kFormatVersion));
    Model loaded;
    loaded.config = read_config(root, limits);
    loaded.tokenizer = read_tokenizer(root, loaded.config, limits);
    const ModuleNames names = read_modules(root, loaded.config);
    load_tensors(doc, names, loaded, limits);
    if (root.contains("metadata")) {
      if (!root["metadata"].is_object()) throw Error("metadata must be an object");
      loaded.metadata_json = root["metadata"].dump();
    } else {
      loaded.metadata_json = "{}";
    }
    model = std::move(loaded);
    return Status::success();
  } catch (const Error& e) {
    return Status::failure(clipped(e.what()));
  } catch (const std::bad_alloc&) {
    return Status::failure("out of memory while loading the weights");
  } catch (const std::exception& e) {
    return Status::failure(clipped(std::string("cannot read the weights: ") + e.what()));
  }
}

}  // namespace attnviz
