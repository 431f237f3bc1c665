// Errors inside core are thrown as attnviz::Error and caught at the public entry points
// (load_model, Engine::run), which return a Status instead. Nothing escapes to callers,
// so the WebAssembly build never aborts on bad input.
#pragma once

#include <stdexcept>
#include <string>

namespace attnviz {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

struct Status {
  bool ok = true;
  std::string message;  // one line naming the problem when !ok

  static Status success() { return {}; }
  static Status failure(std::string message) { return {false, std::move(message)}; }
};

}  // namespace attnviz
