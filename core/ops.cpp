#include "ops.h"

#include "simd.h"

#include <algorithm>
#include <cmath>
#include <limits>

// Every op here fixes its order of arithmetic in plain loops, computes softmax's exp from
// plain float multiplies and adds (simd.h, exp) and takes erf in double (correctly rounded to
// float on every libm we meet), so the native and the WebAssembly builds compute bit-for-bit
// the same numbers: vectorising changes no result, since lanes never share a sum. Eigen's own
// products and packet exp differ between SSE and wasm.

namespace attnviz {

namespace {

// A pass over the rows takes this many panels (32 columns): while every row group runs through
// them they stay in cache (L1 up to 384 inputs, L2 beyond), so the weights stream in from
// memory once per product.
constexpr int kBlockPanels = 4;

// One R x P-panel tile of y = x W + b: R rows of x times P panels of W (8 P columns), the R x
// 2P accumulator vectors held in registers for the whole sum over k. Only `width` (<= 8 P)
// columns are stored: the last panel of a matrix may be partly padding. Each output sums bias,
// then x[i, 0] W[0, o], x[i, 1] W[1, o], ... in that order (lanes are separate outputs).
template <int R, int P>
void tile(const float* x, size_t x_stride, const float* panel, size_t panel_stride, int in,
          const float* bias, int width, float* y, size_t y_stride) {
  using namespace simd;
  constexpr int V = P * kPanel / 4;  // vectors per row
  const bool whole = width == P * kPanel;
  float edge[P * kPanel];  // a partial tile's bias, then each of its rows
  if (bias && !whole) {
    for (int c = 0; c < P * kPanel; ++c) edge[c] = c < width ? bias[c] : 0.0f;
    bias = edge;
  }
  f32x4 acc[R][V];
  for (int c = 0; c < V; ++c) {
    const f32x4 b = bias ? load(bias + 4 * c) : splat(0.0f);
    for (int r = 0; r < R; ++r) acc[r][c] = b;
  }
  // acc += x[:, k] W[k, :], for k in order. Each panel's pointer steps along its stream, several
  // k per pass: a tile is short of instruction slots, not of arithmetic, in wasm. Four for one
  // row, two for more (both measured fastest in Chromium).
  const float* w[P];
  for (int p = 0; p < P; ++p) w[p] = panel + p * panel_stride;
  const auto step = [&](const float* xk, int offset) {
    f32x4 wv[V];
    for (int p = 0; p < P; ++p)
      for (int c = 0; c < kPanel / 4; ++c) wv[p * kPanel / 4 + c] = load(w[p] + offset + 4 * c);
    for (int r = 0; r < R; ++r) {
      const f32x4 a = splat(xk[r * x_stride]);
      for (int c = 0; c < V; ++c) acc[r][c] = mul_add(acc[r][c], a, wv[c]);
    }
  };
  constexpr int kPerPass = R == 1 ? 4 : 2;
  const float* xk = x;
  for (const float* const end = x + in / kPerPass * kPerPass; xk != end; xk += kPerPass) {
    for (int u = 0; u < kPerPass; ++u) step(xk + u, u * kPanel);
    for (int p = 0; p < P; ++p) w[p] += kPerPass * kPanel;
  }
  for (; xk != x + in; ++xk) {
    step(xk, 0);
    for (int p = 0; p < P; ++p) w[p] += kPanel;
  }
  for (int r = 0; r < R; ++r) {
    float* row = y + size_t(r) * y_stride;
    if (whole) {
      for (int c = 0; c < V; ++c) store(row + 4 * c, acc[r][c]);
    } else {
      for (int c = 0; c < V; ++c) store(edge + 4 * c, acc[r][c]);
      std::copy(edge, edge + width, row);
    }
  }
}

// R rows times `count` panels from panel `first`: tiles of P panels, then narrower ones.
template <int R, int P>
void tiles(const float* x, size_t x_stride, const PackedMatrix& w, int first, int count,
           const float* bias, float* y, size_t y_stride) {
  int p = first;
  for (; p + P <= first + count; p += P) {
    const int column = p * kPanel;
    tile<R, P>(x, x_stride, w.data + p * w.panel_stride, w.panel_stride, w.rows,
               bias ? bias + column : nullptr, std::min(P * kPanel, w.cols - column), y + column,
               y_stride);
  }
  if constexpr (P > 1)
    if (p < first + count) tiles<R, P / 2>(x, x_stride, w, p, first + count - p, bias, y, y_stride);
}

}  // namespace

PackedMatrix pack(const float* src, int rows, int cols, size_t row_stride, size_t col_stride,
                  float* out) {
  const size_t panel_stride = size_t(rows) * kPanel;
  for (int p = 0; p < panel_count(cols); ++p)
    for (int r = 0; r < rows; ++r) {
      float* to = out + p * panel_stride + size_t(r) * kPanel;
      for (int j = 0; j < kPanel; ++j) {
        const int c = p * kPanel + j;
        to[j] = c < cols ? src[r * row_stride + c * col_stride] : 0.0f;
      }
    }
  return PackedMatrix{out, rows, cols, panel_stride};
}

void product(const Eigen::Ref<const Matrix>& x, const PackedMatrix& w, const float* bias,
             Eigen::Ref<Matrix> out) {
  const int rows = static_cast<int>(x.rows());
  eigen_assert(x.cols() == w.rows && out.rows() == rows && out.cols() == w.cols);
  const size_t x_stride = static_cast<size_t>(x.outerStride());
  const size_t y_stride = static_cast<size_t>(out.outerStride());
  const int panels = panel_count(w.cols);
  for (int first = 0; first < panels; first += kBlockPanels) {
    const int count = std::min(kBlockPanels, panels - first);
    const auto x_row = [&](int i) { return x.data() + i * x_stride; };
    const auto y_row = [&](int i) { return out.data() + i * y_stride; };
    int i = 0;
    for (; i + 4 <= rows; i += 4)  // four rows share each panel
      tiles<4, 1>(x_row(i), x_stride, w, first, count, bias, y_row(i), y_stride);
    for (; i + 2 <= rows; i += 2)  // two rows left: they still share the pass
      tiles<2, 2>(x_row(i), x_stride, w, first, count, bias, y_row(i), y_stride);
    for (; i < rows; ++i)  // a lone row (every decode step): four panels' streams at once
      tiles<1, 4>(x_row(i), x_stride, w, first, count, bias, y_row(i), y_stride);
  }
}

void linear(const Eigen::Ref<const Matrix>& x, const PackedMatrix& weight, const TensorView& bias,
            Eigen::Ref<Matrix> out) {
  product(x, weight, bias.empty() ? nullptr : bias.data, out);
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
  using namespace simd;
  const float minus_inf = -std::numeric_limits<float>::infinity();
  const int n = static_cast<int>(x.cols()), whole = n / 4 * 4;
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    float* row = &x(r, 0);
    // The largest entry: four lanes, then the tail (max is exact, so order does not matter).
    f32x4 lanes = splat(minus_inf);
    for (int i = 0; i < whole; i += 4) lanes = max(lanes, load(row + i));
    float top[4];
    store(top, lanes);
    float row_max = std::max(std::max(top[0], top[1]), std::max(top[2], top[3]));
    for (int i = whole; i < n; ++i) row_max = std::max(row_max, row[i]);
    if (row_max == minus_inf) {  // every key masked
      for (int i = 0; i < n; ++i) row[i] = std::numeric_limits<float>::quiet_NaN();
      continue;
    }
    // e^(v - max), four at a time, a masked (-inf) entry becoming exactly 0 as in PyTorch; the
    // last n % 4 go through the same lanes (padded with -inf), so every entry rounds alike.
    // Their sum is taken in double, one running sum per lane, in a fixed order.
    double sums[4] = {0, 0, 0, 0};
    const auto exp_minus = [&](float* values) {
      const f32x4 v = load(values);
      store(values, zero_where_equal(v, splat(minus_inf), exp(sub(v, splat(row_max)))));
      for (int l = 0; l < 4; ++l) sums[l] += values[l];
    };
    for (int i = 0; i < whole; i += 4) exp_minus(row + i);
    if (whole < n) {
      float tail[4] = {minus_inf, minus_inf, minus_inf, minus_inf};
      std::copy(row + whole, row + n, tail);
      exp_minus(tail);
      std::copy(tail, tail + (n - whole), row + whole);
    }
    const float inv_total = static_cast<float>(1.0 / ((sums[0] + sums[1]) + (sums[2] + sums[3])));
    for (int i = 0; i < whole; i += 4) store(row + i, mul(load(row + i), splat(inv_total)));
    for (int i = whole; i < n; ++i) row[i] *= inv_total;
  }
}

int argmax(const float* values, int count) {
  int best = 0;
  for (int i = 1; i < count; ++i)
    if (values[i] > values[best]) best = i;
  return best;
}

}  // namespace attnviz
