#include "json_strict.h"

#include <algorithm>
#include <string>
#include <unordered_set>
#include <vector>

#include "error.h"

namespace attnviz {
namespace {

// Upper bounds on what nlohmann's DOM parse allocates (libstdc++, 64-bit, allocator overhead
// and vector slack included): a slot per value, a heap map or vector per container, a heap
// string per string, a map node and a duplicate-check entry per object member (its key copied
// into both), and the lexer's two token buffers, each up to twice the longest string.
constexpr unsigned long long kValueCost = 48;
constexpr unsigned long long kContainerCost = 64;
constexpr unsigned long long kStringCost = 64;
constexpr unsigned long long kMemberCost = 176;
constexpr unsigned long long kLongestStringFactor = 5;

std::string mib(unsigned long long bytes) {
  return std::to_string((bytes + (1ull << 20) - 1) >> 20) + " MiB";
}

// One pass over the text: the nesting depth, and an over-estimate of the parse's memory.
void prescan(std::string_view text, unsigned long long max_memory) {
  int depth = 0;
  bool in_string = false, in_scalar = false;
  size_t string_start = 0, last_string = 0, longest = 0;
  unsigned long long values = 0, cost = 0;
  auto too_large = [&]() {
    return Error("the file is too large to parse within " + mib(max_memory) + " of memory (" +
                 std::to_string(values) + " JSON values, longest string " +
                 std::to_string(longest) +
                 " bytes); tensor data as base64 takes about 10x less than number arrays");
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
        last_string = i - string_start;
        longest = std::max(longest, last_string);
        cost += kStringCost + last_string;
      }
      continue;
    }
    const bool scalar = !(c == '"' || c == '[' || c == '{' || c == ']' || c == '}' || c == ':' ||
                          c == ',' || c == ' ' || c == '\n' || c == '\r' || c == '\t');
    if (scalar && !in_scalar) ++values, cost += kValueCost;
    in_scalar = scalar;
    if (c == '"') {
      in_string = true;
      string_start = i + 1;
      ++values, cost += kValueCost;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth)
        throw Error("JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                    " levels (at byte " + std::to_string(i) + ")");
      ++values, cost += kValueCost + kContainerCost;
    } else if (c == ']' || c == '}') {
      --depth;
    } else if (c == ':') {
      cost += kMemberCost + 2 * last_string;
    }
    if (cost > max_memory) throw too_large();
  }
  if (in_string) longest = std::max(longest, text.size() - string_start);  // truncated
  if (cost + kLongestStringFactor * longest > max_memory) throw too_large();
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; keep what follows.
// They end by quoting the whole token last read, which for a truncated base64 string is the
// rest of the file: keep the token's last characters, where the problem is.
std::string without_prefix(const char* what) {
  std::string message = what;
  const size_t end = message.find("] ");
  if (end != std::string::npos) message = message.substr(end + 2);
  const std::string marker = "last read: '";
  const size_t at = message.find(marker);
  if (at == std::string::npos) return message;
  const size_t start = at + marker.size();
  const size_t close = message.rfind('\'');
  const size_t stop = close != std::string::npos && close >= start ? close : message.size();
  constexpr size_t kKeep = 40;
  if (stop - start <= kKeep + 3) return message;
  size_t cut = stop - kKeep;
  while (cut < stop && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) ++cut;  // UTF-8
  return message.replace(start, cut - start, "...");
}

}  // namespace

nlohmann::json parse_json_strict(std::string_view text, unsigned long long max_memory) {
  prescan(text, max_memory);
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
  } catch (const nlohmann::json::out_of_range& e) {  // a number beyond double, such as 1e309
    throw Error("not valid JSON: " + without_prefix(e.what()));
  }
}

}  // namespace attnviz
