#include "attention.h"

#include <cmath>
#include <limits>

#include "ops.h"

namespace attnviz {

namespace {

// Writes one head's rows of `m` where `out` says; nothing when it says nowhere.
void copy_rows(const Eigen::Ref<const Matrix>& m, const WeightsOut& out, int head) {
  if (!out.data) return;
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    Eigen::Map<RowVector>(out.data + head * out.head_stride + i * out.row_stride, m.cols()) = m.row(i);
}

}  // namespace

void attend(const Eigen::Ref<const Matrix>& q, const Eigen::Ref<const Matrix>& k,
            const Eigen::Ref<const Matrix>& v, int nhead, const AttentionMask& mask,
            Eigen::Ref<Matrix> context, const AttentionRecord& record, Workspace& ws) {
  ws.key_values.clear();
  ws.key_values.append(k, v);
  attend(q, ws.key_values, nhead, mask, context, record, ws);
}

void attend(const Eigen::Ref<const Matrix>& q, const HeadPanels& keys_values, int nhead,
            const AttentionMask& mask, Eigen::Ref<Matrix> context, const AttentionRecord& record,
            Workspace& ws) {
  const Eigen::Index queries = q.rows(), keys = keys_values.count(), d = q.cols();
  const int head_dim = static_cast<int>(d / nhead);
  // PyTorch divides q by sqrt(head_dim) before the product.
  const float scale = std::sqrt(static_cast<float>(head_dim));
  const float minus_inf = -std::numeric_limits<float>::infinity();
  eigen_assert(context.rows() == queries && context.cols() == d);
  Eigen::Ref<Matrix> scores = ws.scores.topLeftCorner(queries, keys);     // [queries x keys]
  Eigen::Ref<Matrix> q_scaled = ws.q_scaled.topLeftCorner(queries, head_dim);
  for (int h = 0; h < nhead; ++h) {
    // scores = (q_h / sqrt(head_dim)) k_h^T: each score sums its head_dim terms in order.
    q_scaled = q.middleCols(h * head_dim, head_dim) / scale;
    product(q_scaled, keys_values.keys_t(h), nullptr, scores);
    if (mask.additive) scores += *mask.additive;
    auto hidden = [&](Eigen::Index i, Eigen::Index j) {
      return (mask.causal && j > mask.query_offset + i) || (mask.key_padding && mask.key_padding[j]);
    };
    if (mask.causal || mask.key_padding)
      for (Eigen::Index i = 0; i < queries; ++i)
        for (Eigen::Index j = 0; j < keys; ++j)
          if (hidden(i, j)) scores(i, j) = minus_inf;
    copy_rows(scores, record.scores, h);
    const Ablation ablation = record.ablation ? record.ablation[h] : Ablation::kNone;
    if (ablation == Ablation::kUniform) {
      for (Eigen::Index i = 0; i < queries; ++i) {
        Eigen::Index allowed = 0;
        for (Eigen::Index j = 0; j < keys; ++j) allowed += !hidden(i, j);
        for (Eigen::Index j = 0; j < keys; ++j) scores(i, j) = hidden(i, j) ? 0.0f : 1.0f / allowed;
      }
    } else {
      softmax_rows(scores);
    }
    // context_h = weights v_h, v_h being the head's columns of v [keys x head_dim].
    auto context_h = context.middleCols(h * head_dim, head_dim);
    if (ablation == Ablation::kZero) context_h.setZero();
    else product(scores, keys_values.values(h), nullptr, context_h);
    copy_rows(scores, record.weights, h);
  }
}

void value_norms(const Eigen::Ref<const Matrix>& v, const PackedMatrix& out_proj_weight, int nhead,
                 int first_key, const WeightsOut& out, Workspace& ws) {
  if (!out.data) return;
  const int d = static_cast<int>(v.cols()), head_dim = d / nhead;
  auto projected = ws.projected.topRows(v.rows());  // [keys x d]
  for (int h = 0; h < nhead; ++h) {
    // v^h [keys x head_dim] times W_O's rows for this head [head_dim x d].
    product(v.middleCols(h * head_dim, head_dim), out_proj_weight.row_block(h * head_dim, head_dim),
            nullptr, projected);
    for (Eigen::Index j = 0; j < v.rows(); ++j) {
      double squares = 0;
      for (int o = 0; o < d; ++o) squares += double(projected(j, o)) * projected(j, o);
      out.data[h * out.head_stride + first_key + j] = static_cast<float>(std::sqrt(squares));
    }
  }
}

const PackedMatrix& in_proj_weight_block(const AttentionWeights& w, int index) {
  return w.in_proj_weight[index];
}

TensorView in_proj_bias_block(const AttentionWeights& w, int index) {
  const int d = w.in_proj_weight[0].cols;
  return TensorView{w.in_proj_bias.data + size_t(index) * d, 1, d};
}

void multihead_attention(const AttentionWeights& w, const Eigen::Ref<const Matrix>& query,
                         const Eigen::Ref<const Matrix>& key_value, int nhead,
                         const AttentionMask& mask, Eigen::Ref<Matrix> out,
                         const AttentionRecord& record, Workspace& ws) {
  const Eigen::Index queries = query.rows(), keys = key_value.rows();
  auto q = ws.q.topRows(queries), context = ws.context.topRows(queries);
  auto k = ws.k.topRows(keys), v = ws.v.topRows(keys);
  linear(query, in_proj_weight_block(w, 0), in_proj_bias_block(w, 0), q);
  linear(key_value, in_proj_weight_block(w, 1), in_proj_bias_block(w, 1), k);
  linear(key_value, in_proj_weight_block(w, 2), in_proj_bias_block(w, 2), v);
  value_norms(v, w.out_proj.weight, nhead, 0, record.value_norms, ws);
  attend(q, k, v, nhead, mask, context, record, ws);
  linear(context, w.out_proj.weight, w.out_proj.bias, out);
}

}  // namespace attnviz
