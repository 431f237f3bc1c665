// Times the engine natively on one weights file: the encoder alone and the whole job
// (tokenize, encode, greedy decode with attention captured), as medians over repetitions.
// Prints one JSON line: {"engine", "encoder_ms": [median, min, max], "job_ms": [...], "tokens",
// "reps", "scale": [{"n", "ms", "reps"}]}.
//
// usage: bench_native WEIGHTS TEXT [REPETITIONS] [--budget-ms=B] [--scale=16,64,...] [--scale-only]
//   REPETITIONS fixes the count; --budget-ms instead runs as many as fit in B ms (at least 7,
//   at most 300) after warm-ups (3 calls and 250 ms, or 1 call past 100 ms). --scale times the encoder alone on texts of n source tokens
//   (n - 1 letters + <eos>; the model's max_len must allow them).
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine.h"
#include "weights_loader.h"

namespace {

struct Timing {
  std::vector<double> ms;  // median, min, max
  int reps = 0;
};

// Fixed `repetitions` when > 0; otherwise as many as fit in budget_ms, within [min_reps, 300].
template <typename Fn>
Timing time_runs(int repetitions, double budget_ms, int min_reps, Fn fn) {
  const auto elapsed = [&] {
    const auto start = std::chrono::steady_clock::now();
    fn();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  };
  // Warm-up (caches, buffers): at least 3 calls and 250 ms, or one call when it takes over 100 ms.
  // The fastest warm-up call after the first sizes the count.
  double last = 0, fastest = 1e300;
  double total = 0;
  for (int i = 0; i == 0 || (last < 100 && (i < 3 || total < 250)); ++i) {
    total += (last = elapsed());
    if (i > 0 || last >= 100) fastest = std::min(fastest, last);
  }
  if (repetitions <= 0) repetitions = std::clamp(int(budget_ms / std::max(fastest, 1e-3)), min_reps, 300);
  std::vector<double> ms;
  for (int i = 0; i < repetitions; ++i) ms.push_back(elapsed());
  std::sort(ms.begin(), ms.end());
  return {{ms[ms.size() / 2], ms.front(), ms.back()}, repetitions};
}

std::string scale_text(int n) {
  std::string text;
  for (int i = 0; i < n - 1; ++i) text += char('a' + (i * 7) % 26);
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: bench_native WEIGHTS TEXT [REPETITIONS] [--budget-ms=B] [--scale=N,...] [--scale-only]\n";
    return 2;
  }
  int repetitions = 200;
  double budget_ms = 0;
  bool scale_only = false;
  std::vector<int> scale;
  for (int i = 3; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--budget-ms=", 0) == 0) {
      budget_ms = std::atof(arg.c_str() + 12);
      repetitions = 0;
    } else if (arg.rfind("--scale=", 0) == 0) {
      std::stringstream list(arg.substr(8));
      for (std::string n; std::getline(list, n, ',');) scale.push_back(std::atoi(n.c_str()));
    } else if (arg == "--scale-only") {
      scale_only = true;
    } else {
      repetitions = std::atoi(arg.c_str());
    }
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  attnviz::Model model;
  const attnviz::Status loaded = attnviz::load_model(text.str(), model);
  if (!loaded.ok) {
    std::cerr << "bench_native: " << loaded.message << "\n";
    return 2;
  }
  attnviz::Engine engine(model);
  attnviz::RunResult result;
  attnviz::RunOptions encoder_only;
  encoder_only.decode = false;
  nlohmann::json out = {{"engine", "attnviz native"}};
  const auto check = [&](const attnviz::Status& status) {
    if (!status.ok) {
      std::cerr << "bench_native: " << status.message << "\n";
      std::exit(2);
    }
  };
  if (!scale_only) {
    check(engine.run(argv[2], encoder_only, result));
    const auto encoder = time_runs(repetitions, budget_ms, 7, [&] { engine.run(argv[2], encoder_only, result); });
    check(engine.run(argv[2], {}, result));
    const auto job = time_runs(repetitions, budget_ms, 7, [&] { engine.run(argv[2], {}, result); });
    out["encoder_ms"] = encoder.ms;
    out["job_ms"] = job.ms;
    out["tokens"] = result.output_ids;
    out["reps"] = {{"encoder", encoder.reps}, {"job", job.reps}};
  }
  if (!scale.empty()) {
    out["scale"] = nlohmann::json::array();
    for (const int n : scale) {
      const std::string text = scale_text(n);
      check(engine.run(text, encoder_only, result));
      const auto t = time_runs(repetitions, budget_ms, 3, [&] { engine.run(text, encoder_only, result); });
      out["scale"].push_back({{"n", n}, {"ms", t.ms}, {"reps", t.reps}});
    }
  }
  std::cout << out.dump() << "\n";
  return 0;
}
