// libFuzzer: bytes -> text -> Engine::run on fixed small models (loaded once): a char-level
// seq2seq, a word-level seq2seq with <unk>, and a causal LM. The first byte picks the model
// and the mode; the rest is the text, or "text\0target" to teacher-force the target.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "engine.h"
#include "weights_loader.h"

namespace {

struct Loaded {
  attnviz::Model model;
  attnviz::Engine* engine = nullptr;
};

Loaded* load(const char* relative) {
  std::ifstream in(std::string(ATTNVIZ_SOURCE_DIR) + "/" + relative, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  auto* loaded = new Loaded;
  const attnviz::Status status = attnviz::load_model(text.str(), loaded->model);
  if (!status.ok) std::abort();
  loaded->engine = new attnviz::Engine(loaded->model);
  return loaded;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Loaded* models[] = {load("tests/fixtures/s2s_seed_small.weights.json"),
                             load("tests/fixtures/s2s_words_preln_gelu_h4.weights.json"),
                             load("tests/fixtures/lm_learned_h1.weights.json")};
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  Loaded& m = *models[selector % 3];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  attnviz::RunOptions options;
  const size_t split = rest.find('\0');
  if (split != std::string_view::npos) {
    options.teacher_forced = true;
    options.target = std::string(rest.substr(split + 1));
    rest = rest.substr(0, split);
  }
  options.continuation = (selector >> 2) % 8;
  attnviz::RunResult result;
  const attnviz::Status status = m.engine->run(rest, options, result);
  if (!status.ok && (status.message.empty() || status.message.size() > 2000)) __builtin_trap();
  if (status.ok) {
    // Every recorded attention row is a distribution; every token id is in the vocabulary.
    for (int id : result.src_ids)
      if (id < 0 || id >= m.engine->tokenizer().source().size()) __builtin_trap();
    for (int id : result.output_ids)
      if (id < 0 || id >= m.engine->tokenizer().target().size()) __builtin_trap();
    if (result.encoder_self.data.size() !=
        size_t(result.encoder_self.layers) * result.encoder_self.heads * result.encoder_self.rows *
            result.encoder_self.cols)
      __builtin_trap();
  }
  return 0;
}
