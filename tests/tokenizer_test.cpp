// Text to ids and back under each input convention.
#include <gtest/gtest.h>

#include "error.h"
#include "tokenizer.h"

namespace attnviz {
namespace {

TokenizerConfig char_config() {
  TokenizerConfig c;
  c.src_vocab = {"<pad>", "<bos>", "<eos>", "a", "b", "c", "é", "😀"};
  c.tgt_vocab = {"<pad>", "<bos>", "<eos>", "x", "y"};
  c.specials = {0, 1, 2, -1};
  c.src_eos = true;
  return c;
}

std::string error_of(const Tokenizer& t, const std::string& text) {
  try {
    t.encode_source(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Tokenizer, CharLevelSplitsCodePoints) {
  const Tokenizer t(char_config(), 10, true);
  EXPECT_EQ(t.split("aé😀"), (std::vector<std::string>{"a", "é", "😀"}));
  EXPECT_EQ(t.encode_source("abé").ids, (std::vector<int>{3, 4, 6, 2}));
}

TEST(Tokenizer, BosEosAndPadding) {
  TokenizerConfig c = char_config();
  c.src_bos = true;
  c.pad_src = true;
  const Tokenizer t(c, 6, true);
  EXPECT_EQ(t.encode_source("ab").ids, (std::vector<int>{1, 3, 4, 2, 0, 0}));
}

TEST(Tokenizer, TruncatesToMaxLenLessSpecials) {
  const Tokenizer t(char_config(), 4, true);
  const Encoded e = t.encode_source("abcab");
  EXPECT_TRUE(e.truncated);
  EXPECT_EQ(e.text_tokens, 5);
  EXPECT_EQ(e.ids, (std::vector<int>{3, 4, 5, 2}));
}

TEST(Tokenizer, UnknownCharactersAreNamedWithoutUnk) {
  const Tokenizer t(char_config(), 20, true);
  EXPECT_EQ(error_of(t, "abzqz"), "the source vocabulary has no \"z\", \"q\"");
  EXPECT_EQ(error_of(t, "a\x01"), "the source vocabulary has no \"\\x01\"");
  EXPECT_EQ(error_of(t, "0123456789ab"),
            "the source vocabulary has no \"0\", \"1\", \"2\", \"3\", \"4\", \"5\", \"6\", \"7\", "
            "\"8\", \"9\"");
  EXPECT_NE(error_of(t, "0123456789xyz").find("and 3 more"), std::string::npos);
}

TEST(Tokenizer, UnknownCharactersBecomeUnkWhenThereIsOne) {
  TokenizerConfig c = char_config();
  c.src_vocab.push_back("<unk>");
  c.tgt_vocab.push_back("<unk>");
  c.specials.unk = 8;
  const Tokenizer t(c, 20, true);
  EXPECT_EQ(t.encode_source("aZ").ids, (std::vector<int>{3, 8, 2}));
}

TEST(Tokenizer, EmptyTextAndInvalidUtf8AreRefused) {
  const Tokenizer t(char_config(), 20, true);
  EXPECT_EQ(error_of(t, ""), "the text has no tokens: type something");
  EXPECT_EQ(error_of(t, "a\xff"), "the text is not valid UTF-8 (at byte 1)");
  EXPECT_EQ(error_of(t, "a\xe2\x82"), "the text is not valid UTF-8 (at byte 1)");
}

TEST(Tokenizer, LowercaseAscii) {
  TokenizerConfig c = char_config();
  c.lowercase = true;
  const Tokenizer t(c, 20, true);
  EXPECT_EQ(t.encode_source("AbC").ids, (std::vector<int>{3, 4, 5, 2}));
}

TEST(Tokenizer, WordLevelSplitsOnWhitespace) {
  TokenizerConfig c;
  c.level = TokenLevel::kWord;
  c.src_vocab = {"<pad>", "<bos>", "<eos>", "third", "of", "march"};
  c.tgt_vocab = {"<pad>", "<bos>", "<eos>", "03", "-"};
  c.specials = {0, 1, 2, -1};
  const Tokenizer t(c, 10, true);
  EXPECT_EQ(t.encode_source("  third\tof \n march ").ids, (std::vector<int>{3, 4, 5}));
  EXPECT_EQ(error_of(t, "   "), "the text has no tokens: type something");
  EXPECT_EQ(t.decode({1, 3, 4, 3, 2}), "03 - 03");
}

TEST(Tokenizer, DecodeDropsSpecials) {
  const Tokenizer t(char_config(), 20, true);
  EXPECT_EQ(t.decode({1, 3, 4, 0, 2}), "xy");
}

TEST(Tokenizer, TargetUsesTargetVocabulary) {
  const Tokenizer t(char_config(), 20, true);
  EXPECT_EQ(t.encode_target("xyx", 10).ids, (std::vector<int>{3, 4, 3}));
  const Encoded cut = t.encode_target("xyx", 2);
  EXPECT_TRUE(cut.truncated);
  EXPECT_EQ(cut.ids.size(), 2u);
}

}  // namespace
}  // namespace attnviz
