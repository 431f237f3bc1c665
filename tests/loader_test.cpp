// Every class of bad weights file is refused with a message naming the problem; the model
// passed in is left as it was.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "test_models.h"
#include "weights_loader.h"

namespace attnviz {
namespace {

using nlohmann::json;
using testing::tiny_model;

std::string load_error(const std::string& text) {
  Model model;
  const Status status = load_model(text, model);
  EXPECT_FALSE(status.ok) << "accepted a bad file";
  return status.message;
}

std::string load_error(const json& document) { return load_error(document.dump()); }

testing::TinyModelOptions numbers(bool seq2seq = true) {
  testing::TinyModelOptions options;
  options.seq2seq = seq2seq;
  options.base64 = false;
  return options;
}

testing::TinyModelOptions with_final_norms() {
  testing::TinyModelOptions options;
  options.final_norms = true;
  return options;
}

#define EXPECT_MESSAGE(message, fragment) \
  EXPECT_NE((message).find(fragment), std::string::npos) << "message: " << (message)

TEST(Loader, AcceptsValidSeq2SeqAndCausalLm) {
  for (bool seq2seq : {true, false})
    for (bool base64 : {true, false}) {
      testing::TinyModelOptions options;
      options.seq2seq = seq2seq;
      options.base64 = base64;
      options.final_norms = true;
      Model model;
      const Status status = load_model(tiny_model(options).dump(), model);
      ASSERT_TRUE(status.ok) << status.message;
      EXPECT_EQ(model.config.is_seq2seq(), seq2seq);
      EXPECT_EQ(model.encoder.size(), 1u);
      EXPECT_EQ(model.decoder.size(), seq2seq ? 1u : 0u);
      EXPECT_EQ(model.positions.rows, 12);  // sinusoidal, computed
      EXPECT_FALSE(model.encoder_norm.weight.empty());
    }
}

TEST(Loader, AcceptsTheDocumentedExample) {
  Model model;
  const Status status = load_model(testing::read_text(testing::source_path("docs/example-weights.json")), model);
  EXPECT_TRUE(status.ok) << status.message;
}

TEST(Loader, ViewsPointAtTheRightValues) {
  json doc = tiny_model(numbers(false));
  Model model;
  ASSERT_TRUE(load_model(doc.dump(), model).ok);
  const auto& w = doc["tensors"]["encoder.layers.0.linear1.weight"]["data"];
  // Stored input-major: the matrix is [in 8 x out 16] and (in, out) holds W[out][in].
  EXPECT_EQ(model.encoder[0].linear1.weight.rows, 8);
  EXPECT_EQ(model.encoder[0].linear1.weight.cols, 16);
  EXPECT_EQ(model.encoder[0].linear1.weight.at(2, 1), w[1 * 8 + 2].get<float>());
  EXPECT_EQ(model.encoder[0].linear1.weight.at(7, 12), w[12 * 8 + 7].get<float>());
  const auto& in_proj = doc["tensors"]["encoder.layers.0.self_attn.in_proj_weight"]["data"];
  const PackedMatrix& value_block = model.encoder[0].self_attn.in_proj_weight[2];
  EXPECT_EQ(value_block.at(3, 5), in_proj[(16 + 5) * 8 + 3].get<float>());  // v: W[5][3]
}

TEST(Loader, FailureLeavesTheModelAsItWas) {
  Model model;
  ASSERT_TRUE(load_model(tiny_model().dump(), model).ok);
  const float* before = model.storage.data();
  EXPECT_FALSE(load_model("{", model).ok);
  EXPECT_EQ(model.storage.data(), before);
  EXPECT_EQ(model.config.d_model, 8);
}

TEST(Loader, NotJson) {
  EXPECT_MESSAGE(load_error(std::string("hello")), "not valid JSON");
  EXPECT_MESSAGE(load_error(std::string("")), "not valid JSON");
  EXPECT_MESSAGE(load_error(std::string("[1, 2]")), "must hold a JSON object");
}

TEST(Loader, PythonNaNLiteralIsNotJson) {
  json doc = tiny_model(numbers());
  std::string text = doc.dump();
  text.replace(text.find("\"layer_norm_eps\":") + 17, 5, "NaN");
  EXPECT_MESSAGE(load_error(text), "not valid JSON");
}

TEST(Loader, Truncated) {
  const std::string text = tiny_model().dump();
  for (size_t cut : {size_t(1), text.size() / 3, text.size() / 2, text.size() - 1})
    EXPECT_MESSAGE(load_error(text.substr(0, cut)), "truncated");
}

TEST(Loader, InvalidUtf8) {
  std::string text = tiny_model().dump();
  text.replace(text.find("\"test\""), 6, "\"t\xff\xfe\"");
  EXPECT_MESSAGE(load_error(text), "UTF-8");
}

TEST(Loader, NestingTooDeep) {
  std::string text = "{\"format\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_MESSAGE(load_error(text), "nested deeper than 64");
}

TEST(Loader, DuplicateKeys) {
  std::string text = tiny_model().dump();
  text.insert(1, "\"version\":1,");
  EXPECT_MESSAGE(load_error(text), "duplicate key \"version\"");
  std::string tensors = tiny_model().dump();
  const std::string name = "\"fc_out.bias\":";
  const size_t at = tensors.find(name);
  const size_t end = tensors.find('}', at) + 1;
  tensors.insert(at, tensors.substr(at, end - at) + ",");
  EXPECT_MESSAGE(load_error(tensors), "duplicate key \"fc_out.bias\"");
}

TEST(Loader, UnknownFormatOrVersion) {
  json doc = tiny_model();
  doc["format"] = "gguf";
  EXPECT_MESSAGE(load_error(doc), "not an attnviz weights file");
  doc = tiny_model();
  doc.erase("format");
  EXPECT_MESSAGE(load_error(doc), "not an attnviz weights file");
  doc = tiny_model();
  doc["version"] = 2;
  EXPECT_MESSAGE(load_error(doc), "unsupported format version 2");
}

TEST(Loader, UnknownKeysAreTyposNotExtensions) {
  json doc = tiny_model();
  doc["config"]["norm_frist"] = true;
  EXPECT_MESSAGE(load_error(doc), "config: unknown key \"norm_frist\"");
  doc = tiny_model();
  doc["extra"] = 1;
  EXPECT_MESSAGE(load_error(doc), "file: unknown key \"extra\"");
}

TEST(Loader, MissingTensorIsNamed) {
  json doc = tiny_model();
  doc["tensors"].erase("decoder.layers.0.norm3.bias");
  EXPECT_MESSAGE(load_error(doc), "missing tensor \"decoder.layers.0.norm3.bias\"");
}

TEST(Loader, UnknownTensorIsNamed) {
  json doc = tiny_model();
  doc["tensors"]["encoder.layers.7.linear1.weight"] = doc["tensors"]["encoder.layers.0.linear1.weight"];
  EXPECT_MESSAGE(load_error(doc), "unknown tensor \"encoder.layers.7.linear1.weight\"");
}

TEST(Loader, FinalNormWithoutConfigIsUnknown) {
  json doc = tiny_model(with_final_norms());
  doc["config"]["encoder_norm"] = false;
  EXPECT_MESSAGE(load_error(doc), "unknown tensor \"encoder.norm.");
}

TEST(Loader, WrongShapeSaysExpectedAndGot) {
  json doc = tiny_model(numbers());
  doc["tensors"]["encoder.layers.0.linear1.weight"]["shape"] = {8, 16};
  EXPECT_MESSAGE(load_error(doc),
                 "tensor \"encoder.layers.0.linear1.weight\": expected shape [16, 8], got [8, 16]");
}

TEST(Loader, DataLengthMustMatchShape) {
  json doc = tiny_model();
  doc["tensors"]["fc_out.bias"]["data"] = testing::encode_floats({1, 2, 3});
  EXPECT_MESSAGE(load_error(doc), "tensor \"fc_out.bias\": data holds 12 bytes, its shape needs 32");
  doc = tiny_model();
  doc["tensors"]["fc_out.bias"]["data"] = "AAAAAAA";
  EXPECT_MESSAGE(load_error(doc), "not a multiple of 4");
  doc = tiny_model();
  std::string data = doc["tensors"]["fc_out.bias"]["data"];
  data[5] = '*';
  doc["tensors"]["fc_out.bias"]["data"] = data;
  EXPECT_MESSAGE(load_error(doc), "outside the base64 alphabet");
  doc = tiny_model(numbers());
  doc["tensors"]["fc_out.bias"]["data"].push_back(1.0);
  EXPECT_MESSAGE(load_error(doc), "data has 9 numbers, its shape needs 8");
}

TEST(Loader, WrongTypesInData) {
  json doc = tiny_model(numbers());
  doc["tensors"]["fc_out.bias"]["data"][3] = "1.0";
  EXPECT_MESSAGE(load_error(doc), "tensor \"fc_out.bias\": data[3] is not a number");
  doc["tensors"]["fc_out.bias"]["data"][3] = nullptr;
  EXPECT_MESSAGE(load_error(doc), "data[3] is not a number");
  doc["tensors"]["fc_out.bias"]["data"] = 7;
  EXPECT_MESSAGE(load_error(doc), "must be a base64 string or an array of numbers");
  doc = tiny_model();
  doc["tensors"]["fc_out.bias"]["dtype"] = "float16";
  EXPECT_MESSAGE(load_error(doc), "dtype \"float16\" is not float32");
}

TEST(Loader, NaNAndInfinityAreRefused) {
  std::vector<float> values(8, 0.5f);
  values[2] = std::numeric_limits<float>::quiet_NaN();
  json doc = tiny_model();
  doc["tensors"]["fc_out.bias"]["data"] = testing::encode_floats(values);
  EXPECT_MESSAGE(load_error(doc), "tensor \"fc_out.bias\": value 2 is NaN");
  values[2] = -std::numeric_limits<float>::infinity();
  doc["tensors"]["fc_out.bias"]["data"] = testing::encode_floats(values);
  EXPECT_MESSAGE(load_error(doc), "value 2 is infinite");
  // 1e39 is a valid JSON number but overflows float32.
  std::string text = tiny_model(numbers()).dump();
  const size_t first = text.find("[", text.find("\"fc_out.bias\"")) + 1;
  text.replace(first, text.find(",", first) - first, "1e39");
  EXPECT_MESSAGE(load_error(text), "is infinite");
}

TEST(Loader, ConfigThatCannotWork) {
  json doc = tiny_model();
  doc["config"]["nhead"] = 3;
  EXPECT_MESSAGE(load_error(doc), "d_model 8 is not divisible by nhead 3");
  doc = tiny_model();
  doc["config"]["num_encoder_layers"] = 0;
  EXPECT_MESSAGE(load_error(doc), "config.num_encoder_layers = 0 is out of range [1, 64]");
  doc = tiny_model();
  doc["config"]["d_model"] = "8";
  EXPECT_MESSAGE(load_error(doc), "config.d_model must be an integer");
  doc = tiny_model();
  doc["config"]["max_output_len"] = 13;
  EXPECT_MESSAGE(load_error(doc), "config.max_output_len = 13 is out of range [1, 12]");
  doc = tiny_model();
  doc["config"]["activation"] = "swish";
  EXPECT_MESSAGE(load_error(doc), "config.activation = \"swish\" is not one of");
  doc = tiny_model();
  doc.erase("config");
  EXPECT_MESSAGE(load_error(doc), "file: missing \"config\"");
}

TEST(Loader, AbsurdSizesAreRefusedBeforeAllocating) {
  json doc = tiny_model();
  doc["config"]["d_model"] = 1u << 31;  // would wrap a 32-bit size_t
  EXPECT_MESSAGE(load_error(doc), "config.d_model = 2147483648 is out of range");
  doc = tiny_model();
  doc["config"]["dim_feedforward"] = 18446744073709551615ull;
  EXPECT_MESSAGE(load_error(doc), "config.dim_feedforward = 18446744073709551615 is out of range");
  // Each size within its cap, the product over the total cap: refused with no tensor read.
  doc = tiny_model();
  doc["config"]["d_model"] = 4096;
  doc["config"]["nhead"] = 8;
  doc["config"]["num_encoder_layers"] = 64;
  doc["config"]["dim_feedforward"] = 65536;
  EXPECT_MESSAGE(load_error(doc), "over the limit of 256 MiB");
  doc["tensors"]["x"]["shape"] = {1u << 31, 1u << 31, 1u << 31};
  EXPECT_MESSAGE(load_error(doc), "over the limit");
}

TEST(Loader, ShapesWhoseProductOverflowsAreRefused) {
  json doc = tiny_model();
  doc["tensors"]["fc_out.bias"]["shape"] = {65536, 65536, 65536};
  EXPECT_MESSAGE(load_error(doc), "tensor \"fc_out.bias\": expected shape [8], got [65536, 65536, 65536]");
}

TEST(Loader, VocabularyAndEmbeddingDisagree) {
  json doc = tiny_model();
  doc["tokenizer"]["src_vocab"].push_back("f");
  EXPECT_MESSAGE(load_error(doc),
                 "tokenizer.src_vocab has 9 tokens but \"src_embedding.weight\" has 8 rows");
  doc = tiny_model();
  doc["tokenizer"]["tgt_vocab"].erase(7);
  EXPECT_MESSAGE(load_error(doc), "tokenizer.tgt_vocab has 7 tokens but \"tgt_embedding.weight\" has 8 rows");
}

TEST(Loader, VocabularyProblems) {
  json doc = tiny_model();
  doc["tokenizer"]["src_vocab"][4] = "a";
  EXPECT_MESSAGE(load_error(doc), "tokenizer.src_vocab lists \"a\" twice (ids 3 and 4)");
  doc = tiny_model();
  doc["tokenizer"]["src_vocab"][4] = 5;
  EXPECT_MESSAGE(load_error(doc), "tokenizer.src_vocab[4] must be a string");
}

TEST(Loader, SpecialTokenIdsOutOfRange) {
  json doc = tiny_model();
  doc["tokenizer"]["specials"]["eos"] = 8;
  EXPECT_MESSAGE(load_error(doc), "tokenizer.specials.eos = 8 is out of range: the vocabulary has 8 tokens");
  doc["tokenizer"]["specials"]["eos"] = -1;
  EXPECT_MESSAGE(load_error(doc), "tokenizer.specials.eos = -1 is out of range");
  doc = tiny_model();
  doc["tokenizer"]["specials"]["bos"] = nullptr;
  EXPECT_MESSAGE(load_error(doc), "a seq2seq model needs a start token");
  doc = tiny_model();
  doc["tokenizer"]["specials"]["pad"] = nullptr;
  doc["tokenizer"]["pad_src"] = true;
  EXPECT_MESSAGE(load_error(doc), "tokenizer.pad_src needs specials.pad");
}

TEST(Loader, PositionalTableAcceptsLeadingUnitDims) {
  json doc = tiny_model(numbers());
  doc["config"]["positional"] = "table";
  doc["modules"]["positional"] = "pos_encoder.pe";
  doc["tensors"]["pos_encoder.pe"] = {{"shape", {1, 12, 8}}, {"data", std::vector<float>(96, 0.25f)}};
  Model model;
  const Status status = load_model(doc.dump(), model);
  ASSERT_TRUE(status.ok) << status.message;
  EXPECT_EQ(model.positions.rows, 12);
  EXPECT_EQ(model.positions.matrix()(11, 7), 0.25f);
  doc["tensors"]["pos_encoder.pe"]["shape"] = {1, 11, 8};
  EXPECT_MESSAGE(load_error(doc), "expected shape [12, 8], got [1, 11, 8]");
}

// Regressions from the hardening corpus (tests/hardening): sizes are bounded by what the file
// holds before anything is allocated for them.

TEST(Loader, FileOverTheSizeCapIsRefusedBeforeParsing) {
  std::string text = tiny_model().dump();
  text.append((128u << 20) + 1 - text.size(), ' ');  // valid JSON, one byte over 128 MiB
  EXPECT_MESSAGE(load_error(text), "the file is 134217729 bytes (129 MiB), over the limit of 128 MiB");
  LoadLimits limits;
  limits.max_file_bytes = 1u << 20;
  Model model;
  EXPECT_MESSAGE(load_model(std::string((1u << 20) + 1, ' '), model, limits).message,
                 "over the limit of 1 MiB");
}

TEST(Loader, JsonThatWouldTakeTooMuchMemoryToParseIsRefused) {
  // 5M numbers are 10 MB of text but about 240 MiB as nlohmann values.
  json doc = tiny_model();
  std::string text = doc.dump();
  std::string zeros = "[0";
  for (int i = 1; i < (5 << 20); ++i) zeros += ",0";
  zeros += "]";
  text.replace(text.find("\"test\""), 6, zeros);  // metadata.task
  EXPECT_MESSAGE(load_error(text), "too large to parse within 192 MiB of memory");
  // A 40 MiB string: the parser's buffers hold it several times over.
  doc["metadata"] = {{"notes", std::string(40u << 20, 'x')}};
  EXPECT_MESSAGE(load_error(doc), "longest string 41943040 bytes");
  // The estimate follows the limit.
  LoadLimits limits;
  limits.max_json_memory = 4096;
  Model model;
  EXPECT_MESSAGE(load_model(tiny_model().dump(), model, limits).message, "too large to parse");
}

TEST(Loader, DataSizesAreCheckedBeforeStorageIsAllocated) {
  // A few kilobytes declaring 200 MiB of float32 (under the 256 MiB cap), every shape right and
  // every data string 3 bytes: refused before the 200 MiB are allocated.
  testing::TinyModelOptions options;
  options.seq2seq = false;
  options.d_model = 12;
  options.dim_feedforward = 20;
  json doc = tiny_model(options);
  doc["config"]["d_model"] = 2048;
  doc["config"]["nhead"] = 8;
  doc["config"]["dim_feedforward"] = 8192;
  for (auto& [name, tensor] : doc["tensors"].items()) {
    for (auto& dim : tensor["shape"]) {
      const int d = dim.get<int>();
      dim = d == 12 ? 2048 : d == 36 ? 6144 : d == 20 ? 8192 : d;
    }
    tensor["data"] = "AAAA";
  }
  EXPECT_MESSAGE(load_error(doc), "tensor \"src_embedding.weight\": data holds 3 bytes, its shape needs 65536");
  // Every tensor's size is checked before any is decoded: the short last tensor is reported,
  // not the NaN in the first.
  doc = tiny_model();
  std::vector<float> values(64, 0.5f);
  values[0] = std::numeric_limits<float>::quiet_NaN();
  doc["tensors"]["src_embedding.weight"]["data"] = testing::encode_floats(values);
  doc["tensors"]["fc_out.bias"]["data"] = "AAAA";
  EXPECT_MESSAGE(load_error(doc), "tensor \"fc_out.bias\": data holds 3 bytes");
}

TEST(Loader, MessagesStayShortWhateverTheFileQuotes) {
  // Cut inside a long base64 string (a partial download): nlohmann quotes the whole token.
  testing::TinyModelOptions options;
  options.d_model = 64;
  options.nhead = 2;
  options.dim_feedforward = 256;
  const std::string text = tiny_model(options).dump();
  const size_t cut = text.find("\"data\":\"", text.find("linear1.weight")) + 4000;
  std::string message = load_error(text.substr(0, cut));
  EXPECT_MESSAGE(message, "not valid JSON: the file is truncated");
  EXPECT_MESSAGE(message, "last read: '...");
  EXPECT_LE(message.size(), 300u) << message;
  // Any quoted text: at most 400 bytes and "...".
  json doc = tiny_model();
  doc["config"][std::string(100000, 'k')] = 1;
  message = load_error(doc);
  EXPECT_MESSAGE(message, "config: unknown key \"kkkk");
  EXPECT_EQ(message.size(), 403u);
  EXPECT_EQ(message.substr(400), "...");
}

TEST(Loader, NumberBeyondDoubleIsNotJson) {
  std::string text = tiny_model(numbers()).dump();
  text.replace(text.find("\"layer_norm_eps\":") + 17, 5, "1e309");
  EXPECT_EQ(load_error(text), "not valid JSON: number overflow parsing '1e309'");
}

TEST(Loader, AttentionARunWouldRecordIsCapped) {
  // A 2 KB file with max_len 4096 and 4 heads: 1 GiB of attention reserved by every run.
  json doc = tiny_model();  // seq2seq, 1 + 1 layers, sinusoidal positions (computed)
  doc["config"]["max_len"] = 4096;
  doc["config"]["nhead"] = 4;
  EXPECT_MESSAGE(load_error(doc), "config: a run's attention (nhead x max_len^2 per encoder layer, "
                                  "twice per decoder layer) needs 201326592 floats (768 MiB), over "
                                  "the limit of 256 MiB");
  doc["config"]["max_len"] = 2048;  // 192 MiB: allowed
  doc["config"].erase("max_output_len");
  Model model;
  const Status status = load_model(doc.dump(), model);
  EXPECT_TRUE(status.ok) << status.message;
}

}  // namespace
}  // namespace attnviz

namespace attnviz {
namespace {

// Tensor data strings are left in the text and parsed around (json_strict.cpp): what the
// file says must come out the same, and error positions are the file's own.
TEST(Loader, LongDataStringsOutsideTensorsStayStrings) {
  json doc = testing::tiny_model();
  const std::string long_base64(400, 'A');
  doc["metadata"] = {{"data", long_base64}, {"x", {{"data", long_base64}}}};
  Model model;
  ASSERT_TRUE(load_model(doc.dump(), model).ok);
  EXPECT_EQ(json::parse(model.metadata_json)["data"], long_base64);
  EXPECT_EQ(json::parse(model.metadata_json)["x"]["data"], long_base64);
}

TEST(Loader, ParseErrorsAfterTensorDataGiveTheFilePosition) {
  std::string text = testing::tiny_model().dump();
  const size_t at = text.rfind("\"tokenizer\"");  // keys are sorted: tensors come before
  text.insert(at, "@");  // a stray character after every tensor's data
  const std::string message = load_error(text);
  EXPECT_MESSAGE(message, "at line 1, column " + std::to_string(at + 1) + ":");
}

}  // namespace
}  // namespace attnviz
