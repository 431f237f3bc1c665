// JSON parsing with the checks nlohmann_json does not make on its own: a cap on nesting
// depth (checked before parsing, so a 100,000-deep file costs one scan) and a refusal of
// duplicate object keys (nlohmann keeps the last one silently).
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace attnviz {

constexpr int kMaxJsonDepth = 64;

// Throws attnviz::Error naming the problem: not JSON (with line and column), truncated,
// nested too deeply, or a duplicate key.
nlohmann::json parse_json_strict(std::string_view text);

}  // namespace attnviz
