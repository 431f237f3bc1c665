// attnviz: run a weights file on text and print every attention matrix; inspect or
// validate a weights file. Errors: one line on stderr, exit status 2.
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "engine.h"
#include "report.h"
#include "weights_loader.h"

namespace {

constexpr int kUsageOrInputError = 2;

const char* kUsage =
    "usage:\n"
    "  attnviz run   --weights FILE --text TEXT [--target TEXT] [--continue N] [--format json|csv]\n"
    "                [--ablate KIND:LAYER:HEAD[:zero|uniform]]... [--scores] [--value-norms]\n"
    "                KIND: encoder_self, decoder_self or cross; layers and heads count from 0\n"
    "  attnviz info  --weights FILE\n"
    "  attnviz check --weights FILE\n";

int fail(const std::string& message) {
  std::cerr << "attnviz: " << message << "\n";
  return kUsageOrInputError;
}

bool read_file(const std::string& path, std::string& text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  text = buffer.str();
  return true;
}

// "cross:1:3:zero" -> {kCross, 1, 3, kZero}; the mode defaults to zero.
bool parse_ablation(const std::string& spec, attnviz::HeadAblation& out) {
  std::vector<std::string> parts;
  std::stringstream in(spec);
  for (std::string part; std::getline(in, part, ':');) parts.push_back(part);
  if (parts.size() < 3 || parts.size() > 4) return false;
  const std::map<std::string, attnviz::AttentionKind> kinds = {
      {"encoder_self", attnviz::AttentionKind::kEncoderSelf},
      {"decoder_self", attnviz::AttentionKind::kDecoderSelf},
      {"cross", attnviz::AttentionKind::kCross}};
  if (!kinds.count(parts[0])) return false;
  const std::string mode = parts.size() == 4 ? parts[3] : "zero";
  if (mode != "zero" && mode != "uniform") return false;
  try {
    size_t used = 0;
    out.layer = std::stoi(parts[1], &used);
    if (used != parts[1].size()) return false;
    out.head = std::stoi(parts[2], &used);
    if (used != parts[2].size()) return false;
  } catch (const std::exception&) {
    return false;
  }
  out.kind = kinds.at(parts[0]);
  out.mode = mode == "zero" ? attnviz::Ablation::kZero : attnviz::Ablation::kUniform;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::cout << kUsage;
    return argc < 2 ? kUsageOrInputError : 0;
  }
  const std::string command = argv[1];
  if (command != "run" && command != "info" && command != "check")
    return fail("unknown command \"" + command + "\" (attnviz --help lists them)");

  std::map<std::string, std::string> flags;
  std::vector<std::string> ablations;
  for (int i = 2; i < argc; i += 2) {
    const std::string flag = argv[i];
    const bool run = command == "run";
    if (run && (flag == "--scores" || flag == "--value-norms")) {  // switches take no value
      flags[flag] = "1";
      --i;
      continue;
    }
    const bool known = flag == "--weights" || (run && (flag == "--text" || flag == "--target" ||
                                                       flag == "--format" || flag == "--continue" ||
                                                       flag == "--ablate"));
    if (!known) return fail("unknown option \"" + flag + "\" for " + command);
    if (i + 1 >= argc) return fail("option " + flag + " needs a value");
    if (flag == "--ablate") ablations.push_back(argv[i + 1]);
    else flags[flag] = argv[i + 1];
  }
  if (!flags.count("--weights")) return fail("missing --weights FILE");

  std::string text;
  if (!read_file(flags["--weights"], text))
    return fail("cannot read " + flags["--weights"]);
  attnviz::Model model;
  const attnviz::Status loaded = attnviz::load_model(text, model);
  if (!loaded.ok) return fail(flags["--weights"] + ": " + loaded.message);

  if (command == "check") {
    std::cout << "ok: " << flags["--weights"] << " ("
              << (model.config.is_seq2seq() ? "seq2seq" : "causal_lm") << ", "
              << model.parameter_count() << " parameters)\n";
    return 0;
  }
  if (command == "info") {
    std::cout << attnviz::model_info_json(model).dump(2) << "\n";
    return 0;
  }

  if (!flags.count("--text")) return fail("missing --text TEXT");
  const std::string format = flags.count("--format") ? flags["--format"] : "json";
  if (format != "json" && format != "csv") return fail("--format must be json or csv");
  attnviz::RunOptions options;
  if (flags.count("--target")) {
    if (!model.config.is_seq2seq()) return fail("--target needs a seq2seq model");
    options.teacher_forced = true;
    options.target = flags["--target"];
  }
  if (flags.count("--continue")) {
    try {
      options.continuation = std::stoi(flags["--continue"]);
    } catch (const std::exception&) {
      return fail("--continue must be a number");
    }
    if (options.continuation < 0) return fail("--continue must be >= 0");
  }
  for (const std::string& spec : ablations) {
    attnviz::HeadAblation ablation;
    if (!parse_ablation(spec, ablation))
      return fail("--ablate " + spec + ": expected KIND:LAYER:HEAD[:zero|uniform], KIND one of "
                  "encoder_self, decoder_self, cross");
    options.ablations.push_back(ablation);
  }
  options.capture_scores = flags.count("--scores") > 0;
  options.capture_value_norms = flags.count("--value-norms") > 0;
  attnviz::Engine engine(model);
  attnviz::RunResult result;
  const attnviz::Status ran = engine.run(flags["--text"], options, result);
  if (!ran.ok) return fail(ran.message);
  for (const std::string& notice : result.notices) std::cerr << "attnviz: note: " << notice << "\n";
  if (format == "csv") attnviz::write_csv(std::cout, result);
  else std::cout << attnviz::result_json(result, model.config.is_seq2seq()).dump() << "\n";
  return 0;
}
