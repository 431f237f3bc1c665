// Scratch matrices for the forward pass, allocated once for the largest sizes a model can
// see (max_len rows), so that running the model allocates nothing: each use takes a view of
// the top rows (or corner) it needs.
#pragma once

#include <vector>

#include "tensor.h"

namespace attnviz {

struct Workspace {
  Matrix q, k, v, context;        // [rows x d]: projections, and the heads' outputs
  Matrix normed, block_out;       // [rows x d]: a residual block's input (pre-LN) and output
  Matrix hidden;                  // [rows x dim_feedforward]
  Matrix scores;                  // [rows x rows]: one head's scores, then its weights
  Matrix keys_t;                  // [head_dim x rows]: one head's keys, transposed
  Matrix q_scaled;                // [rows x head_dim]: one head's queries / sqrt(head_dim)
  std::vector<double> projected;  // [d]: one value vector through out_proj

  // Sized for sequences of up to max_rows positions.
  void reserve(int max_rows, int d_model, int nhead, int dim_feedforward) {
    for (Matrix* m : {&q, &k, &v, &context, &normed, &block_out}) m->resize(max_rows, d_model);
    hidden.resize(max_rows, dim_feedforward);
    scores.resize(max_rows, max_rows);
    keys_t.resize(d_model / nhead, max_rows);
    q_scaled.resize(max_rows, d_model / nhead);
    projected.assign(size_t(d_model), 0.0);
  }
};

}  // namespace attnviz
