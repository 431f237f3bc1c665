// Hostile text through the engine (run under ASan + UBSan by scripts/test): a 10,000-character
// paste, emoji, CJK, combining marks, right-to-left text, only spaces, empty text, control
// characters and invalid UTF-8, across char- and word-level models with and without <unk>.
// Each is either run (truncated with a notice, unknown tokens mapped to <unk>) or refused
// with a short, clear, valid-UTF-8 message; nothing else.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "engine.h"
#include "test_models.h"
#include "weights_loader.h"

namespace attnviz {
namespace {

struct Fixture {
  const char* file;
  bool word;
  bool unk;
};

const Fixture kModels[] = {
    {"s2s_seed_small", false, false},          // char, seq2seq, no <unk>
    {"s2s_words_preln_gelu_h4", true, true},   // word, seq2seq, <unk>, lowercase
    {"lm_learned_h1", false, true},            // char, causal LM, <unk>
    {"lm_table_preln_gelu_h8", true, false},   // word, causal LM, no <unk>
};

struct Hostile {
  const char* name;
  std::string text;
};

std::string repeat(const std::string& piece, size_t chars) {
  std::string out;
  while (out.size() < chars) out += piece;
  return out.substr(0, chars);
}

std::vector<Hostile> hostile_texts() {
  return {
      {"empty", ""},
      {"only spaces", std::string(200, ' ')},
      {"whitespace mix", " \t\n\r\f\v "},
      {"emoji", "\xF0\x9F\x98\x80\xF0\x9F\x8E\x89 \xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9"},  // 😀🎉 👨‍👩
      {"CJK", "\xE6\xBC\xA2\xE5\xAD\x97 \xE3\x83\x86\xE3\x82\xB9\xE3\x83\x88"},                // 漢字 テスト
      {"combining marks", "e\xCC\x81 a\xCC\x8A\xCC\x81 n\xCC\x83"},                            // é ǻ ñ, decomposed
      {"right-to-left", "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D \xD8\xB9\xD8\xB1\xD8\xA8\xD9\x8A \xE2\x80\x8F"},
      {"control characters", std::string("a\x01\x02\x1b[31m\x7f", 9) + std::string(1, '\0') + "b"},
      {"invalid UTF-8: lone byte", "ab\xFF" "cd"},
      {"invalid UTF-8: overlong", "a\xC0\xAF"},
      {"invalid UTF-8: surrogate", "a\xED\xA0\x80"},
      {"invalid UTF-8: past U+10FFFF", "a\xF4\x90\x80\x80"},
      {"invalid UTF-8: cut sequence", "a\xE2\x82"},
      {"10,000 characters of prose", repeat("the cat sat on the mat, one two three. ", 10000)},
      {"10,000 emoji", repeat("\xF0\x9F\x98\x80", 40000)},
  };
}

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = s[i];
    const size_t n = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : (c >> 4) == 0xE ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (!n || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

class HostileText : public ::testing::TestWithParam<Fixture> {
 protected:
  void SetUp() override {
    const std::string path = testing::source_path(std::string("tests/fixtures/") + GetParam().file + ".weights.json");
    const Status status = load_model(testing::read_text(path), model_);
    ASSERT_TRUE(status.ok) << status.message;
    engine_ = std::make_unique<Engine>(model_);
  }

  // Runs text (and optionally a target) and checks the outcome is one of the handled kinds.
  Status run(const std::string& text, RunResult& result, const RunOptions& options = {}) {
    const auto start = std::chrono::steady_clock::now();
    const Status status = engine_->run(text, options, result);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(ms, 5000) << "slow on " << text.size() << " bytes";
    if (status.ok) {
      EXPECT_LE(result.src_ids.size(), size_t(model_.config.max_len));
      for (int id : result.src_ids) EXPECT_TRUE(id >= 0 && id < engine_->tokenizer().source().size());
      for (const auto& notice : result.notices) EXPECT_TRUE(valid_utf8(notice));
    } else {
      EXPECT_FALSE(status.message.empty());
      EXPECT_LT(status.message.size(), 1000u) << status.message.substr(0, 200);
      EXPECT_TRUE(valid_utf8(status.message)) << "message is not UTF-8";
      for (unsigned char c : status.message) EXPECT_GE(c, 0x20) << "raw control character in the message";
      const bool known = status.message.find("the text has no tokens") == 0 ||
                         status.message.find("the text is not valid UTF-8 (at byte ") == 0 ||
                         status.message.find("the source vocabulary has no ") == 0 ||
                         status.message.find("the target vocabulary has no ") == 0;
      EXPECT_TRUE(known) << "unexpected message: " << status.message;
    }
    return status;
  }

  Model model_;
  std::unique_ptr<Engine> engine_;
};

TEST_P(HostileText, EveryInputIsRunOrRefusedClearly) {
  for (const Hostile& h : hostile_texts()) {
    SCOPED_TRACE(h.name);
    RunResult result;
    const Status status = run(h.text, result);
    if (std::string(h.name).rfind("invalid UTF-8", 0) == 0) {
      EXPECT_FALSE(status.ok);
      EXPECT_EQ(status.message.rfind("the text is not valid UTF-8 (at byte ", 0), 0u) << status.message;
    }
    if (GetParam().unk && status.ok == false)
      EXPECT_EQ(status.message.find("vocabulary has no"), std::string::npos)
          << "a model with <unk> maps unknown tokens: " << status.message;
  }
}

TEST_P(HostileText, EmptyAndBlankTextAskForInput) {
  RunResult result;
  EXPECT_EQ(run("", result).message, "the text has no tokens: type something");
  if (GetParam().word) EXPECT_EQ(run("   \t\n ", result).message, "the text has no tokens: type something");
}

TEST_P(HostileText, UnknownTokensMapToUnkOrAreListed) {
  RunResult result;
  const std::string text = GetParam().word ? "the \xE6\xBC\xA2\xE5\xAD\x97 cat" : "a\xF0\x9F\x98\x80" "b";
  const Status status = run(text, result);
  if (GetParam().unk) {
    ASSERT_TRUE(status.ok) << status.message;
    int unk = 0;
    for (int id : result.src_ids) unk += id == model_.tokenizer.specials.unk;
    EXPECT_EQ(unk, 1);
  } else {
    EXPECT_FALSE(status.ok);
    EXPECT_EQ(status.message.rfind("the source vocabulary has no \"", 0), 0u) << status.message;
  }
  // Many distinct unknown tokens: ten are listed, the rest counted.
  std::string many;
  for (int i = 0; i < 300; ++i) many += std::string("\xE4\xB8") + char(0x80 + i % 64) + (GetParam().word ? " " : "");
  many += GetParam().word ? "\xE5\xAD\x97 \xE6\xBC\xA2" : "\xE5\xAD\x97\xE6\xBC\xA2";
  const Status listed = run(many, result);
  if (!GetParam().unk) EXPECT_NE(listed.message.find(" more"), std::string::npos) << listed.message;
}

TEST_P(HostileText, ControlCharactersAreEscapedInMessages) {
  RunResult result;
  const Status status = run(std::string("\x01\x1b", 2), result);
  if (!status.ok) EXPECT_NE(status.message.find("\\x01"), std::string::npos) << status.message;
}

TEST_P(HostileText, LongPasteIsTruncatedWithANotice) {
  // 10,000 characters made of the model's own tokens: run, cut to max_len, with a notice.
  std::string piece;
  for (const std::string& token : model_.tokenizer.src_vocab)
    if (token.size() == 1 || (GetParam().word && token[0] != '<')) {
      piece = token;
      if (token != " ") break;
    }
  const std::string paste = repeat(piece + (GetParam().word ? " " : ""), 10000);
  RunResult result;
  RunOptions options;
  if (model_.config.is_seq2seq()) {
    options.teacher_forced = true;
    options.target = paste;  // the target too: cut, with a notice
  } else {
    options.continuation = 5;
  }
  const Status status = run(paste, result, options);
  ASSERT_TRUE(status.ok) << status.message;
  ASSERT_GE(result.notices.size(), 1u);
  EXPECT_NE(result.notices[0].find("the rest was cut off"), std::string::npos) << result.notices[0];
  if (model_.config.is_seq2seq()) {
    ASSERT_EQ(result.notices.size(), 2u);
    EXPECT_NE(result.notices[1].find("the target was cut"), std::string::npos) << result.notices[1];
  }
}

TEST_P(HostileText, HostileTargetsAreHandled) {
  if (!model_.config.is_seq2seq()) GTEST_SKIP() << "no target on a causal LM";
  std::string source;
  for (const std::string& token : model_.tokenizer.src_vocab)
    if (token[0] != '<' && token != " ") { source = token; break; }
  for (const Hostile& h : hostile_texts()) {
    SCOPED_TRACE(h.name);
    RunOptions options;
    options.teacher_forced = true;
    options.target = h.text;
    RunResult result;
    run(source, result, options);
  }
}

TEST_P(HostileText, TheEngineKeepsWorkingAfterEveryRefusal) {
  std::string good;
  for (const std::string& token : model_.tokenizer.src_vocab)
    if (token[0] != '<' && token != " ") { good = token; break; }
  RunResult first, again;
  ASSERT_TRUE(run(good, first).ok);
  for (const Hostile& h : hostile_texts()) run(h.text, again);
  ASSERT_TRUE(run(good, again).ok);
  EXPECT_EQ(first.output_ids, again.output_ids);
  EXPECT_EQ(first.encoder_self.data, again.encoder_self.data);
}

INSTANTIATE_TEST_SUITE_P(Models, HostileText, ::testing::ValuesIn(kModels),
                         [](const ::testing::TestParamInfo<Fixture>& info) { return std::string(info.param.file); });

}  // namespace
}  // namespace attnviz
