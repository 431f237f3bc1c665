#include "base64.h"

namespace attnviz {
namespace {

int sextet(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

long long base64_decoded_size(std::string_view text) {
  if (text.size() % 4 != 0) return -1;
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') ++padding;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++padding;
  return static_cast<long long>(text.size() / 4 * 3 - padding);
}

bool base64_decode(std::string_view text, uint8_t* out) {
  const size_t size = static_cast<size_t>(base64_decoded_size(text));
  size_t written = 0;
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t group = 0;
    for (size_t j = 0; j < 4; ++j) {
      const unsigned char c = static_cast<unsigned char>(text[i + j]);
      const bool is_padding = c == '=' && i + 4 == text.size() && (j == 3 || (j == 2 && text[i + 3] == '='));
      const int value = is_padding ? 0 : sextet(c);
      if (value < 0) return false;
      group = (group << 6) | static_cast<uint32_t>(value);
    }
    for (int shift = 16; shift >= 0 && written < size; shift -= 8)
      out[written++] = static_cast<uint8_t>(group >> shift);
  }
  return true;
}

}  // namespace attnviz
