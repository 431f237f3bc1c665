// JSON parsing with the checks nlohmann_json does not make on its own: a cap on nesting
// depth and on the memory the parsed document will take (both checked by one scan before
// parsing, so a 100,000-deep file or a million-element array costs no allocation), and a
// refusal of duplicate object keys (nlohmann keeps the last one silently).
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace attnviz {

constexpr int kMaxJsonDepth = 64;
constexpr unsigned long long kMaxJsonMemory = 192ull << 20;

// Throws attnviz::Error naming the problem: not JSON (with line and column), truncated,
// nested too deeply, too large to parse within max_memory bytes, or a duplicate key.
nlohmann::json parse_json_strict(std::string_view text,
                                 unsigned long long max_memory = kMaxJsonMemory);

}  // namespace attnviz
