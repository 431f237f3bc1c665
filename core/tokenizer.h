// Text to token ids and back, following the conventions recorded in the weights file
// (docs/weights-format.md, "Input conventions").
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config.h"

namespace attnviz {

// One vocabulary: id -> token text and back. Lookups take a string_view, so looking up a
// piece of the text copies nothing.
class Vocabulary {
 public:
  Vocabulary() = default;
  explicit Vocabulary(const std::vector<std::string>& tokens);
  Vocabulary(const Vocabulary& other) : Vocabulary(other.tokens_) {}
  Vocabulary& operator=(const Vocabulary& other);
  Vocabulary(Vocabulary&&) = default;  // moving keeps the strings where ids_ points
  Vocabulary& operator=(Vocabulary&&) = default;
  int id(std::string_view token) const;  // -1 if absent
  const std::string& token(int id) const { return tokens_[id]; }
  int size() const { return static_cast<int>(tokens_.size()); }

 private:
  std::vector<std::string> tokens_;
  std::unordered_map<std::string_view, int> ids_;  // views of tokens_
};

struct Encoded {
  std::vector<int> ids;
  bool truncated = false;   // the text had more tokens than fit
  int text_tokens = 0;      // tokens the text had before truncation
  // Kept between calls, so that encoding into the same Encoded again allocates nothing:
  // the text as the vocabulary sees it (lowercased if so configured) and its tokens.
  std::string normalized;
  std::vector<std::string_view> tokens;  // views of normalized
};

class Tokenizer {
 public:
  Tokenizer(const TokenizerConfig& config, int max_len, bool seq2seq);

  // Splits text into tokens (char: Unicode code points; word: runs of non-space).
  // Throws Error on invalid UTF-8.
  std::vector<std::string> split(std::string_view text) const;

  // The encoder's input: text tokens (at most max_len minus the specials), with <bos>/<eos>
  // and padding as configured. Throws Error if the text has no tokens or holds tokens the
  // vocabulary lacks (and it has no unk).
  void encode_source(std::string_view text, Encoded& out) const;
  Encoded encode_source(std::string_view text) const;

  // Ids of a target text in the target vocabulary, at most `limit` of them.
  void encode_target(std::string_view text, int limit, Encoded& out) const;
  Encoded encode_target(std::string_view text, int limit) const;

  // Output ids as text: specials (unk too) dropped, char tokens joined, words by spaces.
  void decode(const std::vector<int>& ids, std::string& text) const;
  std::string decode(const std::vector<int>& ids) const;

  const Vocabulary& source() const { return source_; }
  const Vocabulary& target() const { return seq2seq_ ? target_ : source_; }
  const TokenizerConfig& config() const { return config_; }

 private:
  // Fills out.normalized and out.tokens from text.
  void split_into(std::string_view text, Encoded& out) const;
  // The ids of out.tokens in vocab, appended to ids.
  void lookup(const Encoded& out, const Vocabulary& vocab, const char* side,
              std::vector<int>& ids) const;

  TokenizerConfig config_;
  int max_len_;
  bool seq2seq_;
  Vocabulary source_, target_;
};

}  // namespace attnviz
