// Strict base64 (RFC 4648, standard alphabet, '=' padding, no whitespace).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace attnviz {

// Number of bytes `text` decodes to, or -1 if it is not well-formed base64.
long long base64_decoded_size(std::string_view text);

// Decodes into out, which must hold base64_decoded_size(text) bytes. Returns false on a
// character outside the alphabet.
bool base64_decode(std::string_view text, uint8_t* out);

}  // namespace attnviz
