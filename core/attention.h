// Multi-head scaled dot-product attention as torch.nn.MultiheadAttention computes it
// (PyTorch 1.13, F.multi_head_attention_forward), with the per-head post-softmax weights
// written out exactly as need_weights=True, average_attn_weights=False returns them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "model.h"
#include "tensor.h"
#include "workspace.h"

namespace attnviz {

// What a query may not see. Masked scores become -inf before the softmax, as PyTorch's
// boolean masks do; `additive` is PyTorch's float attn_mask, added to the scores.
struct AttentionMask {
  bool causal = false;                   // query at position p sees keys 0..p
  int query_offset = 0;                  // position of the first query row
  const uint8_t* key_padding = nullptr;  // [keys]; nonzero marks a key to ignore
  const Matrix* additive = nullptr;      // [queries x keys]
};

// Where attention weights go: row r of head h is written at data + h*head_stride +
// r*row_stride, `keys` floats long. A null data pointer means: do not record.
struct WeightsOut {
  float* data = nullptr;
  size_t head_stride = 0;
  size_t row_stride = 0;
};

// An intervention on one head, done inside the forward pass so the rest of the model sees it.
enum class Ablation : uint8_t {
  kNone,
  kZero,     // the head's output is zero: it contributes nothing to out_proj
  kUniform,  // the head attends uniformly over the keys its mask allows
};

// What a caller wants from one attention call besides its output. Every field is optional.
struct AttentionRecord {
  WeightsOut weights;               // post-softmax weights, as PyTorch returns them
  WeightsOut scores;                // pre-softmax q.k / sqrt(head_dim) (+ mask); masked: -inf
  WeightsOut value_norms;           // [head][key] ||v_j^h W_O^h|| (Kobayashi et al. 2020);
                                    // row_stride unused. Filled by the layer code.
  const Ablation* ablation = nullptr;  // [nhead]
};

// q: [Tq x d] (not yet scaled), keys and values: S of them, packed per head. context:
// [Tq x d], the heads' outputs concatenated, before out_proj. Uses the workspace's scores and
// q_scaled (reserved for at least Tq and S rows).
void attend(const Eigen::Ref<const Matrix>& q, const HeadPanels& keys_values, int nhead,
            const AttentionMask& mask, Eigen::Ref<Matrix> context, const AttentionRecord& record,
            Workspace& ws);

// The same with k, v: [S x d], the heads side by side in the columns, packed into the
// workspace's key_values first.
void attend(const Eigen::Ref<const Matrix>& q, const Eigen::Ref<const Matrix>& k,
            const Eigen::Ref<const Matrix>& v, int nhead, const AttentionMask& mask,
            Eigen::Ref<Matrix> context, const AttentionRecord& record, Workspace& ws);

// The norm each key's value vector has after the head's slice of out_proj: for head h and
// key j, ||v_j^h W_O[h rows]|| (bias left out), which scales a_ij into the size of what the
// head actually adds. v: [keys x d]; written for keys first_key.. first_key + v.rows() - 1.
// Uses the workspace's projected rows.
void value_norms(const Eigen::Ref<const Matrix>& v, const PackedMatrix& out_proj_weight, int nhead,
                 int first_key, const WeightsOut& out, Workspace& ws);

// The q, k and v blocks of in_proj_weight / in_proj_bias (index 0, 1, 2).
const PackedMatrix& in_proj_weight_block(const AttentionWeights& w, int index);
TensorView in_proj_bias_block(const AttentionWeights& w, int index);

// The whole module: project query and key_value, attend, apply out_proj.
// query: [Tq x d], key_value: [S x d], out: [Tq x d]. Uses the workspace's q, k, v, context.
void multihead_attention(const AttentionWeights& w, const Eigen::Ref<const Matrix>& query,
                         const Eigen::Ref<const Matrix>& key_value, int nhead,
                         const AttentionMask& mask, Eigen::Ref<Matrix> out,
                         const AttentionRecord& record, Workspace& ws);

}  // namespace attnviz
