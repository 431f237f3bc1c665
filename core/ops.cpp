#include "ops.h"

#include "simd.h"

#include <cmath>
#include <limits>

// Every op here fixes its order of arithmetic in plain loops, and takes exp and erf in double
// (correctly rounded to float on every libm we meet), so the native and the WebAssembly
// builds compute bit-for-bit the same numbers: vectorising changes no result, since lanes
// never share a sum. Eigen's own products and packet exp differ between SSE and wasm.

namespace attnviz {

namespace {

// One R x 4V tile of y = x W + b: R rows of x times 4V columns of W, the R x V accumulator
// vectors held in registers for the whole sum over k. Each output still sums bias, then
// x[i, 0] W[0, o], x[i, 1] W[1, o], ... in that order (lanes are separate outputs).
template <int R, int V>
void linear_tile(const float* x, size_t x_stride, const float* w, int in, size_t w_stride,
                 const float* bias, float* y, size_t y_stride) {
  using namespace simd;
  f32x4 acc[R][V];
  for (int c = 0; c < V; ++c) {
    const f32x4 b = bias ? load(bias + 4 * c) : splat(0.0f);
    for (int r = 0; r < R; ++r) acc[r][c] = b;
  }
  // acc += x[:, k] W[k, :], for k in order. Pointers step instead of k * stride, and two k
  // per pass: a one-row tile is short of instruction slots, not of arithmetic, in wasm.
  const auto step = [&](const float* xk, const float* wk) {
    f32x4 wv[V];
    for (int c = 0; c < V; ++c) wv[c] = load(wk + 4 * c);
    for (int r = 0; r < R; ++r) {
      const f32x4 a = splat(xk[r * x_stride]);
      for (int c = 0; c < V; ++c) acc[r][c] = mul_add(acc[r][c], a, wv[c]);
    }
  };
  const float* xk = x;
  const float* wk = w;
  for (const float* const pairs_end = x + (in & ~1); xk != pairs_end; xk += 2, wk += 2 * w_stride) {
    step(xk, wk);
    step(xk + 1, wk + w_stride);
  }
  if (in & 1) step(xk, wk);
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < V; ++c) store(y + size_t(r) * y_stride + 4 * c, acc[r][c]);
}

// The same for one column at a time (the last features % 4 columns).
template <int R>
void linear_column(const float* x, size_t x_stride, const float* w, int in, size_t w_stride,
                   const float* bias, float* y, size_t y_stride) {
  float acc[R];
  for (int r = 0; r < R; ++r) acc[r] = bias ? bias[0] : 0.0f;
  for (int k = 0; k < in; ++k)
    for (int r = 0; r < R; ++r) acc[r] += x[r * x_stride + k] * w[size_t(k) * w_stride];
  for (int r = 0; r < R; ++r) y[size_t(r) * y_stride] = acc[r];
}

// Rows [R of them] x every output column: tiles of 4V columns, then of 4, then single ones.
template <int R, int V>
void product_rows(const float* x, size_t x_stride, const float* w, int in, int features,
                  size_t w_stride, const float* bias, float* y, size_t y_stride) {
  const auto at = [&](int o) { return bias ? bias + o : nullptr; };
  int o = 0;
  for (; o + 4 * V <= features; o += 4 * V)
    linear_tile<R, V>(x, x_stride, w + o, in, w_stride, at(o), y + o, y_stride);
  for (; o + 4 <= features; o += 4)
    linear_tile<R, 1>(x, x_stride, w + o, in, w_stride, at(o), y + o, y_stride);
  for (; o < features; ++o)
    linear_column<R>(x, x_stride, w + o, in, w_stride, at(o), y + o, y_stride);
}

}  // namespace

void product(const Eigen::Ref<const Matrix>& x, const float* w, int features, size_t w_stride,
             const float* bias, Eigen::Ref<Matrix> out) {
  const int rows = static_cast<int>(x.rows()), in = static_cast<int>(x.cols());
  eigen_assert(out.rows() == rows && out.cols() == features);
  const size_t x_stride = static_cast<size_t>(x.outerStride());
  const size_t y_stride = static_cast<size_t>(out.outerStride());
  int i = 0;
  for (; i + 4 <= rows; i += 4)  // four rows share each pass over W
    product_rows<4, 2>(x.data() + i * x_stride, x_stride, w, in, features, w_stride, bias,
                       out.data() + i * y_stride, y_stride);
  for (; i + 2 <= rows; i += 2)  // two rows left: they still share the pass
    product_rows<2, 4>(x.data() + i * x_stride, x_stride, w, in, features, w_stride, bias,
                       out.data() + i * y_stride, y_stride);
  for (; i < rows; ++i)  // a lone row (every decode step): wide tiles stream W's rows
    product_rows<1, 8>(x.data() + i * x_stride, x_stride, w, in, features, w_stride, bias,
                       out.data() + i * y_stride, y_stride);
}

void linear(const Eigen::Ref<const Matrix>& x, const TensorView& weight, const TensorView& bias,
            Eigen::Ref<Matrix> out) {
  eigen_assert(x.cols() == weight.rows);
  product(x, weight.data, weight.cols, static_cast<size_t>(weight.cols),
          bias.empty() ? nullptr : bias.data, out);
}

void layer_norm(Eigen::Ref<Matrix> x, const TensorView& weight, const TensorView& bias, float eps) {
  const int n = static_cast<int>(x.cols());
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    float* row = &x(r, 0);
    double sum = 0;
    for (int i = 0; i < n; ++i) sum += row[i];
    const float mean = static_cast<float>(sum / n);
    double squares = 0;
    for (int i = 0; i < n; ++i) squares += double(row[i] - mean) * double(row[i] - mean);
    const float inv_std = static_cast<float>(1.0 / std::sqrt(squares / n + double(eps)));
    for (int i = 0; i < n; ++i) row[i] = (row[i] - mean) * inv_std * weight.data[i] + bias.data[i];
  }
}

void relu(Eigen::Ref<Matrix> x) { x = x.cwiseMax(0.0f); }

void gelu(Eigen::Ref<Matrix> x) {
  const double inv_sqrt2 = 0.70710678118654752;
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    float* v = &x(r, 0);
    for (Eigen::Index i = 0; i < x.cols(); ++i)
      v[i] = static_cast<float>(0.5 * v[i] * (1.0 + std::erf(v[i] * inv_sqrt2)));
  }
}

void softmax_rows(Eigen::Ref<Matrix> x) {
  const float minus_inf = -std::numeric_limits<float>::infinity();
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    float* row = &x(r, 0);
    const int n = static_cast<int>(x.cols());
    float max = minus_inf;
    for (int i = 0; i < n; ++i) max = std::max(max, row[i]);
    if (max == minus_inf) {  // every key masked
      for (int i = 0; i < n; ++i) row[i] = std::numeric_limits<float>::quiet_NaN();
      continue;
    }
    double total = 0;
    for (int i = 0; i < n; ++i) {
      // A masked (-inf) entry becomes exactly 0, as in PyTorch.
      row[i] = row[i] == minus_inf ? 0.0f : static_cast<float>(std::exp(double(row[i] - max)));
      total += row[i];
    }
    const float inv_total = static_cast<float>(1.0 / total);
    for (int i = 0; i < n; ++i) row[i] *= inv_total;
  }
}

int argmax(const float* values, int count) {
  int best = 0;
  for (int i = 1; i < count; ++i)
    if (values[i] > values[best]) best = i;
  return best;
}

}  // namespace attnviz
