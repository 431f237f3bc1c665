// "No allocation on the hot path": once an engine has run a model, running it again (the
// next keystroke) allocates nothing. Every heap allocation in this process goes through the
// malloc family below, which counts while a run is being watched; libstdc++'s operator new
// and Eigen's aligned allocator both end in malloc. glibc only (it exports __libc_malloc),
// and not under the sanitizers, which replace malloc themselves.
#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <string>

#include "engine.h"
#include "report.h"
#include "test_models.h"
#include "weights_loader.h"

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);
}

namespace {
std::atomic<bool> watching{false};
std::atomic<long> allocations{0};
void counted() {
  if (watching.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

extern "C" {
void* malloc(size_t n) { return counted(), __libc_malloc(n); }
void* calloc(size_t n, size_t size) { return counted(), __libc_calloc(n, size); }
void* realloc(void* p, size_t n) { return counted(), __libc_realloc(p, n); }
void* aligned_alloc(size_t alignment, size_t n) { return counted(), __libc_memalign(alignment, n); }
void* memalign(size_t alignment, size_t n) { return counted(), __libc_memalign(alignment, n); }
int posix_memalign(void** out, size_t alignment, size_t n) {
  counted();
  *out = __libc_memalign(alignment, n);
  return *out ? 0 : 12;  // ENOMEM
}
void free(void* p) { __libc_free(p); }
}

namespace attnviz {
namespace {

Model load(const std::string& file) {
  Model model;
  const auto path = std::filesystem::path(ATTNVIZ_SOURCE_DIR) / "weights" / file;
  const Status status = load_model(testing::read_text(path.string()), model);
  EXPECT_TRUE(status.ok) << file << ": " << status.message;
  return model;
}

// Allocations made over `texts` by engine.run and the summary the wasm binding writes for
// each run, after one warm-up pass over them.
long allocations_of(Engine& engine, const std::vector<std::string>& texts, const RunOptions& options) {
  RunResult result;
  std::string summary;
  const bool seq2seq = engine.model().config.is_seq2seq();
  for (const std::string& text : texts) {
    EXPECT_TRUE(engine.run(text, options, result).ok) << text;
    write_result_summary(result, seq2seq, summary);
  }
  allocations = 0;
  watching = true;
  for (const std::string& text : texts) {
    engine.run(text, options, result);
    write_result_summary(result, seq2seq, summary);
  }
  watching = false;
  EXPECT_FALSE(result.encoder_self.data.empty());
  return allocations.load();
}

TEST(NoAllocation, CountingSeesAllocations) {  // the counter itself works
  allocations = 0;
  watching = true;
  std::vector<float>* v = new std::vector<float>(1000);
  watching = false;
  delete v;
  EXPECT_EQ(allocations.load(), 2);
}

TEST(NoAllocation, Seq2SeqKeystrokes) {
  const Model model = load("piglatin.weights.json");
  Engine engine(model);
  // Typing, deleting and typing again: texts longer and shorter than the one before.
  EXPECT_EQ(allocations_of(engine, {"g", "gl", "glo", "glove", "glo", "glove"}, {}), 0);
}

TEST(NoAllocation, Seq2SeqWithEveryCaptureAndAnAblation) {
  const Model model = load("piglatin.weights.json");
  Engine engine(model);
  RunOptions options;
  options.capture_scores = true;
  options.capture_value_norms = true;
  options.ablations = {{AttentionKind::kCross, 1, 2, Ablation::kZero},
                       {AttentionKind::kEncoderSelf, 0, 1, Ablation::kUniform}};
  EXPECT_EQ(allocations_of(engine, {"string", "strin", "string"}, options), 0);
  options.teacher_forced = true;
  options.target = "ingstray";
  EXPECT_EQ(allocations_of(engine, {"string", "strin", "string"}, options), 0);
}

TEST(NoAllocation, WordLevelSeq2Seq) {
  const Model model = load("dates.weights.json");
  Engine engine(model);
  EXPECT_EQ(allocations_of(engine, {"march the third", "march the third twenty twenty one"}, {}), 0);
}

TEST(NoAllocation, CausalLmWithContinuation) {
  const Model model = load("induction_lm.weights.json");
  Engine engine(model);
  RunOptions options;
  options.continuation = 4;
  EXPECT_EQ(allocations_of(engine, {"abcab", "abcabc", "abca"}, options), 0);
}

}  // namespace
}  // namespace attnviz
