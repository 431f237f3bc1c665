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
  ids_.reserve(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) ids_.emplace(tokens[i], static_cast<int>(i));
}

int Vocabulary::id(const std::string& token) const {
  auto it = ids_.find(token);
  return it == ids_.end() ? -1 : it->second;
}

Tokenizer::Tokenizer(const TokenizerConfig& config, int max_len, bool seq2seq)
    : config_(config), max_len_(max_len), seq2seq_(seq2seq) {
  source_ = Vocabulary(config_.src_vocab);
  if (seq2seq_) target_ = Vocabulary(config_.tgt_vocab);
}

std::vector<std::string> Tokenizer::split(std::string_view text) const {
  std::vector<std::string> tokens;
  std::string word;
  for (size_t i = 0; i < text.size();) {
    const size_t length = utf8_length(text, i);
    if (length == 0)
      throw Error("the text is not valid UTF-8 (at byte " + std::to_string(i) + ")");
    std::string piece(text.substr(i, length));
    if (config_.lowercase && length == 1) piece[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(piece[0])));
    i += length;
    if (config_.level == TokenLevel::kChar) {
      tokens.push_back(std::move(piece));
    } else if (length == 1 && is_space(piece[0])) {
      if (!word.empty()) tokens.push_back(std::move(word));
      word.clear();
    } else {
      word += piece;
    }
  }
  if (!word.empty()) tokens.push_back(std::move(word));
  return tokens;
}

std::vector<int> Tokenizer::lookup(const std::vector<std::string>& tokens, const Vocabulary& vocab,
                                   const char* side) const {
  std::vector<int> ids;
  ids.reserve(tokens.size());
  std::vector<std::string> unknown;          // in order of first appearance
  std::unordered_set<std::string> seen_unknown;
  for (const std::string& token : tokens) {
    int id = vocab.id(token);
    if (id < 0 && config_.specials.unk >= 0) id = config_.specials.unk;
    if (id < 0 && seen_unknown.insert(token).second) unknown.push_back(token);
    ids.push_back(id);
  }
  if (!unknown.empty()) {
    std::string list;
    const size_t shown = std::min<size_t>(unknown.size(), 10);
    for (size_t i = 0; i < shown; ++i) list += (i ? ", " : "") + quoted(unknown[i]);
    if (unknown.size() > shown) list += " and " + std::to_string(unknown.size() - shown) + " more";
    throw Error(std::string("the ") + side + " vocabulary has no " + list);
  }
  return ids;
}

Encoded Tokenizer::encode_source(std::string_view text) const {
  std::vector<std::string> tokens = split(text);
  if (tokens.empty()) throw Error("the text has no tokens: type something");
  Encoded encoded;
  encoded.text_tokens = static_cast<int>(tokens.size());
  // Look every token up before cutting, so the whole text follows the vocabulary's policy.
  std::vector<int> ids = lookup(tokens, source_, "source");
  const size_t room = static_cast<size_t>(max_len_ - config_.src_bos - config_.src_eos);
  if (ids.size() > room) {
    ids.resize(room);
    encoded.truncated = true;
  }
  if (config_.src_bos) encoded.ids.push_back(config_.specials.bos);
  encoded.ids.insert(encoded.ids.end(), ids.begin(), ids.end());
  if (config_.src_eos) encoded.ids.push_back(config_.specials.eos);
  if (config_.pad_src) encoded.ids.resize(static_cast<size_t>(max_len_), config_.specials.pad);
  return encoded;
}

Encoded Tokenizer::encode_target(std::string_view text, int limit) const {
  std::vector<std::string> tokens = split(text);
  Encoded encoded;
  encoded.text_tokens = static_cast<int>(tokens.size());
  encoded.ids = lookup(tokens, target(), "target");
  if (encoded.ids.size() > static_cast<size_t>(limit)) {
    encoded.ids.resize(static_cast<size_t>(limit));
    encoded.truncated = true;
  }
  return encoded;
}

std::string Tokenizer::decode(const std::vector<int>& ids) const {
  const SpecialTokens& s = config_.specials;
  std::string text;
  for (int id : ids) {
    if (id == s.pad || id == s.bos || id == s.eos || id == s.unk) continue;
    if (config_.level == TokenLevel::kWord && !text.empty()) text += ' ';
    text += target().token(id);
  }
  return text;
}

}  // namespace attnviz
