#include "report.h"

#include <charconv>
#include <utility>

namespace attnviz {
namespace {

nlohmann::json nested(const AttentionTrace& trace) {
  nlohmann::json layers = nlohmann::json::array();
  for (int l = 0; l < trace.layers; ++l) {
    if (!trace.recorded(l)) {  // cut by a capture limit
      layers.push_back(nullptr);
      continue;
    }
    nlohmann::json heads = nlohmann::json::array();
    for (int h = 0; h < trace.heads; ++h) {
      nlohmann::json rows = nlohmann::json::array();
      for (int q = 0; q < trace.rows; ++q) {
        const float* row = trace.head(l, h) + size_t(q) * trace.cols;
        rows.push_back(std::vector<float>(row, row + trace.cols));
      }
      heads.push_back(std::move(rows));
    }
    layers.push_back(std::move(heads));
  }
  return layers;
}

// A CSV field: quoted, with inner quotes doubled, so commas and quotes in tokens are safe.
std::string csv_field(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

void write_trace(std::ostream& out, const char* kind, const AttentionTrace& trace,
                 const std::vector<std::string>& query_tokens,
                 const std::vector<std::string>& key_tokens) {
  for (int l = trace.first_layer; l < trace.first_layer + trace.recorded_layers; ++l)
    for (int h = 0; h < trace.heads; ++h)
      for (int q = 0; q < trace.rows; ++q)
        for (int k = 0; k < trace.cols; ++k)
          out << kind << ',' << l << ',' << h << ',' << q << ',' << k << ','
              << csv_field(query_tokens[q]) << ',' << csv_field(key_tokens[k]) << ','
              << trace.at(l, h, q, k) << '\n';
}

const char* name_of(Activation a) { return a == Activation::kGelu ? "gelu" : "relu"; }

const char* name_of(Positional p) {
  switch (p) {
    case Positional::kSinusoidal: return "sinusoidal";
    case Positional::kTable: return "table";
    case Positional::kLearned: return "learned";
    default: return "none";
  }
}

// Appending JSON to a string, for write_result_summary.
void append_int(std::string& out, long long value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

// A JSON string: quotes, backslashes and control characters escaped; other bytes as they are
// (tokens and text are valid UTF-8, checked at load and by the tokenizer).
void append_string(std::string& out, const std::string& text) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  for (const char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
}

template <typename T, typename Append>
void append_array(std::string& out, const std::vector<T>& items, Append append) {
  out += '[';
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    append(out, items[i]);
  }
  out += ']';
}

void append_dimensions(std::string& out, const AttentionTrace& trace) {
  const std::pair<const char*, int> fields[] = {
      {"layers", trace.layers}, {"heads", trace.heads}, {"rows", trace.rows}, {"cols", trace.cols},
      {"first_layer", trace.first_layer}, {"recorded_layers", trace.recorded_layers}};
  char separator = '{';
  for (const auto& [name, value] : fields) {
    out += separator;
    out += '"';
    out += name;
    out += "\":";
    append_int(out, value);
    separator = ',';
  }
  out += '}';
}

// {"encoder_self": dims, ...} for the kinds that are present (traces indexed by AttentionKind).
void append_kinds(std::string& out, const AttentionTrace* const traces[3]) {
  const char* kinds[3] = {"encoder_self", "decoder_self", "cross"};
  out += '{';
  bool first = true;
  for (int k = 0; k < 3; ++k) {
    if (traces[k]->empty()) continue;
    if (!first) out += ',';
    first = false;
    out += '"';
    out += kinds[k];
    out += "\":";
    append_dimensions(out, *traces[k]);
  }
  out += '}';
}

}  // namespace

nlohmann::json result_json(const RunResult& result, bool seq2seq) {
  auto render = nested;
  nlohmann::json out;
  out["src_tokens"] = result.src_tokens;
  out["tgt_tokens"] = result.tgt_tokens;
  out["output"] = result.output;
  out["output_ids"] = result.output_ids;
  if (!seq2seq) out["next_ids"] = result.next_ids;
  out["notices"] = result.notices;
  nlohmann::json attention = nlohmann::json::object();
  if (!result.encoder_self.empty()) attention["encoder_self"] = render(result.encoder_self);
  if (!result.decoder_self.empty()) attention["decoder_self"] = render(result.decoder_self);
  if (!result.cross.empty()) attention["cross"] = render(result.cross);
  out["attention"] = std::move(attention);
  const char* kinds[3] = {"encoder_self", "decoder_self", "cross"};
  for (int k = 0; k < 3; ++k) {
    if (!result.scores[k].empty()) out["scores"][kinds[k]] = render(result.scores[k]);
    if (!result.value_norms[k].empty()) out["value_norms"][kinds[k]] = render(result.value_norms[k]);
  }
  return out;
}

void write_result_summary(const RunResult& result, bool seq2seq, std::string& out) {
  const auto ints = [](std::string& o, int v) { append_int(o, v); };
  out.clear();
  out += "{\"src_tokens\":";
  append_array(out, result.src_tokens, append_string);
  out += ",\"tgt_tokens\":";
  append_array(out, result.tgt_tokens, append_string);
  out += ",\"output\":";
  append_string(out, result.output);
  out += ",\"output_ids\":";
  append_array(out, result.output_ids, ints);
  if (!seq2seq) {
    out += ",\"next_ids\":";
    append_array(out, result.next_ids, ints);
  }
  out += ",\"notices\":";
  append_array(out, result.notices, append_string);
  const AttentionTrace* const attention[3] = {&result.encoder_self, &result.decoder_self, &result.cross};
  out += ",\"attention\":";
  append_kinds(out, attention);
  const AttentionTrace* const scores[3] = {&result.scores[0], &result.scores[1], &result.scores[2]};
  const AttentionTrace* const norms[3] = {&result.value_norms[0], &result.value_norms[1], &result.value_norms[2]};
  const auto any = [](const AttentionTrace* const t[3]) { return !t[0]->empty() || !t[1]->empty() || !t[2]->empty(); };
  if (any(scores)) {
    out += ",\"scores\":";
    append_kinds(out, scores);
  }
  if (any(norms)) {
    out += ",\"value_norms\":";
    append_kinds(out, norms);
  }
  out += '}';
}

void write_csv(std::ostream& out, const RunResult& result) {
  out.precision(9);
  out << "kind,layer,head,query,key,query_token,key_token,weight\n";
  write_trace(out, "encoder_self", result.encoder_self, result.src_tokens, result.src_tokens);
  write_trace(out, "decoder_self", result.decoder_self, result.tgt_tokens, result.tgt_tokens);
  write_trace(out, "cross", result.cross, result.tgt_tokens, result.src_tokens);
}

nlohmann::json model_info_json(const Model& model) {
  const Config& c = model.config;
  const TokenizerConfig& t = model.tokenizer;
  nlohmann::json config = {
      {"architecture", c.is_seq2seq() ? "seq2seq" : "causal_lm"},
      {"d_model", c.d_model},
      {"nhead", c.nhead},
      {"num_encoder_layers", c.num_encoder_layers},
      {"num_decoder_layers", c.num_decoder_layers},
      {"dim_feedforward", c.dim_feedforward},
      {"activation", name_of(c.activation)},
      {"norm_first", c.norm_first},
      {"layer_norm_eps", c.layer_norm_eps},
      {"encoder_norm", c.encoder_norm},
      {"decoder_norm", c.decoder_norm},
      {"causal", c.causal},
      {"embed_scale", c.embed_scale},
      {"positional", name_of(c.positional)},
      {"max_len", c.max_len},
      {"max_output_len", c.max_output_len},
  };
  auto special = [](int id) { return id < 0 ? nlohmann::json(nullptr) : nlohmann::json(id); };
  nlohmann::json tokenizer = {
      {"level", t.level == TokenLevel::kWord ? "word" : "char"},
      {"lowercase", t.lowercase},
      {"src_vocab", t.src_vocab},
      {"specials",
       {{"pad", special(t.specials.pad)}, {"bos", special(t.specials.bos)},
        {"eos", special(t.specials.eos)}, {"unk", special(t.specials.unk)}}},
      {"src_bos", t.src_bos},
      {"src_eos", t.src_eos},
      {"pad_src", t.pad_src},
      {"src_key_padding_mask", t.src_key_padding_mask},
  };
  if (c.is_seq2seq()) tokenizer["tgt_vocab"] = t.tgt_vocab;
  return {{"config", config},
          {"parameters", model.parameter_count()},
          {"tokenizer", tokenizer},
          {"metadata", nlohmann::json::parse(model.metadata_json)}};
}

}  // namespace attnviz
