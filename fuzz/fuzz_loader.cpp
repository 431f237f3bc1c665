// libFuzzer: bytes -> load_model. A failure must be a short one-line message; a model that
// loads must also run on a short text without fault.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine.h"
#include "weights_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  attnviz::Model model;
  const attnviz::Status status =
      attnviz::load_model(std::string_view(reinterpret_cast<const char*>(data), size), model);
  if (!status.ok) {
    if (status.message.empty() || status.message.size() > 403 ||
        status.message.find('\n') != std::string::npos)
      __builtin_trap();  // every refusal names its problem, in one short line
    return 0;
  }
  attnviz::Engine engine(model);
  attnviz::RunResult result;
  for (const char* text : {"ab", "a b c"}) {
    attnviz::RunOptions options;
    options.continuation = 2;
    engine.run(text, options, result);  // may refuse the text (unknown tokens); must not fault
  }
  return 0;
}
