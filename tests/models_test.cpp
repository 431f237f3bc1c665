// The shipped demo models (weights/): each one, run through the engine on known inputs, gives
// the known answers, and its attention shows what its model card says. A broken engine,
// exporter or weights file fails here at once. The models are trained by tools/train_*.py.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <set>

#include "engine.h"
#include "test_models.h"
#include "weights_loader.h"

namespace attnviz {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path weights_dir() { return fs::path(ATTNVIZ_SOURCE_DIR) / "weights"; }

// Loaded once per file: the Pig Latin model alone is several MB of JSON.
const Model& shipped(const std::string& file) {
  static std::map<std::string, std::unique_ptr<Model>> cache;
  auto& slot = cache[file];
  if (!slot) {
    slot = std::make_unique<Model>();
    const Status status = load_model(testing::read_text((weights_dir() / file).string()), *slot);
    EXPECT_TRUE(status.ok) << file << ": " << status.message;
  }
  return *slot;
}

RunResult run(const std::string& file, const std::string& text, int continuation = 0) {
  Engine engine(shipped(file));
  RunOptions options;
  options.continuation = continuation;
  RunResult result;
  const Status status = engine.run(text, options, result);
  EXPECT_TRUE(status.ok) << file << " on '" << text << "': " << status.message;
  return result;
}

std::string output(const std::string& file, const std::string& text) { return run(file, text).output; }

json metadata(const std::string& file) {
  return json::parse(testing::read_text((weights_dir() / file).string())).at("metadata");
}

// Mean over heads of attention trace `t` in `layer` from query row q to key column k.
double head_mean(const AttentionTrace& t, int layer, int q, int k) {
  double sum = 0;
  for (int h = 0; h < t.heads; ++h) sum += t.at(layer, h, q, k);
  return sum / t.heads;
}

int argmax_key(const AttentionTrace& t, int layer, int q) {
  int best = 0;
  for (int k = 1; k < t.cols; ++k)
    if (head_mean(t, layer, q, k) > head_mean(t, layer, q, best)) best = k;
  return best;
}

TEST(Manifest, ListsLoadableModelsWithCardsAndOneDefault) {
  const json manifest = json::parse(testing::read_text((weights_dir() / "manifest.json").string()));
  ASSERT_TRUE(manifest.is_array());
  ASSERT_GE(manifest.size(), 6u);
  int defaults = 0;
  std::set<std::string> ids;
  for (const json& entry : manifest) {
    SCOPED_TRACE(entry.dump());
    for (const char* key : {"id", "title", "file", "example_text", "description"})
      EXPECT_TRUE(entry.contains(key) && entry.at(key).is_string()) << key;
    EXPECT_TRUE(ids.insert(entry.at("id").get<std::string>()).second) << "duplicate id";
    if (entry.value("default", false)) {
      ++defaults;
      EXPECT_EQ(entry.at("file"), "piglatin.weights.json");
    }
    const std::string file = entry.at("file").get<std::string>();
    ASSERT_TRUE(fs::exists(weights_dir() / file)) << file;
    const Model& model = shipped(file);
    const json card = metadata(file);
    for (const char* key : {"task", "data", "training", "accuracy", "look_for"})
      EXPECT_TRUE(card.contains(key)) << file << " model card lacks " << key;
    // The example text runs.
    Engine engine(model);
    RunResult r;
    EXPECT_TRUE(engine.run(entry.at("example_text").get<std::string>(), {}, r).ok);
  }
  EXPECT_EQ(defaults, 1);
}

TEST(Manifest, ShippedWeightsStaySmall) {
  uintmax_t total = 0;
  // The budget is about 10 MB; the Pig Latin model's fixed configuration alone takes 7.5 MB
  // (weights/README.md). This catches a model that grew by accident.
  const std::string suffix = ".weights.json";
  for (const auto& entry : fs::directory_iterator(weights_dir())) {
    const std::string name = entry.path().filename().string();
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      total += fs::file_size(entry.path());
  }
  EXPECT_GT(total, 0u);
  EXPECT_LT(total, 11'500'000u) << "shipped weights: " << total << " bytes";
}

TEST(PigLatin, KnownWords) {
  const std::string f = "piglatin.weights.json";
  EXPECT_EQ(output(f, "pig"), "igpay");
  EXPECT_EQ(output(f, "apple"), "appleyay");
  EXPECT_EQ(output(f, "glove"), "oveglay");
  EXPECT_EQ(output(f, "string"), "ingstray");
  EXPECT_EQ(output(f, "banana"), "ananabay");
  EXPECT_EQ(output(f, "eat"), "eatyay");
  EXPECT_EQ(output(f, "school"), "oolschay");
}

TEST(PigLatin, RunsUnpaddedAndShowsTheBentLine) {
  const RunResult r = run("piglatin.weights.json", "glove");
  EXPECT_EQ(r.src_tokens, (std::vector<std::string>{"g", "l", "o", "v", "e", "<eos>"}));
  // Last cross-attention layer, averaged over heads: "oveglay" first reads o, v, e
  // (source 2, 3, 4), then jumps back to g, l (source 0, 1).
  const int last = r.cross.layers - 1;
  ASSERT_GE(r.cross.rows, 5);
  EXPECT_EQ(argmax_key(r.cross, last, 0), 2);
  EXPECT_EQ(argmax_key(r.cross, last, 3), 0);
  EXPECT_EQ(argmax_key(r.cross, last, 4), 1);
}

TEST(SequenceTasks, CopyReverseSort) {
  EXPECT_EQ(output("copy.weights.json", "hello"), "hello");
  EXPECT_EQ(output("copy.weights.json", "attention"), "attention");
  EXPECT_EQ(output("reverse.weights.json", "hello"), "olleh");
  EXPECT_EQ(output("reverse.weights.json", "stressed"), "desserts");
  EXPECT_EQ(output("sort.weights.json", "31415926"), "11234569");
  EXPECT_EQ(output("sort.weights.json", "9876543210"), "0123456789");
}

TEST(SequenceTasks, CrossAttentionDiagonals) {
  // Last cross-attention layer, averaged over heads, on 8 symbols: copy reads source i for
  // output i (the diagonal), reverse reads source 7 - i (the anti-diagonal). Reverse's heads
  // split the work, so one row may peak one step off.
  const RunResult copy = run("copy.weights.json", "abcdefgh");
  const RunResult reverse = run("reverse.weights.json", "abcdefgh");
  const int last = copy.cross.layers - 1;
  int diagonal = 0, anti = 0;
  for (int i = 0; i < 8; ++i) {
    diagonal += argmax_key(copy.cross, last, i) == i;
    anti += argmax_key(reverse.cross, last, i) == 7 - i;
  }
  EXPECT_EQ(diagonal, 8);
  EXPECT_GE(anti, 7);
}

TEST(Dates, SpelledOutToNumeric) {
  const std::string f = "dates.weights.json";
  EXPECT_EQ(output(f, "the third of march twenty twenty one"), "03 / 03 / 2021");
  EXPECT_EQ(output(f, "December the twenty fifth nineteen oh five"), "25 / 12 / 1905");
  EXPECT_EQ(output(f, "july fourth two thousand"), "04 / 07 / 2000");
  EXPECT_EQ(output(f, "first of may nineteen forty two"), "01 / 05 / 1942");
}

TEST(Dates, CrossAttentionAlignsWords) {
  // "march the third twenty twenty one": the day token (output 0) reads "third" (source 2),
  // the month token (output 2) reads "march" (source 0).
  const RunResult r = run("dates.weights.json", "march the third twenty twenty one");
  EXPECT_EQ(r.output, "03 / 03 / 2021");
  EXPECT_EQ(argmax_key(r.cross, 0, 0), 2);
  EXPECT_EQ(argmax_key(r.cross, 0, 2), 0);
}

// "layer L, head H" from the model card, 0-based.
std::pair<int, int> named_head(const json& card, const char* role) {
  const std::string text = card.at("heads").at(role).get<std::string>();
  std::smatch m;
  EXPECT_TRUE(std::regex_search(text, m, std::regex("layer (\\d+), head (\\d+)"))) << text;
  return {std::stoi(m[1]) - 1, std::stoi(m[2]) - 1};
}

TEST(InductionLM, ContinuesARepeatedPhrase) {
  const std::string f = "induction_lm.weights.json";
  EXPECT_EQ(run(f, "the quick brown fox jumps the quick brown", 4).output, " fox");
  EXPECT_EQ(run(f, "hello world hello wor", 3).output, "ld ");
  EXPECT_EQ(run(f, "abcde fgh abcde fgh ab", 6).output, "cde fg");
}

TEST(InductionLM, NamedHeadsDoWhatTheCardSays) {
  const std::string f = "induction_lm.weights.json";
  const json card = metadata(f);
  const auto [ind_layer, ind_head] = named_head(card, "induction");
  const auto [prev_layer, prev_head] = named_head(card, "previous_token");
  EXPECT_EQ(ind_layer, 1);
  EXPECT_EQ(prev_layer, 0);
  // <bos> r r with r = "qzx wvkj pmy" (12 characters): position t of the second copy
  // (t = 13 + i) should attend to the character after its first occurrence (2 + i).
  const std::string r_text = "qzx wvkj pmy";
  const int n = static_cast<int>(r_text.size());
  const RunResult r = run(f, r_text + r_text);
  const AttentionTrace& a = r.encoder_self;
  double induction = 0, previous = 0;
  for (int i = 1; i < n; ++i) induction += a.at(ind_layer, ind_head, 1 + n + i, 2 + i);
  for (int t = 1; t < 1 + 2 * n; ++t) previous += a.at(prev_layer, prev_head, t, t - 1);
  induction /= n - 1;
  previous /= 2 * n;
  EXPECT_GT(induction, 0.4) << "induction score of layer " << ind_layer + 1 << " head " << ind_head + 1;
  EXPECT_GT(previous, 0.25) << "previous-token score of layer 1 head " << prev_head + 1;
}

}  // namespace
}  // namespace attnviz
