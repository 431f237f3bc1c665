#include "tokenizer.h"

#include <algorithm>
#include <cctype>
#include <unordered_set>

#include "error.h"

namespace attnviz {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Length of the UTF-8 sequence starting at text[i], or 0 if it is malformed: a bad lead or
// continuation byte, an overlong form, a surrogate (U+D800..U+DFFF) or past U+10FFFF.
size_t utf8_length(std::string_view text, size_t i) {
  const unsigned char lead = static_cast<unsigned char>(text[i]);
  size_t length = lead < 0x80 ? 1 : (lead >= 0xC2 && lead <= 0xDF) ? 2 : (lead >> 4) == 0xE ? 3
                : (lead >= 0xF0 && lead <= 0xF4) ? 4 : 0;
  if (length == 0 || i + length > text.size()) return 0;
  for (size_t k = 1; k < length; ++k)
    if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return 0;
  const unsigned char second = length > 1 ? static_cast<unsigned char>(text[i + 1]) : 0;
  if ((lead == 0xE0 && second < 0xA0) || (lead == 0xED && second >= 0xA0) ||
      (lead == 0xF0 && second < 0x90) || (lead == 0xF4 && second >= 0x90))
    return 0;
  return length;
}

// Shows a token in a message, control characters escaped, a long one (a 10,000-character
// word) cut after about 40 bytes at a character boundary.
std::string quoted(const std::string& token) {
  constexpr size_t kShown = 40;
  std::string out = "\"";
  for (size_t i = 0; i < token.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(token[i]);
    if (out.size() > kShown && (c & 0xC0) != 0x80) {
      out += "...";
      break;
    }
    if (c < 0x20 || c == 0x7F) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else if (c == '"') {
      out += "\\\"";
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace

Vocabulary::Vocabulary(const std::vector<std::string>& tokens) : tokens_(tokens) {
  ids_.reserve(tokens_.size());
  for (size_t i = 0; i < tokens_.size(); ++i) ids_.emplace(tokens_[i], static_cast<int>(i));
}

Vocabulary& Vocabulary::operator=(const Vocabulary& other) {
  if (this != &other) *this = Vocabulary(other.tokens_);
  return *this;
}

int Vocabulary::id(std::string_view token) const {
  auto it = ids_.find(token);
  return it == ids_.end() ? -1 : it->second;
}

Tokenizer::Tokenizer(const TokenizerConfig& config, int max_len, bool seq2seq)
    : config_(config), max_len_(max_len), seq2seq_(seq2seq) {
  source_ = Vocabulary(config_.src_vocab);
  if (seq2seq_) target_ = Vocabulary(config_.tgt_vocab);
}

void Tokenizer::split_into(std::string_view text, Encoded& out) const {
  out.normalized.assign(text.data(), text.size());
  out.tokens.clear();
  std::string& t = out.normalized;
  const std::string_view all(t);
  size_t word = std::string::npos;  // where the current word started
  for (size_t i = 0; i < t.size();) {
    const size_t length = utf8_length(all, i);
    if (length == 0)
      throw Error("the text is not valid UTF-8 (at byte " + std::to_string(i) + ")");
    if (config_.lowercase && length == 1) t[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(t[i])));
    if (config_.level == TokenLevel::kChar) {
      out.tokens.push_back(all.substr(i, length));
    } else if (length == 1 && is_space(t[i])) {
      if (word != std::string::npos) out.tokens.push_back(all.substr(word, i - word));
      word = std::string::npos;
    } else if (word == std::string::npos) {
      word = i;
    }
    i += length;
  }
  if (word != std::string::npos) out.tokens.push_back(all.substr(word));
}

std::vector<std::string> Tokenizer::split(std::string_view text) const {
  Encoded encoded;
  split_into(text, encoded);
  return std::vector<std::string>(encoded.tokens.begin(), encoded.tokens.end());
}

void Tokenizer::lookup(const Encoded& out, const Vocabulary& vocab, const char* side,
                       std::vector<int>& ids) const {
  bool missing = false;
  for (const std::string_view token : out.tokens) {
    int id = vocab.id(token);
    if (id < 0 && config_.specials.unk >= 0) id = config_.specials.unk;
    missing |= id < 0;
    ids.push_back(id);
  }
  if (!missing) return;
  std::vector<std::string> unknown;  // in order of first appearance
  std::unordered_set<std::string_view> seen_unknown;
  for (const std::string_view token : out.tokens)
    if (vocab.id(token) < 0 && seen_unknown.insert(token).second) unknown.emplace_back(token);
  std::string list;
  const size_t shown = std::min<size_t>(unknown.size(), 10);
  for (size_t i = 0; i < shown; ++i) list += (i ? ", " : "") + quoted(unknown[i]);
  if (unknown.size() > shown) list += " and " + std::to_string(unknown.size() - shown) + " more";
  throw Error(std::string("the ") + side + " vocabulary has no " + list);
}

void Tokenizer::encode_source(std::string_view text, Encoded& out) const {
  split_into(text, out);
  if (out.tokens.empty()) throw Error("the text has no tokens: type something");
  out.text_tokens = static_cast<int>(out.tokens.size());
  out.truncated = false;
  out.ids.clear();
  if (config_.src_bos) out.ids.push_back(config_.specials.bos);
  // Look every token up before cutting, so the whole text follows the vocabulary's policy.
  lookup(out, source_, "source", out.ids);
  const size_t room = static_cast<size_t>(max_len_ - config_.src_bos - config_.src_eos);
  if (out.ids.size() - config_.src_bos > room) {
    out.ids.resize(room + config_.src_bos);
    out.truncated = true;
  }
  if (config_.src_eos) out.ids.push_back(config_.specials.eos);
  if (config_.pad_src) out.ids.resize(static_cast<size_t>(max_len_), config_.specials.pad);
}

Encoded Tokenizer::encode_source(std::string_view text) const {
  Encoded encoded;
  encode_source(text, encoded);
  return encoded;
}

void Tokenizer::encode_target(std::string_view text, int limit, Encoded& out) const {
  split_into(text, out);
  out.text_tokens = static_cast<int>(out.tokens.size());
  out.truncated = false;
  out.ids.clear();
  lookup(out, target(), "target", out.ids);
  if (out.ids.size() > static_cast<size_t>(limit)) {
    out.ids.resize(static_cast<size_t>(limit));
    out.truncated = true;
  }
}

Encoded Tokenizer::encode_target(std::string_view text, int limit) const {
  Encoded encoded;
  encode_target(text, limit, encoded);
  return encoded;
}

void Tokenizer::decode(const std::vector<int>& ids, std::string& text) const {
  const SpecialTokens& s = config_.specials;
  text.clear();
  for (int id : ids) {
    if (id == s.pad || id == s.bos || id == s.eos || id == s.unk) continue;
    if (config_.level == TokenLevel::kWord && !text.empty()) text += ' ';
    text += target().token(id);
  }
}

std::string Tokenizer::decode(const std::vector<int>& ids) const {
  std::string text;
  decode(ids, text);
  return text;
}

}  // namespace attnviz
