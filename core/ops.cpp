#include "ops.h"

#include <cmath>
#include <limits>

namespace attnviz {

void linear(const Eigen::Ref<const Matrix>& x, const TensorView& weight, const TensorView& bias,
            Matrix& out) {
  out.resize(x.rows(), weight.rows);
  out.noalias() = x * weight.matrix().transpose();
  if (!bias.empty()) out.rowwise() += bias.vector();
}

void layer_norm(Matrix& x, const TensorView& weight, const TensorView& bias, float eps) {
  const auto gamma = weight.vector();
  const auto beta = bias.vector();
  const float n = static_cast<float>(x.cols());
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    auto row = x.row(r);
    const float mean = row.sum() / n;
    row.array() -= mean;
    const float variance = row.squaredNorm() / n;
    const float inv_std = 1.0f / std::sqrt(variance + eps);
    row = (row.array() * inv_std * gamma.array() + beta.array()).matrix();
  }
}

void relu(Matrix& x) { x = x.cwiseMax(0.0f); }

void gelu(Matrix& x) {
  const float inv_sqrt2 = 0.70710678118654752f;
  x = x.unaryExpr([inv_sqrt2](float v) { return 0.5f * v * (1.0f + std::erf(v * inv_sqrt2)); });
}

void softmax_rows(Eigen::Ref<Matrix> x) {
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    auto row = x.row(r);
    const float max = row.maxCoeff();
    if (max == -std::numeric_limits<float>::infinity()) {
      row.setConstant(std::numeric_limits<float>::quiet_NaN());
      continue;
    }
    // Masked (-inf) entries are set to exactly 0: Eigen's vectorised exp clamps its input
    // and would leave a denormal there, where PyTorch has 0.
    const float minus_inf = -std::numeric_limits<float>::infinity();
    row = (row.array() == minus_inf).select(0.0f, (row.array() - max).exp()).matrix();
    row /= row.sum();
  }
}

int argmax(const float* values, int count) {
  int best = 0;
  for (int i = 1; i < count; ++i)
    if (values[i] > values[best]) best = i;
  return best;
}

}  // namespace attnviz
