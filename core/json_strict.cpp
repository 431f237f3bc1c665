#include "json_strict.h"

#include <string>
#include <unordered_set>
#include <vector>

#include "error.h"

namespace attnviz {
namespace {

void check_depth(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth)
        throw Error("JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                    " levels (at byte " + std::to_string(i) + ")");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; keep what follows.
std::string without_prefix(const char* what) {
  std::string message = what;
  const size_t end = message.find("] ");
  return end == std::string::npos ? message : message.substr(end + 2);
}

}  // namespace

nlohmann::json parse_json_strict(std::string_view text) {
  check_depth(text);
  std::vector<std::unordered_set<std::string>> open_objects;
  auto reject_duplicates = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start) {
      open_objects.emplace_back();
    } else if (event == Event::object_end) {
      open_objects.pop_back();
    } else if (event == Event::key) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!open_objects.back().insert(key).second) throw Error("duplicate key \"" + key + "\"");
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), reject_duplicates);
  } catch (const nlohmann::json::parse_error& e) {
    std::string message = without_prefix(e.what());
    if (e.byte >= text.size() || message.find("unexpected end of input") != std::string::npos)
      throw Error("not valid JSON: the file is truncated (" + message + ")");
    throw Error("not valid JSON: " + message);
  }
}

}  // namespace attnviz
