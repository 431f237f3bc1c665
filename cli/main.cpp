// attnviz: run a weights file on text and print every attention matrix; inspect or
// validate a weights file. Errors: one line on stderr, exit status 2.
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include "engine.h"
#include "report.h"
#include "weights_loader.h"

namespace {

constexpr int kUsageOrInputError = 2;

const char* kUsage =
    "usage:\n"
    "  attnviz run   --weights FILE --text TEXT [--target TEXT] [--continue N] [--format json|csv]\n"
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

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::cout << kUsage;
    return argc < 2 ? kUsageOrInputError : 0;
  }
  const std::string command = argv[1];
  if (command != "run" && command != "info" && command != "check")
    return fail("unknown command \"" + command + "\"\n" + kUsage);

  std::map<std::string, std::string> flags;
  for (int i = 2; i < argc; i += 2) {
    const std::string flag = argv[i];
    const bool known = flag == "--weights" || (command == "run" && (flag == "--text" || flag == "--target" ||
                                                                     flag == "--format" || flag == "--continue"));
    if (!known) return fail("unknown option \"" + flag + "\" for " + command);
    if (i + 1 >= argc) return fail("option " + flag + " needs a value");
    flags[flag] = argv[i + 1];
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
  attnviz::Engine engine(model);
  attnviz::RunResult result;
  const attnviz::Status ran = engine.run(flags["--text"], options, result);
  if (!ran.ok) return fail(ran.message);
  for (const std::string& notice : result.notices) std::cerr << "attnviz: note: " << notice << "\n";
  if (format == "csv") attnviz::write_csv(std::cout, result);
  else std::cout << attnviz::result_json(result, model.config.is_seq2seq()).dump() << "\n";
  return 0;
}
