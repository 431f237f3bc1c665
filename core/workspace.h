// Scratch matrices for the forward pass, allocated once for the largest sizes a model can
// see (max_len rows), so that running the model allocates nothing: each use takes a view of
// the top rows (or corner) it needs.
#pragma once

#include <vector>

#include "head_panels.h"
#include "tensor.h"

namespace attnviz {

struct Workspace {
  Matrix q, k, v, context;        // [rows x d]: projections, and the heads' outputs
  Matrix normed, block_out;       // [rows x d]: a residual block's input (pre-LN) and output
  Matrix hidden;                  // [rows x dim_feedforward]
  Matrix scores;                  // [rows x rows]: one head's scores, then its weights
  Matrix q_scaled;                // [rows x head_dim]: one head's queries / sqrt(head_dim)
  HeadPanels key_values;          // [rows] keys and values of one attention, packed per head
  Matrix projected;               // [rows x d]: one head's value vectors through out_proj

  // Sized for sequences of up to max_rows positions.
  void reserve(int max_rows, int d_model, int nhead, int dim_feedforward) {
    for (Matrix* m : {&q, &k, &v, &context, &normed, &block_out}) m->resize(max_rows, d_model);
    hidden.resize(max_rows, dim_feedforward);
    scores.resize(max_rows, max_rows);
    q_scaled.resize(max_rows, d_model / nhead);
    key_values.reserve(max_rows, d_model, nhead);
    projected.resize(max_rows, d_model);
  }
};

}  // namespace attnviz
