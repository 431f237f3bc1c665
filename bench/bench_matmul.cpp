// Throughput of the engine's matrix product (attnviz::linear, core/ops.cpp) for the shapes the
// models run: m = 1..20 rows (a decode step is m = 1, an encoder pass m = tokens) times
// k x n weights, k, n = 128..512. The same file builds natively and with em++ (run in Node),
// so bench/run can print the wasm build's throughput as a ratio of the native (SSE2) one.
//
// Prints one JSON line: {"engine", "products": [{"m", "k", "n", "gflops", "reps"}], "stream",
// "peak"}; gflops is the median over batches of 2 m k n flops per product. "stream" is the
// memory floor of a decode step: {"mib", "gbps"}, reading 22 MiB (the large bench model's
// decoder weights, what each of its decode steps reads) once, in order, four vectors at a time.
// "peak" is the arithmetic ceiling: {"gflops"} of four-lane multiplies and adds alone, with
// nothing loaded, the instructions the product is made of. (bench/run prints it natively only:
// Node 20's V8 leaves this one-call loop in its baseline tier, at a quarter of the speed.)
//
// usage: bench_matmul [--budget-ms=B]   (per shape; default 150)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "ops.h"
#include "simd.h"

namespace {

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// One in-order pass over data: the sum of its floats, four vectors at a time.
float stream_pass(const std::vector<float>& data) {
  using namespace attnviz::simd;
  f32x4 acc[4] = {splat(0.0f), splat(0.0f), splat(0.0f), splat(0.0f)};
  for (size_t i = 0; i < data.size(); i += 16)
    for (int v = 0; v < 4; ++v) acc[v] = add(acc[v], load(&data[i + 4 * v]));
  float lanes[4];
  store(lanes, add(add(acc[0], acc[1]), add(acc[2], acc[3])));
  return lanes[0];
}

// The median time of `timed` calls of pass() (each returning a float that is kept, so that no
// call can be dropped), after `warm_ups` more: they fault memory in and let a wasm engine
// optimise the pass (V8 does so between calls, not within one).
template <typename Pass>
double median_pass_ms(int warm_ups, int timed, Pass pass) {
  std::vector<double> ms;
  float sink = 0;
  for (int i = 0; i < warm_ups + timed; ++i) {
    const double start = now_ms();
    sink += pass();
    if (i >= warm_ups) ms.push_back(now_ms() - start);
  }
  std::sort(ms.begin(), ms.end());
  if (sink < 0) std::printf(" ");  // keeps the results
  return ms[ms.size() / 2];
}

// GB/s of one pass over `mib` MiB: the median of 15 after 15 warm-ups.
double stream_gbps(int mib) {
  const std::vector<float> data(size_t(mib) << 18, 1.0f);
  return double(mib) * (1 << 20) / (median_pass_ms(15, 15, [&] { return stream_pass(data); }) * 1e6);
}

// 12 independent chains of v = v * a + b on four lanes (a multiply and an add each, as the
// product does per weight vector), `steps` times; 12 hide the latency of a multiply then an add.
constexpr int kChains = 12;
__attribute__((noinline)) float chains_pass(long steps) {
  using namespace attnviz::simd;
  f32x4 v[kChains];
  for (int c = 0; c < kChains; ++c) v[c] = splat(0.01f * c);
  const f32x4 a = splat(0.999f), b = splat(0.001f);
  for (long i = 0; i < steps; ++i)
    for (int c = 0; c < kChains; ++c) v[c] = add(mul(v[c], a), b);
  float lanes[4], sum = 0;
  for (int c = 0; c < kChains; ++c) store(lanes, v[c]), sum += lanes[0];
  return sum;
}

// GFLOP/s of chains_pass: the median of 9 passes after 3 warm-ups.
double peak_gflops() {
  constexpr long kSteps = 2000000;
  return 2.0 * 4 * kChains * kSteps / (median_pass_ms(3, 9, [] { return chains_pass(kSteps); }) * 1e6);
}

}  // namespace

int main(int argc, char** argv) {
  double budget_ms = 150;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--budget-ms=", 0) == 0) budget_ms = std::atof(arg.c_str() + 12);
  }
#if defined(__EMSCRIPTEN__)
  const char* engine = "attnviz wasm";
#else
  const char* engine = "attnviz native";
#endif
  const int ms_rows[] = {1, 2, 4, 8, 12, 16, 20};
  const int shapes[][2] = {{128, 128}, {128, 512}, {512, 128}, {256, 256}, {512, 512}};
  std::printf("{\"engine\": \"%s\", \"products\": [", engine);
  bool first = true;
  for (const auto& shape : shapes) {
    const int k = shape[0], n = shape[1];
    // Weights [k x n] input-major and packed, and bias [n], as the loader stores them; values
    // in [-1, 1].
    std::vector<float> weight(size_t(k) * n), bias(n);
    unsigned state = 12345;
    const auto next = [&] { return (state = state * 1664525u + 1013904223u) / 4294967296.0f * 2 - 1; };
    for (float& w : weight) w = next();
    for (float& b : bias) b = next();
    std::vector<float> panels(attnviz::packed_size(k, n));
    const attnviz::PackedMatrix w = attnviz::pack(weight.data(), k, n, size_t(n), 1, panels.data());
    const attnviz::TensorView b{bias.data(), 1, n};
    for (const int m : ms_rows) {
      attnviz::Matrix x(m, k), y(m, n);
      for (int i = 0; i < x.size(); ++i) x.data()[i] = next();
      // Batches of `per_batch` products, each about 2 ms; the median batch gives the figure.
      attnviz::linear(x, w, b, y);
      const double t0 = now_ms();
      int calibrate = 0;
      while (now_ms() - t0 < 2) attnviz::linear(x, w, b, y), ++calibrate;
      const int per_batch = std::max(1, calibrate);
      std::vector<double> batches;
      const double start = now_ms();
      while (batches.size() < 7 || (now_ms() - start < budget_ms && batches.size() < 200)) {
        const double s = now_ms();
        for (int r = 0; r < per_batch; ++r) attnviz::linear(x, w, b, y);
        batches.push_back((now_ms() - s) / per_batch);
      }
      std::sort(batches.begin(), batches.end());
      const double ms = batches[batches.size() / 2];
      const double gflops = 2.0 * m * k * n / (ms * 1e6);
      std::printf("%s{\"m\": %d, \"k\": %d, \"n\": %d, \"gflops\": %.3f, \"reps\": %zu, \"check\": %.6g}",
                  first ? "" : ", ", m, k, n, gflops, batches.size() * per_batch, double(y(m - 1, n - 1)));
      first = false;
    }
  }
  const int mib = 22;
  std::printf("], \"stream\": {\"mib\": %d, \"gbps\": %.2f}, \"peak\": {\"gflops\": %.2f}}\n", mib,
              stream_gbps(mib), peak_gflops());
  return 0;
}
