// The engine's own invariants: the key/value cache changes nothing, traces have PyTorch's
// shapes and masks, and bad input gives a message rather than a crash.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "engine.h"
#include "ops.h"
#include "report.h"
#include "test_models.h"
#include "weights_loader.h"

namespace attnviz {
namespace {

void load(Model& model, const testing::TinyModelOptions& options) {
  const Status status = load_model(testing::tiny_model(options).dump(), model);
  ASSERT_TRUE(status.ok) << status.message;
}

testing::TinyModelOptions seq2seq(bool norm_first = false) {
  testing::TinyModelOptions o;
  o.layers = 2;
  o.norm_first = norm_first;
  o.final_norms = norm_first;
  return o;
}

TEST(Engine, GreedyWithCacheEqualsWholeSequenceRecompute) {
  for (bool norm_first : {false, true}) {
    Model model;
    load(model, seq2seq(norm_first));
    Engine engine(model);
    RunResult greedy;
    ASSERT_TRUE(engine.run("abcde", {}, greedy).ok);
    const int steps = static_cast<int>(greedy.tgt_ids.size());
    ASSERT_GE(steps, 1);

    // Recompute: the whole decoder input in one pass per layer, causal mask, fresh cache.
    const Config& c = model.config;
    Matrix memory(greedy.src_ids.size(), c.d_model), x(steps, c.d_model);
    for (size_t i = 0; i < greedy.src_ids.size(); ++i)
      memory.row(i) = model.src_embedding.matrix().row(greedy.src_ids[i]) * float(c.embed_scale) +
                      model.positions.matrix().row(i);
    Workspace ws;
    ws.reserve(c.max_len, c.d_model, c.nhead, c.dim_feedforward);
    AttentionTrace enc;
    enc.reset(c.num_encoder_layers, c.nhead, memory.rows(), memory.rows());
    for (int l = 0; l < c.num_encoder_layers; ++l)
      encoder_layer_forward(model.encoder[l], c, memory, {}, AttentionRecord{enc.out(l)}, ws);
    if (c.encoder_norm) layer_norm(memory, model.encoder_norm.weight, model.encoder_norm.bias, float(c.layer_norm_eps));
    for (int t = 0; t < steps; ++t)
      x.row(t) = model.tgt_embedding.matrix().row(greedy.tgt_ids[t]) * float(c.embed_scale) +
                 model.positions.matrix().row(t);
    AttentionTrace self, cross;
    self.reset(c.num_decoder_layers, c.nhead, steps, steps);
    cross.reset(c.num_decoder_layers, c.nhead, steps, memory.rows());
    for (int l = 0; l < c.num_decoder_layers; ++l) {
      DecoderLayerCache cache;
      prepare_decoder_cache(model.decoder[l], c, memory, cache);
      decoder_layer_forward(model.decoder[l], c, x, cache, nullptr, AttentionRecord{self.out(l)}, AttentionRecord{cross.out(l)}, ws);
    }
    for (size_t i = 0; i < enc.data.size(); ++i) EXPECT_NEAR(enc.data[i], greedy.encoder_self.data[i], 1e-6);
    ASSERT_EQ(self.data.size(), greedy.decoder_self.data.size());
    for (size_t i = 0; i < self.data.size(); ++i) EXPECT_NEAR(self.data[i], greedy.decoder_self.data[i], 1e-6);
    for (size_t i = 0; i < cross.data.size(); ++i) EXPECT_NEAR(cross.data[i], greedy.cross.data[i], 1e-6);
  }
}

TEST(Engine, TraceShapesAndCausalZeros) {
  Model model;
  load(model, seq2seq());
  Engine engine(model);
  RunResult r;
  ASSERT_TRUE(engine.run("abc", {}, r).ok);
  const int s = 4, t = static_cast<int>(r.tgt_ids.size());
  EXPECT_EQ(r.src_ids, (std::vector<int>{3, 4, 5, 2}));
  EXPECT_EQ(r.src_tokens, (std::vector<std::string>{"a", "b", "c", "<eos>"}));
  EXPECT_EQ(r.tgt_tokens[0], "<bos>");
  EXPECT_EQ(r.output_ids.size(), size_t(t));
  EXPECT_EQ(r.encoder_self.rows, s);
  EXPECT_EQ(r.encoder_self.cols, s);
  EXPECT_EQ(r.decoder_self.rows, t);
  EXPECT_EQ(r.decoder_self.cols, t);
  EXPECT_EQ(r.cross.rows, t);
  EXPECT_EQ(r.cross.cols, s);
  EXPECT_EQ(r.logit_rows, t);
  for (int l = 0; l < 2; ++l)
    for (int h = 0; h < 2; ++h)
      for (int q = 0; q < t; ++q) {
        float sum = 0, cross_sum = 0;
        for (int k = 0; k < t; ++k) {
          if (k > q) EXPECT_EQ(r.decoder_self.at(l, h, q, k), 0.0f);
          sum += r.decoder_self.at(l, h, q, k);
        }
        for (int k = 0; k < s; ++k) cross_sum += r.cross.at(l, h, q, k);
        EXPECT_NEAR(sum, 1.0f, 1e-5);
        EXPECT_NEAR(cross_sum, 1.0f, 1e-5);
      }
}

TEST(Engine, GreedyStopsAtEosOrMaxOutputLen) {
  Model model;
  load(model, seq2seq());
  Engine engine(model);
  RunResult r;
  ASSERT_TRUE(engine.run("ab", {}, r).ok);
  const bool ended = r.output_ids.back() == model.tokenizer.specials.eos;
  EXPECT_TRUE(ended || int(r.output_ids.size()) == model.config.max_output_len);
  for (size_t i = 0; i + 1 < r.output_ids.size(); ++i) {
    EXPECT_NE(r.output_ids[i], model.tokenizer.specials.eos);
    EXPECT_EQ(r.tgt_ids[i + 1], r.output_ids[i]);  // each output feeds the next step
  }
}

TEST(Engine, TeacherForcingHasOneRowPerTargetTokenPlusOne) {
  Model model;
  load(model, seq2seq());
  Engine engine(model);
  RunOptions options;
  options.teacher_forced = true;
  options.target = "bca";
  RunResult r;
  ASSERT_TRUE(engine.run("abc", options, r).ok);
  EXPECT_EQ(r.tgt_ids, (std::vector<int>{1, 4, 5, 3}));
  EXPECT_EQ(r.cross.rows, 4);
  EXPECT_EQ(r.output_ids.size(), 4u);
}

TEST(Engine, TeacherForcingMatchesGreedyOnItsOwnOutput) {
  // Teacher forcing goes through text, so pick a seed whose greedy output holds no
  // special token before its end (random weights often emit <pad>).
  for (unsigned seed = 1; seed < 50; ++seed) {
    testing::TinyModelOptions o = seq2seq();
    o.seed = seed;
    Model model;
    load(model, o);
    Engine engine(model);
    RunResult greedy, forced;
    ASSERT_TRUE(engine.run("cab", {}, greedy).ok);
    std::vector<int> prefix(greedy.tgt_ids.begin() + 1, greedy.tgt_ids.end());
    if (prefix.size() < 2 || std::any_of(prefix.begin(), prefix.end(), [](int id) { return id < 3; }))
      continue;
    RunOptions options;
    options.teacher_forced = true;
    options.target = engine.tokenizer().decode(prefix);
    ASSERT_TRUE(engine.run("cab", options, forced).ok);
    ASSERT_EQ(forced.tgt_ids, greedy.tgt_ids);
    EXPECT_EQ(forced.cross.data, greedy.cross.data);
    EXPECT_EQ(forced.decoder_self.data, greedy.decoder_self.data);
    EXPECT_EQ(forced.logits, greedy.logits);
    return;
  }
  FAIL() << "no seed gave a greedy output free of special tokens";
}

TEST(Engine, LongTextIsTruncatedAndReported) {
  Model model;
  load(model, seq2seq());
  Engine engine(model);
  RunResult r;
  ASSERT_TRUE(engine.run(std::string(500, 'a'), {}, r).ok);
  EXPECT_EQ(r.src_ids.size(), 12u);
  ASSERT_EQ(r.notices.size(), 1u);
  EXPECT_EQ(r.notices[0], "the text has 500 tokens; the model reads 11 (max_len 12), the rest was cut off");
}

TEST(Engine, BadTextGivesAMessage) {
  Model model;
  load(model, seq2seq());
  Engine engine(model);
  RunResult r;
  EXPECT_EQ(engine.run("", {}, r).message, "the text has no tokens: type something");
  EXPECT_EQ(engine.run("abz", {}, r).message, "the source vocabulary has no \"z\"");
  RunOptions options;
  options.teacher_forced = true;
  options.target = "q";
  EXPECT_EQ(engine.run("ab", options, r).message, "the target vocabulary has no \"q\"");
}

TEST(Engine, CausalLmPredictsEveryPositionAndContinues) {
  testing::TinyModelOptions o;
  o.seq2seq = false;
  o.layers = 2;
  Model model;
  load(model, o);
  Engine engine(model);
  RunOptions options;
  options.continuation = 3;
  RunResult r;
  ASSERT_TRUE(engine.run("abcab", options, r).ok);
  EXPECT_EQ(r.next_ids.size(), 5u);
  EXPECT_EQ(r.logit_rows, 5);
  ASSERT_EQ(r.output_ids.size(), 3u);
  EXPECT_EQ(r.output_ids[0], r.next_ids.back());
  EXPECT_TRUE(r.decoder_self.empty());
  EXPECT_TRUE(r.cross.empty());
  for (int q = 0; q < 5; ++q)
    for (int k = q + 1; k < 5; ++k) EXPECT_EQ(r.encoder_self.at(1, 0, q, k), 0.0f);

  // The continuation equals running the longer text and taking its predictions.
  RunResult longer;
  std::vector<int> ids(r.src_ids);
  ids.insert(ids.end(), r.output_ids.begin(), r.output_ids.end() - 1);
  ASSERT_TRUE(engine.run(engine.tokenizer().decode(ids), {}, longer).ok);
  EXPECT_EQ(longer.next_ids[5], r.output_ids[1]);
  EXPECT_EQ(longer.next_ids[6], r.output_ids[2]);

  options.continuation = 50;
  ASSERT_TRUE(engine.run("abcab", options, r).ok);
  // The text and all but the last continuation token fill max_len 12, unless <eos> came first.
  const bool ended = r.output_ids.back() == model.tokenizer.specials.eos;
  EXPECT_TRUE(ended || r.output_ids.size() == 8u);
  EXPECT_EQ(r.notices.size(), 1u);
}

}  // namespace
}  // namespace attnviz

namespace attnviz {
namespace {

TEST(Engine, AblationsAreCheckedAndApplied) {
  Model model;
  load(model, seq2seq());
  Engine engine(model);
  RunOptions options;
  options.ablations = {{AttentionKind::kCross, 2, 0, Ablation::kZero}};
  RunResult r;
  EXPECT_EQ(engine.run("abc", options, r).message,
            "ablation: layer 2 is out of range (cross-attention has 2 layers)");
  options.ablations = {{AttentionKind::kEncoderSelf, 0, 2, Ablation::kZero}};
  EXPECT_EQ(engine.run("abc", options, r).message, "ablation: head 2 is out of range (2 heads)");

  options.ablations = {{AttentionKind::kEncoderSelf, 1, 1, Ablation::kUniform}};
  ASSERT_TRUE(engine.run("abc", options, r).ok);
  for (int q = 0; q < 4; ++q)
    for (int k = 0; k < 4; ++k) EXPECT_EQ(r.encoder_self.at(1, 1, q, k), 0.25f);
  RunResult plain;
  ASSERT_TRUE(engine.run("abc", {}, plain).ok);
  EXPECT_EQ(plain.encoder_self.at(0, 0, 0, 0), r.encoder_self.at(0, 0, 0, 0));  // layer 0 untouched
  EXPECT_NE(plain.cross.data, r.cross.data);                                    // downstream moved
}

TEST(Engine, ScoresAndValueNormsOnRequest) {
  Model model;
  load(model, seq2seq());
  Engine engine(model);
  RunResult r;
  ASSERT_TRUE(engine.run("abc", {}, r).ok);
  for (const auto& trace : r.scores) EXPECT_TRUE(trace.empty());
  RunOptions options;
  options.capture_scores = options.capture_value_norms = true;
  ASSERT_TRUE(engine.run("abc", options, r).ok);
  const int t = static_cast<int>(r.tgt_ids.size());
  EXPECT_EQ(r.scores[1].rows, t);
  EXPECT_EQ(r.value_norms[2].cols, 4);  // cross: one norm per source token
  EXPECT_EQ(r.value_norms[1].cols, t);
  for (int q = 0; q + 1 < t; ++q) EXPECT_TRUE(std::isinf(r.scores[1].at(0, 0, q, q + 1)));
  for (float norm : r.value_norms[0].data) EXPECT_GT(norm, 0.0f);
}

TEST(Engine, CaptureLimitRecordsOneLayerAndSaysSo) {
  Model model;
  load(model, seq2seq());
  Engine engine(model);
  RunResult full, cut;
  RunOptions options;
  options.capture_scores = true;
  ASSERT_TRUE(engine.run("abc", options, full).ok);
  ASSERT_TRUE(full.encoder_self.complete());
  // Every layer of encoder self-attention takes 2 layers x heads x 5 x 5 floats: a limit
  // just under that keeps only the layer asked for, of that kind and of every other one.
  const size_t encoder_floats = full.encoder_self.data.size();
  options.capture_limit = encoder_floats - 1;
  options.capture_layer[0] = 1;
  options.capture_layer[2] = 7;  // out of range: the last layer
  ASSERT_TRUE(engine.run("abc", options, cut).ok);
  EXPECT_EQ(cut.output_ids, full.output_ids);  // what is recorded does not change the run
  const AttentionTrace& enc = cut.encoder_self;
  EXPECT_FALSE(enc.complete());
  EXPECT_EQ(enc.layers, 2);
  EXPECT_EQ(enc.first_layer, 1);
  EXPECT_EQ(enc.data.size(), encoder_floats / 2);
  EXPECT_FALSE(enc.recorded(0));
  for (int h = 0; h < enc.heads; ++h)
    for (int q = 0; q < enc.rows; ++q)
      for (int k = 0; k < enc.cols; ++k) {
        EXPECT_EQ(enc.at(1, h, q, k), full.encoder_self.at(1, h, q, k));
        EXPECT_EQ(cut.scores[0].at(1, h, q, k), full.scores[0].at(1, h, q, k));
      }
  EXPECT_EQ(cut.cross.first_layer, 1);
  EXPECT_EQ(cut.cross.at(1, 0, 0, 2), full.cross.at(1, 0, 0, 2));
  ASSERT_FALSE(cut.notices.empty());
  EXPECT_NE(cut.notices[0].find("encoder self-attention: attention recorded for layer 2 of 2 only"),
            std::string::npos)
      << cut.notices[0];
  EXPECT_NE(cut.notices[0].find("over the capture limit"), std::string::npos);
  // Under the limit, everything is recorded again.
  options.capture_limit = encoder_floats;
  ASSERT_TRUE(engine.run("abc", options, cut).ok);
  EXPECT_TRUE(cut.encoder_self.complete());
  EXPECT_EQ(cut.encoder_self.data, full.encoder_self.data);
}

}  // namespace
}  // namespace attnviz

namespace attnviz {
namespace {

// The binding's per-run JSON: what result_json says, with each trace as its dimensions.
TEST(Report, SummaryIsValidJsonWithTheResultsFields) {
  RunResult r;
  r.src_tokens = {"a", "\"", "\\", "\x01", "é", "<eos>"};
  r.tgt_tokens = {"<bos>", "x"};
  r.output = "x\ny";
  r.output_ids = {7, 2};
  r.next_ids = {1, 2, 3};
  r.notices = {"the text was cut"};
  r.encoder_self.reset(2, 3, 6, 6);
  r.cross.reset(1, 3, 2, 6);
  r.scores[2].reset(1, 3, 2, 6);
  std::string text = "stale contents";
  write_result_summary(r, /*seq2seq=*/true, text);
  const nlohmann::json j = nlohmann::json::parse(text);
  EXPECT_EQ(j["src_tokens"], nlohmann::json(r.src_tokens));
  EXPECT_EQ(j["tgt_tokens"], nlohmann::json(r.tgt_tokens));
  EXPECT_EQ(j["output"], "x\ny");
  EXPECT_EQ(j["output_ids"], nlohmann::json({7, 2}));
  EXPECT_FALSE(j.contains("next_ids"));  // seq2seq
  EXPECT_EQ(j["notices"], nlohmann::json(r.notices));
  EXPECT_EQ(j["attention"], nlohmann::json::parse(
      R"({"encoder_self": {"layers": 2, "heads": 3, "rows": 6, "cols": 6, "first_layer": 0, "recorded_layers": 2},
          "cross": {"layers": 1, "heads": 3, "rows": 2, "cols": 6, "first_layer": 0, "recorded_layers": 1}})"));
  EXPECT_EQ(j["scores"], nlohmann::json::parse(
      R"({"cross": {"layers": 1, "heads": 3, "rows": 2, "cols": 6, "first_layer": 0, "recorded_layers": 1}})"));
  r.encoder_self.reset(2, 3, 6, 6, 0.0f, /*only=*/1);
  write_result_summary(r, /*seq2seq=*/true, text);
  EXPECT_EQ(nlohmann::json::parse(text)["attention"]["encoder_self"]["first_layer"], 1);
  EXPECT_EQ(nlohmann::json::parse(text)["attention"]["encoder_self"]["recorded_layers"], 1);
  EXPECT_FALSE(j.contains("value_norms"));
  write_result_summary(r, /*seq2seq=*/false, text);
  EXPECT_EQ(nlohmann::json::parse(text)["next_ids"], nlohmann::json({1, 2, 3}));
}

}  // namespace
}  // namespace attnviz
