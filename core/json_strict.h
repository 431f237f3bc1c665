// JSON parsing with the checks nlohmann_json does not make on its own: a cap on nesting
// depth and on the memory the parsed document will take (both checked by one scan before
// parsing, so a 100,000-deep file or a million-element array costs no allocation), and a
// refusal of duplicate object keys (nlohmann keeps the last one silently).
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

namespace attnviz {

constexpr int kMaxJsonDepth = 64;
constexpr unsigned long long kMaxJsonMemory = 192ull << 20;

// A parsed document. Long base64 strings under "tensors" (the bulk of a weights file) are
// not copied into it: the pre-scan finds them, the parser sees a short marker in their place
// and they stay where they are in the caller's text, which must outlive this object.
struct StrictJson {
  nlohmann::json root;
  std::vector<std::string_view> blobs;  // views into the parsed text

  // A string value as the file wrote it: the string itself, or the blob its marker names.
  std::string_view string_value(const nlohmann::json& value) const;
};

// Throws attnviz::Error naming the problem: not JSON (with line and column), truncated,
// nested too deeply, too large to parse within max_memory bytes, or a duplicate key.
StrictJson parse_json_strict(std::string_view text, unsigned long long max_memory = kMaxJsonMemory);

}  // namespace attnviz
