// Plain numeric ops the layers are built from. They know nothing about transformers.
#pragma once

#include "tensor.h"

namespace attnviz {

// Packs the [rows x cols] matrix whose element (r, c) is src[r * row_stride + c *
// col_stride] into out (packed_size(rows, cols) floats; see tensor.h, PackedMatrix), so a
// PyTorch (out, in) weight packs input-major with row_stride 1 and col_stride in.
PackedMatrix pack(const float* src, int rows, int cols, size_t row_stride, size_t col_stride,
                  float* out);

// out = x W + b. x: [rows x in], W: packed [in x features], out: [rows x features], sized by
// the caller (a view of preallocated rows, so a call allocates nothing); bias [features] may
// be null. Each output sums bias (or 0), then x[i, 0] W[0, o], x[i, 1] W[1, o], ... in that
// order, rounding after every multiply and every add, in every build.
void product(const Eigen::Ref<const Matrix>& x, const PackedMatrix& w, const float* bias,
             Eigen::Ref<Matrix> out);

// A linear layer: product with the weight (input-major, packed at load) and its bias (may be
// empty).
void linear(const Eigen::Ref<const Matrix>& x, const PackedMatrix& weight, const TensorView& bias,
            Eigen::Ref<Matrix> out);

// Row-wise LayerNorm over the last dimension, in place (biased variance, as PyTorch).
void layer_norm(Eigen::Ref<Matrix> x, const TensorView& weight, const TensorView& bias, float eps);

// In-place activations.
void relu(Eigen::Ref<Matrix> x);
void gelu(Eigen::Ref<Matrix> x);  // exact form: 0.5 x (1 + erf(x / sqrt 2))

// Row-wise softmax in place, max-subtracted as PyTorch does. A row whose entries are all
// -inf becomes NaN, as it does in PyTorch.
void softmax_rows(Eigen::Ref<Matrix> x);

// Index of the largest entry (first on ties, as torch.argmax).
int argmax(const float* values, int count);

}  // namespace attnviz
