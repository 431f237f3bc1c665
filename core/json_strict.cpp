#include "json_strict.h"

#include <algorithm>
#include <array>
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

// Strings this long at tensors.<name>.data, all in the base64 alphabet, are left in place.
constexpr size_t kMinBlob = 256;
// What the parser sees instead: "\u0000blob:<index>" (a NUL opens no real base64 string).
constexpr std::string_view kMarker = "\\u0000blob:";
constexpr std::string_view kDecodedMarker{"\0blob:", 6};

// The base64 alphabet and '=' as a table: the pre-scan tests every byte of tensor data.
constexpr std::array<bool, 256> make_base64_table() {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c)
    table[c] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '+' || c == '/' || c == '=';
  return table;
}
constexpr std::array<bool, 256> kBase64Char = make_base64_table();

bool is_base64_char(unsigned char c) { return kBase64Char[c]; }

struct Span {
  size_t start, length;  // of a string's contents, quotes excluded
};

// One pass over the text: the nesting depth, an over-estimate of the parse's memory, and
// the spans of the tensor data strings to leave in place (returned).
std::vector<Span> prescan(std::string_view text, unsigned long long max_memory) {
  std::vector<Span> blobs;
  int depth = 0;
  bool in_scalar = false;
  size_t string_start = 0, last_string = 0, longest = 0;
  unsigned long long values = 0, cost = 0;
  // Where we are, enough to know a tensor's data: the key at depth 1 and at depth 3, and
  // whether a value is due (just after a ':').
  std::string_view top_key, entry_key;
  bool value_due = false;
  auto too_large = [&]() {
    return Error("the file is too large to parse within " + mib(max_memory) + " of memory (" +
                 std::to_string(values) + " JSON values, longest string " +
                 std::to_string(longest) +
                 " bytes); tensor data as base64 takes about 10x less than number arrays");
  };
  const size_t n = text.size();
  for (size_t i = 0; i < n; ++i) {
    const char c = text[i];
    if (c == '"') {
      // A whole string in tight loops: a run of base64 first (for a tensor's data), then, if
      // something else comes, plain characters and escapes up to the closing quote.
      const bool candidate = value_due && depth == 3 && top_key == "tensors" && entry_key == "data";
      value_due = false;
      string_start = i + 1;
      ++values, cost += kValueCost;
      size_t j = string_start;
      while (j < n && is_base64_char(static_cast<unsigned char>(text[j]))) ++j;
      const bool all_base64 = j < n && text[j] == '"';
      while (j < n && text[j] != '"') j += text[j] == '\\' ? 2 : 1;
      if (j >= n) {  // truncated inside the string
        longest = std::max(longest, n - string_start);
        break;
      }
      last_string = j - string_start;
      if (candidate && all_base64 && last_string >= kMinBlob) blobs.push_back({string_start, last_string});
      else longest = std::max(longest, last_string);
      cost += kStringCost + last_string;
      if (cost > max_memory) throw too_large();
      in_scalar = false;
      i = j;
      continue;
    }
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      in_scalar = false;
      continue;
    }
    if (c == ':') {
      const std::string_view key = text.substr(string_start, last_string);
      if (depth == 1) top_key = key;
      if (depth == 3) entry_key = key;
    }
    value_due = c == ':';
    const bool scalar = !(c == '[' || c == '{' || c == ']' || c == '}' || c == ':' || c == ',');
    if (scalar && !in_scalar) ++values, cost += kValueCost;
    in_scalar = scalar;
    if (c == '[' || c == '{') {
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
  if (cost + kLongestStringFactor * longest > max_memory) throw too_large();
  return blobs;
}

// The text the parser sees: each blob replaced by its marker. shifts[k] is how much shorter
// the text is after blob k, to map the parser's byte offsets back to the file's.
std::string compact(std::string_view text, const std::vector<Span>& blobs,
                    std::vector<std::pair<size_t, size_t>>& shifts) {
  std::string out;
  size_t removed = 0, next = 0;
  out.reserve(text.size() - std::min(text.size(), blobs.size() * kMinBlob) + 32 * blobs.size());
  for (size_t k = 0; k < blobs.size(); ++k) {
    out.append(text.substr(next, blobs[k].start - next));
    const std::string marker = std::string(kMarker) + std::to_string(k);
    out += marker;
    next = blobs[k].start + blobs[k].length;
    removed += blobs[k].length - marker.size();
    shifts.emplace_back(out.size(), removed);
  }
  out.append(text.substr(next));
  return out;
}

size_t original_offset(size_t offset, const std::vector<std::pair<size_t, size_t>>& shifts) {
  size_t removed = 0;
  for (const auto& [after, total] : shifts) {
    if (offset < after) break;
    removed = total;
  }
  return offset + removed;
}

// nlohmann says "at line L, column C" of the text it parsed; say where that is in the file.
std::string with_file_position(std::string message, std::string_view text, size_t offset) {
  const size_t at = message.find("at line ");
  const size_t end = at == std::string::npos ? at : message.find(':', at);
  if (end == std::string::npos) return message;
  offset = std::min(offset, text.size());
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') ++line, column = 1;
    else ++column;
  }
  return message.replace(at, end - at, "at line " + std::to_string(line) + ", column " + std::to_string(column));
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

std::string_view StrictJson::string_value(const nlohmann::json& value) const {
  const std::string& text = value.get_ref<const std::string&>();
  if (text.size() > kDecodedMarker.size() && text.compare(0, kDecodedMarker.size(), kDecodedMarker) == 0) {
    const std::string index = text.substr(kDecodedMarker.size());
    if (index.find_first_not_of("0123456789") == std::string::npos && index.size() < 10) {
      const size_t k = std::stoul(index);
      if (k < blobs.size()) return blobs[k];
    }
  }
  return text;
}

StrictJson parse_json_strict(std::string_view text, unsigned long long max_memory) {
  const std::vector<Span> spans = prescan(text, max_memory);
  std::vector<std::pair<size_t, size_t>> shifts;
  const std::string parsed_text = spans.empty() ? std::string() : compact(text, spans, shifts);
  const std::string_view parsed = spans.empty() ? text : std::string_view(parsed_text);
  StrictJson out;
  for (const Span& span : spans) out.blobs.push_back(text.substr(span.start, span.length));
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
    out.root = nlohmann::json::parse(parsed.begin(), parsed.end(), reject_duplicates);
    return out;
  } catch (const nlohmann::json::parse_error& e) {
    const size_t offset = original_offset(e.byte, shifts);
    std::string message = with_file_position(without_prefix(e.what()), text, offset == 0 ? 0 : offset - 1);
    if (offset >= text.size() || message.find("unexpected end of input") != std::string::npos)
      throw Error("not valid JSON: the file is truncated (" + message + ")");
    throw Error("not valid JSON: " + message);
  } catch (const nlohmann::json::out_of_range& e) {  // a number beyond double, such as 1e309
    throw Error("not valid JSON: " + without_prefix(e.what()));
  }
}

}  // namespace attnviz
