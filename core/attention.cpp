#include "attention.h"

#include <cmath>
#include <limits>
#include <vector>

#include "ops.h"

namespace attnviz {

void attend(const Eigen::Ref<const Matrix>& q, const Eigen::Ref<const Matrix>& k,
            const Eigen::Ref<const Matrix>& v, int nhead, const AttentionMask& mask,
            Matrix& context, const WeightsOut& weights) {
  const Eigen::Index queries = q.rows(), keys = k.rows(), d = q.cols();
  const Eigen::Index head_dim = d / nhead;
  // PyTorch divides q by sqrt(head_dim) before the product.
  const float scale = std::sqrt(static_cast<float>(head_dim));
  const float minus_inf = -std::numeric_limits<float>::infinity();
  context.resize(queries, d);
  Matrix scores(queries, keys);
  std::vector<float> scaled_q(static_cast<size_t>(head_dim));
  for (int h = 0; h < nhead; ++h) {
    // scores = (q_h / sqrt(head_dim)) k_h^T, each dot product summed in order.
    for (Eigen::Index i = 0; i < queries; ++i) {
      const float* qi = q.data() + i * q.outerStride() + h * head_dim;
      for (Eigen::Index e = 0; e < head_dim; ++e) scaled_q[e] = qi[e] / scale;
      for (Eigen::Index j = 0; j < keys; ++j) {
        const float* kj = k.data() + j * k.outerStride() + h * head_dim;
        float dot = 0.0f;
        for (Eigen::Index e = 0; e < head_dim; ++e) dot += scaled_q[e] * kj[e];
        scores(i, j) = dot;
      }
    }
    if (mask.additive) scores += *mask.additive;
    for (Eigen::Index i = 0; i < queries; ++i) {
      for (Eigen::Index j = 0; j < keys; ++j) {
        const bool hidden = (mask.causal && j > mask.query_offset + i) ||
                            (mask.key_padding && mask.key_padding[j]);
        if (hidden) scores(i, j) = minus_inf;
      }
    }
    softmax_rows(scores);
    // context_h = weights v_h, as rows of v scaled and added in key order.
    for (Eigen::Index i = 0; i < queries; ++i) {
      float* out = &context(i, h * head_dim);
      for (Eigen::Index e = 0; e < head_dim; ++e) out[e] = 0.0f;
      for (Eigen::Index j = 0; j < keys; ++j) {
        const float p = scores(i, j);
        const float* vj = v.data() + j * v.outerStride() + h * head_dim;
        for (Eigen::Index e = 0; e < head_dim; ++e) out[e] += p * vj[e];
      }
    }
    if (weights.data) {
      for (Eigen::Index i = 0; i < queries; ++i) {
        float* row = weights.data + h * weights.head_stride + i * weights.row_stride;
        Eigen::Map<RowVector>(row, keys) = scores.row(i);
      }
    }
  }
}

TensorView in_proj_weight_block(const AttentionWeights& w, int index) {
  const int d = w.in_proj_weight.cols;  // the view is [3 d x d]: three [d x d] blocks
  return TensorView{w.in_proj_weight.data + size_t(index) * d * d, d, d};
}

TensorView in_proj_bias_block(const AttentionWeights& w, int index) {
  const int d = w.in_proj_weight.cols;
  return TensorView{w.in_proj_bias.data + size_t(index) * d, 1, d};
}

void multihead_attention(const AttentionWeights& w, const Eigen::Ref<const Matrix>& query,
                         const Eigen::Ref<const Matrix>& key_value, int nhead,
                         const AttentionMask& mask, Matrix& out, const WeightsOut& weights) {
  Matrix q, k, v, context;
  linear(query, in_proj_weight_block(w, 0), in_proj_bias_block(w, 0), q);
  linear(key_value, in_proj_weight_block(w, 1), in_proj_bias_block(w, 1), k);
  linear(key_value, in_proj_weight_block(w, 2), in_proj_bias_block(w, 2), v);
  attend(q, k, v, nhead, mask, context, weights);
  linear(context, w.out_proj.weight, w.out_proj.bias, out);
}

}  // namespace attnviz
