// The command-line tool end to end: run (json and csv), info, check, and its errors.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>

#include "test_models.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Outcome {
  int status;
  std::string out, err;
};

std::string quote(const std::string& arg) {
  std::string q = "'";
  for (char c : arg) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

Outcome run_cli(const std::vector<std::string>& args) {
  const fs::path err_path = fs::temp_directory_path() / ("attnviz_cli_err_" + std::to_string(::getpid()));
  std::string command = quote(ATTNVIZ_CLI);
  for (const auto& a : args) command += " " + quote(a);
  command += " 2>" + quote(err_path.string());
  Outcome outcome;
  FILE* pipe = popen(command.c_str(), "r");
  std::array<char, 65536> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) outcome.out.append(buffer.data(), n);
  outcome.status = WEXITSTATUS(pclose(pipe));
  outcome.err = attnviz::testing::read_text(err_path.string());
  fs::remove(err_path);
  return outcome;
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("attnviz_cli_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    seq2seq_ = write("seq2seq.json", attnviz::testing::tiny_model().dump());
    attnviz::testing::TinyModelOptions lm;
    lm.seq2seq = false;
    lm_ = write("lm.json", attnviz::testing::tiny_model(lm).dump());
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  fs::path dir_;
  std::string seq2seq_, lm_;
};

TEST_F(Cli, RunPrintsTokensOutputAndNestedAttention) {
  const Outcome o = run_cli({"run", "--weights", seq2seq_, "--text", "abc"});
  ASSERT_EQ(o.status, 0) << o.err;
  const json r = json::parse(o.out);
  EXPECT_EQ(r["src_tokens"], json({"a", "b", "c", "<eos>"}));
  EXPECT_EQ(r["tgt_tokens"][0], "<bos>");
  EXPECT_TRUE(r["output"].is_string());
  const json& a = r["attention"];
  ASSERT_TRUE(a.contains("encoder_self") && a.contains("decoder_self") && a.contains("cross"));
  EXPECT_EQ(a["encoder_self"].size(), 1u);        // layers
  EXPECT_EQ(a["encoder_self"][0].size(), 2u);     // heads
  EXPECT_EQ(a["encoder_self"][0][1].size(), 4u);  // queries
  EXPECT_EQ(a["cross"][0][0][0].size(), 4u);      // keys = source tokens
  EXPECT_EQ(a["cross"][0][0].size(), r["tgt_tokens"].size());
}

TEST_F(Cli, CausalLmOmitsAbsentKinds) {
  const Outcome o = run_cli({"run", "--weights", lm_, "--text", "abab", "--continue", "2"});
  ASSERT_EQ(o.status, 0) << o.err;
  const json r = json::parse(o.out);
  EXPECT_TRUE(r["attention"].contains("encoder_self"));
  EXPECT_FALSE(r["attention"].contains("decoder_self"));
  EXPECT_FALSE(r["attention"].contains("cross"));
  EXPECT_EQ(r["output_ids"].size(), 2u);
}

TEST_F(Cli, TargetGivesOneRowPerTokenPlusOne) {
  const Outcome o = run_cli({"run", "--weights", seq2seq_, "--text", "abc", "--target", "cb"});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(json::parse(o.out)["attention"]["cross"][0][0].size(), 3u);
}

TEST_F(Cli, CsvHasOneRowPerWeight) {
  const Outcome o = run_cli({"run", "--weights", seq2seq_, "--text", "ab", "--target", "a", "--format", "csv"});
  ASSERT_EQ(o.status, 0) << o.err;
  size_t lines = std::count(o.out.begin(), o.out.end(), '\n');
  // header + encoder 1x2x3x3 + decoder self 1x2x2x2 + cross 1x2x2x3
  EXPECT_EQ(lines, 1u + 18 + 8 + 12);
  EXPECT_EQ(o.out.substr(0, o.out.find('\n')), "kind,layer,head,query,key,query_token,key_token,weight");
  EXPECT_NE(o.out.find("cross,0,1,1,2,\"a\",\"<eos>\","), std::string::npos);
}

TEST_F(Cli, InfoAndCheck) {
  Outcome o = run_cli({"info", "--weights", seq2seq_});
  ASSERT_EQ(o.status, 0) << o.err;
  const json info = json::parse(o.out);
  EXPECT_EQ(info["config"]["d_model"], 8);
  EXPECT_EQ(info["tokenizer"]["src_vocab"].size(), 8u);
  EXPECT_GT(info["parameters"].get<int>(), 0);
  o = run_cli({"check", "--weights", seq2seq_});
  EXPECT_EQ(o.status, 0);
  EXPECT_EQ(o.out.rfind("ok: ", 0), 0u);
}

TEST_F(Cli, ErrorsAreOneLineWithStatus2) {
  const std::string bad = write("bad.json", "{\"format\": \"attnviz-weights\", \"version\": 9}");
  const std::vector<std::vector<std::string>> cases = {
      {"check", "--weights", bad},
      {"check", "--weights", (dir_ / "missing.json").string()},
      {"run", "--weights", seq2seq_, "--text", "xyz"},
      {"run", "--weights", seq2seq_, "--text", ""},
      {"run", "--weights", seq2seq_},
      {"run", "--weights", seq2seq_, "--text", "a", "--format", "xml"},
      {"frobnicate"},
      {"run", "--weights", lm_, "--text", "a", "--target", "b"},
  };
  for (const auto& args : cases) {
    const Outcome o = run_cli(args);
    EXPECT_EQ(o.status, 2) << args[0];
    EXPECT_TRUE(o.out.empty());
    EXPECT_EQ(o.err.rfind("attnviz: ", 0), 0u) << o.err;
    EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
  }
  EXPECT_NE(run_cli(cases[0]).err.find("unsupported format version 9"), std::string::npos);
  EXPECT_NE(run_cli(cases[2]).err.find("the source vocabulary has no \"x\", \"y\", \"z\""), std::string::npos);
}

// The committed PyTorch fixtures through the CLI: same attention as PyTorch.
TEST(CliParity, CommittedFixturesThroughTheCli) {
  const fs::path dir = fs::path(ATTNVIZ_SOURCE_DIR) / "tests" / "fixtures";
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.find(".expected.json") == std::string::npos) continue;
    const json fixture = json::parse(attnviz::testing::read_text(entry.path().string()));
    const json& c = fixture["cases"][0];
    std::vector<std::string> args = {"run", "--weights", (dir / fixture["weights"].get<std::string>()).string(),
                                     "--text", c["text"].get<std::string>()};
    if (c.contains("target") && c["target"].is_string()) {
      args.push_back("--target");
      args.push_back(c["target"].get<std::string>());
    }
    const Outcome o = run_cli(args);
    ASSERT_EQ(o.status, 0) << name << ": " << o.err;
    const json r = json::parse(o.out);
    for (const char* kind : {"encoder_self", "decoder_self", "cross"}) {
      if (!c["attention"].contains(kind)) continue;
      const json& expected = c["attention"][kind];
      const std::vector<float> flat = expected["data"].get<std::vector<float>>();
      const json& nested = r["attention"][kind];
      size_t i = 0;
      double worst = 0;
      for (const auto& layer : nested)
        for (const auto& head : layer)
          for (const auto& row : head)
            for (const auto& v : row) worst = std::max(worst, std::abs(v.get<double>() - flat.at(i++)));
      EXPECT_EQ(i, flat.size()) << name << " " << kind;
      EXPECT_LE(worst, 1e-5) << name << " " << kind;
    }
    ++checked;
  }
  EXPECT_GE(checked, 1);
}

}  // namespace

namespace {

// Ablation through the CLI gives the output PyTorch gave under the same ablation.
TEST(CliParity, AblationMatchesThePyTorchFixture) {
  const fs::path dir = fs::path(ATTNVIZ_SOURCE_DIR) / "tests" / "fixtures";
  const json fixture = json::parse(attnviz::testing::read_text((dir / "s2s_seed_small.expected.json").string()));
  int checked = 0;
  for (const json& c : fixture["cases"]) {
    if (!c.contains("ablations") || c["ablations"].empty() || c["target"].is_string()) continue;
    std::vector<std::string> args = {"run", "--weights", (dir / "s2s_seed_small.weights.json").string(),
                                     "--text", c["text"].get<std::string>(), "--scores", "--value-norms"};
    for (const json& a : c["ablations"]) {
      args.push_back("--ablate");
      args.push_back(a["kind"].get<std::string>() + ":" + std::to_string(a["layer"].get<int>()) + ":" +
                     std::to_string(a["head"].get<int>()) + ":" + a["mode"].get<std::string>());
    }
    const Outcome o = run_cli(args);
    ASSERT_EQ(o.status, 0) << o.err;
    const json r = json::parse(o.out);
    EXPECT_EQ(r["output"], c["output"]);
    EXPECT_EQ(r["output_ids"], c["output_ids"]);
    EXPECT_TRUE(r["scores"].contains("cross"));
    EXPECT_TRUE(r["value_norms"].contains("encoder_self"));
    ++checked;
  }
  EXPECT_GE(checked, 1);
  EXPECT_EQ(run_cli({"run", "--weights", (dir / "s2s_seed_small.weights.json").string(), "--text", "pig",
                     "--ablate", "cross:0:x"}).status, 2);
}

}  // namespace
