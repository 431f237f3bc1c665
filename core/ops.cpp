#include "ops.h"

#include <cmath>
#include <limits>

// Every op here fixes its order of arithmetic in plain loops, and takes exp and erf in double
// (correctly rounded to float on every libm we meet), so the native and the WebAssembly
// builds compute bit-for-bit the same numbers: vectorising changes no result, since lanes
// never share a sum. Eigen's own products and packet exp differ between SSE and wasm.

namespace attnviz {

void linear(const Eigen::Ref<const Matrix>& x, const TensorView& weight, const TensorView& bias,
            Matrix& out) {
  const int rows = static_cast<int>(x.rows()), in = weight.rows, features = weight.cols;
  out.resize(rows, features);
  const float* xs = x.data();
  const size_t x_stride = static_cast<size_t>(x.outerStride());
  for (int i = 0; i < rows; ++i) {
    float* y = out.data() + size_t(i) * features;
    for (int o = 0; o < features; ++o) y[o] = bias.empty() ? 0.0f : bias.data[o];
  }
  // y[i] += x[i, k] * W[k, :] for k in order, so each output sums its terms in one fixed
  // order. Four rows share each pass over W (read once per four rows, not per row).
  int i = 0;
  for (; i + 4 <= rows; i += 4) {
    float* y0 = out.data() + size_t(i) * features;
    float* y1 = y0 + features;
    float* y2 = y1 + features;
    float* y3 = y2 + features;
    const float* x0 = xs + size_t(i) * x_stride;
    for (int k = 0; k < in; ++k) {
      const float a0 = x0[k], a1 = x0[x_stride + k], a2 = x0[2 * x_stride + k], a3 = x0[3 * x_stride + k];
      const float* w = weight.data + size_t(k) * features;
      for (int o = 0; o < features; ++o) {
        y0[o] += a0 * w[o];
        y1[o] += a1 * w[o];
        y2[o] += a2 * w[o];
        y3[o] += a3 * w[o];
      }
    }
  }
  for (; i < rows; ++i) {
    float* y = out.data() + size_t(i) * features;
    const float* xi = xs + size_t(i) * x_stride;
    for (int k = 0; k < in; ++k) {
      const float a = xi[k];
      const float* w = weight.data + size_t(k) * features;
      for (int o = 0; o < features; ++o) y[o] += a * w[o];
    }
  }
}

void layer_norm(Matrix& x, const TensorView& weight, const TensorView& bias, float eps) {
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

void relu(Matrix& x) { x = x.cwiseMax(0.0f); }

void gelu(Matrix& x) {
  const double inv_sqrt2 = 0.70710678118654752;
  float* v = x.data();
  for (Eigen::Index i = 0; i < x.size(); ++i)
    v[i] = static_cast<float>(0.5 * v[i] * (1.0 + std::erf(v[i] * inv_sqrt2)));
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
