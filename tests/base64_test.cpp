// Strict base64: known vectors, padding, and every way a string can be malformed.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base64.h"

namespace attnviz {
namespace {

std::string decode(const std::string& text) {
  const long long size = base64_decoded_size(text);
  if (size < 0) return "<bad length>";
  std::vector<uint8_t> out(static_cast<size_t>(size));
  if (!base64_decode(text, out.data())) return "<bad character>";
  return std::string(out.begin(), out.end());
}

TEST(Base64, KnownVectors) {
  EXPECT_EQ(decode(""), "");
  EXPECT_EQ(decode("TWFu"), "Man");
  EXPECT_EQ(decode("TWE="), "Ma");
  EXPECT_EQ(decode("TQ=="), "M");
  EXPECT_EQ(decode("aGVsbG8gd29ybGQ="), "hello world");
  EXPECT_EQ(decode("+/+/"), "\xfb\xff\xbf");
}

TEST(Base64, Malformed) {
  EXPECT_EQ(decode("TWF"), "<bad length>");
  EXPECT_EQ(decode("TW=u"), "<bad character>");   // padding before the end of a group
  EXPECT_EQ(decode("TQ==TWFu"), "<bad character>");  // padding before the last group
  EXPECT_EQ(decode("TW u"), "<bad character>");
  EXPECT_EQ(decode("TWF\xff"), "<bad character>");
  EXPECT_EQ(decode("TWFu-_Fu"), "<bad character>");  // the URL alphabet is not ours
  EXPECT_EQ(decode("===="), "<bad character>");
}

}  // namespace
}  // namespace attnviz
