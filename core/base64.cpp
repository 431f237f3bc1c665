#include "base64.h"

#include <array>

namespace attnviz {
namespace {

constexpr uint8_t kInvalid = 0xFF;

// Byte -> sextet, kInvalid outside the alphabet (built once, at compile time).
constexpr std::array<uint8_t, 256> make_table() {
  std::array<uint8_t, 256> table{};
  for (auto& entry : table) entry = kInvalid;
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (uint8_t i = 0; i < 64; ++i) table[static_cast<uint8_t>(alphabet[i])] = i;
  return table;
}

constexpr std::array<uint8_t, 256> kSextet = make_table();

}  // namespace

long long base64_decoded_size(std::string_view text) {
  if (text.size() % 4 != 0) return -1;
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') ++padding;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++padding;
  return static_cast<long long>(text.size() / 4 * 3 - padding);
}

bool base64_decode(std::string_view text, uint8_t* out) {
  if (text.empty()) return true;
  const auto* in = reinterpret_cast<const unsigned char*>(text.data());
  const size_t groups = text.size() / 4;
  // Every group but the last has no padding: 4 lookups, one validity test, 3 bytes.
  for (size_t g = 0; g + 1 < groups; ++g, in += 4, out += 3) {
    const uint32_t a = kSextet[in[0]], b = kSextet[in[1]], c = kSextet[in[2]], d = kSextet[in[3]];
    if ((a | b | c | d) & 0xC0) return false;  // kInvalid has the high bits set
    const uint32_t group = a << 18 | b << 12 | c << 6 | d;
    out[0] = static_cast<uint8_t>(group >> 16);
    out[1] = static_cast<uint8_t>(group >> 8);
    out[2] = static_cast<uint8_t>(group);
  }
  // The last group may end in "=" or "==".
  const int padding = (in[3] == '=') + (in[2] == '=' && in[3] == '=');
  uint32_t group = 0;
  for (int j = 0; j < 4; ++j) {
    const uint32_t value = j >= 4 - padding ? 0 : kSextet[in[j]];
    if (value == kInvalid) return false;
    group = group << 6 | value;
  }
  for (int j = 0; j < 3 - padding; ++j) out[j] = static_cast<uint8_t>(group >> (16 - 8 * j));
  return true;
}

}  // namespace attnviz
