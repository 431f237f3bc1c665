// Times the engine natively on one weights file: the encoder alone and the whole job
// (tokenize, encode, greedy decode with attention captured), as medians over repetitions.
// Prints one JSON line: {"engine", "encoder_ms": [median, min, max], "job_ms": [...], "tokens"}.
//
// usage: bench_native WEIGHTS TEXT [REPETITIONS]
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine.h"
#include "weights_loader.h"

namespace {

template <typename Fn>
std::vector<double> time_runs(int repetitions, Fn fn) {
  for (int i = 0; i < 5; ++i) fn();  // warm-up: caches, buffers
  std::vector<double> ms;
  for (int i = 0; i < repetitions; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.front(), ms.back()};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: bench_native WEIGHTS TEXT [REPETITIONS]\n";
    return 2;
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
  const int repetitions = argc > 3 ? std::atoi(argv[3]) : 200;
  attnviz::Engine engine(model);
  attnviz::RunResult result;
  attnviz::RunOptions encoder_only;
  encoder_only.decode = false;
  const auto encoder_ms = time_runs(repetitions, [&] { engine.run(argv[2], encoder_only, result); });
  const auto job_ms = time_runs(repetitions, [&] { engine.run(argv[2], {}, result); });
  nlohmann::json out = {{"engine", "attnviz native"}, {"encoder_ms", encoder_ms},
                        {"job_ms", job_ms}, {"tokens", result.output_ids}};
  std::cout << out.dump() << "\n";
  return 0;
}
